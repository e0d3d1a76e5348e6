#!/usr/bin/env python3
"""Hostile input: each bad input gets its clear error and exit code, fast, and leaves the store as it was.

Every case runs the real binary on a copy of one small store (a seller and a product) and checks:
  - the exit code, and the error text (an exact line or a precise substring of stderr);
  - the time it took (no hang: every case has a bound, a few seconds);
  - the store afterwards: `file` cases leave the file byte for byte as it was (the input never
    reached the engine); `digest` cases leave `sellerflow digest` as it was and add only the
    refusal to the command log (the engine refused the request, and logs every request it saw);
    `policy` cases are accepted and FAIL by the shipped rules, which record the change set; `files` cases (a
    hostile store) leave every file of the folder as it was.
Big inputs (the 50 MB line, deep nesting) are generated here, never committed.

usage: hostile_test.py SELLERFLOW SOURCE_DIR
"""
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

PT = "ProfessionalServicesProduct@1.0"
SELLER = "seller:111122223333"
PRODUCT = "prod-aaaaaaaaaaaaa"
AT = "2026-01-01T00:00:00Z"


def body(changes=None, **top):
    b = {"Catalog": "AWSMarketplace"}
    b.update(top)
    b["ChangeSet"] = changes if changes is not None else [ui()]
    return json.dumps(b, ensure_ascii=False).encode()


def ui(details=None, identifier=PRODUCT, **extra):
    c = {"ChangeType": "UpdateInformation", "Entity": {"Type": PT, "Identifier": identifier},
         "DetailsDocument": details if details is not None else {"ProductTitle": "Fine"}}
    c.update(extra)
    return c


def raw_body(details_text):
    return (b'{"Catalog":"AWSMarketplace","ChangeSet":[{"ChangeType":"UpdateInformation","Entity":{"Type":"' +
            PT.encode() + b'","Identifier":"' + PRODUCT.encode() + b'"},"DetailsDocument":' + details_text + b"}]}")


class Store:
    """A case's store made hostile by make(db), which rewrites {T}/s.db (and may put files beside it). A `files`
    case must leave every file of the folder byte for byte as it was; SQLite may add a -shm to read a WAL."""

    def __init__(self, make):
        self.make = make


def foreign_db(db):
    os.remove(db)
    con = sqlite3.connect(db)
    con.execute("CREATE TABLE t (x)")
    con.commit()
    con.close()


def schema_version(version):
    def make(db):
        con = sqlite3.connect(db)
        con.execute("PRAGMA user_version = %d" % version)
        con.commit()
        con.close()
    return make


RUN = {}  # The binary and the policy arguments, for the setups that make a second store.


def others_wal(db):
    """Puts the WAL of another store (made like this one, changed in place) beside the store."""
    other = db + ".other"
    tick = [RUN["binary"], "tick", "--actor", "operations", "--db", other, *RUN["policy"]]
    subprocess.run(tick + ["--to", AT], check=True, capture_output=True)
    hold = sqlite3.connect(other)  # A reader keeps the WAL from being checkpointed and removed.
    hold.execute("BEGIN")
    hold.execute("SELECT count(*) FROM command_log").fetchall()
    subprocess.run(tick + ["--to", "2026-01-02T00:00:00Z"], check=True, capture_output=True)
    shutil.copy(other + "-wal", db + "-wal")
    hold.close()
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(other + suffix):
            os.remove(other + suffix)


def small_pages_wal(db):
    other = db + ".other"
    con = sqlite3.connect(other)
    con.execute("PRAGMA page_size = 1024")
    con.execute("PRAGMA journal_mode = WAL")
    con.execute("CREATE TABLE t (x)")
    con.commit()
    shutil.copy(other + "-wal", db + "-wal")
    con.close()
    os.remove(other)


def rollback_mode_with_wal(db):
    con = sqlite3.connect(db)
    con.execute("PRAGMA journal_mode = DELETE")
    con.close()
    others_wal(db)


def files(folder):
    return {n: sha(os.path.join(folder, n)) for n in sorted(os.listdir(folder)) if not n.endswith("-shm")}


START = ["start-change-set", "--change-set", "{T}/in", "--actor", SELLER, "--at", AT]
SQL = "x'); DROP TABLE entities; --\" OR 1=1 /* %_ \\"

