#!/bin/sh
# Runs each libFuzzer target for a while (FUZZ_SECONDS, default 60), its corpus seeded from the repository's examples.
# usage: scripts/fuzz.sh BUILD_DIR   (after `make fuzz` has built the targets there)
set -eu
build=$1
seconds=${FUZZ_SECONDS:-60}
src=$(cd "$(dirname "$0")/.." && pwd)
corpus=$build/corpus
mkdir -p "$corpus/rules_fuzz" "$corpus/workflow_fuzz" "$corpus/change_set_fuzz" "$build/artifacts"

# Seeds: every rules file, every workflow file (shipped, examples, the broken-file corpus), and
# change sets and replay lines of every kind.
cp "$src"/rules/*.rules "$src"/examples/rules/*.rules "$src"/examples/workflows/*.rules "$corpus/rules_fuzz/"
n=0
for f in "$src"/workflows/*.yaml "$src"/examples/workflows/*.yaml "$src"/tests/engine/corpus/*/*.yaml; do
  n=$((n + 1))
  cp "$f" "$corpus/workflow_fuzz/seed$n.yaml"
done
python3 "$src/tests/proof/gen_mixed_log.py" "$build/seed-log.jsonl" --commands 300 --seed 11
python3 - "$build/seed-log.jsonl" "$corpus/change_set_fuzz" <<'PY'
import json, sys
seen = set()
for i, line in enumerate(open(sys.argv[1])):
    d = json.loads(line)
    key = (d["op"], d.get("Intent"), d.get("ClientRequestToken") is not None, len(d.get("ChangeSet", [])))
    if key in seen:
        continue
    seen.add(key)
    open("%s/line%d.json" % (sys.argv[2], i), "w").write(line)
    if d["op"] == "start-change-set":  # and as a bare StartChangeSet body
        body = {k: v for k, v in d.items() if k not in ("op", "Actor", "At")}
        open("%s/body%d.json" % (sys.argv[2], i), "w").write(json.dumps(body))
PY

status=0
for target in rules_fuzz workflow_fuzz change_set_fuzz; do
  echo "== $target: $seconds s"
  if ! "$build/fuzz/$target" "$corpus/$target" -max_total_time="$seconds" -max_len=65536 -timeout=10 \
      -rss_limit_mb=2048 -artifact_prefix="$build/artifacts/$target-" -print_final_stats=1 2>"$build/$target.log"; then
    status=1
    echo "$target found a failure: see $build/$target.log and $build/artifacts/"
    grep -m 5 -E "ERROR|SUMMARY|Test unit written" "$build/$target.log" || true
  fi
  grep -E "stat::number_of_executed_units|stat::new_units_added" "$build/$target.log" | tr '\n' ' '
  echo
done
exit $status
