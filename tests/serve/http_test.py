#!/usr/bin/env python3
"""`sellerflow serve` against hostile HTTP, timers on the wall clock, and the manual clock.

usage: http_test.py SELLERFLOW SOURCE_DIR
Raw sockets send what no SDK would: oversized bodies and headers, garbage, slow and silent clients,
half-closed connections, unknown methods and paths, unsigned requests. After each, the server still
answers. A request machine with a two-second timer finishes on time with no request to wake it; with
--clock manual, time moves only when Seller Operations say so.
"""
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

try:
    import boto3
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
    from botocore.config import Config
except ImportError:
    sys.exit("http_test.py needs boto3 (pip install boto3) for the python3 on PATH")

FAILURES = []
KEYS = [("AKIDSELLER", "s", "seller:111122223333"), ("AKIDOPS", "o", "operations")]


def check(what, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else ": " + str(detail)))
    if not cond:
        FAILURES.append(what)


class Server:
    def __init__(self, binary, root, work, name, *extra):
        self.log = os.path.join(work, name + ".log")
        creds = os.path.join(work, "creds.json")
        with open(creds, "w") as f:
            json.dump({"Keys": [{"AccessKeyId": k, "SecretAccessKey": s, "Actor": a} for k, s, a in KEYS]}, f)
        self.proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--db", os.path.join(work, name + ".db"),
                                      "--credentials", creds, "--log-level", "warn"] + list(extra),
                                     stderr=open(self.log, "w"))
        for _ in range(200):
            m = re.search(r":(\d+)\n", open(self.log).read())
            if m:
                self.port = int(m.group(1))
                self.endpoint = "http://127.0.0.1:%d" % self.port
                return
            time.sleep(0.05)
        raise SystemExit("FAIL: the server did not start: " + open(self.log).read())

    def alive(self):
        try:
            with urllib.request.urlopen(self.endpoint + "/ping", timeout=15) as r:
                return r.status == 200
        except Exception:
            return False

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def raw(port, data, read=True, timeout=15.0, shut=False):
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        s.sendall(data)
        if shut:
            s.shutdown(socket.SHUT_WR)
        if not read:
            return s
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, socket.timeout):
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, body = out.partition(b"\r\n\r\n")
                m = re.search(rb"(?i)content-length: *(\d+)", head)
                if m and len(body) >= int(m.group(1)):
                    break
        return out
    finally:
        if read:
            s.close()


def status_of(reply):
    m = re.match(rb"HTTP/1\.1 (\d+)", reply)
    return int(m.group(1)) if m else None