CASES = [
    # name, args, input file (bytes, a function of the temp dir, or None), exit, stderr, store
    ("invalid UTF-8", START, raw_body(b'{"ProductTitle":"bad \xff\xfe"}'), 1,
     "  (body): invalid UTF-8 at byte %d" % raw_body(b'{"ProductTitle":"bad \xff').index(b"\xff"), "file"),
    ("overlong UTF-8 encoding", START, raw_body(b'{"ProductTitle":"\xc0\xaf"}'), 1,
     "  (body): invalid UTF-8 at byte %d" % raw_body(b'{"ProductTitle":"\xc0').index(b"\xc0"), "file"),
    ("a raw NUL byte", START, raw_body(b'{"ProductTitle":"a\x00b"}'), 1, "  (body): invalid JSON", "file"),
    ("a NUL byte outside the JSON", START, body() + b"\x00", 1, "  (body): invalid JSON", "file"),
    ("an escaped NUL is text the rules refuse", START, raw_body(b'{"ProductTitle":"a\\u0000b"}'), 1,
     '"ErrorCode":"INVALID_INPUT","ErrorMessage":"Remove unsupported characters', "policy"),
    ("JSON nested 10,000 deep in a document", START, raw_body(b"[" * 10000 + b"]" * 10000), 1,
     "  ChangeSet[0].DetailsDocument: is nested deeper than 64 levels", "file"),
    ("JSON nested 10,000 deep at the root", START, b'{"a":' * 10000, 1, "  (body): ", "file"),
    ("a replay line nested 10,000 deep", ["replay", "{T}/in", "--append"], b'{"op":' + b"[" * 10000 + b"]" * 10000 + b"}\n",
     1, "in:1 has 1 problem", "file"),
    ("a 50 MB line in a replay log", ["replay", "{T}/in", "--append"],
     lambda: b'{"op":"tick","Actor":"operations","To":"' + b"9" * (50 << 20) + b'"}\n', 1,
     "  (body): has more than 1052672 bytes; at most 1052672 are allowed", "file"),
    ("a 50 MB change set body", START,
     lambda: raw_body(b'{"ProductTitle":"' + b"x" * (50 << 20) + b'"}'), 1,
     "  (body): has more than 1048576 bytes; at most 1048576 are allowed", "file"),
    ("a revision past 64 bits", START, body([ui(identifier=PRODUCT + "@99999999999999999999999")]), 1,
     "has revision '99999999999999999999999' after '@'; a revision is a whole number", "file"),
    ("an integer past 64 bits in an expression", ["eval", "99999999999999999999 + 1"], None, 1,
     "<expr>:1:1: error: integer 99999999999999999999 does not fit in 64 bits", "file"),
    ("integer overflow at run time", ["eval", "9223372036854775807 + 1"], None, 3,
     "integer overflow in 9223372036854775807 + 1", "file"),
    ("a decimal with 400 digits in an expression", ["eval", "1." + "1" * 400 + " + 1"], None, 1,
     "has more than 18 significant digits or 18 decimal places", "file"),
    ("numbers past 64 bits and 400 digits in data", ["eval", "details.N", "--data", "{T}/in"],
     json.dumps({"details": {"M": 12345678901234567890123456789}}).encode()[:-2] +
     b', "N": 1.' + b"1" * 400 + b"}}", 2,
     "details.N: number 1.1111111111111111111111... (402 characters) has more than 18 decimal places", "file"),
    ("a number past 64 bits where a string belongs", START,
     raw_body(b'{"ProductTitle":"x","Highlights":[123456789012345678901234567890]}'), 1,
     "  ChangeSet[0].DetailsDocument.Highlights[0]: must be a string, not a number", "digest"),
    ("SQL and quotes in every envelope field", START,
     body([ui(identifier=SQL, ChangeName=SQL, ChangeType=SQL)], ChangeSetName=SQL, ClientRequestToken=SQL,
          Intent=SQL), 1, "  ChangeSetName: must match", "file"),
    ("control characters in a field are shown escaped", START, body([ui()], ChangeSetName="red\x1b[31m\x07"), 1,
     "  ChangeSetName: must match ^[\\w\\s+=.:@-]+$", "file"),
    ("control characters in --actor are refused and shown escaped", START[:4] + ["seller:1111\x1b[2J22223333"],
     body(), 2, 'sellerflow: --actor must be seller:<12 digits>, buyer:<12 digits> or operations, not '
     '"seller:1111\\u001b[2J22223333"', "file"),
    ("control characters in product text: the rules refuse them", START,
     body([ui({"ProductTitle": "ctl \x01\x1b[31m"})]), 1,
     '"ErrorCode":"INVALID_INPUT","ErrorMessage":"Remove unsupported characters', "policy"),
    ("a $ChangeName reference to nowhere", START,
     body([ui(identifier="$Nowhere.Entity.Identifier", ChangeName="A")]), 1,
     "  ChangeSet[0].Entity.Identifier: refers to ChangeName 'Nowhere', which no change in this change set has",
     "file"),
    ("a reference cycle", START,
     body([ui(identifier="$B.Entity.Identifier", ChangeName="A"), ui(identifier="$A.Entity.Identifier", ChangeName="B")]),
     1, "sellerflow: ValidationException: the changes' $ChangeName references form a cycle", "digest"),
    ("21 changes in a set", START, body([ui(ChangeName="C%d" % i) for i in range(21)]), 1,
     "  ChangeSet: has 21 items; at most 20 are allowed", "file"),
    ("a regex that backtracks catastrophically elsewhere runs in linear time",
     ["eval", 'matches("' + "a" * 60000 + '!", "^(a+)+$")'], None, 0, "", "file"),
    ("a constant defined through itself", ["check-rules", "{T}/in.rules"], b"const A = B + 1\nconst B = A + 1\n", 1,
     "in.rules:1:7: error: constant 'A' depends on itself", "file"),
    ("a rule that calls itself: there are no user functions", ["check-rules", "{T}/in.rules"],
     b'rule r {\n  code X\n  require r()\n  message "m"\n}\n', 1, "in.rules:3:11: error: ", "file"),
    ("a machine whose automatic transitions loop", ["check", "--workflows", "{T}/wf"], "loop", 1,
     "wf/loop.yaml:9:5: error: automatic transitions go round in a circle: 'A' -> 'B' -> 'A'", "file"),
    ("a machine whose guarded transitions loop at run time", START + ["--workflows", "{T}/wf"],
     ("guarded_loop", body([{"ChangeType": "GuardedLoop", "Entity": {"Type": PT, "Identifier": PRODUCT},
                             "DetailsDocument": {}}])), 1,
     '"FailureCode":"SERVER_FAULT","FailureDescription":"GuardedLoop on ProfessionalServicesProduct@1.0 took more '
     'than 200 automatic steps in one go: its machine loops"', "policy"),
    ("macros nested over big lists reach the evaluation limit",
     ["eval", "all([%s], x => all([%s], y => x + y >= 0))" % (",".join(map(str, range(2000))),
                                                          ",".join(map(str, range(2000))))], None, 3,
     "error: evaluation limit reached: macros may visit at most 1000000 elements per evaluation", "file"),
    ("an expression that would build 810,000 strings of 1 KB stops at the evaluation's memory bound",
     ["eval", "len(map(D, x => map(D, y => S + string(y))))", "--rules", "{T}/in.rules"],
     b'const S = "' + b"x" * 1000 + b'"\nconst A = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]\n'
     b"const B = A + A + A + A + A + A + A + A + A + A\nconst C = B + B + B + B + B + B + B + B + B + B\n"
     b"const D = filter(C, x => x > 1)\n", 3,
     "evaluation limit reached: an evaluation may build at most 64 MiB of strings, lists and maps", "file"),
    ("YAML nested 10,000 deep", ["check", "--workflows", "{T}/wf"], "deep", 1,
     "wf/deep.yaml:4:39: error: nesting deeper than 32 levels", "file"),
    ("--workflows through .. to nowhere", ["tick", "--to", AT, "--actor", "operations", "--workflows", "{T}/../nowhere"], None, 3,
     "/../nowhere: error: no such folder", "file"),
    ("a broken symbolic link among the workflows", ["tick", "--to", AT, "--actor", "operations", "--workflows", "{T}/wf"], "dangling", 3,
     "wf/gone.yaml: error: broken symbolic link (to /nonexistent/gone.yaml)", "file"),
    ("a symbolic link loop among the workflows", ["check", "--workflows", "{T}/wf"], "symloop", 0,
     "", "file"),
    ("--workflows is a file", ["tick", "--to", AT, "--actor", "operations", "--workflows", "{SRC}/workflows/product.yaml"], None, 3,
     "workflows/product.yaml: error: not a folder", "file"),
    ("a replay line that is not JSON but starts like null", ["replay", "{T}/in", "--append"], b"not json\n", 1,
     "in:1 has 1 problem\n  (body): invalid JSON at byte 0: invalid literal not", "file"),
    ("a misspelt status filter", ["list-change-sets", "--status", "SUCCEDED"], None, 2,
     "--status: SUCCEDED not in {PREPARING,APPLYING,SUCCEEDED,FAILED,CANCELLED}", "file"),
    ("an unknown identifier with control characters", ["describe-entity", "prod-\x1b[31m"], None, 5,
     "sellerflow: ResourceNotFoundException: no entity prod-\\x1b[31m", "file"),
    ("SQL in an identifier", ["review", "x'; DROP TABLE entities;--", "approve", "--actor", "operations", "--at", AT], None, 5,
     "sellerflow: ResourceNotFoundException: no change set x'; DROP TABLE entities;--", "digest"),
    ("an empty body", START, b"", 1, "  (body): is empty; expected a JSON object", "file"),
    ("an empty workflow file", ["check", "--workflows", "{T}/wf"], "empty", 1,
     "wf/empty.yaml: error: a workflow file must be a map, not nothing", "file"),
    ("an empty replay log", ["replay", "{T}/in", "--append"], b"", 0, "", "file"),
    ("a body that is a directory", ["start-change-set", "--change-set", "{T}", "--actor", SELLER], None, 2,
     "it is a directory", "file"),
    ("a replay log that is a directory", ["replay", "{T}", "--append"], None, 2, "it is a directory", "file"),
    ("a store that is a directory", ["list-change-sets", "--db", "{T}"], None, 74,
     "it is a directory; give the path of a store file", "file"),
    ("--db :memory: would keep nothing", ["tick", "--to", AT, "--actor", "operations", "--db", ":memory:"], None, 2,
     "sellerflow: ':memory:' is not a store path: SQLite would keep the store in memory and lose it on exit; "
     "give the path of a store file\n", "file"),
    ("--db as a URI with mode=memory", ["tick", "--to", AT, "--actor", "operations", "--db", "file:{T}/s.db?mode=memory"], None, 2,
     "sellerflow: 'file:{T}/s.db?mode=memory' is not a store path: SQLite would read it as a URI, not as a "
     "file name; give the path of a store file (./file:{T}/s.db?mode=memory for a file of that name)\n", "file"),
    ("--db as a URI turning locking off", ["digest", "--db", "file:{T}/s.db?vfs=unix-none"], None, 2,
     "sellerflow: 'file:{T}/s.db?vfs=unix-none' is not a store path: SQLite would read it as a URI", "file"),
    ("an empty --db", ["tick", "--to", AT, "--actor", "operations", "--db", ""], None, 2,
     "sellerflow: --db is empty; give the path of a store file\n", "file"),
    ("another program's SQLite database, to write", ["tick", "--to", AT, "--actor", "operations"], Store(foreign_db), 74,
     "sellerflow: {T}/s.db is an SQLite database but not a sellerflow store; give another --db path\n", "files"),
    ("another program's SQLite database, to read", ["digest"], Store(foreign_db), 74,
     "sellerflow: {T}/s.db is an SQLite database but not a sellerflow store; give another --db path\n", "files"),
    ("a negative schema version", ["tick", "--to", AT, "--actor", "operations"], Store(schema_version(-1)), 74,
     "sellerflow: {T}/s.db is not a sellerflow store, or is damaged: its schema version is -1, and sellerflow "
     "writes none below 0; give another --db path\n", "files"),
    ("the lowest schema version, to write", ["tick", "--to", AT, "--actor", "operations"], Store(schema_version(-2 ** 31)), 74,
     "its schema version is -2147483648, and sellerflow writes none below 0", "files"),
    ("the lowest schema version, to read", ["digest"], Store(schema_version(-2 ** 31)), 74,
     "its schema version is -2147483648, and sellerflow writes none below 0", "files"),
    ("another store's WAL beside the store", ["digest"], Store(others_wal), 74,
     "sellerflow: {T}/s.db-wal does not belong to {T}/s.db (it holds the header of another store): opening the "
     "store would apply another database's writes to it; move {T}/s.db-wal away and keep it (it may be another "
     "store's), then retry\n", "files"),
    ("another store's WAL beside the store, to write", ["tick", "--to", AT, "--actor", "operations"], Store(others_wal), 74,
     "sellerflow: {T}/s.db-wal does not belong to {T}/s.db (it holds the header of another store)", "files"),
    ("a WAL of other pages beside the store", ["digest"], Store(small_pages_wal), 74,
     "sellerflow: {T}/s.db-wal does not belong to {T}/s.db (its pages are 1024 bytes, the store's 4096)", "files"),
    ("a WAL beside a store not in WAL mode", ["digest"], Store(rollback_mode_with_wal), 74,
     "sellerflow: {T}/s.db-wal does not belong to {T}/s.db ({T}/s.db is not in WAL mode)", "files"),
]


