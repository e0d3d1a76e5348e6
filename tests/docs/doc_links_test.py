#!/usr/bin/env python3
"""Every relative link in the markdown files leads to a file a fresh clone has, and nothing points at ../shared/.

usage: doc_links_test.py SOURCE_DIR

The files are the tracked *.md (`git ls-files`), or, where git or the repository is missing (a source tarball),
every *.md under SOURCE_DIR outside build directories and node_modules. A link `[text](path)` or
`[text](path#anchor)` is relative unless it has a scheme (https:, mailto:); its path is taken from the linking
file's folder and must name an existing file or folder inside SOURCE_DIR, and an anchor into a markdown file
(or `#anchor` alone, into the same file) must be one of its headings as GitHub names them. Links inside fenced
code blocks and inline code are not links. The ../shared/ folder sat beside the repository while it was
written and is absent from a clone, so no tracked file of rules/, workflows/, docs/, examples/ or README.md may
name it, in a link or in a comment.
"""
import os
import re
import subprocess
import sys

SHARED_SCOPE = ("rules/", "workflows/", "docs/", "examples/", "README.md")
# [text](target) with an optional "title"; text may hold one level of brackets ([`a[0]`](x)).
LINK = re.compile(r"\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")


def tracked_files(root):
    """The repository's tracked files, or None when git cannot tell."""
    try:
        p = subprocess.run(["git", "-C", root, "ls-files", "-z"], capture_output=True, text=True)
    except OSError:
        return None
    if p.returncode != 0 or not p.stdout:
        return None
    return [f for f in p.stdout.split("\0") if f]


def walked_files(root):
    found = []
    for top, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not (d.startswith(".") or d.startswith("build") or d == "node_modules")]
        for name in files:
            found.append(os.path.relpath(os.path.join(top, name), root))
    return found


def prose(text):
    """The text with fenced blocks and inline code blanked out, line numbers kept."""
    out, fenced = [], False
    for line in text.split("\n"):
        if re.match(r"^\s*(```|~~~)", line):
            fenced = not fenced
            out.append("")
        elif fenced:
            out.append("")
        else:
            out.append(re.sub(r"`+[^`]*`+", "", line))
    return out


def anchors(path):
    """The anchors GitHub gives the headings of a markdown file (a repeated heading gets -1, -2, ...)."""
    seen, names = {}, set()
    for line in prose(open(path, encoding="utf-8").read()):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if not m:
            continue
        slug = re.sub(r"[^\w\- ]", "", m.group(1).lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        names.add(slug if n == 0 else "%s-%d" % (slug, n))
    return names


def broken_links(root, md):
    failures = []
    text = open(os.path.join(root, md), encoding="utf-8").read()
    for number, line in enumerate(prose(text), 1):
        for m in LINK.finditer(line):
            target = m.group(1)
            if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:", target):
                continue  # a URL: a clone need not hold it
            path, _, anchor = target.partition("#")
            path = path.split("?", 1)[0]
            resolved = os.path.normpath(os.path.join(root, os.path.dirname(md), path or os.path.basename(md)))
            if os.path.relpath(resolved, root).startswith(".."):
                failures.append("%s:%d: link %s leaves the repository" % (md, number, target))
            elif not os.path.exists(resolved):
                failures.append("%s:%d: link %s names no file" % (md, number, target))
            elif anchor and resolved.endswith(".md") and anchor not in anchors(resolved):
                failures.append("%s:%d: link %s names no heading of %s" %
                                (md, number, target, os.path.relpath(resolved, root)))
    return failures


def shared_mentions(root, path):
    try:
        text = open(os.path.join(root, path), encoding="utf-8").read()
    except (UnicodeDecodeError, OSError):
        return []  # binary files say nothing to a reader
    return ["%s:%d: names ../shared/, which a clone does not have" % (path, n)
            for n, line in enumerate(text.split("\n"), 1) if "../shared/" in line]


def main():
    root = os.path.abspath(sys.argv[1])
    files = tracked_files(root)
    if files is None:
        files = walked_files(root)
    files = [f for f in files if os.path.isfile(os.path.join(root, f))]
    markdown = [f for f in files if f.endswith(".md")]
    failures = []
    for md in markdown:
        failures += broken_links(root, md)
    for f in files:
        if f.startswith(SHARED_SCOPE):
            failures += shared_mentions(root, f)
    for failure in failures:
        print("FAIL " + failure)
    print("%d markdown files, %d failures" % (len(markdown), len(failures)))
    sys.exit(1 if failures or not markdown else 0)


if __name__ == "__main__":
    main()
