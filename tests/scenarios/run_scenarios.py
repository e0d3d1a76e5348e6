#!/usr/bin/env python3
"""Scenario driver: runs every tests/scenarios/**/*.yaml through the real sellerflow binary and checks each step.

usage: run_scenarios.py BIN SRC_DIR [-j N] [SCENARIO_OR_FOLDER ...]

Each scenario gets a fresh SQLite file in a temporary folder; each step is one command of the replay format run
through the CLI (`start-change-set`, `review`, `cancel-change-set`, `tick`, `import`) with `--workflows
SRC/workflows --rules SRC/rules`. tests/scenarios/README.md documents the format.
"""

import argparse
import concurrent.futures
import json
import os
import re
import subprocess
import sys
import tempfile

import yaml

SCENARIO_KEYS = {"description", "steps", "policy", "driver_must_fail"}
STEP_KEYS = {"id", "do", "expect", "note"}
EXPECT_KEYS = {"exit", "Status", "FailureCode", "Errors", "Exception", "Message", "NotMessage", "Entities",
               "ChangeSets"}
ENTITY_KEYS = {"State", "Owner", "Revision", "Type", "Document", "Missing", "Exists"}
CHANGE_SET_KEYS = {"Status", "FailureCode", "Errors", "Message"}
OPS = {"start-change-set", "review", "cancel-change-set", "tick", "import"}
# The exit code a refusal of each kind gives (README.md, "Exit codes").
EXCEPTION_EXIT = {"ValidationException": 1, "ConflictException": 4, "ResourceInUseException": 4,
                  "ResourceNotFoundException": 5, "AccessDeniedException": 6}
START_TIME = "2026-01-01T00:00:00Z"
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_-]*)(?:\.([A-Za-z0-9_-]+))?\}")
# ${72*a}: the text after * repeated, for strings at a length limit.
REPEAT_TEXT = re.compile(r"\$\{(\d+)\*([^}]*)\}")


class ScenarioError(Exception):
    """The scenario file itself is wrong (not a failed expectation)."""


def fmt(value):
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


