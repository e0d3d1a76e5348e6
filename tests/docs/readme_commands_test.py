#!/usr/bin/env python3
"""Every command a README shows runs, and prints what the README says it prints.

usage: readme_commands_test.py SELLERFLOW SOURCE_DIR [README ...] [--show]

A ```console block is a session: each `$ ` line (continued by a trailing backslash) is a command, and the lines
after it, up to the next `$ ` line, are its output (stdout and stderr as they were written). In the output, a line that is just `...`
stands for any number of lines, and `...` inside a line for any text. A command that should fail ends with
`; echo "exit $?"` so its exit code is part of its output; any other command must exit 0. An `export`
line sets variables for the commands after it. The blocks of one
README run in order in one scratch directory that sees the source tree's top-level folders (so `workflows/`,
`examples/...` resolve) and keeps whatever the commands write (`sellerflow.db`, `log.jsonl`); `sellerflow` and
`build/src/sellerflow` are the binary under test. A ```sh block may not start a line with a sellerflow command: what a reader
is told to run is a console block, and so is tested. --show prints what each command printed.
"""
import os
import shlex
import re
import shutil
import subprocess
import sys
import tempfile

DEFAULT_READMES = ["README.md", "examples/new-request-type/README.md", "examples/private-offer/README.md",
                   "examples/policy-tests/README.md", "examples/walkthroughs/README.md",
                   "examples/what-if/README.md", "examples/lsp/README.md", "examples/upgrade/README.md",
                   "examples/product-warranty/README.md", "tests/scenarios/README.md"]


def blocks(text):
    """Yields (language, first line number, lines) of each fenced block."""
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        m = re.match(r"^```(\w*)\s*$", lines[i])
        if not m:
            i += 1
            continue
        start, lang, body = i + 2, m.group(1), []
        i += 1
        while i < len(lines) and not lines[i].startswith("```"):
            body.append(lines[i])
            i += 1
        i += 1
        yield lang, start, body


def commands(start, body):
    """Yields (line number, command, expected output lines) of a console block."""
    i = 0
    while i < len(body):
        if not body[i].startswith("$ "):
            yield start + i, None, [body[i]]  # Output before any command: an error in the README.
            i += 1
            continue
        at, cmd = start + i, body[i][2:]
        while cmd.endswith("\\") and i + 1 < len(body):
            i += 1
            cmd = cmd + "\n" + body[i]  # bash reads the backslash-newline as a continuation
        i += 1
        out = []
        while i < len(body) and not body[i].startswith("$ "):
            out.append(body[i])
            i += 1
        while out and out[-1] == "":
            out.pop()
        yield at, cmd, out


def line_pattern(expected):
    return re.compile("^" + ".*".join(re.escape(p) for p in expected.split("...")) + "$")


def matches(expected, actual):
    """Whether actual lines fit expected ones, where a `...` line takes any number of lines."""
    memo = {}

    def fit(e, a):
        key = (e, a)
        if key in memo:
            return memo[key]
        if e == len(expected):
            ok = a == len(actual)
        elif expected[e] == "...":
            ok = any(fit(e + 1, k) for k in range(a, len(actual) + 1))
        else:
            ok = a < len(actual) and line_pattern(expected[e]).match(actual[a]) is not None and fit(e + 1, a + 1)
        memo[key] = ok
        return ok

    return fit(0, 0)


def scratch_dir(root, binary):
    d = tempfile.mkdtemp(prefix="readme.")
    for name in os.listdir(root):
        if name.startswith(".") or name.startswith("build"):
            continue
        os.symlink(os.path.join(root, name), os.path.join(d, name))
    os.makedirs(os.path.join(d, "build", "src"))
    os.symlink(binary, os.path.join(d, "build", "src", "sellerflow"))
    os.makedirs(os.path.join(d, ".bin"))
    os.symlink(binary, os.path.join(d, ".bin", "sellerflow"))
    return d


def run_readme(binary, root, readme, show):
    text = open(os.path.join(root, readme), encoding="utf-8").read()
    work = scratch_dir(root, binary)
    env = dict(os.environ, PATH=os.path.join(work, ".bin") + ":" + os.environ.get("PATH", ""),
               LC_ALL="C.UTF-8", COLUMNS="200")
    for k in ("SELLERFLOW_DB", "SELLERFLOW_WORKFLOWS", "SELLERFLOW_RULES"):
        env.pop(k, None)
    failures, ran = 0, 0
    try:
        for lang, start, body in blocks(text):
            if lang == "sh" and any(re.match(r"\s*(build/src/)?sellerflow ", line) for line in body):
                print("FAIL %s:%d: a ```sh block shows a sellerflow command; make it a ```console block, "
                      "so it is tested" % (readme, start))
                failures += 1
            if lang != "console":
                continue
            for at, cmd, expected in commands(start, body):
                if cmd is None:
                    print("FAIL %s:%d: output with no `$ ` command before it" % (readme, at))
                    failures += 1
                    continue
                if cmd.startswith("export "):
                    # Kept for the README's later commands, as a reader's shell would.
                    for assignment in shlex.split(cmd[len("export "):]):
                        name, _, value = assignment.partition("=")
                        env[name] = value
                    continue
                ran += 1
                p = subprocess.run(["bash", "-c", cmd], cwd=work, env=env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, timeout=300)
                actual = p.stdout.rstrip("\n").split("\n") if p.stdout else []
                actual = [line.rstrip() for line in actual]
                if show:
                    print("%s:%d: $ %s\n%s" % (readme, at, cmd, "\n".join(actual)))
                if p.returncode != 0 and "exit $?" not in cmd:
                    print("FAIL %s:%d: `%s` exited %d:\n  %s" % (readme, at, cmd, p.returncode,
                                                                "\n  ".join(actual)))
                    failures += 1
                elif not matches(expected, actual):
                    print("FAIL %s:%d: `%s` printed\n  %s\nbut the README says\n  %s" %
                          (readme, at, cmd, "\n  ".join(actual), "\n  ".join(expected)))
                    failures += 1
    finally:
        shutil.rmtree(work)
    return failures, ran


def main():
    args = [a for a in sys.argv[1:] if a != "--show"]
    show = "--show" in sys.argv
    binary, root = os.path.abspath(args[0]), os.path.abspath(args[1])
    readmes = args[2:] or DEFAULT_READMES
    failures, ran = 0, 0
    for readme in readmes:
        f, r = run_readme(binary, root, readme, show)
        failures, ran = failures + f, ran + r
    print("%d README commands, %d failures" % (ran, failures))
    sys.exit(1 if failures or ran == 0 else 0)


if __name__ == "__main__":
    main()
