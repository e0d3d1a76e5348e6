#!/usr/bin/env python3
"""Four `sellerflow serve` processes and four command-line loops on one PostgreSQL database at once.

usage: pg_harness.sh python3 pg_concurrency_test.py SELLERFLOW SOURCE_DIR [--seconds N]

Issue 16's concurrency test. A fresh database holds a seller and four Limited products. For a bounded
time (default 20 s) eight workers send requests on those four products, so they conflict on purpose:
four send signed HTTP requests, each to its own `serve --clock manual` process, and four run the
binary (`start-change-set`, `review`) as separate processes. A request is an UpdateInformation
(SUCCEEDED at once, revision + 1), an UpdateVisibility to Public (held in review until Seller
Operations decide) or a review rejecting one of the held change sets (now and then two workers review
the same one, on purpose). Every StartChangeSet carries its own ClientRequestToken, and now and then
an accepted one is sent again with the same token.

Then it checks: every accepted change set has its own id, and the store lists exactly those; a retry
with the same token got the same id and made nothing new; every conflict was answered once, as
ResourceInUseException (HTTP 423, CLI exit 4) and created nothing; each held change set was rejected
exactly once (a second review is a ValidationException); the command log holds every answered request
once, with the outcome its client was told, and nothing else; each product's revision is 1 plus the
SUCCEEDED change sets on it, its title the last of them in the log's order, and it is still Limited;
and the exported log replayed into an empty SQLite file and an empty PostgreSQL database gives the live
digest. The clock is manual (the store's clock, which the import sets): every command runs at the same
time, so the command-line processes' `--at` is never behind a server's.
"""
import collections
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

import botocore.auth
import botocore.awsrequest
import botocore.credentials

FAILURES = []
PT = "ProfessionalServicesProduct@1.0"
SELLER = "seller:111122223333"
T0 = "2026-03-02T09:00:00Z"
PRODUCTS = ["prod-eeeeeeeeeeee%d" % i for i in range(1, 5)]
KEYS = {"seller": ("AKIDSELLER", "seller-secret", SELLER), "ops": ("AKIDOPS", "ops-secret", "operations")}


def check(what, cond, detail=""):
    print(("ok   " if cond else "FAIL ") + what + ("" if cond else ": " + str(detail)[:2000]))
    if not cond:
        FAILURES.append(what)


def body(kind, product, token, title):
    if kind == "info":
        change = {"ChangeType": "UpdateInformation", "Entity": {"Type": PT, "Identifier": product},
                  "DetailsDocument": {"ProductTitle": title}}
    else:
        change = {"ChangeType": "UpdateVisibility", "Entity": {"Type": PT, "Identifier": product},
                  "DetailsDocument": {"TargetVisibility": "Public"}}
    return {"Catalog": "AWSMarketplace", "ClientRequestToken": token, "ChangeSet": [change]}