class Run:
    """One scenario run: its store, its named change sets and the failures found."""

    def __init__(self, binary, src, path, tmp):
        self.binary = binary
        self.src = src
        self.path = path
        self.tmp = tmp
        self.db = os.path.join(tmp, "scenario.db")
        self.names = {}        # id -> the change set's response (ChangeSetId, ChangeSet[...])
        self.failures = []
        self.clock = START_TIME
        self.workflows = [os.path.join(src, "workflows")]
        self.rules = [os.path.join(src, "rules")]
        self.count = 0

    # ---- variables --------------------------------------------------------------------------------
    def resolve(self, name, part, where):
        if name not in self.names:
            raise ScenarioError(f"{where}: ${{{name}}} names no earlier step with `id: {name}`")
        response = self.names[name]
        if part is None:
            cs = response.get("ChangeSetId")
            if not cs:
                raise ScenarioError(f"{where}: step `{name}` created no change set, so ${{{name}}} has no value")
            return cs
        changes = response.get("ChangeSet") or []
        for i, c in enumerate(changes):
            if c.get("ChangeName") == part or str(i) == part:
                ident = (c.get("Entity") or {}).get("Identifier")
                if not ident:
                    raise ScenarioError(f"{where}: change {part} of `{name}` has no entity identifier "
                                        f"(did the change set fail before creating it?)")
                return ident
        raise ScenarioError(f"{where}: step `{name}` has no change named or numbered {part}")

    def subst(self, value, where):
        if isinstance(value, str):
            value = REPEAT_TEXT.sub(lambda m: m.group(2) * int(m.group(1)), value)
            return VAR.sub(lambda m: self.resolve(m.group(1), m.group(2), where), value)
        if isinstance(value, list):
            out = []
            for v in value:
                # {$items: N, item: X} inside a list: N copies of X spliced in, ${i} counting 1..N.
                if isinstance(v, dict) and "$items" in v:
                    out += [self.subst(x, where) for x in expand(v, where)]
                else:
                    out.append(self.subst(v, where))
            return out
        if isinstance(value, dict) and "$items" in value:
            return [self.subst(v, where) for v in expand(value, where)]
        if isinstance(value, dict):
            return {self.subst(k, where) if isinstance(k, str) else k: self.subst(v, where)
                    for k, v in value.items()}
        return value

    # ---- running commands ------------------------------------------------------------------------
    def sellerflow(self, args):
        cmd = [self.binary] + args + ["--db", self.db, "--output", "json"]
        for w in self.workflows:
            cmd += ["--workflows", w]
        for r in self.rules:
            cmd += ["--rules", r]
        p = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        return p.returncode, p.stdout, p.stderr

    def write(self, text):
        self.count += 1
        f = os.path.join(self.tmp, f"command-{self.count}.json")
        with open(f, "w", encoding="utf-8") as out:
            out.write(text)
        return f

    def execute(self, do, where):
        if not isinstance(do, dict):
            raise ScenarioError(f"{where}: `do` must be a map (one replay-log line), not {type(do).__name__}")
        op = do.get("op", "start-change-set")
        if op not in OPS:
            raise ScenarioError(f"{where}: op {op!r} is not one of {', '.join(sorted(OPS))}")
        if op == "tick":
            to = do.get("To")
            if not to:
                raise ScenarioError(f"{where}: a tick needs `To`")
            self.clock = str(to)
            return self.sellerflow(["tick", "--actor", "operations", "--to", self.clock])
        if op == "import":
            line = dict(do)
            line["op"] = "import"
            return self.sellerflow(["import", self.write(json.dumps(line) + "\n")])
        at = str(do.get("At", self.clock))
        self.clock = at
        actor = do.get("Actor")
        if op == "start-change-set":
            # A body is what a client sends; the actor and the time are the command line's.
            body = {k: v for k, v in do.items() if k not in ("op", "Actor", "At")}
            if "Catalog" not in body:
                body["Catalog"] = "AWSMarketplace"
            elif body["Catalog"] is None:
                del body["Catalog"]
            args = ["start-change-set", "--change-set", self.write(json.dumps(body)), "--at", at]
            if actor:
                args += ["--actor", str(actor)]
            return self.sellerflow(args)
        cs = do.get("ChangeSetId")
        if not cs:
            raise ScenarioError(f"{where}: {op} needs `ChangeSetId` (write ${{id}} for a named step)")
        args = [op, str(cs), "--at", at]
        if op == "review":
            decision = do.get("Decision")
            if not decision:
                raise ScenarioError(f"{where}: a review needs `Decision: approve` or `Decision: reject`")
            args.insert(2, str(decision))
            if do.get("Reason") is not None:
                args += ["--reason", str(do["Reason"])]
        extra = set(do) - {"op", "Actor", "At", "ChangeSetId", "Decision", "Reason"}
        if extra:
            raise ScenarioError(f"{where}: {op} does not take {', '.join(sorted(extra))}")
        if not actor and op == "review":
            actor = "operations"  # The scenario format's default; the CLI asks for --actor.
        if actor:
            args += ["--actor", str(actor)]
        return self.sellerflow(args)

    # ---- checking --------------------------------------------------------------------------------
    def fail(self, where, what, expected, actual):
        self.failures.append(f"{where}: {what}: expected {fmt(expected)}, got {fmt(actual)}")

    def check_errors(self, where, expected, response):
        if not isinstance(expected, dict):
            raise ScenarioError(f"{where}: Errors must map a ChangeName or index to a list of error codes")
        changes = response.get("ChangeSet") or []
        keys = {}
        for i, c in enumerate(changes):
            keys[str(i)] = i
            if c.get("ChangeName"):
                keys[c["ChangeName"]] = i
        wanted = {}
        for k, codes in expected.items():
            if str(k) not in keys:
                self.failures.append(f"{where}: Errors: the change set has no change named or numbered {k} "
                                     f"(changes: {', '.join(sorted(keys))})")
                continue
            if isinstance(codes, str):
                codes = [codes]
            wanted[keys[str(k)]] = sorted(codes or [])
        for i, c in enumerate(changes):
            got = sorted(e.get("ErrorCode") for e in (c.get("ErrorDetailList") or []))
            want = wanted.get(i, [])
            if got != want:
                label = c.get("ChangeName") or str(i)
                messages = [f"{e.get('ErrorCode')}: {e.get('ErrorMessage')}" for e in (c.get("ErrorDetailList") or [])]
                self.fail(where, f"Errors of change {label} ({c.get('ChangeType')})", want, got)
                if messages:
                    self.failures.append(f"{where}:   its messages: " + " | ".join(messages))

    def check_messages(self, where, expect, text):
        for key, must in (("Message", True), ("NotMessage", False)):
            if key not in expect:
                continue
            needles = expect[key] if isinstance(expect[key], list) else [expect[key]]
            for needle in needles:
                if (str(needle) in text) != must:
                    self.failures.append(f"{where}: {key}: {fmt(str(needle))} "
                                         f"{'not found in' if must else 'found in'} the output: {text.strip()}")

    def check_change_set(self, where, expect, response, text):
        for key in ("Status", "FailureCode"):
            if key in expect and response.get(key) != expect[key]:
                self.fail(where, key, expect[key], response.get(key))
        if "Errors" in expect:
            self.check_errors(where, expect["Errors"], response)
        self.check_messages(where, expect, text)

    def subset(self, where, path, expected, actual):
        if isinstance(expected, dict):
            if not isinstance(actual, dict):
                self.fail(where, path, expected, actual)
                return
            for k, v in expected.items():
                if k not in actual:
                    self.failures.append(f"{where}: {path}.{k}: expected {fmt(v)}, but the field is absent")
                else:
                    self.subset(where, f"{path}.{k}", v, actual[k])
        elif expected != actual:
            self.fail(where, path, expected, actual)

    def check_entities(self, where, entities):
        if not isinstance(entities, dict):
            raise ScenarioError(f"{where}: Entities must map identifiers to expectations")
        for ident, want in entities.items():
            want = want or {}
            unknown = set(want) - ENTITY_KEYS
            if unknown:
                raise ScenarioError(f"{where}: Entities.{ident}: unknown keys {', '.join(sorted(unknown))}; "
                                    f"allowed: {', '.join(sorted(ENTITY_KEYS))}")
            rc, out, err = self.sellerflow(["describe-entity", str(ident)])
            label = f"entity {ident}"
            if rc == 5:
                if want.get("Exists", True):
                    self.failures.append(f"{where}: {label}: not found ({err.strip()})")
                continue
            if rc != 0:
                self.failures.append(f"{where}: {label}: describe-entity exited {rc}: {err.strip()}")
                continue
            if want.get("Exists", True) is False:
                self.failures.append(f"{where}: {label}: expected no such entity, but it exists")
                continue
            got = json.loads(out)
            for key, field in (("State", "State"), ("Owner", "Owner"), ("Revision", "Revision"),
                               ("Type", "EntityType")):
                if key in want and got.get(field) != want[key]:
                    self.fail(where, f"{label} {key}", want[key], got.get(field))
            if "Document" in want:
                self.subset(where, f"{label} Document", want["Document"], got.get("DetailsDocument"))
            for field in want.get("Missing", []) or []:
                if field in (got.get("DetailsDocument") or {}):
                    self.fail(where, f"{label} Document.{field}", "(absent)", got["DetailsDocument"][field])

    def check_other_change_sets(self, where, sets):
        if not isinstance(sets, dict):
            raise ScenarioError(f"{where}: ChangeSets must map change set ids to expectations")
        for cs, want in sets.items():
            unknown = set(want or {}) - CHANGE_SET_KEYS
            if unknown:
                raise ScenarioError(f"{where}: ChangeSets.{cs}: unknown keys {', '.join(sorted(unknown))}")
            rc, out, err = self.sellerflow(["describe-change-set", str(cs)])
            if rc != 0:
                self.failures.append(f"{where}: change set {cs}: describe-change-set exited {rc}: {err.strip()}")
                continue
            got = json.loads(out)
            self.check_change_set(f"{where}: change set {cs}", want or {}, got, out + readable(got))

    def step(self, index, step):
        where = f"step {index}"
        if not isinstance(step, dict):
            raise ScenarioError(f"{where}: a step must be a map with `do` (and `id`, `expect`)")
        if step.get("id"):
            where += f" ({step['id']})"
        unknown = set(step) - STEP_KEYS
        if unknown:
            raise ScenarioError(f"{where}: unknown keys {', '.join(sorted(unknown))}; allowed: "
                                f"{', '.join(sorted(STEP_KEYS))}")
        if "do" not in step:
            raise ScenarioError(f"{where}: a step needs `do`")
        expect = step.get("expect") or {}
        unknown = set(expect) - EXPECT_KEYS
        if unknown:
            raise ScenarioError(f"{where}: unknown expectations {', '.join(sorted(unknown))}; allowed: "
                                f"{', '.join(sorted(EXPECT_KEYS))}")
        do = self.subst(step["do"], where)
        rc, out, err = self.execute(do, where)
        response = {}
        for line in out.splitlines():
            try:
                response = json.loads(line)
                break
            except ValueError:
                pass
        if not isinstance(response, dict):
            response = {}
        if step.get("id"):
            self.names[step["id"]] = response
        expect = self.subst(expect, where)
        text = out + err
        text += readable(response)
        exception = response.get("__type")
        if not exception:
            m = re.search(r"sellerflow: (\w+Exception)", err)
            exception = m.group(1) if m else None
        # The exit code: as written, else what the expected outcome implies.
        if "exit" in expect:
            want_rc = expect["exit"]
        elif "Exception" in expect:
            want_rc = EXCEPTION_EXIT.get(expect["Exception"], 1)
        elif expect.get("Status") == "FAILED":
            want_rc = 1
        else:
            want_rc = 0
        if rc != want_rc:
            self.fail(where, "exit", want_rc, rc)
            self.failures.append(f"{where}:   output: {text.strip()[:2000]}")
        if "Exception" in expect:
            if exception != expect["Exception"]:
                self.fail(where, "Exception", expect["Exception"], exception)
        elif exception and rc != 0 and "exit" not in expect:
            self.failures.append(f"{where}: unexpected {exception}: {text.strip()[:2000]}")
        self.check_change_set(where, expect, response, text)
        if "Entities" in expect:
            self.check_entities(where, expect["Entities"])
        if "ChangeSets" in expect:
            self.check_other_change_sets(where, expect["ChangeSets"])


