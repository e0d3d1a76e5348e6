#!/bin/sh
# The workload benchmark: the peer's 100,000 UpdateInformation change sets over 1,000 imported
# products, replayed by sellerflow, by the peer (XState + cel-js + better-sqlite3) and by the store
# floor (store_limit.cpp), with a commit per change set and in one batch, all in one run.
#
# usage: sh bench/workload/run.sh SELLERFLOW_BINARY
# Knobs (environment): BENCH_CHANGESETS (100000), BENCH_PRODUCTS (1000), SELLERFLOW_PEER_DIR.
set -eu

sellerflow=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
peer=${SELLERFLOW_PEER_DIR:-$root/../shared/peer}
products=${BENCH_PRODUCTS:-1000}
changesets=${BENCH_CHANGESETS:-100000}
work=${TMPDIR:-/tmp}/sellerflow-workload-p$products-c$changesets
[ -f "$peer/peer.mjs" ] || { echo "run.sh: no $peer/peer.mjs" >&2; exit 1; }

if [ ! -s "$work/changesets.jsonl" ]; then
  echo "generating workload: $products products, $changesets change sets" >&2
  rm -rf "$work.tmp"
  python3 "$peer/gen_workload.py" "$work.tmp" --products "$products" --changesets "$changesets"
  rm -rf "$work" && mv "$work.tmp" "$work"
fi

# The peer and the floor are built and installed outside the repository's tracked files.
cache=$root/bench/.peer/workload
mkdir -p "$cache"
if [ ! -d "$cache/node_modules/xstate" ]; then
  cp "$peer/package.json" "$cache/package.json"
  (cd "$cache" && npm install --silent --no-audit --no-fund >/dev/null)
fi
cp "$peer/peer.mjs" "$cache/peer.mjs"
if [ ! -x "$cache/store_limit" ] || [ "$peer/store_limit.cpp" -nt "$cache/store_limit" ]; then
  g++ -O2 -std=c++17 "$peer/store_limit.cpp" -o "$cache/store_limit" -lSQLiteCpp -lsqlite3
fi

# Peak memory (kB) into FILE: GNU time's "Maximum resident set size" when it is there.
timed() {
  rss_file=$1
  shift
  if [ -x /usr/bin/time ]; then
    /usr/bin/time -v "$@" 2>"$work/time.txt"
    sed -n 's/.*Maximum resident set size (kbytes): //p' "$work/time.txt" >"$rss_file"
  else
    "$@"
    echo 0 >"$rss_file"
  fi
}

run_sellerflow() {
  db=$work/sellerflow-$1.db
  rm -f "$db" "$db-wal" "$db-shm"
  "$sellerflow" import "$work/entities.jsonl" --db "$db" --workflows "$here/workflows" \
    --rules "$here/rules" --output json >/dev/null
  timed "$work/sellerflow-$1.rss" "$sellerflow" replay "$work/changesets.jsonl" --commit "$1" \
    --db "$db" --workflows "$here/workflows" --rules "$here/rules" >"$work/sellerflow-$1.json"
}

for mode in each batch; do
  echo "sellerflow --commit $mode" >&2
  run_sellerflow $mode
  echo "peer --commit $mode" >&2
  (cd "$cache" && node peer.mjs "$work" "$work/peer-$mode.db" --commit $mode) >"$work/peer-$mode.json"
  echo "floor $mode" >&2
  "$cache/store_limit" "$work" "$work/floor-$mode.db" $mode >"$work/floor-$mode.json"
done

python3 - "$work" <<'EOF'
import json, sys
w = sys.argv[1]
def load(name):
    with open(f"{w}/{name}.json") as f:
        return json.loads(f.read().strip().splitlines()[-1])
rows = []
for mode in ("each", "batch"):
    sf, peer, floor = load(f"sellerflow-{mode}"), load(f"peer-{mode}"), load(f"floor-{mode}")
    n = sf["Lines"]
    sf_rate = n / sf["Seconds"]
    rss = int(open(f"{w}/sellerflow-{mode}.rss").read().strip() or 0) / 1024
    same = sf.get("SUCCEEDED") == peer["SUCCEEDED"] and sf.get("FAILED") == peer["FAILED"]
    rows.append((mode, sf_rate, peer["change_sets_per_second"], floor["change_sets_per_second"], rss,
                 sf.get("SUCCEEDED"), sf.get("FAILED"), peer["SUCCEEDED"], peer["FAILED"], same))
print("| commit | sellerflow cs/s | peer cs/s | floor cs/s | sf/floor | sf/peer | peak MiB | sf SUCCEEDED, FAILED | peer SUCCEEDED, FAILED |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
for mode, sf, peer, floor, rss, s1, f1, s2, f2, same in rows:
    print(f"| {mode} | {sf:,.0f} | {peer:,} | {floor:,} | {sf/floor:.2f} | {sf/peer:.2f} | {rss:.1f} | {s1}, {f1} | {s2}, {f2} |")
    if not same:
        print(f"WARNING: counts differ from the peer's ({mode}): the comparison is void", file=sys.stderr)
        sys.exit(1)
EOF