def post(endpoint, who, path, data):
    """A signed POST; returns (status, error type or None, answer)."""
    key, secret, _ = KEYS[who]
    request = botocore.awsrequest.AWSRequest(method="POST", url=endpoint + path, data=json.dumps(data),
                                             headers={"Content-Type": "application/json"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(key, secret), "aws-marketplace",
                            "us-east-1").add_auth(request)
    prepared = request.prepare()
    payload = prepared.body.encode() if isinstance(prepared.body, str) else prepared.body
    r = urllib.request.Request(prepared.url, data=payload, headers=dict(prepared.headers), method="POST")
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            return resp.status, None, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("x-amzn-ErrorType"), json.loads(e.read() or b"{}")


class Run:
    def __init__(self, binary, root, db, work):
        self.binary, self.root, self.db, self.work = binary, root, db, work
        self.lock = threading.Lock()
        self.starts = []    # (worker, token, kind, product, title, outcome, detail); outcome: id | "conflict"
        self.retries = []   # (token, first id, retry's id or error)
        self.reviews = []   # (worker, change set id, "ok" | "ended" | other)
        self.unexpected = []
        self.held = []      # change set ids waiting in review, not yet taken by a reviewer
        self.busy = 0       # CLI exit 75: the store was busy, nothing done, asked again

    def cli(self, *args):
        for _ in range(20):
            p = subprocess.run([self.binary] + list(args) + ["--db", self.db, "--output", "json",
                               "--workflows", self.root + "/workflows", "--rules", self.root + "/rules"],
                               capture_output=True, text=True, timeout=120)
            if p.returncode != 75:
                return p
            with self.lock:
                self.busy += 1
        return p

    def take_held(self, rng):
        with self.lock:
            if not self.held:
                return None
            i = rng.randrange(len(self.held))
            cs = self.held[i]
            # One time in five the id stays for another reviewer too: a deliberate second review.
            if rng.random() >= 0.2:
                self.held.pop(i)
            return cs

    def worker(self, name, endpoint, deadline, seed):
        rng = random.Random(seed)
        n = 0
        while time.monotonic() < deadline:
            n += 1
            cs = self.take_held(rng) if rng.random() < 0.4 else None
            if cs:
                self.review(name, endpoint, cs)
                continue
            kind = "info" if rng.random() < 0.5 else "vis"
            product = rng.choice(PRODUCTS)
            token = "%s-%d" % (name, n)
            title = "Title %s" % token
            outcome, detail = self.start(endpoint, body(kind, product, token, title), token)
            with self.lock:
                self.starts.append((name, token, kind, product, title, outcome, detail))
                if outcome not in ("conflict", None) and kind == "vis":
                    self.held.append(outcome)
            if outcome not in ("conflict", None) and endpoint and rng.random() < 0.1:
                again, _ = self.start(endpoint, body(kind, product, token, title), token)
                with self.lock:
                    self.retries.append((token, outcome, again))

    def start(self, endpoint, data, token):
        """Returns (change set id, answer) or ("conflict", the error text) or (None, what went wrong)."""
        if endpoint:
            status, etype, answer = post(endpoint, "seller", "/StartChangeSet", data)
            if status == 200 and "ChangeSetId" in answer:
                return answer["ChangeSetId"], answer
            if status == 423 and etype and etype.split(":")[0] == "ResourceInUseException":
                return "conflict", answer.get("message", "")
            self.note("HTTP StartChangeSet %s: %s %s %s" % (token, status, etype, answer))
            return None, answer
        path = os.path.join(self.work, token + ".json")
        with open(path, "w") as f:
            json.dump(data, f)
        p = self.cli("start-change-set", "--change-set", path, "--actor", SELLER, "--at", T0)
        os.unlink(path)
        if p.returncode == 0:
            return json.loads(p.stdout)["ChangeSetId"], p.stdout
        if p.returncode == 4:
            said = p.stdout + p.stderr
            if said.count("ResourceInUseException") == 2 and json.loads(p.stdout)["__type"] == "ResourceInUseException":
                return "conflict", p.stderr
            self.note("CLI conflict %s not said once on each stream: %r %r" % (token, p.stdout, p.stderr))
            return "conflict", p.stderr
        self.note("CLI start-change-set %s: exit %d: %s %s" % (token, p.returncode, p.stdout, p.stderr))
        return None, p.stderr

    def review(self, name, endpoint, cs):
        reason = "rejected by " + name
        if endpoint:
            status, etype, answer = post(endpoint, "ops", "/sellerflow/Review",
                                         {"ChangeSetId": cs, "Decision": "reject", "Reason": reason})
            if status == 200 and answer.get("Status") == "FAILED":
                result = "ok"
            elif 400 <= status < 500 and (etype or "").startswith("ValidationException") and "has ended" in str(answer):
                result = "ended"
            else:
                result = "HTTP %s %s %s" % (status, etype, answer)
        else:
            p = self.cli("review", cs, "reject", "--reason", reason, "--actor", "operations", "--at", T0)
            if p.returncode == 0 and json.loads(p.stdout).get("Status") == "FAILED":
                result = "ok"
            elif p.returncode == 1 and "has ended" in p.stdout:
                result = "ended"
            else:
                result = "exit %d %s %s" % (p.returncode, p.stdout, p.stderr)
        if result not in ("ok", "ended"):
            self.note("review %s by %s: %s" % (cs, name, result))
        with self.lock:
            self.reviews.append((name, cs, result))

    def note(self, what):
        with self.lock:
            self.unexpected.append(what)


def start_server(binary, root, db, creds, work, i):
    log_path = os.path.join(work, "server-%d.log" % i)
    server = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--db", db, "--credentials", creds,
                               "--clock", "manual", "--log-level", "warn",
                               "--workflows", root + "/workflows", "--rules", root + "/rules"],
                              stderr=open(log_path, "w"), text=True)
    for _ in range(400):
        with open(log_path) as log:
            m = re.search(r"on http://127\.0\.0\.1:(\d+)", log.read())
        if m:
            return server, "http://127.0.0.1:" + m.group(1)
        if server.poll() is not None:
            break
        time.sleep(0.05)
    with open(log_path) as log:
        raise SystemExit("serve %d did not start: %s" % (i, log.read()))