def readable(response):
    """The messages of a response as plain lines (JSON escapes its quotes): a refusal's violations as
    "Path: Message", each change's errors as "CODE: message"."""
    lines = []
    for v in response.get("Violations") or []:
        if isinstance(v, dict):
            lines.append(f"{v.get('Path', '')}: {v.get('Message', '')}")
    if response.get("Message"):
        lines.append(str(response["Message"]))
    for c in response.get("ChangeSet") or []:
        for e in (c.get("ErrorDetailList") or []) if isinstance(c, dict) else []:
            lines.append(f"{e.get('ErrorCode')}: {e.get('ErrorMessage')}")
    return "".join("\n" + line for line in lines)


def expand(spec, where):
    """{$items: N, item: X}: N copies of X, with ${i} in its strings replaced by 1..N."""
    if set(spec) != {"$items", "item"} or not isinstance(spec["$items"], int) or spec["$items"] < 0:
        raise ScenarioError(f"{where}: write a generated list as {{$items: N, item: ...}}, with ${{i}} for 1..N")

    def fill(x, i):
        if isinstance(x, str):
            return x.replace("${i}", str(i))
        if isinstance(x, list):
            return [fill(y, i) for y in x]
        if isinstance(x, dict):
            return {fill(k, i): fill(v, i) for k, v in x.items()}
        return x
    return [fill(spec["item"], i) for i in range(1, spec["$items"] + 1)]


