#!/usr/bin/env python3
"""docs/policy.md says what the shipped rules/ and workflows/ do: its names exist, and its numbers are theirs.

usage: policy_doc_test.py SOURCE_DIR

Read from docs/policy.md and checked against rules/*.rules (and the `fail:` codes of workflows/*.yaml):
- every rule it names (a backticked snake_case name, or `rules/FILE.rules: name`) is defined, in FILE when the
  doc names one, and every rule defined in rules/ is named by the doc (EXEMPT lists those it need not name);
- every backticked UPPER_CASE name is a constant, an error code a rule or workflow gives, or one of OTHER_WORDS,
  so a renamed constant or code is caught;
- a value the doc gives a constant, written `NAME` = 72, `NAME` (72, ...), `NAME` (2022-07-14),
  `NAME`: A, B or C, `NAME` (A, B, C), `NAME` is A, B and C, or `NAME` adds A and B (to the list it is built
  from), is the constant's value in rules/;
- in a table row whose first cell names rules and whose last cell opens with a code, each of those rules gives
  that code (`AccessDeniedException` stands for an access rule's ACCESS_DENIED).
"""
import ast
import os
import re
import sys

# Rules the doc need not name, with the reason; empty while it names them all.
EXEMPT = {}
# Backticked upper-case words of the doc that are neither constants nor error codes.
OTHER_WORDS = {
    "APPLY", "VALIDATE",  # the values of a request's Intent
    "PREPARING", "APPLYING", "SUCCEEDED", "FAILED", "CANCELLED",  # change set statuses
    "P12M",  # an ISO 8601 duration in an example
}
ACCESS_EXCEPTION = {"AccessDeniedException": "ACCESS_DENIED"}


class Constant:
    def __init__(self, value, parts):
        self.value = value  # int, str or list of str
        self.parts = parts  # for `A + [...]`: the names and literal lists it adds up


def rules_files(root):
    folder = os.path.join(root, "rules")
    return sorted(os.path.join("rules", f) for f in os.listdir(folder) if f.endswith(".rules"))


def strip_comment(line):
    """The line without a trailing # comment; a # inside a string stays."""
    out, quoted, escaped = [], False, False
    for c in line:
        if c == "#" and not quoted:
            break
        out.append(c)
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == '"':
            quoted = not quoted
    return "".join(out)


def literal(text, constants):
    """Evaluates a constant's expression: numbers, strings, lists, duration("..."), NAME and +."""
    text = text.strip()
    m = re.fullmatch(r'duration\("([^"]*)"\)', text)
    if m:
        return ("duration", m.group(1)), []
    parts = []
    for piece in re.split(r"\s\+\s", text):
        piece = piece.strip()
        if re.fullmatch(r"[A-Z][A-Z0-9_]*", piece):
            parts.append(piece)
        else:
            parts.append(ast.literal_eval(piece))
    values = [constants[p].value if isinstance(p, str) and p in constants else p for p in parts]
    value = values[0]
    for v in values[1:]:
        value = value + v
    return value, parts


def read_rules(root):
    """(constants by name, {rule: (file, code)}) of rules/*.rules."""
    constants, rules = {}, {}
    for path in rules_files(root):
        lines = [strip_comment(l) for l in open(os.path.join(root, path), encoding="utf-8").read().split("\n")]
        i = 0
        while i < len(lines):
            m = re.match(r"^const\s+([A-Z][A-Z0-9_]*)\s*=\s*(.*)$", lines[i])
            if m:
                expr = m.group(2)
                while expr.count("[") > expr.count("]") and i + 1 < len(lines):
                    i += 1
                    expr += " " + lines[i]
                value, parts = literal(expr, constants)
                constants[m.group(1)] = Constant(value, parts)
            m = re.match(r"^rule\s+([a-z][a-z0-9_]*)\s*\{", lines[i])
            if m:
                code = None
                j = i + 1
                while j < len(lines) and not lines[j].startswith("}"):
                    c = re.match(r"^\s*code\s+([A-Z][A-Z0-9_]*)", lines[j])
                    if c:
                        code = c.group(1)
                    j += 1
                rules[m.group(1)] = (path, code)
            i += 1
    return constants, rules


def workflow_codes(root):
    codes = set()
    folder = os.path.join(root, "workflows")
    for f in os.listdir(folder):
        if f.endswith(".yaml"):
            codes.update(re.findall(r"\bfail:\s*([A-Z][A-Z0-9_]*)", open(os.path.join(folder, f)).read()))
    return codes


def list_items(text):
    """'A, B or C' (or 'and') as [A, B, C]."""
    text = re.sub(r"\s+(?:or|and)\s+", ", ", text.strip())
    return [item.strip() for item in text.split(",") if item.strip()]


