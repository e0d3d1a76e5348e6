#!/bin/sh
# The store benchmark: the shared workload (the peer's generator) on PostgreSQL with 1, 2 and 4
# engine processes, disjoint then overlapping products, beside SQLite, on a throwaway cluster.
# usage: sh bench/pg/run.sh SELLERFLOW_BINARY
# Knobs (environment): BENCH_PRODUCTS (1000), BENCH_CHANGESETS (4000), SELLERFLOW_PEER_DIR.
set -eu
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$(dirname "$0")/../.." && pwd)
peer=${SELLERFLOW_PEER_DIR:-$root/../shared/peer}
products=${BENCH_PRODUCTS:-1000}
changesets=${BENCH_CHANGESETS:-4000}
work=${TMPDIR:-/tmp}/sellerflow-storebench-p$products-c$changesets
if [ ! -s "$work/changesets.jsonl" ]; then
  [ -f "$peer/gen_workload.py" ] || { echo "run.sh: no $peer/gen_workload.py" >&2; exit 1; }
  rm -rf "$work.tmp"
  python3 "$peer/gen_workload.py" "$work.tmp" --products "$products" --changesets "$changesets" >&2
  rm -rf "$work" && mv "$work.tmp" "$work"
fi
exec "$root/tests/store/pg_harness.sh" python3 "$root/bench/pg/store_bench.py" "$bin" "$work"
