#!/usr/bin/env python3
"""Several sellerflow processes on one store: no lost update, no lock error, conflicts as conflicts.

For each worker count (--workers, e.g. 2 4) the test imports products into a fresh store, then runs
at once, per worker:
  - a `sellerflow replay` of --commands UpdateInformation requests, half on products only that
    worker touches and half on products every worker touches, each setting a title that names
    the worker and the request;
  - a driver that submits UpdateVisibility on shared products with one `start-change-set` process
    per request and approves or rejects it with `review` (the change set holds its product while it
    waits, so other workers' requests on it meet a conflict).
Then it checks:
  - every process exited 0, 1 or 4, and no "database is locked" / busy error reached anyone;
  - a refused start-change-set exited 4 naming its holder (a change set in the store);
  - totals add up: the command log holds every command sent; the replays' SUCCEEDED counts equal the
    store's SUCCEEDED UpdateInformation change sets;
  - no lost update: each product's revision is 1 + its SUCCEEDED changes, and its title is the one
    the last SUCCEEDED UpdateInformation on it set.
Finally a `sqlite3` shell holds the write lock (BEGIN IMMEDIATE) past the busy timeout: the command
meanwhile exits 75 with "busy ... retry", and the same command afterwards succeeds.

usage: concurrency_test.py SELLERFLOW SOURCE_DIR [--workers 2 4] [--commands N] [--reviews M] [--no-busy]
"""
import argparse
import json
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time

PT = "ProfessionalServicesProduct@1.0"
SELLER = "seller:111122223333"
AT = "2026-01-01T00:00:00Z"  # Every command at one time: the store's clock never moves backwards.
BUSY_TIMEOUT_S = 5.0  # Store::Open's default busy timeout.


def pid(name):
    return "prod-" + name.ljust(13, "z")[:13]


class Failure(Exception):
    pass