def doc_values(doc):
    """(name, form, value text, line) for each value the doc gives a backticked UPPER_CASE name."""
    found = []
    text = doc.replace("\n", " ")  # a value may go on on the next line; offsets stay those of doc
    for m in re.finditer(r"`([A-Z][A-Z0-9_]*)`", text):
        name, rest, number = m.group(1), text[m.end():], doc.count("\n", 0, m.start()) + 1
        for form, pattern in (("=", r"^ = ([0-9][0-9,]*|[^\s|)]+)"), ("(", r"^ \(([^)|]*)"),
                              (":", r"^: ([^|(.]*?)\s*(?:\(|\||\.|$)"), ("is", r"^ is ([^.|]*)\."),
                              ("adds", r"^ adds ([^.|]*)\.")):
            v = re.match(pattern, rest)
            if v:
                found.append((name, form, v.group(1).strip(), number))
                break
    return found


def check_value(name, form, text, constant, constants):
    """None if the doc's text is the constant's value, else what differs."""
    value = constant.value
    if isinstance(value, bool) or isinstance(value, tuple):
        return None  # durations and flags: the doc words them, it does not quote them
    if isinstance(value, int):
        first = re.split(r"[,;]\s", text)[0] if form == "(" else text
        digits = first.replace(",", "")
        if not re.fullmatch(r"[0-9]+", digits):
            return "the doc gives %r, which is not a number" % text
        return None if int(digits) == value else "the doc says %s, rules/ says %d" % (first, value)
    if isinstance(value, str):
        if form == ":":
            return None  # `NAME`: starts prose about the text, not the text itself
        first = re.split(r"[,;]\s", text)[0] if form == "(" else text
        return None if first == value else "the doc says %r, rules/ says %r" % (first, value)
    if form == "adds":
        # The items the list adds to the list it is built from.
        value = [v for p in constant.parts if isinstance(p, list) for v in p]
    items = list_items(text)
    return None if items == value else "the doc lists %s, rules/ has %s" % (items, value)


def rule_names(text):
    """Rule names in backticks: `name` or `rules/FILE.rules: name`, as (file or None, name)."""
    names = []
    for m in re.finditer(r"`(?:(rules/[a-z_]+\.rules): )?([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`", text):
        names.append((m.group(1), m.group(2)))
    return names


def main():
    root = os.path.abspath(sys.argv[1])
    doc = open(os.path.join(root, "docs", "policy.md"), encoding="utf-8").read()
    constants, rules = read_rules(root)
    codes = {code for _, code in rules.values()} | workflow_codes(root)
    failures = []

    named = set()
    for number, line in enumerate(doc.split("\n"), 1):
        for path, name in rule_names(line):
            named.add(name)
            if name not in rules:
                failures.append("docs/policy.md:%d: rule %s is not defined in rules/" % (number, name))
            elif path and rules[name][0] != path:
                failures.append("docs/policy.md:%d: rule %s is in %s, not %s" % (number, name, rules[name][0], path))
        for m in re.finditer(r"`([A-Z][A-Z0-9_]*)`", line):
            word = m.group(1)
            if word not in constants and word not in codes and word not in OTHER_WORDS:
                failures.append("docs/policy.md:%d: %s is no constant of rules/ and no error code" % (number, word))
    for name, (path, _) in sorted(rules.items()):
        if name not in named and name not in EXEMPT:
            failures.append("%s: rule %s is not named in docs/policy.md" % (path, name))

    checked = 0
    for name, form, text, number in doc_values(doc):
        if name not in constants:
            continue
        checked += 1
        problem = check_value(name, form, text, constants[name], constants)
        if problem:
            failures.append("docs/policy.md:%d: %s: %s" % (number, name, problem))

    rows = 0
    for number, line in enumerate(doc.split("\n"), 1):
        cells = [c.strip() for c in line.strip().strip("|").split("|")] if line.startswith("|") else []
        if len(cells) < 3:
            continue
        names = [n for _, n in rule_names(cells[0]) if n in rules]
        code = re.match(r"^`([A-Za-z_]+)`", cells[-1])
        if not names or not code:
            continue
        rows += 1
        want = ACCESS_EXCEPTION.get(code.group(1), code.group(1))
        for name in names:
            if rules[name][1] != want:
                failures.append("docs/policy.md:%d: rule %s gives %s, not %s" % (number, name, rules[name][1], want))

    for failure in failures:
        print("FAIL " + failure)
    print("%d rules, %d constant values, %d table rows checked; %d failures" %
          (len(named), checked, rows, len(failures)))
    sys.exit(1 if failures or not named or not checked or not rows else 0)


if __name__ == "__main__":
    main()
