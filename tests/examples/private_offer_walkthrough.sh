#!/usr/bin/env bash
# Replays examples/private-offer/walkthrough.jsonl with the built binary and checks what its README says.
#
# Usage: private_offer_walkthrough.sh SELLERFLOW SOURCE_DIR
set -u
bin=$1
root=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sellerflow-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
db=(--db "$tmp/w.db" --output json --workflows "$root/workflows" --rules "$root/rules")

out=$("$bin" replay "$root/examples/private-offer/walkthrough.jsonl" "${db[@]}" 2>&1) || fail "replay: $out"
case $out in *'"Lines":8,"AccessDenied":1,"Ok":7,"SUCCEEDED":5,'*) ;; *) fail "replay outcome: $out" ;; esac
expect_entity() {  # id, then texts its describe-entity must contain
  local id=$1 text
  shift
  local e
  e=$("$bin" describe-entity "$id" "${db[@]}" 2>&1)
  for text in "$@"; do
    case $e in *"$text"*) ;; *) fail "$id: no $text in $e" ;; esac
  done
}
expect_entity offer-pt6ajhqjrei6h '"State":"Expired"' '"AvailabilityEndDate":"2026-02-15"' \
  '"OfferUrl":"https://aws.amazon.com/marketplace/fulfillment?productId=prod-aaaaaaaaaaaaa&offerId=offer-pt6ajhqjrei6h"'
expect_entity agmt-amddpyhpsehqd '"State":"Active"' '"Buyer":"buyer:444455556666"' '"EndsAt":"2027-02-10T14:30:00Z"'
expect_entity prod-aaaaaaaaaaaaa '"State":"Limited"' '"ActiveAgreements":1'
# The stranger's acceptance, sent again after the walkthrough: refused before any change set is made.
stranger=$(sed -n '/"buyer:777788889999"/{s/.*"ChangeSet":\(\[.*\]\)}$/{"Catalog":"AWSMarketplace","ChangeSet":\1}/p}' \
  "$root/examples/private-offer/walkthrough.jsonl")
out=$(printf '%s\n' "$stranger" | "$bin" start-change-set --change-set - --actor buyer:777788889999 \
  --at 2026-03-01T00:00:00Z "${db[@]}" 2>&1)
rc=$?
[ $rc -eq 6 ] || fail "the stranger's acceptance: exit $rc, expected 6: $out"
case $out in *"AccessDeniedException"*"buyer:777788889999 is not a buyer of offer offer-pt6ajhqjrei6h"*) ;;
  *) fail "the stranger's acceptance: $out" ;; esac

if [ $failures -eq 0 ]; then
  echo "private-offer walkthrough: ok"
else
  echo "private-offer walkthrough: $failures failure(s)"
  exit 1
fi
