#!/bin/sh
# Runs the benchmarks in one go: sellerflow's rule language, hand-written C++ and cel-js on one
# workload, then prints the joined table (text, then Markdown); start-up; the workload replay.
#
# usage: sh bench/run.sh BUILD_DIR   (BUILD_DIR configured with -DSELLERFLOW_BENCH=ON, rules_bench built)
# Knobs (environment): BENCH_PRODUCTS, BENCH_CHANGESETS (workload size, 1000 and 2000),
# BENCH_WORKLOAD (its folder), BENCH_MIN_TIME (seconds per Google Benchmark run, 0.05),
# BENCH_REPETITIONS (5; medians are reported), BENCH_CEL_BATCHES (7), BENCH_CLOCK (cpu or real:
# which time the table shows; cpu, as other load on the machine inflates wall time),
# BENCH_WORKLOAD_CHANGESETS and BENCH_1M (the workload replay, bench/workload/run.sh), SELLERFLOW_PEER_DIR.
set -eu

build=${1:?usage: sh bench/run.sh BUILD_DIR}
root=$(cd "$(dirname "$0")/.." && pwd)
# shared/ is a sibling of the repository checkout, here and in CI.
peer=${SELLERFLOW_PEER_DIR:-$root/../shared/peer}
products=${BENCH_PRODUCTS:-1000}
changesets=${BENCH_CHANGESETS:-2000}
workload=${BENCH_WORKLOAD:-${TMPDIR:-/tmp}/sellerflow-bench-p$products-c$changesets}
min_time=${BENCH_MIN_TIME:-0.05}
repetitions=${BENCH_REPETITIONS:-5}
cel_batches=${BENCH_CEL_BATCHES:-7}
clock=${BENCH_CLOCK:-cpu}

bin=$build/bench/rules_bench
if [ ! -x "$bin" ]; then
  echo "run.sh: $bin is not built (configure with -DSELLERFLOW_BENCH=ON, build target rules_bench)" >&2
  exit 1
fi
[ -f "$peer/gen_workload.py" ] || { echo "run.sh: no $peer/gen_workload.py" >&2; exit 1; }

# The workload is deterministic (fixed seed), so one generated copy serves every run. Written
# aside and moved in, so an interrupted run never leaves a half file behind.
if [ ! -s "$workload/changesets.jsonl" ]; then
  echo "generating workload: $products products, $changesets change sets in $workload" >&2
  rm -rf "$workload.tmp"
  python3 "$peer/gen_workload.py" "$workload.tmp" --products "$products" --changesets "$changesets"
  rm -rf "$workload"
  mv "$workload.tmp" "$workload"
fi

# cel-js, pinned as the peer pins it, in a gitignored folder of its own.
cel_dir=$root/bench/.peer
if ! grep -qs '"version": "8.0.0"' "$cel_dir/node_modules/@marcbachmann/cel-js/package.json"; then
  echo "installing @marcbachmann/cel-js@8.0.0 into $cel_dir" >&2
  npm install --prefix "$cel_dir" --no-audit --no-fund @marcbachmann/cel-js@8.0.0 >&2
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

echo "running rules_bench (min_time $min_time s, $repetitions repetitions)" >&2
"$bin" --workload="$workload" --benchmark_format=json --benchmark_min_time="$min_time" \
  --benchmark_repetitions="$repetitions" --benchmark_report_aggregates_only=true >"$tmp/rules.json"
echo "running cel_bench.mjs ($cel_batches batches per rule)" >&2
PEER_MJS="$peer/peer.mjs" node "$root/bench/cel_bench.mjs" "$workload" --batches "$cel_batches" \
  >"$tmp/cel.jsonl"

python3 "$root/bench/report.py" --clock "$clock" "$tmp/rules.json" "$tmp/cel.jsonl"

# Start-up: load and check a policy of 200 request machines (medians of 3).
echo
echo "Start-up: load and check the shipped policy plus 200 request machines"
"$build/bench/policy_bench" --benchmark_repetitions=3 --benchmark_report_aggregates_only=true \
  2>/dev/null | grep -E "_median|Benchmark"

# The workload replay beside the peer and the store floor, both keeping the full record
# (BENCH_WORKLOAD_CHANGESETS, 100000; BENCH_1M=1 adds 1,000,000).
echo
echo "Workload replay against the full record (change sets per second; peak memory of the replay)"
BENCH_CHANGESETS=${BENCH_WORKLOAD_CHANGESETS:-100000} sh "$root/bench/workload/run.sh" "$build/src/sellerflow"
