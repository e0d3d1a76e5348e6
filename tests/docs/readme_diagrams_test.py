#!/usr/bin/env python3
"""README's Mermaid diagrams are what `sellerflow graph` draws for the shipped policy today.

usage: readme_diagrams_test.py SELLERFLOW SOURCE_DIR
Each ```mermaid block of README.md names its machine in its title ("Offer@1.0", or "UpdateVisibility on
ProfessionalServicesProduct@1.0" for a request machine); the block must equal the graph of that machine.
"""
import re
import subprocess
import sys


def main():
    binary, root = sys.argv[1], sys.argv[2]
    text = open(root + "/README.md", encoding="utf-8").read()
    blocks = re.findall(r"```mermaid\n(.*?)```", text, re.S)
    failures = 0
    for block in blocks:
        title = re.search(r"^title: (.*)$", block, re.M)
        if not title:
            print("FAIL: a mermaid block of README.md has no title naming its machine")
            failures += 1
            continue
        machine = title.group(1).split(" on ")[0]
        drawn = subprocess.run(
            [binary, "graph", machine, "--format", "mermaid", "--workflows", root + "/workflows",
             "--rules", root + "/rules"], capture_output=True, text=True)
        if drawn.returncode != 0:
            print("FAIL: sellerflow graph %s: %s" % (machine, drawn.stderr.strip()))
            failures += 1
        elif drawn.stdout != block:
            print("FAIL: README.md's diagram of %s differs from `sellerflow graph %s --format mermaid`;"
                  " paste the command's output into README.md" % (machine, machine))
            failures += 1
    if not blocks:
        print("FAIL: README.md has no mermaid diagram")
        failures += 1
    print("readme diagrams: %d checked, %d failed" % (len(blocks), failures))
    sys.exit(1 if failures else 0)


main()
