#!/usr/bin/env python3
"""Crash and recovery: `sellerflow replay` killed with SIGKILL at random moments, then resumed.

Each trial replays a long mixed log (gen_mixed_log.py) into a fresh store with `--resume --ack`,
kills it with SIGKILL after a random delay (up to three times), and after every kill checks the
store as it was left:
  - PRAGMA integrity_check is ok;
  - every command the process acknowledged ({"Ack":N} is printed after the commit) is in the
    command log, and the log is exactly the file's first commands: none lost, none twice;
  - no change set is half-applied: the store's digest equals a clean replay of the same prefix,
    and the store's own invariants hold (a SUCCEEDED set has only SUCCEEDED changes, a held
    entity is held by an open set, change sets are numbered without gaps);
then resumes, and at the end the digest and the exported log equal a clean run's. Each trial also
loses a reply: a start-change-set with a ClientRequestToken killed at a random moment, then
retried, must answer with the one change set that token names.

The seed is printed; `--seed S --trials 1` reruns one trial exactly (the kill delays are drawn from
it; the process's progress at that delay can still differ from run to run).

usage: crash_test.py SELLERFLOW SOURCE_DIR [--trials N] [--seed S] [--commands M] [--keep]
"""
import argparse
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


class Failure(Exception):
    pass


