# Helpers shared by the end-to-end shell tests (sourced): the real binary on a temp store per test.
# The sourcing script sets BIN and SRC, may set SF_ARGS (extra arguments for every sf call), defines
# test_* functions, and ends with run_tests. Each test's store is $DB: $T/s.db, or with
# SELLERFLOW_TEST_DB_KIND=pg (beside tests/store/pg_harness.sh) a fresh PostgreSQL database per test.
ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
PASSED=0
FAILED=0
SKIPPED=0
SF_ARGS=${SF_ARGS-}
DB_KIND=${SELLERFLOW_TEST_DB_KIND:-sqlite}
if [ "$DB_KIND" = pg ] && [ -z "${SELLERFLOW_TEST_PG:-}" ]; then
  echo "SELLERFLOW_TEST_DB_KIND=pg: no cluster (run under tests/store/pg_harness.sh)" >&2
  exit 2
fi

# sf ARGS...: runs the binary on the test's store; sets RC, OUT, ERR.
sf() {
  # shellcheck disable=SC2086  # SF_ARGS is a list of words.
  "$BIN" "$@" --db "$DB" --workflows "$SRC/workflows" --rules "$SRC/rules" $SF_ARGS >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
}
# j EXPR [JSON]: evaluates a Python expression over the JSON `d` (default: $OUT).
j() {
  local text=${2-$OUT}
  printf '%s' "$text" | python3 -c '
import json, sys
d = json.loads(sys.stdin.read() or "null")
r = eval(sys.argv[1])
print(json.dumps(r) if isinstance(r, (dict, list, bool)) or r is None else r)' "$1" 2>&1
}
fail() {
  echo "  FAIL [$NAME] $*"
  OK=0
}
# eq WHAT ACTUAL EXPECTED
eq() {
  if [ "$2" != "$3" ]; then fail "$1: expected <$3>, got <$2>"; fi
}
# has WHAT TEXT NEEDLE
has() {
  case "$2" in *"$3"*) ;; *) fail "$1: <$3> not in <$2>" ;; esac
}
hasnt() {
  case "$2" in *"$3"*) fail "$1: <$3> should not be in <$2>" ;; esac
}
rc() {
  if [ "$RC" != "$1" ]; then fail "$2: exit $RC, expected $1 (stdout: ${OUT:0:300}; stderr: ${ERR:0:300})"; fi
}
begin() {
  NAME=$1
  T=$ROOT/$NAME
  mkdir -p "$T"
  OK=1
  DB=$T/s.db
  if [ "$DB_KIND" = pg ]; then
    local name="sf_e2e_${NAME}_$$"
    psql "$SELLERFLOW_TEST_PG" -qAtc "CREATE DATABASE $name" >/dev/null ||
      fail "cannot create database $name"
    DB="postgresql://sellerflow@/$name?host=$PG_HARNESS_DIR"
  fi
}
# sqlite_only REASON: on PostgreSQL, skips the test (say `sqlite_only ... || return 0` after begin).
sqlite_only() {
  [ "$DB_KIND" = pg ] || return 0
  SKIPPED=$((SKIPPED + 1))
  echo "skip $NAME (SQLite only: $1)"
  return 1
}
end() {
  if [ "$OK" = 1 ]; then PASSED=$((PASSED + 1)); echo "ok   $NAME"; else FAILED=$((FAILED + 1)); echo "FAIL $NAME"; fi
}
# Runs every test_* function (in name order); the script's exit status says whether all passed.
# E2E_SHARD=K/N runs only the Kth of every N of them, so that ctest can run the shards side by side.
run_tests() {
  local shard=${E2E_SHARD:-1/1} i=0
  case $shard in
    [1-9]/[1-9]) ;;
    *) echo "E2E_SHARD=$shard: expected K/N with 1 <= K <= N <= 9" >&2; exit 2 ;;
  esac
  local k=${shard%/*} n=${shard#*/}
  [ "$k" -le "$n" ] || { echo "E2E_SHARD=$shard: K is greater than N" >&2; exit 2; }
  for t in $(declare -F | awk '{print $3}' | grep '^test_'); do
    i=$((i + 1))
    [ $(((i - 1) % n + 1)) = "$k" ] && "$t"
  done
  echo "$PASSED passed, $FAILED failed$([ "$SKIPPED" = 0 ] || echo ", $SKIPPED skipped")"
  [ "$FAILED" = 0 ]
}
