#!/usr/bin/env python3
"""The console in a real browser: Debian's Chromium driven by Playwright, against the real server.

usage: console_test.py SELLERFLOW SOURCE_DIR ARTIFACTS_DIR
Starts `sellerflow serve --clock manual` on a temporary store with its own credentials, puts the
product walkthrough's first requests in through the signed API (the way the AWS CLI and boto3 send
them), then runs console.mjs, which signs in as a seller and as Seller Operations and walks the
pages. Screenshots land in ARTIFACTS_DIR. Exits 77 (ctest's skip) when Chromium is not installed.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

CHROMIUM = os.environ.get("SELLERFLOW_CHROMIUM", "/usr/bin/chromium")
KEYS = {
    "seller": ("AKIDCONSOLESELLER", "seller-console-secret", "seller:111122223333"),
    "other": ("AKIDCONSOLEOTHER", "other-console-secret", "seller:999988887777"),
    "operations": ("AKIDCONSOLEOPS", "operations-console-secret", "operations"),
    "buyer": ("AKIDCONSOLEBUYER", "buyer-console-secret", "buyer:444455556666"),
}
XSS_TITLE = '<script>window.__xss=1</script><img src=x onerror="window.__xss=2">'


def main():
    binary, root, artifacts = sys.argv[1:4]
    if not os.access(CHROMIUM, os.X_OK):
        print("SKIP: %s is not installed (apt-get install -y chromium); the console's browser test "
              "needs it" % CHROMIUM)
        return 77
    if not os.path.isdir(os.path.join(HERE, "node_modules", "playwright")):
        print("FAIL: tests/console/node_modules is missing: run `npm install` in tests/console "
              "(make test does)")
        return 1
    try:
        from api import call
    except ImportError:
        print("FAIL: the console test needs botocore (pip install boto3) for the python3 on PATH")
        return 1
    os.makedirs(artifacts, exist_ok=True)
    work = tempfile.mkdtemp(prefix="sellerflow-console-")
    creds = os.path.join(work, "creds.json")
    with open(creds, "w") as f:
        json.dump({"Keys": [{"AccessKeyId": k, "SecretAccessKey": s, "Actor": a}
                            for k, s, a in KEYS.values()]}, f)
    log = os.path.join(work, "serve.log")
    proc = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--db",
                             os.path.join(work, "store.db"), "--credentials", creds,
                             "--clock", "manual", "--log-level", "warn"], stderr=open(log, "w"))
    try:
        endpoint = None
        for _ in range(200):
            m = re.search(r"http://127\.0\.0\.1:(\d+)", open(log).read())
            if m:
                endpoint = "http://127.0.0.1:" + m.group(1)
                break
            time.sleep(0.05)
        if endpoint is None:
            print("FAIL: the server did not start: " + open(log).read())
            return 1

        def api(who, method, path, body=None):
            k, s, _ = KEYS[who]
            status, answer = call(endpoint, k, s, method, path, body)
            if status != 200:
                raise SystemExit("FAIL: %s %s as %s: %d %s" % (method, path, who, status, answer))
            return answer

        def start(who, line):
            body = {k: v for k, v in line.items() if k not in ("op", "Actor", "At", "Outcome")}
            return api(who, "POST", "/StartChangeSet", body)["ChangeSetId"]

        def describe(who, cs):
            return api(who, "GET", "/DescribeChangeSet?catalog=AWSMarketplace&changeSetId=" + cs)

        walk = [json.loads(l) for l in open(os.path.join(root, "examples", "walkthroughs",
                                                         "product-walkthrough.jsonl"))]
        api("operations", "POST", "/sellerflow/Tick", {"To": "2026-01-05T09:00:00Z"})
        start("seller", walk[0])                 # The seller's public profile.
        created = start("seller", walk[1])       # A product, created and released (Limited).
        product = describe("seller", created)["ChangeSet"][0]["Entity"]["Identifier"]
        failed = start("seller", walk[2])        # An UpdateInformation a rule refuses.
        xss = api("seller", "POST", "/StartChangeSet", {
            "Catalog": "AWSMarketplace", "ChangeSetName": "xss title",
            "ChangeSet": [{"ChangeType": "CreateProduct",
                           "Entity": {"Type": "ProfessionalServicesProduct@1.0"},
                           "DetailsDocument": {"ProductTitle": XSS_TITLE}}]})["ChangeSetId"]
        xss_product = describe("seller", xss)["ChangeSet"][0]["Entity"]["Identifier"]
        # Another seller's request and product, which the first seller must not reach.
        other = api("other", "POST", "/StartChangeSet", {
            "Catalog": "AWSMarketplace",
            "ChangeSet": [{"ChangeType": "CreateProduct",
                           "Entity": {"Type": "ProfessionalServicesProduct@1.0"},
                           "DetailsDocument": {"ProductTitle": "Another seller's product"}}]})["ChangeSetId"]
        other_product = describe("other", other)["ChangeSet"][0]["Entity"]["Identifier"]
        config = {
            "endpoint": endpoint, "artifacts": artifacts, "chromium": CHROMIUM,
            "api": [sys.executable, os.path.join(HERE, "api.py"), endpoint],
            "keys": {who: {"id": k, "secret": s, "actor": a} for who, (k, s, a) in KEYS.items()},
            "product": product, "failed": failed, "xss_product": xss_product, "xss_title": XSS_TITLE,
            "other_change_set": other, "other_product": other_product,
            "restrict": dict(walk[12], ChangeSet=[dict(walk[12]["ChangeSet"][0], Entity={
                "Type": "ProfessionalServicesProduct@1.0", "Identifier": product})]),
            "public": dict(walk[5], ChangeSet=[dict(walk[5]["ChangeSet"][0], Entity={
                "Type": "ProfessionalServicesProduct@1.0", "Identifier": product})]),
        }
        for line in (config["restrict"], config["public"]):
            for k in ("op", "Actor", "At", "Outcome", "ClientRequestToken"):
                line.pop(k, None)
        result = subprocess.run(["node", os.path.join(HERE, "console.mjs"), json.dumps(config)],
                                cwd=HERE, timeout=600)
        return result.returncode
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
