#!/bin/sh
# End-to-end tests of the sellerflow binary: each case directory holds `cmd` (the arguments, one per
# line), and the expected `stdout`, `stderr` and `status`; the binary runs inside the case directory.
# Usage: run_cli_tests.sh BINARY DIR  (DIR holds cases/)
set -u

if [ $# -ne 2 ]; then
  echo "usage: $0 BINARY DIR" >&2
  exit 2
fi
case "$1" in
  /*) binary=$1 ;;
  *) binary=$(pwd)/$1 ;;
esac
cases_dir=$2/cases
if [ ! -x "$binary" ]; then
  echo "$0: not an executable: $binary" >&2
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/sellerflow-cli.XXXXXX") || exit 2
trap 'rm -rf "$work"' EXIT INT TERM

passed=0
failed=0
for dir in "$cases_dir"/*/; do
  dir=${dir%/}
  name=${dir##*/}
  if [ ! -f "$dir/cmd" ]; then
    continue
  fi
  # The arguments, one per line; an empty line is an empty argument.
  set --
  while IFS= read -r arg || [ -n "$arg" ]; do
    set -- "$@" "$arg"
  done <"$dir/cmd"
  status=0
  (cd "$dir" && exec "$binary" "$@") >"$work/stdout" 2>"$work/stderr" || status=$?
  echo "$status" >"$work/status"
  ok=1
  for stream in stdout stderr status; do
    expected=$dir/$stream
    if [ ! -f "$expected" ]; then
      expected=/dev/null
    fi
    if ! cmp -s "$expected" "$work/$stream"; then
      if [ $ok -eq 1 ]; then
        echo "FAIL $name"
      fi
      ok=0
      echo "--- $stream differs (expected, actual):"
      diff -u "$expected" "$work/$stream" | sed '1,2d'
    fi
  done
  if [ $ok -eq 1 ]; then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
  fi
done

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