def main():
    binary, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    seconds = float(sys.argv[sys.argv.index("--seconds") + 1]) if "--seconds" in sys.argv else 20.0
    if "SELLERFLOW_TEST_PG" not in os.environ:
        sys.exit("no cluster: run under tests/store/pg_harness.sh")
    work = tempfile.mkdtemp(prefix="pgconc.")

    def newdb(tag):
        name = "sf_conc_%s_%d" % (tag, os.getpid())
        subprocess.run(["psql", os.environ["SELLERFLOW_TEST_PG"], "-qAtc", "CREATE DATABASE " + name], check=True)
        return "postgresql://sellerflow@/%s?host=%s" % (name, os.environ["PG_HARNESS_DIR"])

    db = newdb("live")
    creds = os.path.join(work, "creds.json")
    with open(creds, "w") as f:
        json.dump({"Keys": [{"AccessKeyId": k, "SecretAccessKey": s, "Actor": a} for k, s, a in KEYS.values()]}, f)
    with open(os.path.join(work, "setup.jsonl"), "w") as f:
        f.write(json.dumps({"EntityType": "Seller@1.0", "EntityIdentifier": "111122223333", "State": "Active",
                            "Owner": SELLER, "DetailsDocument": {"PublicProfile": True,
                                                                 "TaxQuestionnaireComplete": True}}) + "\n")
        for p in PRODUCTS:
            f.write(json.dumps({"EntityType": PT, "EntityIdentifier": p, "State": "Limited", "Owner": SELLER,
                                "DetailsDocument": {"ProductTitle": "Old " + p, "ShortDescription": "kept"}}) + "\n")
    subprocess.run([binary, "import", os.path.join(work, "setup.jsonl"), "--db", db, "--at", T0],
                   check=True, capture_output=True)
    # An import leaves the clock where it was (no time yet): a tick sets it, so that the servers' manual
    # clocks start at T0, not at the epoch.
    subprocess.run([binary, "tick", "--to", T0, "--actor", "operations", "--db", db], check=True,
                   capture_output=True)
    run = Run(binary, root, db, work)
    servers = []
    try:
        for i in range(4):
            servers.append(start_server(binary, root, db, creds, work, i))
        began = time.monotonic()
        deadline = began + seconds
        threads = [threading.Thread(target=run.worker, args=("http%d" % i, servers[i][1], deadline, 100 + i))
                   for i in range(4)]
        threads += [threading.Thread(target=run.worker, args=("cli%d" % i, None, deadline, 200 + i))
                    for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        # Whatever still waits in review is rejected now, through the command line.
        for cs in list(run.held):
            run.review("drain", None, cs)
        print("load: %.1f s, %d starts, %d retries, %d reviews, %d busy (75) retried" %
              (time.monotonic() - began, len(run.starts), len(run.retries), len(run.reviews), run.busy))
    finally:
        for i, (server, _) in enumerate(servers):
            server.send_signal(signal.SIGTERM)
            try:
                check("serve %d stops on SIGTERM with exit 0" % i, server.wait(timeout=30) == 0)
            except subprocess.TimeoutExpired:
                server.kill()
                check("serve %d stops on SIGTERM" % i, False, "still running after 30 s")
    verify(run, binary, root, db, newdb, work)
    if "--keep" in sys.argv:
        with open(os.path.join(work, "answers.json"), "w") as f:
            json.dump({"starts": run.starts, "reviews": run.reviews, "retries": run.retries}, f, indent=0)
        print("kept " + work)
    else:
        shutil.rmtree(work)
    print("%d failures" % len(FAILURES))
    sys.exit(1 if FAILURES else 0)


def verify(run, binary, root, db, newdb, work):
    def sf(*args, store=db):
        p = subprocess.run([binary] + list(args) + ["--db", store, "--output", "json", "--workflows",
                           root + "/workflows", "--rules", root + "/rules"], capture_output=True, text=True)
        if p.returncode != 0:
            check("sellerflow %s" % " ".join(args), False, p.stderr)
        return p.stdout

    check("no unexpected answer", not run.unexpected, run.unexpected[:10])
    accepted = [s for s in run.starts if s[5] not in ("conflict", None)]
    conflicts = [s for s in run.starts if s[5] == "conflict"]
    by_kind = collections.Counter((s[0][:3], s[2], "conflict" if s[5] == "conflict" else "ok") for s in accepted + conflicts)
    print("answers: " + ", ".join("%s %s %s: %d" % (k + (v,)) for k, v in sorted(by_kind.items())))
    check("the workers conflicted, through both serve and the command line",
          any(s[0].startswith("http") for s in conflicts) and any(s[0].startswith("cli") for s in conflicts),
          by_kind)
    check("change sets were accepted through both",
          any(s[0].startswith("http") for s in accepted) and any(s[0].startswith("cli") for s in accepted), by_kind)
    ids = [s[5] for s in accepted]
    check("every accepted change set has its own id", len(ids) == len(set(ids)),
          [i for i, c in collections.Counter(ids).items() if c > 1][:5])
    check("a retry with the same token answers the same change set",
          all(first == again for _, first, again in run.retries), run.retries[:5])
    listed = json.loads(sf("list-change-sets", "--max-results", "20") or "{}")
    summaries = listed.get("ChangeSetSummaryList", [])
    while listed.get("NextToken"):
        listed = json.loads(sf("list-change-sets", "--max-results", "20", "--next-token", listed["NextToken"]))
        summaries += listed.get("ChangeSetSummaryList", [])
    status = {s["ChangeSetId"]: s["Status"] for s in summaries}
    check("the store lists exactly the accepted change sets (nothing lost, nothing doubled, "
          "no conflict left one)", sorted(status) == sorted(ids),
          (len(status), len(ids), sorted(set(status) ^ set(ids))[:5]))
    vis = {s[5] for s in accepted if s[2] == "vis"}
    info = {s[5] for s in accepted if s[2] == "info"}
    check("every UpdateInformation SUCCEEDED", all(status.get(c) == "SUCCEEDED" for c in info),
          [(c, status.get(c)) for c in info if status.get(c) != "SUCCEEDED"][:5])
    check("every held UpdateVisibility ended FAILED (rejected)", all(status.get(c) == "FAILED" for c in vis),
          [(c, status.get(c)) for c in vis if status.get(c) != "FAILED"][:5])
    ok_reviews = collections.Counter(cs for _, cs, r in run.reviews if r == "ok")
    check("each held change set was rejected exactly once",
          sorted(ok_reviews) == sorted(vis) and all(c == 1 for c in ok_reviews.values()),
          (len(ok_reviews), len(vis), [c for c, k in ok_reviews.items() if k > 1][:5]))
    ended = sum(1 for _, _, r in run.reviews if r == "ended")
    print("second reviews refused as ended: %d" % ended)

    # The command log: every answered request once, with the outcome its client saw.
    p = subprocess.run([binary, "log", "export", "--db", db], capture_output=True, text=True)
    check("log export", p.returncode == 0, p.stderr)
    log_path = os.path.join(work, "log.jsonl")
    with open(log_path, "w") as f:
        f.write(p.stdout)
    lines = [json.loads(line) for line in p.stdout.splitlines() if line.strip()]
    starts = [l for l in lines if l["op"] == "start-change-set"]
    reviews = [l for l in lines if l["op"] == "review"]
    sent = collections.Counter(s[1] for s in run.starts)
    for token, _, _ in run.retries:
        sent[token] += 1
    logged = collections.Counter(l.get("ClientRequestToken") for l in starts)
    check("the log holds every StartChangeSet sent, once per sending (nothing lost, nothing doubled)",
          logged == sent, sorted(set(logged.items()) ^ set(sent.items()))[:6])
    told = {s[1]: s[5] for s in run.starts}
    mismatched = []
    for l in starts:
        o, want = l["Outcome"], told.get(l.get("ClientRequestToken"))
        got = o.get("ChangeSetId") if o.get("Result") == "Ok" else \
            ("conflict" if o.get("Error") == "ResourceInUseException" else o)
        if got != want:
            mismatched.append((l.get("ClientRequestToken"), want, o))
    check("each logged outcome is what its client was told (a conflict logged as ResourceInUseException)",
          not mismatched, mismatched[:5])
    check("the log holds every review answered, and no other",
          sorted((l["ChangeSetId"], l["Outcome"]["Result"]) for l in reviews) ==
          sorted((cs, "Ok" if r == "ok" else "Refused") for _, cs, r in run.reviews),
          (len(reviews), len(run.reviews)))
    check("the log holds nothing else", len(lines) == 2 + len(PRODUCTS) + len(starts) + len(reviews),
          collections.Counter(l["op"] for l in lines))

    # Revisions and titles: 1 (the import) plus the SUCCEEDED change sets on the product; the title is the
    # last of them in the log's (commit) order.
    for product in PRODUCTS:
        e = json.loads(sf("describe-entity", product))
        succeeded = [l for l in starts if l["Outcome"].get("Status") == "SUCCEEDED" and
                     l["ChangeSet"][0]["Entity"]["Identifier"] == product and
                     l["ChangeSet"][0]["ChangeType"] == "UpdateInformation"]
        mine = {s[5] for s in accepted if s[3] == product and s[2] == "info"}
        check("%s: revision 1 + %d SUCCEEDED change sets" % (product, len(mine)),
              e.get("Revision") == 1 + len(mine), e.get("Revision"))
        if succeeded:
            check("%s: its title is the log's last update" % product,
                  e["DetailsDocument"]["ProductTitle"] == succeeded[-1]["ChangeSet"][0]["DetailsDocument"]["ProductTitle"],
                  (e["DetailsDocument"]["ProductTitle"], succeeded[-1]["ClientRequestToken"]))
        check("%s: still Limited, held by nothing" % product,
              e.get("State") == "Limited" and "LockedBy" not in e, e)

    # The exported log replays to the live digest, into either kind of store.
    live = subprocess.run([binary, "digest", "--db", db], capture_output=True, text=True).stdout.strip()
    for kind, store in (("SQLite", os.path.join(work, "replayed.db")), ("PostgreSQL", newdb("replayed"))):
        p = subprocess.run([binary, "replay", log_path, "--db", store, "--workflows", root + "/workflows",
                            "--rules", root + "/rules"], capture_output=True, text=True)
        got = json.loads(p.stdout).get("Digest") if p.returncode == 0 else p.stderr
        check("the exported log replayed into %s gives the live digest" % kind, got == live, (got, live))


if __name__ == "__main__":
    main()
