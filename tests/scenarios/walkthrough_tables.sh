#!/bin/sh
# The walkthrough example as `make demo` shows it: examples/walkthroughs/product-walkthrough.jsonl replayed into a
# fresh store, then the Requests tab (list-change-sets), the products (list-entities) and a product's history as
# tables, compared with walkthrough_tables.expected. With SELLERFLOW_UPDATE_GOLDEN=1 the expected file is rewritten instead.
# usage: walkthrough_tables.sh SELLERFLOW_BINARY SOURCE_DIR
set -eu
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sf() { "$bin" "$@" --db "$tmp/s.db" --workflows "$src/workflows" --rules "$src/rules"; }
sf replay "$src/examples/walkthroughs/product-walkthrough.jsonl" --output json | sed 's/"Seconds":[0-9.]*,//' >"$tmp/out"
sf list-change-sets --fields ProductTitle --output table >>"$tmp/out"
sf list-entities --type ProfessionalServicesProduct@1.0 --fields ProductTitle,Categories,Sku --output table >>"$tmp/out"
sf list-change-sets --status FAILED --output text >>"$tmp/out"
# The history of the second product: its events, each with the change set and change that made it.
product=$(sf list-entities --type ProfessionalServicesProduct@1.0 --output json |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["EntitySummaryList"][0]["EntityId"])')
sf history "$product" --output table >>"$tmp/out"
expected=$src/tests/scenarios/walkthrough_tables.expected
if [ "${SELLERFLOW_UPDATE_GOLDEN:-}" = 1 ]; then
  cp "$tmp/out" "$expected"
  echo "updated $expected"
  exit 0
fi
if ! diff -u "$expected" "$tmp/out"; then
  echo "FAIL: the walkthrough's tables differ from $expected (- expected, + actual)"
  exit 1
fi
echo "ok   walkthrough tables"
