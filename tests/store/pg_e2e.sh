#!/usr/bin/env bash
# End-to-end tests of the PostgreSQL store through the binary, beside the throwaway cluster of
# pg_harness.sh: the README's tour gives SQLite's digest, copy-store goes both ways digest equal, and
# four processes starting change sets on overlapping products at once lose nothing, report every
# conflict as ResourceInUseException, and leave a log that replays to the live digest.
# usage: pg_harness.sh pg_e2e.sh SELLERFLOW_BINARY SOURCE_DIR
set -u
BIN=$1
SRC=$2
SELLER=seller:111122223333
PT=ProfessionalServicesProduct@1.0
source "$(cd "$(dirname "$0")/.." && pwd)/e2e_lib.sh"
if [ -z "${SELLERFLOW_TEST_PG:-}" ]; then
  echo "no cluster: run under tests/store/pg_harness.sh" >&2
  exit 2
fi

# newdb: creates an empty database and prints its URI (in a subshell: the name comes from its pid).
newdb() {
  local name="sf_e2e_$$_${BASHPID}_$RANDOM"
  psql "$SELLERFLOW_TEST_PG" -qAtc "CREATE DATABASE $name" >/dev/null || return 1
  echo "postgresql://sellerflow@/$name?host=$PG_HARNESS_DIR"
}
# on DB ARGS...: the binary on store DB with the shipped policy; sets RC, OUT, ERR.
on() {
  local db=$1
  shift
  (cd "$SRC" && "$BIN" "$@" --db "$db") >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
}
# copy FROM TO: copy-store (which takes no --db); sets RC, OUT, ERR.
copy() {
  "$BIN" copy-store "$1" "$2" >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
}
# tour DB: the README's tour, the commands that write.
tour() {
  local db=$1
  on "$db" import examples/tour/setup.jsonl --at 2026-03-02T09:00:00Z
  rc 0 "import"
  on "$db" start-change-set --change-set examples/tour/create_product.json --actor "$SELLER" \
    --at 2026-03-02T10:00:00Z
  rc 0 "create product"
  on "$db" start-change-set --change-set examples/tour/restrict.json --actor "$SELLER" \
    --at 2026-03-02T11:00:00Z
  rc 0 "restrict"
  local cs
  cs=$(j 'd["ChangeSetId"]')
  on "$db" tick --to 2026-03-03T12:00:00Z --actor operations
  rc 0 "tick"
  on "$db" review "$cs" approve --actor operations --at 2026-03-03T13:00:00Z
  rc 0 "review"
}

test_readme_tour_gives_sqlite_digest() {
  begin readme_tour_gives_sqlite_digest
  local pg
  pg=$(newdb)
  tour "$T/s.db"
  tour "$pg"
  on "$T/s.db" digest
  local want=$OUT
  on "$pg" digest
  rc 0 "digest"
  eq "the PostgreSQL store's digest" "$OUT" "$want"
  on "$pg" digest --outcomes
  local outcomes=$OUT
  on "$T/s.db" digest --outcomes
  eq "outcome digest" "$outcomes" "$OUT"
  on "$pg" list-entities --output table
  has "the product is removed" "$OUT" "Removed"
  # Its log replays into an empty store of either kind.
  on "$pg" log export
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  local again
  again=$(newdb)
  on "$again" replay "$T/log.jsonl"
  rc 0 "replay into PostgreSQL"
  eq "replayed digest" "$(j 'd["Digest"]')" "$want"
  on "$T/again.db" replay "$T/log.jsonl"
  rc 0 "replay into SQLite"
  eq "replayed into SQLite" "$(j 'd["Digest"]')" "$want"
  # A plain replay refuses a store that holds commands, on PostgreSQL too.
  on "$again" replay "$T/log.jsonl"
  rc 2 "replay over itself"
  end
}

test_copy_store_both_ways() {
  begin copy_store_both_ways
  tour "$T/s.db"
  on "$T/s.db" digest
  local want=$OUT
  local pg
  pg=$(newdb)
  copy "$T/s.db" "$pg"
  rc 0 "copy SQLite to PostgreSQL"
  eq "copy's digest" "$(j 'd["Digest"]')" "$want"
  on "$pg" digest
  eq "PostgreSQL digest" "$OUT" "$want"
  copy "$pg" "$T/back.db"
  rc 0 "copy PostgreSQL to SQLite"
  on "$T/back.db" digest
  eq "SQLite digest after the round trip" "$OUT" "$want"
  on "$T/back.db" log export
  local log_back=$OUT
  on "$T/s.db" log export
  eq "the command log survives the round trip" "$log_back" "$OUT"
  # The copy goes on where the source would: the next change set gets the same id in both.
  on "$T/s.db" start-change-set --change-set examples/tour/restrict.json --actor "$SELLER" \
    --at 2026-03-04T00:00:00Z
  local next_lite=$OUT
  on "$pg" start-change-set --change-set examples/tour/restrict.json --actor "$SELLER" \
    --at 2026-03-04T00:00:00Z
  eq "the next command on the copy" "$OUT" "$next_lite"
  # Never into a store that holds rows.
  copy "$T/s.db" "$pg"
  rc 2 "copy into a non-empty store"
  has "says why" "$ERR" "not empty"
  copy "$T/missing.db" "$(newdb)"
  rc 5 "copy from nothing"
  end
}