def load(path):
    with open(path, encoding="utf-8") as f:
        doc = yaml.safe_load(f)
    if not isinstance(doc, dict):
        raise ScenarioError("a scenario file must be a map with `description` and `steps`")
    unknown = set(doc) - SCENARIO_KEYS
    if unknown:
        raise ScenarioError(f"unknown keys {', '.join(sorted(unknown))}; allowed: {', '.join(sorted(SCENARIO_KEYS))}")
    if not doc.get("description"):
        raise ScenarioError("the scenario needs a `description` (a sentence on what it checks)")
    if not isinstance(doc.get("steps"), list) or not doc["steps"]:
        raise ScenarioError("the scenario needs `steps`, a non-empty list")
    return doc


def run_scenario(binary, src, path, log=None):
    """Returns (ok, lines): ok is whether the scenario met its expectations (or, with driver_must_fail,
    whether the driver rightly failed it)."""
    try:
        doc = load(path)
    except (ScenarioError, yaml.YAMLError, OSError) as e:
        return False, [f"{e}"]
    with tempfile.TemporaryDirectory(prefix="sellerflow-scenario-") as tmp:
        run = Run(binary, src, path, tmp)
        policy = doc.get("policy") or {}
        base = os.path.dirname(path)
        for w in policy.get("workflows", []):
            run.workflows.append(os.path.join(base, w))
        for r in policy.get("rules", []):
            run.rules.append(os.path.join(base, r))
        try:
            for i, step in enumerate(doc["steps"], 1):
                run.step(i, step)
        except ScenarioError as e:
            run.failures.append(f"scenario error: {e}")
        except subprocess.TimeoutExpired as e:
            run.failures.append(f"the command timed out: {e}")
        if log is not None:
            rc, out, err = run.sellerflow(["log", "export"])
            if rc != 0:
                run.failures.append(f"log export exited {rc}: {err.strip()}")
            log.append(out)
    must_fail = doc.get("driver_must_fail")
    if must_fail is None:
        return not run.failures, run.failures
    # A self-test: the driver must report these failures (each listed text must appear in them).
    if not run.failures:
        return False, ["driver_must_fail: every expectation passed, but this scenario is written to fail"]
    joined = "\n".join(run.failures)
    missing = [m for m in (must_fail if isinstance(must_fail, list) else []) if str(m) not in joined]
    if missing:
        return False, [f"driver_must_fail: the driver did not report {fmt(m)}" for m in missing] + \
            ["  it reported:"] + ["    " + f for f in run.failures]
    return True, [f"(failed as intended: {len(run.failures)} failure(s))"] + ["  " + f for f in run.failures]