class Run:
    def __init__(self, binary, src, work, workers):
        self.bin = binary
        self.policy = ["--workflows", os.path.join(src, "workflows"), "--rules", os.path.join(src, "rules")]
        self.work = work
        self.db = os.path.join(work, "s.db")
        self.workers = workers
        self.errors = []
        self.sent = 0
        self.lock = threading.Lock()
        self.shared = [pid("shared" + "abcdefgh"[i]) for i in range(8)]
        self.own = {w: [pid("own" + "abcdefghij"[w] + "abcd"[i]) for i in range(4)] for w in range(workers)}

    def sf(self, *args):
        start = time.monotonic()
        r = subprocess.run([self.bin, *args, "--db", self.db, *self.policy, "--output", "json"],
                           capture_output=True, text=True)
        r.seconds = time.monotonic() - start
        return r

    def error(self, text):
        with self.lock:
            self.errors.append(text)

    def setup(self):
        lines = [{"op": "import", "EntityType": "Seller@1.0", "EntityIdentifier": "111122223333", "State": "Active",
                  "Owner": SELLER, "DetailsDocument": {"PublicProfile": True}}]
        for p in self.shared + [p for w in self.own.values() for p in w]:
            lines.append({"op": "import", "EntityType": PT, "EntityIdentifier": p, "State": "Limited",
                          "Owner": SELLER, "DetailsDocument": {"ProductTitle": "imported"}})
        path = os.path.join(self.work, "setup.jsonl")
        with open(path, "w") as f:
            f.write("".join(json.dumps(l) + "\n" for l in lines))
        r = self.sf("replay", path)
        if r.returncode != 0:
            raise Failure("setup replay exited %d: %s" % (r.returncode, r.stderr))
        self.sent += len(lines)

    def replay_worker(self, w, commands, results):
        rng = random.Random(w)
        path = os.path.join(self.work, "w%d.jsonl" % w)
        with open(path, "w") as f:
            for k in range(commands):
                product = rng.choice(self.own[w]) if k % 2 else rng.choice(self.shared)
                f.write(json.dumps({"op": "start-change-set", "Actor": SELLER, "At": AT, "Catalog": "AWSMarketplace",
                                    "ChangeSet": [{"ChangeType": "UpdateInformation",
                                                   "Entity": {"Type": PT, "Identifier": product},
                                                   "DetailsDocument": {"ProductTitle": "w%d n%d" % (w, k)}}]}) + "\n")
        r = self.sf("replay", path, "--append")  # After the setup and the other workers' commands.
        with self.lock:
            self.sent += commands
        results[w] = r
        if r.returncode != 0:
            self.error("worker %d replay exited %d after %.1fs: %s" % (w, r.returncode, r.seconds, r.stderr.strip()[:500]))

    def review_worker(self, w, reviews):
        rng = random.Random(1000 + w)
        body_path = os.path.join(self.work, "body%d.json" % w)
        for k in range(reviews):
            product = rng.choice(self.shared)
            target = rng.choice(["Public", "Limited"])
            with open(body_path, "w") as f:
                json.dump({"Catalog": "AWSMarketplace", "ChangeSet": [
                    {"ChangeType": "UpdateVisibility", "Entity": {"Type": PT, "Identifier": product},
                     "DetailsDocument": {"TargetVisibility": target}}]}, f)
            r = self.sf("start-change-set", "--change-set", body_path, "--actor", SELLER, "--at", AT)
            with self.lock:
                self.sent += 1
            if r.returncode == 4:
                if "ResourceInUseException" not in r.stderr or "in use by change set cs-" not in r.stderr:
                    self.error("worker %d: exit 4 without naming the holder: %s" % (w, r.stderr.strip()))
                else:
                    holder = r.stderr.split("in use by change set ")[1].split()[0]
                    with self.lock:
                        self.holders.append(holder)
                continue
            if r.returncode == 1 and '"Status":"FAILED"' in r.stdout:
                continue  # The policy's answer (e.g. the product already has that visibility).
            if r.returncode != 0:
                self.error("worker %d start-change-set exited %d after %.1fs: %s %s" %
                           (w, r.returncode, r.seconds, r.stderr.strip(), r.stdout.strip()[:300]))
                continue
            cs = json.loads(r.stdout)["ChangeSetId"]
            decision = rng.choice(["approve", "approve", "reject"])
            args = ["review", cs, decision, "--actor", "operations", "--at", AT]
            if decision == "reject":
                args += ["--reason", "worker %d says no" % w]
            r = self.sf(*args)
            with self.lock:
                self.sent += 1
            if r.returncode not in (0, 1):
                self.error("worker %d review exited %d after %.1fs: %s" % (w, r.returncode, r.seconds, r.stderr.strip()))

    def run(self, commands, reviews):
        self.holders = []
        results = {}
        threads = []
        for w in range(self.workers):
            threads.append(threading.Thread(target=self.replay_worker, args=(w, commands, results)))
            threads.append(threading.Thread(target=self.review_worker, args=(w, reviews)))
        start = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        seconds = time.monotonic() - start
        for w, r in results.items():
            if "locked" in r.stderr or "busy" in r.stderr:
                self.error("worker %d saw a lock error: %s" % (w, r.stderr.strip()[:300]))
        if self.errors:
            raise Failure("\n  ".join(self.errors))
        return results, seconds

    def check(self, results):
        con = sqlite3.connect(self.db)
        try:
            logged = con.execute("SELECT count(*) FROM command_log").fetchone()[0]
            if logged != self.sent:
                raise Failure("%d commands sent, %d in the command log" % (self.sent, logged))
            succeeded = sum(json.loads(r.stdout).get("SUCCEEDED", 0) for r in results.values())
            conflicts = sum(json.loads(r.stdout).get("Conflict", 0) for r in results.values())
            stored = con.execute(
                "SELECT count(*) FROM change_sets cs JOIN changes c ON c.change_set = cs.id"
                " WHERE c.change_type = 'UpdateInformation' AND cs.status = 'SUCCEEDED'").fetchone()[0]
            if succeeded != stored:
                raise Failure("the replays report %d SUCCEEDED, the store holds %d" % (succeeded, stored))
            for r in results.values():
                d = json.loads(r.stdout)
                if d.get("Ok", 0) + d.get("Conflict", 0) != d["Lines"]:
                    raise Failure("a replay's outcomes do not add up: %s" % r.stdout.strip())
            for holder in self.holders:
                if not con.execute("SELECT 1 FROM change_sets WHERE id = ?", (holder,)).fetchone():
                    raise Failure("a conflict named %s, which is no change set" % holder)
            for (product, revision, document) in con.execute("SELECT id, revision, document FROM entities"
                                                             " WHERE type = ?", (PT,)).fetchall():
                changed = con.execute("SELECT count(*) FROM changes WHERE entity_id = ? AND status = 'SUCCEEDED'",
                                      (product,)).fetchone()[0]
                if revision != 1 + changed:
                    raise Failure("%s: revision %d after %d successful changes (a lost update)" %
                                  (product, revision, changed))
                # A change's details are kept in the command that started its change set.
                last = con.execute(
                    "SELECT l.command, c.idx FROM changes c JOIN change_sets cs ON cs.id = c.change_set"
                    " JOIN command_log l ON l.seq = cs.command"
                    " WHERE c.entity_id = ? AND c.status = 'SUCCEEDED' AND c.change_type = 'UpdateInformation'"
                    " ORDER BY cs.seq DESC LIMIT 1", (product,)).fetchone()
                title = json.loads(document).get("ProductTitle")
                want = (json.loads(last[0])["ChangeSet"][last[1]]["DetailsDocument"]["ProductTitle"] if last
                        else "imported")
                if title != want:
                    raise Failure("%s: title %r, the last successful update set %r (a lost update)" %
                                  (product, title, want))
            if con.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise Failure("integrity_check failed")
        finally:
            con.close()
        return succeeded, conflicts, len(self.holders)


