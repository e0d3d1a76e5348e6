#!/bin/sh
# The server benchmark: the workload's StartChangeSet requests, signed in advance, sent to
# `sellerflow serve` over 1, 4, 16 and 64 keep-alive connections on loopback, beside
# `replay --commit each` and `--commit batch` of the same change sets in the same run.
#
# usage: sh bench/serve/run.sh BUILD_DIR   (configured with -DSELLERFLOW_BENCH=ON; serve_load and
#                                           sellerflow built)
# Knobs (environment): BENCH_SERVE_CHANGESETS (20000), BENCH_PRODUCTS (1000),
# BENCH_SERVE_CONNECTIONS ("1 4 16 64"), BENCH_SOAK_SECONDS (0: none; 600 for the issue's soak: 16
# connections send the change sets again and again, the server's resident memory sampled after each
# round), SELLERFLOW_PEER_DIR (for gen_workload.py).
set -eu

build=$(cd "${1:?usage: sh bench/serve/run.sh BUILD_DIR}" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
peer=${SELLERFLOW_PEER_DIR:-$root/../shared/peer}
products=${BENCH_PRODUCTS:-1000}
changesets=${BENCH_SERVE_CHANGESETS:-20000}
connections=${BENCH_SERVE_CONNECTIONS:-1 4 16 64}
sellerflow=$build/src/sellerflow
load=$build/bench/serve_load
policy="--workflows $root/bench/workload/workflows --rules $root/bench/workload/rules"
[ -x "$load" ] || { echo "run.sh: $load is not built" >&2; exit 1; }

work=${TMPDIR:-/tmp}/sellerflow-workload-p$products-c$changesets
if [ ! -s "$work/changesets.jsonl" ]; then
  echo "generating workload: $products products, $changesets change sets" >&2
  rm -rf "$work.tmp"
  python3 "$peer/gen_workload.py" "$work.tmp" --products "$products" --changesets "$changesets"
  rm -rf "$work" && mv "$work.tmp" "$work"
fi
out=$work/serve
mkdir -p "$out"
printf '{"Keys":[{"AccessKeyId":"AKIDBENCH","SecretAccessKey":"bench","Actor":"seller:111122223333"}]}' \
  >"$out/creds.json"

fresh() {
  rm -f "$1" "$1-wal" "$1-shm"
  # shellcheck disable=SC2086
  "$sellerflow" import "$work/entities.jsonl" --db "$1" $policy --output json >/dev/null
}

for mode in each batch; do
  echo "replay --commit $mode" >&2
  fresh "$out/replay.db"
  # shellcheck disable=SC2086
  "$sellerflow" replay "$work/changesets.jsonl" --append --commit "$mode" --db "$out/replay.db" $policy \
    >"$out/replay-$mode.json"
done

port=18190
for n in $connections; do
  echo "serve, $n connections" >&2
  fresh "$out/serve.db"
  # shellcheck disable=SC2086
  "$sellerflow" serve --listen "127.0.0.1:$port" --db "$out/serve.db" --credentials "$out/creds.json" \
    --log-level warn $policy 2>"$out/serve-$n.log" &
  pid=$!
  i=0
  until grep -q serving "$out/serve-$n.log" 2>/dev/null; do
    i=$((i + 1))
    [ $i -lt 200 ] || { echo "run.sh: the server did not start" >&2; cat "$out/serve-$n.log" >&2; exit 1; }
    sleep 0.05
  done
  "$load" 127.0.0.1 "$port" "$n" "$work/changesets.jsonl" AKIDBENCH bench >"$out/load-$n.json"
  rss=$(awk '/VmHWM/ {print $2}' "/proc/$pid/status")
  echo "$rss" >"$out/serve-$n.rss"
  kill -TERM "$pid"
  wait "$pid"
  port=$((port + 1))
done

soak=${BENCH_SOAK_SECONDS:-0}
: >"$out/soak.txt"
if [ "$soak" -gt 0 ]; then
  echo "soak: $soak seconds at 16 connections" >&2
  fresh "$out/soak.db"
  # shellcheck disable=SC2086
  "$sellerflow" serve --listen "127.0.0.1:$port" --db "$out/soak.db" --credentials "$out/creds.json" \
    --log-level warn $policy 2>"$out/soak.log" &
  pid=$!
  until grep -q serving "$out/soak.log" 2>/dev/null; do sleep 0.05; done
  end=$(($(date +%s) + soak))
  while [ "$(date +%s)" -lt "$end" ]; do
    SERVE_LOAD_NO_TOKENS=1 "$load" 127.0.0.1 "$port" 16 "$work/changesets.jsonl" AKIDBENCH bench >/dev/null
    echo "$(date +%s) $(awk '/VmRSS/ {print $2}' "/proc/$pid/status")" >>"$out/soak.txt"
  done
  kill -TERM "$pid"
  wait "$pid"
fi

python3 - "$out" "$connections" <<'PY'
import json, sys
out, conns = sys.argv[1], sys.argv[2].split()
def last(path):
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])
each, batch = last(f"{out}/replay-each.json"), last(f"{out}/replay-batch.json")
each_rate, batch_rate = each["Lines"] / each["Seconds"], batch["Lines"] / batch["Seconds"]
print(f"replay --commit each: {each_rate:,.0f} cs/s; --commit batch: {batch_rate:,.0f} cs/s "
      f"({each['Lines']:,} change sets)")
print()
print("| connections | cs/s | p50 ms | p99 ms | errors | /each | /batch | server peak MiB |")
print("|---:|---:|---:|---:|---:|---:|---:|---:|")
rows = {}
for n in conns:
    r = last(f"{out}/load-{n}.json")
    rss = int(open(f"{out}/serve-{n}.rss").read().strip() or 0) / 1024
    rows[n] = r
    print(f"| {n} | {r['per_second']:,.0f} | {r['p50_ms']:.2f} | {r['p99_ms']:.2f} | {r['errors']} "
          f"| {r['per_second'] / each_rate:.2f} | {r['per_second'] / batch_rate:.2f} | {rss:.1f} |")
print()
if "16" in rows:
    r = rows["16"]
    def check(ok, text):
        print(f"- {'met' if ok else 'NOT met'}: {text}")
    print("Targets (issue 14, 16 connections):")
    check(r["per_second"] >= 2 * each_rate, f"{r['per_second'] / each_rate:.2f}x replay --commit each (at least 2x)")
    check(r["per_second"] >= 0.5 * batch_rate, f"{r['per_second'] / batch_rate:.2f} of replay --commit batch (at least 0.5)")
    check(r["p99_ms"] < 10, f"p99 {r['p99_ms']:.2f} ms (under 10 ms)")
samples = [line.split() for line in open(f"{out}/soak.txt") if line.strip()]
if len(samples) >= 3:
    kb = [int(s[1]) for s in samples]
    third = max(1, len(kb) // 3)
    first, last_ = sum(kb[:third]) / third, sum(kb[-third:]) / third
    print(f"- {'met' if last_ <= first * 1.1 else 'NOT met'}: soak of {int(samples[-1][0]) - int(samples[0][0])} s: "
          f"resident memory {first / 1024:.1f} MiB in the first third of the rounds, {last_ / 1024:.1f} MiB in the last "
          f"({len(kb)} rounds; flat means within 10%)")
else:
    print("- (memory over a soak: run with BENCH_SOAK_SECONDS=600)")
PY