def find(paths):
    found = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                found += [os.path.join(root, f) for f in sorted(files) if f.endswith(".yaml")]
        else:
            found.append(p)
    return found


def main():
    ap = argparse.ArgumentParser(description="Run sellerflow scenarios through the real binary.")
    ap.add_argument("binary")
    ap.add_argument("src", help="the source folder (holds workflows/ and rules/)")
    ap.add_argument("paths", nargs="*", help="scenario files or folders (default: SRC/tests/scenarios)")
    ap.add_argument("-j", "--jobs", type=int, default=4, help="scenarios run at once (default 4)")
    ap.add_argument("-v", "--verbose", action="store_true", help="print the notes of scenarios that pass too")
    ap.add_argument("--export-log", metavar="FILE",
                    help="with one scenario: write its command log (`sellerflow log export`) to FILE")
    ap.add_argument("--check-log", metavar="FILE",
                    help="with one scenario: fail unless its command log equals FILE (a walkthrough kept in examples/)")
    a = ap.parse_args()
    binary = os.path.abspath(a.binary)
    src = os.path.abspath(a.src)
    root = os.path.join(src, "tests", "scenarios")
    files = find(a.paths or [root])
    if not files:
        print("no scenarios found", file=sys.stderr)
        return 2
    failed = 0
    if a.export_log or a.check_log:
        if len(files) != 1:
            print("--export-log and --check-log take exactly one scenario", file=sys.stderr)
            return 2
        log = []
        ok, lines = run_scenario(binary, src, files[0], log)
        text = "".join(log)
        if ok and a.export_log:
            with open(a.export_log, "w", encoding="utf-8") as f:
                f.write(text)
        if ok and a.check_log:
            with open(a.check_log, encoding="utf-8") as f:
                kept = f.read()
            if kept != text:
                import difflib
                ok = False
                lines = [f"{a.check_log} is not this scenario's command log; refresh it with --export-log:"] + \
                    [line.rstrip("\n")[:300] for line in difflib.unified_diff(
                        kept.splitlines(True), text.splitlines(True), "kept", "scenario", n=0)]
        results = [(ok, lines)]
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            results = list(pool.map(lambda f: run_scenario(binary, src, f), files))
    for f, (ok, lines) in zip(files, results):
        name = os.path.relpath(f, root) if os.path.abspath(f).startswith(root + os.sep) else f
        print(f"{'ok  ' if ok else 'FAIL'} {name}")
        if not ok or a.verbose:
            for line in lines:
                print(f"     {name}: {line}" if not ok else f"     {line}")
        failed += not ok
    print(f"{len(files) - failed} of {len(files)} scenarios passed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