# Four processes at once, each restricting products that overlap the others': a restriction holds
# its product (a 24-hour cancel window), so every product is held by exactly one change set and
# every other attempt on it is a conflict.
test_four_processes_overlapping_products() {
  begin four_processes_overlapping_products
  local pg
  pg=$(newdb)
  local products=6 per_process=9
  : >"$T/ents.jsonl"
  for i in $(seq 1 $products); do
    printf '{"EntityType":"%s","EntityIdentifier":"prod-cccccccccccc%s","State":"Limited","Owner":"%s","DetailsDocument":{"ProductTitle":"P %s","ShortDescription":"kept"}}\n' \
      "$PT" "$i" "$SELLER" "$i" >>"$T/ents.jsonl"
  done
  on "$pg" import "$T/ents.jsonl" --at 2026-03-02T09:00:00Z
  rc 0 "import"
  for p in 1 2 3 4; do
    (
      for k in $(seq 1 $per_process); do
        i=$(((p + k) % products + 1))
        printf '{"Catalog":"AWSMarketplace","ChangeSet":[{"ChangeType":"UpdateVisibility","Entity":{"Type":"%s","Identifier":"prod-cccccccccccc%s"},"DetailsDocument":{"TargetVisibility":"Restricted"}}]}' \
          "$PT" "$i" >"$T/body-$p.json"
        # A busy store (exit 75) did nothing and may be asked again.
        for try in 1 2 3 4 5; do
          (cd "$SRC" && "$BIN" start-change-set --change-set "$T/body-$p.json" --actor "$SELLER" \
            --at 2026-03-02T10:00:00Z --db "$pg" --output json) >"$T/p$p-$k.out" 2>"$T/p$p-$k.err"
          code=$?
          [ "$code" = 75 ] || break
        done
        echo "$code" >"$T/p$p-$k.rc"
      done
    ) &
  done
  wait
  local ok=0 conflicts=0 other=0
  for f in "$T"/p*.rc; do
    case "$(cat "$f")" in
      0) ok=$((ok + 1)) ;;
      4)
        conflicts=$((conflicts + 1))
        has "a conflict is ResourceInUseException" "$(cat "${f%.rc}.out" "${f%.rc}.err")" "ResourceInUseException"
        ;;
      *) other=$((other + 1)); fail "$(basename "$f"): exit $(cat "$f"): $(cat "${f%.rc}.err")" ;;
    esac
  done
  eq "every product held once" "$ok" "$products"
  eq "every other attempt a conflict" "$conflicts" "$((4 * per_process - products))"
  on "$pg" list-change-sets --output json
  eq "change sets" "$(j 'len(d["ChangeSetSummaryList"])')" "$products"
  eq "one per product" "$(j 'len({s["EntitySummaryList"][0]["EntityId"] if "EntitySummaryList" in s else s.get("EntityId", s["ChangeSetId"]) for s in d["ChangeSetSummaryList"]})')" "$products"
  on "$pg" log export
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  # An import logs each of its lines.
  eq "every command logged" "$(wc -l <"$T/log.jsonl")" "$((products + 4 * per_process))"
  on "$pg" digest
  local live=$OUT
  on "$T/replayed.db" replay "$T/log.jsonl"
  rc 0 "replay into SQLite"
  eq "the log replays to the live digest" "$(j 'd["Digest"]')" "$live"
  # The held products' timers fire once, whichever process ticks first.
  for p in 1 2 3 4; do
    (cd "$SRC" && "$BIN" tick --to 2026-03-03T11:00:00Z --actor operations --db "$pg" --output json) \
      >"$T/tick-$p.out" 2>&1 &
  done
  wait
  on "$pg" list-change-sets --status APPLYING --output json
  eq "every held change set moved on once" "$(j 'len(d["ChangeSetSummaryList"])')" "$products"
  on "$pg" log export
  printf '%s\n' "$OUT" >"$T/log2.jsonl"
  on "$pg" digest
  live=$OUT
  on "$(newdb)" replay "$T/log2.jsonl"
  eq "after the ticks, the log replays to the live digest" "$(j 'd["Digest"]')" "$live"
  end
}

test_lost_server_is_a_store_error() {
  begin lost_server_is_a_store_error
  on "postgresql://sellerflow@/nothing_here?host=$PG_HARNESS_DIR" list-entities
  rc 5 "a missing database, read"
  on "postgresql://sellerflow@/postgres?host=$T/no-socket" list-entities
  rc 74 "no server"
  has "says it cannot connect" "$ERR" "cannot connect"
  end
}