def busy_check(binary, src, work):
    """A sqlite3 shell holds the write lock past the busy timeout; then lets go."""
    run = Run(binary, src, work, 1)
    run.setup()
    body = os.path.join(work, "busy.json")
    with open(body, "w") as f:
        json.dump({"Catalog": "AWSMarketplace", "ChangeSet": [
            {"ChangeType": "UpdateInformation", "Entity": {"Type": PT, "Identifier": run.shared[0]},
             "DetailsDocument": {"ProductTitle": "after the lock"}}]}, f)
    shell = subprocess.Popen(["sqlite3", run.db], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    shell.stdin.write("BEGIN IMMEDIATE;\nSELECT 'held';\n")
    shell.stdin.flush()
    if shell.stdout.readline().strip() != "held":
        raise Failure("the sqlite3 shell did not take the lock")
    before = time.monotonic()
    r = run.sf("start-change-set", "--change-set", body, "--actor", SELLER, "--at", AT)
    waited = time.monotonic() - before
    shell.stdin.write("COMMIT;\n.quit\n")
    shell.stdin.close()
    shell.wait()
    if r.returncode != 75:
        raise Failure("with the lock held: exit %d, expected 75 (stderr: %s)" % (r.returncode, r.stderr.strip()))
    want = "sellerflow: store %s is busy: another process holds its write lock; retry" % run.db
    if r.stderr.strip() != want:
        raise Failure("with the lock held: stderr %r, expected %r" % (r.stderr.strip(), want))
    if waited < BUSY_TIMEOUT_S * 0.9:
        raise Failure("gave up after %.1fs, before the %.0fs busy timeout" % (waited, BUSY_TIMEOUT_S))
    r = run.sf("start-change-set", "--change-set", body, "--actor", SELLER, "--at", AT)
    if r.returncode != 0 or json.loads(r.stdout)["Status"] != "SUCCEEDED":
        raise Failure("the retry: exit %d, %s %s" % (r.returncode, r.stdout.strip()[:200], r.stderr.strip()))
    return waited


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sellerflow")
    ap.add_argument("source_dir")
    ap.add_argument("--workers", type=int, nargs="+", default=[2, 4])
    ap.add_argument("--commands", type=int, default=1000, help="UpdateInformation requests per worker")
    ap.add_argument("--reviews", type=int, default=10, help="UpdateVisibility requests per worker")
    ap.add_argument("--no-busy", action="store_true")
    a = ap.parse_args()
    binary = os.path.abspath(a.sellerflow)
    work = tempfile.mkdtemp(prefix="sellerflow-load-")
    failed = False
    try:
        for n in a.workers:
            d = os.path.join(work, "w%d" % n)
            os.mkdir(d)
            try:
                run = Run(binary, a.source_dir, d, n)
                run.setup()
                results, seconds = run.run(a.commands, a.reviews)
                succeeded, conflicts, named = run.check(results)
                print("ok   %d workers: %d commands in %.1fs, %d updates succeeded, %d conflicts in the replays,"
                      " %d refused starts named their holder" % (n, run.sent, seconds, succeeded, conflicts, named),
                      flush=True)
                if not conflicts and not named:
                    raise Failure("no conflict happened: the workers never met")
            except Failure as e:
                failed = True
                print("FAIL %d workers: %s" % (n, e), flush=True)
        if not a.no_busy:
            d = os.path.join(work, "busy")
            os.mkdir(d)
            try:
                waited = busy_check(binary, a.source_dir, d)
                print("ok   lock held by sqlite3: exit 75 after %.1fs, and the retry succeeded" % waited)
            except Failure as e:
                failed = True
                print("FAIL busy: %s" % e)
    finally:
        if failed:
            print("work directory kept: %s" % work)
        else:
            shutil.rmtree(work)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
