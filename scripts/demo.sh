#!/bin/sh
# make demo: check the shipped policy, draw a machine, then evaluate the rules on a valid and an invalid example.
set -e
sellerflow=${1:-build/src/sellerflow}
types=examples/update-information/details.types
run() {
  echo "\$ sellerflow $*"
  "$sellerflow" "$@" || true
  echo
}
run check
run graph UpdateVisibility
run check-rules rules/product_information.rules --types "$types"
run eval-rules rules/product_information.rules --types "$types" --data examples/update-information/valid.json
run eval-rules rules/product_information.rules --types "$types" --data examples/update-information/invalid.json --explain
run eval 'has(details.Categories) and all(details.Categories, c => c in KNOWN_CATEGORIES)' --rules rules/product_information.rules \
    --types "$types" --data examples/update-information/invalid.json --explain
run eval '0.1 + 0.2 == 0.3 and date("2026-01-31") + duration("P1M") == date("2026-02-28")'
