#!/usr/bin/env bash
# Draws every shipped machine, and all of them together, as DOT and checks that Graphviz renders each.
#
# Usage: graph_test.sh SELLERFLOW REPO_ROOT
# Needs `dot` (Debian package graphviz). Ends with "N passed, M failed"; exits non-zero on any
# failure. The Mermaid picture of one machine is compared exactly in the corpus
# (corpus/graph_mermaid_update_visibility).
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 SELLERFLOW REPO_ROOT" >&2
  exit 2
fi
bin=$1
root=$2
if ! command -v dot >/dev/null 2>&1; then
  echo "dot not found: install the Debian package 'graphviz' (or run 'make deps')" >&2
  exit 1
fi
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sellerflow-graph.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

passed=0
failed=0
# Renders `sellerflow graph ARGS... --format dot` with dot -Tsvg.
render() {
  local label=$1
  shift
  if ! "$bin" graph "$@" --format dot --workflows "$root/workflows" --rules "$root/rules" \
      >"$scratch/out.dot" 2>"$scratch/err"; then
    echo "FAIL $label: sellerflow graph failed"
    cat "$scratch/err"
    failed=$((failed + 1))
    return
  fi
  if ! dot -Tsvg "$scratch/out.dot" >"$scratch/out.svg" 2>"$scratch/err" || [ -s "$scratch/err" ] ||
      ! grep -q '<svg' "$scratch/out.svg"; then
    echo "FAIL $label: dot -Tsvg rejected the output"
    cat "$scratch/err"
    failed=$((failed + 1))
    return
  fi
  passed=$((passed + 1))
}

render "--all" --all
count=0
for file in "$root"/workflows/*.yaml; do
  change=$(sed -n 's/^change_type:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$file")
  entity=$(sed -n 's/^entity_type:[[:space:]]*\([^[:space:]#]*\).*/\1/p' "$file")
  if [ -n "$change" ]; then
    render "$(basename "$file")" "$change on $entity"
  else
    render "$(basename "$file")" "$entity"
  fi
  count=$((count + 1))
done
if [ $count -eq 0 ]; then
  echo "FAIL: no workflow files under $root/workflows"
  failed=$((failed + 1))
fi

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
