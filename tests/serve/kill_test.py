#!/usr/bin/env python3
"""kill -9 of `sellerflow serve` under load loses no acknowledged change set and leaves nothing half-done.

usage: kill_test.py SELLERFLOW SOURCE_DIR [SECONDS]
Sixteen boto3 clients start change sets for a few seconds; the server is killed with SIGKILL while
they run. Then: every change set a client was answered for is in the store, the store passes
PRAGMA integrity_check, and its exported log replayed into an empty store gives the live digest.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

try:
    import boto3
except ImportError:
    sys.exit("kill_test.py needs boto3 (pip install boto3) for the python3 on PATH")
from botocore.config import Config

CLIENTS = 16


def main():
    binary, root = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 4.0
    work = tempfile.mkdtemp(prefix="serve-kill.")
    db = os.path.join(work, "s.db")
    creds = os.path.join(work, "creds.json")
    with open(creds, "w") as f:
        json.dump({"Keys": [{"AccessKeyId": "AKIDSELLER", "SecretAccessKey": "s", "Actor": "seller:111122223333"}]}, f)
    subprocess.run([binary, "import", os.path.join(root, "examples/tour/setup.jsonl"), "--db", db,
                    "--at", "2026-03-02T09:00:00Z"], check=True, capture_output=True)
    log = open(os.path.join(work, "server.log"), "w")
    server = subprocess.Popen([binary, "serve", "--listen", "127.0.0.1:0", "--db", db, "--credentials", creds,
                               "--log-level", "warn", "--workflows", root + "/workflows", "--rules", root + "/rules"],
                              stderr=log)
    m = None
    for _ in range(200):
        m = re.search(r":(\d+)\n", open(os.path.join(work, "server.log")).read())
        if m:
            break
        time.sleep(0.05)
    if not m:
        sys.exit("FAIL: the server did not start: " + open(os.path.join(work, "server.log")).read())
    endpoint = "http://127.0.0.1:" + m.group(1)
    acked, lock, stop = [], threading.Lock(), threading.Event()

    def client(n):
        c = boto3.client("marketplace-catalog", endpoint_url=endpoint, region_name="us-east-1",
                         aws_access_key_id="AKIDSELLER", aws_secret_access_key="s",
                         config=Config(retries={"max_attempts": 1}, connect_timeout=2, read_timeout=10))
        i = 0
        while not stop.is_set():
            i += 1
            try:
                r = c.start_change_set(Catalog="AWSMarketplace", ChangeSet=[{
                    "ChangeType": "CreateProduct", "Entity": {"Type": "ProfessionalServicesProduct@1.0"},
                    "DetailsDocument": {"ProductTitle": "Load %d.%d" % (n, i)}}])
                with lock:
                    acked.append(r["ChangeSetId"])
            except Exception:
                if stop.is_set() or server.poll() is not None:
                    return

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    time.sleep(seconds)
    server.send_signal(signal.SIGKILL)
    server.wait()
    stop.set()
    for t in threads:
        t.join()
    failures = 0
    with lock:
        ids = list(acked)
    print("acknowledged before the kill: %d change sets from %d clients" % (len(ids), CLIENTS))
    if len(ids) < CLIENTS:
        print("FAIL: fewer change sets than clients were acknowledged: the load did not run")
        failures += 1
    listed = json.loads(subprocess.run([binary, "list-change-sets", "--db", db, "--output", "json"],
                                       check=True, capture_output=True, text=True).stdout)
    stored = {s["ChangeSetId"] for s in listed["ChangeSetSummaryList"]}
    missing = [i for i in ids if i not in stored]
    if missing:
        print("FAIL: %d acknowledged change sets are not in the store: %s" % (len(missing), missing[:5]))
        failures += 1
    else:
        print("ok   every acknowledged change set is in the store")
    integrity = subprocess.run(["sqlite3", db, "PRAGMA integrity_check"], capture_output=True, text=True).stdout
    if integrity.strip() != "ok":
        print("FAIL: integrity_check: " + integrity)
        failures += 1
    else:
        print("ok   integrity_check")
    exported = os.path.join(work, "log.jsonl")
    with open(exported, "w") as f:
        subprocess.run([binary, "log", "export", "--db", db], check=True, stdout=f)
    live = subprocess.run([binary, "digest", "--db", db], check=True, capture_output=True, text=True).stdout
    subprocess.run([binary, "replay", exported, "--db", os.path.join(work, "copy.db"), "--workflows",
                    root + "/workflows", "--rules", root + "/rules"], check=True, capture_output=True)
    copy = subprocess.run([binary, "digest", "--db", os.path.join(work, "copy.db")], check=True,
                          capture_output=True, text=True).stdout
    if live != copy:
        print("FAIL: the exported log replays to %s, the live store is %s" % (copy.strip(), live.strip()))
        failures += 1
    else:
        print("ok   the exported log replays to the live store's digest")
    print("%d failures" % failures)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