def sha(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def policy_copy(src, dest, kind):
    """A copy of the shipped workflows with one hostile addition."""
    shutil.copytree(os.path.join(src, "workflows"), dest)
    if kind == "deep":
        with open(os.path.join(dest, "deep.yaml"), "w") as f:
            f.write("machine: request\nchange_type: Deep\nentity_type: %s\ninput: %s%s\n" % (PT, "[" * 10000, "]" * 10000))
    elif kind == "dangling":
        os.symlink("/nonexistent/gone.yaml", os.path.join(dest, "gone.yaml"))
    elif kind == "symloop":
        os.symlink(".", os.path.join(dest, "loop"))
    elif kind == "empty":
        open(os.path.join(dest, "empty.yaml"), "w").close()
    elif kind == "guarded_loop":
        with open(os.path.join(dest, "guarded_loop.yaml"), "w") as f:
            f.write("machine: request\nchange_type: GuardedLoop\nentity_type: %s\nstates:\n"
                    "  A: {initial: true, status: PREPARING}\n  B: {status: PREPARING}\n"
                    "  Done: {final: true, status: SUCCEEDED}\ntransitions:\n"
                    "  - {from: A, to: B, if: len(entity.Identifier) > 0}\n"
                    "  - {from: B, to: A, if: len(entity.Identifier) > 0}\n"
                    "  - {from: B, to: Done, on: approve}\nevents:\n  approve: [operations]\n" % PT)
    elif kind == "loop":
        with open(os.path.join(dest, "loop.yaml"), "w") as f:
            f.write("machine: request\nchange_type: Loop\nentity_type: %s\nstates:\n"
                    "  A: {initial: true, status: PREPARING}\n  B: {status: PREPARING}\n"
                    "  Done: {final: true, status: SUCCEEDED}\ntransitions:\n"
                    "  - {from: A, to: B}\n  - {from: B, to: A}\n  - {from: B, to: Done, on: approve}\n"
                    "events:\n  approve: [operations]\n" % PT)


def main():
    binary, src = os.path.abspath(sys.argv[1]), os.path.abspath(sys.argv[2])
    root = tempfile.mkdtemp(prefix="sellerflow-hostile-")
    policy = ["--workflows", os.path.join(src, "workflows"), "--rules", os.path.join(src, "rules")]
    RUN.update(binary=binary, policy=policy)
    base = os.path.join(root, "base.db")
    setup = os.path.join(root, "setup.jsonl")
    with open(setup, "w") as f:
        f.write(json.dumps({"op": "import", "EntityType": PT, "EntityIdentifier": PRODUCT, "State": "Limited",
                            "Owner": SELLER, "DetailsDocument": {"ProductTitle": "Before"}}) + "\n")
    subprocess.run([binary, "replay", setup, "--db", base, *policy], check=True, capture_output=True)
    base_digest = subprocess.run([binary, "digest", "--db", base, *policy], check=True, capture_output=True,
                                 text=True).stdout.strip()
    base_sha = sha(base)
    passed = failed = 0
    for i, (name, args, given, want_rc, want_err, store) in enumerate(CASES):
        t = os.path.join(root, "case%d" % i)
        os.mkdir(t)
        db = os.path.join(t, "s.db")
        shutil.copy(base, db)
        argv = [a.replace("{T}", t).replace("{SRC}", src) for a in args]
        if isinstance(given, Store):
            given.make(db)
            given = None
        before = files(t)
        if isinstance(given, tuple):  # A policy with a hostile machine, and a request for it.
            policy_copy(src, os.path.join(t, "wf"), given[0])
            given = given[1]
        if isinstance(given, str):
            policy_copy(src, os.path.join(t, "wf"), given)
        elif given is not None:
            data = given() if callable(given) else given
            with open(os.path.join(t, "in.rules" if "{T}/in.rules" in args else "in"), "wb") as f:
                f.write(data)
            del data
        cmd = [binary, *argv]
        if "--db" not in argv:
            cmd += ["--db", db]
        if "--workflows" not in argv:
            cmd += policy[:2]
        cmd += policy[2:]
        if argv[0] in ("eval", "check-rules"):
            cmd = [binary, *argv]  # No store, no policy: these read only their arguments.
        if argv[0] == "check":
            cmd = [binary, *argv, "--rules", os.path.join(src, "rules")]
        start = time.monotonic()
        try:
            p = subprocess.run(cmd, capture_output=True, timeout=30)
        except subprocess.TimeoutExpired:
            print("FAIL %s: still running after 30 s" % name)
            failed += 1
            continue
        seconds = time.monotonic() - start
        err = p.stderr.decode("utf-8", "replace")
        problems = []
        if p.returncode != want_rc:
            problems.append("exit %d, expected %d" % (p.returncode, want_rc))
        out = p.stdout.decode("utf-8", "replace")
        if store == "policy":
            err_or_out = out  # A FAILED change set is an answer, on stdout (JSON here).
        else:
            err_or_out = err
        want_err = want_err.replace("{T}", t) if want_err else want_err
        if want_err and want_err not in err_or_out:
            problems.append("%s lacks %r" % ("stdout" if store == "policy" else "stderr", want_err))
        if want_err is None and "error:" not in err and "warning:" not in err:
            problems.append("no diagnostic")
        if any(ord(c) < 0x20 and c not in "\n" for c in err):
            problems.append("a control character reached stderr")
        if p.returncode == 70 or p.returncode < 0:
            problems.append("crashed or failed internally")
        if seconds > 10:
            problems.append("took %.1f s" % seconds)
        if store == "file" and os.path.exists(db) and (sha(db) != base_sha or os.path.exists(db + "-wal")):
            problems.append("the store file changed")
        if store == "files" and files(t) != before:
            problems.append("files changed: %s" % sorted(set(files(t).items()) ^ set(before.items())))
        if store in ("digest", "policy"):
            d = subprocess.run([binary, "digest", "--db", db, *policy], capture_output=True, text=True).stdout.strip()
            con = sqlite3.connect(db)
            logged = con.execute("SELECT outcome FROM command_log").fetchall()
            sets = con.execute("SELECT status FROM change_sets").fetchall()
            con.close()
            if store == "digest" and d != base_digest:
                problems.append("the digest changed")
            if store == "digest" and (len(logged) != 2 or '"Result":"ok"' in logged[-1][0]):
                problems.append("expected the refusal alone in the command log, found %s" % logged[1:])
            if store == "policy" and sets != [("FAILED",)]:
                problems.append("expected one FAILED change set, found %s" % sets)
        if problems:
            failed += 1
            print("FAIL %s: %s\n     stderr: %s" % (name, "; ".join(problems), err.strip()[:400]))
        else:
            passed += 1
            print("ok   %s (exit %d, %.2f s)" % (name, p.returncode, seconds))
        shutil.rmtree(t)
    print("%d passed, %d failed" % (passed, failed))
    if failed:
        print("work directory kept: %s" % root)
    else:
        shutil.rmtree(root)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