# cs_lines PREFIX COUNT PRODUCTS: replay lines of COUNT UpdateInformation change sets over PRODUCTS
# imported products, tokens PREFIX-K, without At (they run at the store's clock).
cs_lines() {
  local k
  for k in $(seq 1 "$2"); do
    printf '{"op":"start-change-set","Actor":"%s","Catalog":"AWSMarketplace","ClientRequestToken":"%s-%s","ChangeSet":[{"ChangeType":"UpdateInformation","Entity":{"Type":"%s","Identifier":"prod-dddddddddddd%s"},"DetailsDocument":{"ProductTitle":"Title %s %s"}}]}\n' \
      "$SELLER" "$1" "$k" "$PT" "$((k % $3 + 1))" "$1" "$k"
  done
}
import_lines() {  # import_lines PRODUCTS
  local i
  for i in $(seq 1 "$1"); do
    printf '{"op":"import","EntityType":"%s","EntityIdentifier":"prod-dddddddddddd%s","State":"Limited","Owner":"%s","DetailsDocument":{"ProductTitle":"P %s","ShortDescription":"kept"}}\n' \
      "$PT" "$i" "$SELLER" "$i"
  done
}

# kill -9 of one of three processes under load: the others go on, and every command the killed one
# had acknowledged is in the log.
test_kill_one_process_under_load() {
  begin kill_one_process_under_load
  local pg
  pg=$(newdb)
  import_lines 8 >"$T/import.jsonl"
  on "$pg" import "$T/import.jsonl"
  rc 0 "import"
  local pids=()
  for p in 1 2 3; do
    cs_lines "p$p" 150 8 >"$T/p$p.jsonl"
    (cd "$SRC" && exec "$BIN" replay "$T/p$p.jsonl" --append --ack --db "$pg") >"$T/p$p.out" 2>"$T/p$p.err" &
    pids+=($!)
  done
  # Once the first has acknowledged a few commands, it dies mid-stream.
  for _ in $(seq 1 200); do
    [ "$(grep -c '"Ack"' "$T/p1.out" 2>/dev/null)" -ge 10 ] && break
    sleep 0.05
  done
  kill -9 "${pids[0]}"
  wait "${pids[0]}" 2>/dev/null
  wait "${pids[1]}"
  eq "the second goes on" "$?" 0
  wait "${pids[2]}"
  eq "the third goes on" "$?" 0
  on "$pg" log export
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  local acked
  acked=$(grep -c '"Ack"' "$T/p1.out")
  [ "$acked" -ge 10 ] || fail "the killed process acknowledged only $acked"
  local missing=0 line
  for line in $(grep -o '"Ack":[0-9]*' "$T/p1.out" | cut -d: -f2); do
    grep -q "\"ClientRequestToken\":\"p1-$line\"" "$T/log.jsonl" || missing=$((missing + 1))
  done
  eq "acknowledged commands of the killed process missing from the log" "$missing" 0
  eq "the others' commands all logged" "$(grep -c '"ClientRequestToken":"p[23]-' "$T/log.jsonl")" 300
  on "$pg" digest
  local live=$OUT
  on "$T/replayed.db" replay "$T/log.jsonl"
  eq "the log replays to the live digest" "$(j 'd["Digest"]')" "$live"
  end
}

# The server restarting mid-replay: the replay stops with a store error (74 or 75), nothing is half
# applied, and --resume finishes it to the digest of an uninterrupted run.
test_server_restart_mid_replay() {
  begin server_restart_mid_replay
  local pg
  pg=$(newdb)
  { import_lines 8; cs_lines r 400 8; } >"$T/log.jsonl"
  (cd "$SRC" && exec "$BIN" replay "$T/log.jsonl" --ack --db "$pg") >"$T/r.out" 2>"$T/r.err" &
  local pid=$!
  for _ in $(seq 1 200); do
    [ "$(grep -c '"Ack"' "$T/r.out" 2>/dev/null)" -ge 30 ] && break
    sleep 0.05
  done
  "$PG_HARNESS_CTL" restart -m fast >/dev/null 2>&1 || fail "pg_ctl restart failed"
  wait "$pid"
  local code=$?
  case "$code" in
    74 | 75) ;;
    0) echo "  (the replay finished before the restart reached it)" ;;
    *) fail "replay across a restart: exit $code: $(cat "$T/r.err")" ;;
  esac
  [ "$code" = 0 ] || has "says the connection was lost" "$(cat "$T/r.err")" "connection"
  [ -z "${PG_E2E_VERBOSE:-}" ] || echo "  replay across a restart: exit $code: $(cat "$T/r.err")"
  on "$pg" replay "$T/log.jsonl" --resume
  rc 0 "resume"
  local resumed
  resumed=$(j 'd["Digest"]')
  on "$T/whole.db" replay "$T/log.jsonl"
  eq "resumed digest equals an uninterrupted run's" "$resumed" "$(j 'd["Digest"]')"
  end
}

run_tests