class Harness:
    def __init__(self, binary, src, work):
        self.bin = binary
        self.policy = ["--workflows", os.path.join(src, "workflows"), "--rules", os.path.join(src, "rules")]
        self.work = work
        self.prefix_digests = {}

    def sf(self, *args, db, check=True):
        p = subprocess.run([self.bin, *args, "--db", db, *self.policy, "--output", "json"],
                           capture_output=True, text=True)
        if check and p.returncode != 0:
            raise Failure("sellerflow %s exited %d: %s" % (" ".join(args), p.returncode, p.stderr.strip()))
        return p

    def digest(self, db):
        return self.sf("digest", db=db).stdout.strip()

    def exported(self, db):
        return self.sf("log", "export", db=db).stdout.splitlines()

    def prefix_digest(self, k):
        """The digest of a clean replay of the log's first k commands."""
        if k not in self.prefix_digests:
            path = os.path.join(self.work, "prefix.jsonl")
            with open(path, "w") as f:
                f.write("".join(l + "\n" for l in self.lines[:k]))
            db = os.path.join(self.work, "prefix-%d.db" % k)
            self.sf("replay", path, db=db)
            self.prefix_digests[k] = self.digest(db)
            for suffix in ("", "-wal", "-shm"):
                if os.path.exists(db + suffix):
                    os.remove(db + suffix)
        return self.prefix_digests[k]

    def setup(self, commands):
        self.log = os.path.join(self.work, "log.jsonl")
        subprocess.run([sys.executable, os.path.join(HERE, "gen_mixed_log.py"), self.log, "--commands",
                        str(commands), "--seed", "7"], check=True)
        with open(self.log) as f:
            self.lines = f.read().splitlines()
        clean = os.path.join(self.work, "clean.db")
        start = time.monotonic()
        out = self.sf("replay", self.log, db=clean).stdout
        self.full_seconds = time.monotonic() - start
        summary = json.loads(out)
        for kind in ("SUCCEEDED", "FAILED", "CANCELLED", "APPLYING", "Conflict"):
            if not summary.get(kind):
                raise Failure("the log exercises no %s outcome: %s" % (kind, out))
        if summary.get("NotFound") or summary.get("Refused"):
            raise Failure("reviews and cancels missed their change sets (gen_mixed_log.py predicts ids the"
                          " engine no longer gives?): %s" % out)
        self.clean_digest = summary["Digest"]
        # The commands as the command log holds them (a killed store is read the same way), and the
        # export, which adds each one's outcome: a resumed store must end with both.
        con = sqlite3.connect(clean)
        try:
            self.clean_log = [r[0] for r in con.execute("SELECT command FROM command_log ORDER BY seq")]
        finally:
            con.close()
        self.clean_export = self.exported(clean)
        if len(self.clean_log) != len(self.lines):
            raise Failure("the clean run logged %d commands for %d lines" % (len(self.clean_log), len(self.lines)))

    def check_after_kill(self, db, acked, where):
        if not os.path.exists(db):
            if acked:
                raise Failure("%s: %d commands acknowledged but no store file" % (where, acked))
            return 0
        con = sqlite3.connect(db)
        try:
            tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
            ok = con.execute("PRAGMA integrity_check").fetchall()
            if ok != [("ok",)]:
                raise Failure("%s: integrity_check says %s" % (where, ok))
            if "command_log" not in tables:  # Killed before the schema was committed.
                if acked:
                    raise Failure("%s: %d acknowledged but no schema" % (where, acked))
                return 0
            logged = [r[0] for r in con.execute("SELECT command FROM command_log ORDER BY seq")]
            bad = con.execute(
                "SELECT count(*) FROM change_sets cs JOIN changes c ON c.change_set = cs.id"
                " WHERE cs.status = 'SUCCEEDED' AND c.status <> 'SUCCEEDED'").fetchone()[0]
            if bad:
                raise Failure("%s: %d changes of SUCCEEDED change sets did not succeed" % (where, bad))
            held = con.execute(
                "SELECT e.id, e.locked_by FROM entities e LEFT JOIN change_sets cs ON cs.id = e.locked_by"
                " WHERE e.locked_by <> '' AND (cs.id IS NULL OR cs.status NOT IN ('PREPARING', 'APPLYING'))"
            ).fetchall()
            if held:
                raise Failure("%s: entities held by no open change set: %s" % (where, held[:3]))
            sets = con.execute("SELECT count(*), coalesce(max(seq), 0), coalesce(max(id), '')"
                               " FROM change_sets").fetchone()
            # The seqs no stored set has are the VALIDATE runs' (their ids are never handed out
            # again); ids sort as their seqs do.
            validated = con.execute(
                "SELECT count(DISTINCT outcome ->> 'ChangeSetId') FROM command_log"
                " WHERE command LIKE '%\"Intent\":\"VALIDATE\"%' AND outcome ->> 'ChangeSetId' <= ?",
                (sets[2],)).fetchone()[0]
            if sets[0] + validated != sets[1]:
                raise Failure("%s: %d change sets and %d VALIDATE ids, numbered up to %d"
                              % (where, sets[0], validated, sets[1]))
        finally:
            con.close()
        k = len(logged)
        if k < acked:
            raise Failure("%s: %d commands acknowledged, only %d in the command log" % (where, acked, k))
        if logged != self.clean_log[:k]:
            first = next(i for i in range(k) if logged[i] != self.clean_log[i])
            raise Failure("%s: command log entry %d differs from the clean run's:\n  %s\n  %s" %
                          (where, first + 1, logged[first][:200], self.clean_log[first][:200]))
        got = self.digest(db)
        want = self.prefix_digest(k)
        if got != want:
            raise Failure("%s: after %d commands the digest is %s, a clean replay of them gives %s"
                          " (a command half-applied?)" % (where, k, got, want))
        return k

    def run_killed(self, db, delay):
        """Starts a resuming replay, kills it after `delay` seconds; returns (acked, finished)."""
        out_path = os.path.join(self.work, "acks.out")
        with open(out_path, "w") as out, open(os.path.join(self.work, "replay.err"), "w") as err:
            p = subprocess.Popen([self.bin, "replay", self.log, "--resume", "--ack", "--db", db, *self.policy],
                                 stdout=out, stderr=err)
            try:
                p.wait(timeout=delay)
            except subprocess.TimeoutExpired:
                p.send_signal(signal.SIGKILL)
                p.wait()
        acked = 0
        with open(out_path) as f:
            for line in f:
                if line.startswith('{"Ack":'):
                    acked = max(acked, json.loads(line)["Ack"])
        if p.returncode not in (0, -signal.SIGKILL):
            with open(os.path.join(self.work, "replay.err")) as f:
                raise Failure("replay exited %d: %s" % (p.returncode, f.read().strip()))
        return acked, p.returncode == 0

    def lost_reply(self, db, rng, trial):
        """A start-change-set whose reply is lost (the process is killed), then retried."""
        token = "lost-reply-%d" % trial
        body = {"Catalog": "AWSMarketplace", "ClientRequestToken": token, "ChangeSet": [
            {"ChangeType": "UpdateSellerProfile", "Entity": {"Type": "Seller@1.0", "Identifier": "111122223333"},
             "DetailsDocument": {"TaxQuestionnaireComplete": True}}]}
        path = os.path.join(self.work, "body.json")
        with open(path, "w") as f:
            json.dump(body, f)
        args = ["start-change-set", "--change-set", path, "--actor", "seller:111122223333"]
        # Far after the log's clock, which only moves forward.
        p = subprocess.Popen([self.bin, *args, "--at", "2031-01-01T00:00:00Z", "--db", db, *self.policy,
                              "--output", "json"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            p.wait(timeout=rng.uniform(0, 0.25))
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGKILL)
            p.wait()
        answers = []
        for at in ("2031-01-01T00:01:00Z", "2031-01-01T00:02:00Z"):
            r = self.sf(*args, "--at", at, db=db)
            answers.append(json.loads(r.stdout))
        con = sqlite3.connect(db)
        ids = [r[0] for r in con.execute("SELECT id FROM change_sets WHERE token = ?", (token,))]
        con.close()
        if len(ids) != 1:
            raise Failure("lost reply: %d change sets carry token %s" % (len(ids), token))
        for a in answers:
            if a.get("ChangeSetId") != ids[0] or a.get("Status") != "SUCCEEDED":
                raise Failure("lost reply: the retry answered %s, the store holds %s" % (a, ids[0]))
        if answers[0] != answers[1]:
            raise Failure("lost reply: two retries answered differently: %s / %s" % tuple(answers))

    def trial(self, n, rng):
        db = os.path.join(self.work, "trial.db")
        for suffix in ("", "-wal", "-shm"):
            if os.path.exists(db + suffix):
                os.remove(db + suffix)
        kills = rng.randint(1, 3)
        for round_ in range(kills):
            delay = rng.uniform(0, self.full_seconds * 1.2)
            acked, finished = self.run_killed(db, delay)
            self.check_after_kill(db, acked, "trial %d, kill %d after %.3fs" % (n, round_ + 1, delay))
            if finished:
                break
        acked, finished = self.run_killed(db, 600)
        if not finished:
            raise Failure("trial %d: the final resume did not finish" % n)
        got = self.digest(db)
        if got != self.clean_digest:
            raise Failure("trial %d: final digest %s, clean run %s" % (n, got, self.clean_digest))
        if self.exported(db) != self.clean_export:
            raise Failure("trial %d: the command log differs from the clean run's" % n)
        self.lost_reply(db, rng, n)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("sellerflow")
    ap.add_argument("source_dir")
    ap.add_argument("--trials", type=int, default=10)
    ap.add_argument("--seed", type=int)
    ap.add_argument("--commands", type=int, default=1500)
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    a = ap.parse_args()
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 31)
    print("crash test: seed %d, %d trials, %d commands (rerun: --seed %d)" % (seed, a.trials, a.commands, seed),
          flush=True)
    work = tempfile.mkdtemp(prefix="sellerflow-crash-")
    h = Harness(os.path.abspath(a.sellerflow), a.source_dir, work)
    failed = False
    try:
        h.setup(a.commands)
        print("clean replay: %.2fs, digest %s" % (h.full_seconds, h.clean_digest), flush=True)
        for n in range(a.trials):
            trial_seed = seed + n
            try:
                h.trial(n, random.Random(trial_seed))
                print("ok   trial %d (seed %d)" % (n, trial_seed), flush=True)
            except Failure as e:
                failed = True
                print("FAIL trial %d (rerun: --seed %d --trials 1): %s" % (n, trial_seed, e), flush=True)
    except Failure as e:
        failed = True
        print("FAIL setup: %s" % e)
    finally:
        if a.keep or failed:
            print("work directory kept: %s" % work)
        else:
            shutil.rmtree(work)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
