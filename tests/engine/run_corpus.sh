#!/usr/bin/env bash
# Runs sellerflow on every folder of a corpus and compares stdout, stderr and exit status exactly.
#
# Usage: run_corpus.sh SELLERFLOW CORPUS_DIR
#
# Each folder of CORPUS_DIR is one case. It holds workflow files (*.yaml) and rules files
# (*.rules), and:
#   expected.status  the exit status (required)
#   expected.stderr  the exact stderr (absent: empty)
#   expected.stdout  the exact stdout (absent: empty)
#   args             optional: the command's arguments, one per line, instead of the default
#                    `check --workflows @CASE@ --rules @CASE@`; @CASE@ is the case's folder (as a
#                    relative path) and @ROOT@ the repository root
#   generate.sh      optional: run with sh inside a copy of the folder before the command, to
#                    write inputs too big or too odd to commit
# The command runs in a scratch copy of the corpus, from its top, so paths in diagnostics read
# "case/file.yaml". With SELLERFLOW_UPDATE_GOLDEN=1 the expected files are rewritten instead.
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 SELLERFLOW CORPUS_DIR" >&2
  exit 2
fi
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
corpus=$(cd "$2" && pwd)
root=$(cd "$corpus/../../.." && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/sellerflow-corpus.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

passed=0
failed=0
failures=""
for dir in "$corpus"/*/; do
  name=$(basename "$dir")
  cp -R "$dir" "$scratch/$name"
  if [ -f "$scratch/$name/generate.sh" ]; then
    if ! (cd "$scratch/$name" && sh ./generate.sh); then
      echo "FAIL $name: generate.sh failed"
      failed=$((failed + 1))
      failures="$failures $name"
      continue
    fi
  fi
  args=()
  if [ -f "$dir/args" ]; then
    while IFS= read -r line || [ -n "$line" ]; do
      line=${line//@CASE@/$name}
      args+=("${line//@ROOT@/$root}")
    done <"$dir/args"
  else
    args=(check --workflows "$name" --rules "$name")
  fi
  out="$scratch/$name.stdout"
  err="$scratch/$name.stderr"
  (cd "$scratch" && "$bin" "${args[@]}" >"$out" 2>"$err")
  status=$?
  if [ "${SELLERFLOW_UPDATE_GOLDEN:-0}" = 1 ]; then
    echo "$status" >"$dir/expected.status"
    for stream in stdout stderr; do
      if [ -s "$scratch/$name.$stream" ]; then
        cp "$scratch/$name.$stream" "$dir/expected.$stream"
      else
        rm -f "$dir/expected.$stream"
      fi
    done
    echo "UPDATED $name"
    continue
  fi
  ok=1
  report=""
  expected_status=$(cat "$dir/expected.status" 2>/dev/null || echo missing)
  if [ "$status" != "$expected_status" ]; then
    ok=0
    report="$report  exit status: expected $expected_status, got $status"$'\n'
  fi
  for stream in stdout stderr; do
    expected="$dir/expected.$stream"
    [ -f "$expected" ] || expected=/dev/null
    if ! cmp -s "$expected" "$scratch/$name.$stream"; then
      ok=0
      report="$report  $stream differs (- expected, + actual):"$'\n'
      report="$report$(diff -u "$expected" "$scratch/$name.$stream" | tail -n +3)"$'\n'
    fi
  done
  if [ $ok = 1 ]; then
    passed=$((passed + 1))
  else
    echo "FAIL $name"
    printf '%s' "$report"
    failed=$((failed + 1))
    failures="$failures $name"
  fi
done

[ $failed -gt 0 ] && echo "failed:$failures"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