def hostile(server):
    port = server.port
    big = b"x" * (2 << 20)
    reply = raw(port, b"POST /StartChangeSet HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(big) + big)
    check("a 2 MiB body is refused with 413", status_of(reply) == 413, reply[:200])
    check("  and the server still answers", server.alive())

    reply = raw(port, b"GET /ping HTTP/1.1\r\nHost: x\r\nX-Big: " + b"y" * 20000 + b"\r\n\r\n")
    check("a 20 KB header is refused (4xx) or the connection closed",
          reply == b"" or 400 <= (status_of(reply) or 0) < 500, reply[:200])
    check("  and the server still answers", server.alive())

    reply = raw(port, b"\x00\x01\x02garbage\xff\r\n\r\n")
    check("garbage gets 400 or a closed connection", reply == b"" or status_of(reply) == 400, reply[:200])
    check("  and the server still answers", server.alive())

    reply = raw(port, b"BREW /coffee HTTP/1.1\r\nHost: x\r\n\r\n")
    check("an unknown method is refused", (status_of(reply) or 0) >= 400, reply[:200])

    reply = raw(port, b"POST /StartChangeSet HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
    check("an unsigned request: 403 MissingAuthenticationTokenException",
          status_of(reply) == 403 and b"x-amzn-ErrorType: MissingAuthenticationTokenException" in reply and
          b"x-amzn-RequestId:" in reply, reply[:300])

    # cpp-httplib 0.11 often closes a connection its client half-closed before answering (a known
    # limit of the library, see README): what must hold is that it neither hangs nor stops serving.
    started = time.time()
    reply = raw(port, b"GET /ping HTTP/1.1\r\nHost: x\r\n\r\n", shut=True)
    check("a half-closed connection is answered or closed at once",
          (reply == b"" or status_of(reply) == 200) and time.time() - started < 5, reply[:200])
    check("  and the server still answers", server.alive())

    started = time.time()
    slow = raw(port, b"POST /StartChangeSet HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", read=False)
    slow.settimeout(15)
    try:
        rest = slow.recv(1024)
    except (ConnectionResetError, socket.timeout):
        rest = b""
    waited = time.time() - started
    slow.close()
    check("a client that stops mid-body is dropped after --read-timeout (2 s)", waited < 8, (waited, rest[:100]))

    # Each connection holds one of the server's threads (--threads 8 here) until it has been silent for
    # --read-timeout (2 s): forty silent ones delay a ping by at most 40 / 8 * 2 = 10 s, never for good.
    idle = [raw(port, b"", read=False) for _ in range(40)]
    started = time.time()
    ok = server.alive()
    check("forty silent connections delay a ping by at most their read timeouts", ok and time.time() - started < 16,
          time.time() - started)
    for s in idle:
        s.close()


def signed_post(endpoint, key, secret, path, body):
    request = botocore.awsrequest.AWSRequest(method="POST", url=endpoint + path, data=json.dumps(body),
                                             headers={"Content-Type": "application/json"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "aws-marketplace",
                            "us-east-1").add_auth(request)
    p = request.prepare()
    r = urllib.request.Request(p.url, data=p.body.encode() if isinstance(p.body, str) else p.body,
                               headers=dict(p.headers), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=30) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def boto(endpoint):
    return boto3.client("marketplace-catalog", endpoint_url=endpoint, region_name="us-east-1",
                        aws_access_key_id="AKIDSELLER", aws_secret_access_key="s",
                        config=Config(retries={"max_attempts": 1}))


def timers(binary, root, work):
    extra = os.path.join(work, "wf")
    os.makedirs(extra)
    with open(os.path.join(extra, "thing.yaml"), "w") as f:
        f.write("machine: entity\nentity_type: Thing@1.0\nid_prefix: thing-\ndocument: {}\n"
                "states:\n  Idle: {initial: true}\ntransitions: []\n")
    with open(os.path.join(extra, "brew.yaml"), "w") as f:
        f.write("machine: request\nchange_type: Brew\nentity_type: Thing@1.0\ncreates: always\n"
                "states:\n  Submitted: {initial: true, status: PREPARING}\n  Brewing: {status: PREPARING}\n"
                "  Done: {final: true, status: SUCCEEDED}\n"
                "transitions:\n  - {from: Submitted, to: Brewing}\n"
                "  - {from: Brewing, to: Done, after: duration(\"PT2S\")}\n")
    server = Server(binary, root, work, "timers", "--workflows", root + "/workflows", "--workflows", extra,
                    "--rules", root + "/rules")
    try:
        c = boto(server.endpoint)
        cs = c.start_change_set(Catalog="AWSMarketplace", ChangeSet=[{
            "ChangeType": "Brew", "Entity": {"Type": "Thing@1.0"}, "DetailsDocument": {}}])["ChangeSetId"]
        first = c.describe_change_set(Catalog="AWSMarketplace", ChangeSetId=cs)["Status"]
        time.sleep(4.5)
        # Read the store directly: a request to the server would wake it.
        later = json.loads(subprocess.run([binary, "describe-change-set", cs, "--db",
                                           os.path.join(work, "timers.db"), "--output", "json"],
                                          capture_output=True, text=True).stdout)["Status"]
        check("a two-second timer fires on time with no request to wake the server",
              first == "PREPARING" and later == "SUCCEEDED", (first, later))
    finally:
        check("SIGTERM: exit 0", server.stop() == 0)


def manual(binary, root, work):
    server = Server(binary, root, work, "manual", "--clock", "manual", "--workflows", root + "/workflows",
                    "--rules", root + "/rules")
    try:
        status, _ = signed_post(server.endpoint, "AKIDSELLER", "s", "/sellerflow/Tick", {"To": "2026-06-01T00:00:00Z"})
        check("a seller may not move the clock", status == 403, status)
        status, answer = signed_post(server.endpoint, "AKIDOPS", "o", "/sellerflow/Tick", {"To": "2026-06-01T00:00:00Z"})
        check("operations move the manual clock", status == 200, (status, answer))
        c = boto(server.endpoint)
        cs = c.start_change_set(Catalog="AWSMarketplace", ChangeSet=[{
            "ChangeType": "UpdateSellerProfile", "Entity": {"Type": "Seller@1.0", "Identifier": "111122223333"},
            "DetailsDocument": {"PublicProfile": True}}])["ChangeSetId"]
        start = c.describe_change_set(Catalog="AWSMarketplace", ChangeSetId=cs)["StartTime"]
        check("a change set starts at the manual clock's time", start == "2026-06-01T00:00:00Z", start)
    finally:
        check("SIGTERM: exit 0", server.stop() == 0)


def tls(binary, root, work):
    cert, key = os.path.join(work, "cert.pem"), os.path.join(work, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server = Server(binary, root, work, "tls", "--tls-cert", cert, "--tls-key", key, "--workflows",
                    root + "/workflows", "--rules", root + "/rules")
    try:
        log = open(server.log).read()
        check("with a certificate the server says https", "on https://127.0.0.1:" in log, log)
        env = dict(os.environ, AWS_ACCESS_KEY_ID="AKIDSELLER", AWS_SECRET_ACCESS_KEY="s",
                   AWS_DEFAULT_REGION="us-east-1", AWS_MAX_ATTEMPTS="1", AWS_CA_BUNDLE=cert,
                   AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
        p = subprocess.run(["aws", "--endpoint-url", "https://127.0.0.1:%d" % server.port, "marketplace-catalog",
                            "list-change-sets", "--catalog", "AWSMarketplace"], env=env, capture_output=True,
                           text=True, timeout=60)
        check("the AWS CLI over HTTPS, trusting the certificate through AWS_CA_BUNDLE",
              p.returncode == 0 and json.loads(p.stdout)["ChangeSetSummaryList"] == [], p.stderr)
    finally:
        check("SIGTERM: exit 0", server.stop() == 0)
    bad = subprocess.run([binary, "serve", "--listen", "127.0.0.1:0", "--db", os.path.join(work, "x.db"),
                          "--credentials", os.path.join(work, "creds.json"), "--tls-cert", key, "--tls-key", key],
                         capture_output=True, text=True, timeout=30)
    check("a certificate that is not one: a clear error, exit non-zero",
          bad.returncode != 0 and "cannot use the TLS certificate" in bad.stderr, (bad.returncode, bad.stderr))


def pinned_drawing(binary, root, work):
    """A request page draws the machine its change ran on: the one kept in the store when today's
    workflows have changed it (here a renamed state), today's otherwise."""
    db = os.path.join(work, "pinned.db")
    subprocess.run([binary, "replay", os.path.join(root, "examples/upgrade/waiting.jsonl"), "--db", db,
                    "--workflows", root + "/workflows", "--rules", root + "/rules"],
                   check=True, stdout=subprocess.DEVNULL)
    renamed = os.path.join(work, "renamed")
    shutil.copytree(root + "/workflows", renamed)
    path = os.path.join(renamed, "update_visibility.yaml")
    text = open(path).read()
    open(path, "w").write(text.replace("InReview", "Review"))
    server = Server(binary, root, work, "pinned", "--workflows", renamed, "--rules", root + "/rules")
    try:
        import http.cookiejar
        import urllib.parse
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        form = urllib.parse.urlencode({"AccessKeyId": "AKIDOPS", "SecretAccessKey": "o", "next": ""}).encode()
        opener.open(urllib.request.Request(server.endpoint + "/console/sign-in", data=form,
                                           headers={"Origin": server.endpoint}), timeout=15).read()

        def page(path):
            with opener.open(server.endpoint + path, timeout=15) as r:
                return r.read().decode()

        review = page("/console/requests/cs-22222256xenrikrhcqhaytxun")
        check("a request on an older definition names it in the caption",
              "as this change started under it (definition 6d5b31faaba7, not today&#39;s)" in review or
              "as this change started under it (definition 6d5b31faaba7, not today's)" in review,
              re.findall(r"<figcaption>.*?</figcaption>", review))
        svg = review[review.find("<svg"):review.find("</svg>")]
        check("its drawing has the state it waits in, not today's name",
              re.search(r">InReview[ <]", svg) is not None and re.search(r">Review[ <]", svg) is None, re.findall(r">[A-Za-z]*Review[^<]*<", svg))
        created = page("/console/requests/cs-2222224v73rr7uq6gxpv3pyya")
        check("a request on unchanged definitions draws today's machine",
              "request machine: the path" in created and "started under it" not in created,
              re.findall(r"<figcaption>.*?</figcaption>", created))
    finally:
        check("SIGTERM after the pinned pages: exit 0", server.stop() == 0)


def main():
    binary, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    work = tempfile.mkdtemp(prefix="serve-http.")
    try:
        server = Server(binary, root, work, "hostile", "--read-timeout", "2", "--threads", "8",
                        "--workflows", root + "/workflows", "--rules", root + "/rules")
        try:
            hostile(server)
        finally:
            check("SIGTERM after the hostile clients: exit 0", server.stop() == 0)
        timers(binary, root, work)
        manual(binary, root, work)
        tls(binary, root, work)
        pinned_drawing(binary, root, work)
    finally:
        shutil.rmtree(work)
    print("%d failures" % len(FAILURES))
    sys.exit(1 if FAILURES else 0)


if __name__ == "__main__":
    main()
