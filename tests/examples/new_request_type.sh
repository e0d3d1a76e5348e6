#!/usr/bin/env bash
# End-to-end test of examples/new-request-type: an integrator's UpdateSupportTerms runs from its own
# folder, given with extra --workflows/--rules to the built binary, with no rebuild.
#
# Usage: new_request_type.sh SELLERFLOW SOURCE_DIR
set -u
bin=$1
root=$2
ex=$root/examples/new-request-type
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sellerflow-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

shipped=(--workflows "$root/workflows" --rules "$root/rules")
extended=(--workflows "$root/workflows" --workflows "$ex/workflows" --rules "$root/rules" --rules "$ex/rules")
seller=(--actor seller:111122223333 --db "$tmp/s.db" --output json)

# 1. The shipped policy and the example's files check clean together.
out=$("$bin" check --strict "${extended[@]}" 2>&1)
[ $? -eq 0 ] || fail "check --strict with the example's folders: $out"
# One request machine more than the shipped policy alone has.
base=$("$bin" check "${shipped[@]}" 2>&1 | sed -n 's/.*(\([0-9]*\) request.*/\1/p')
case $out in *"($((base + 1)) request"*": ok"*) ;; *) fail "check did not count the example's machine: $out" ;; esac

"$bin" import "$ex/setup.jsonl" --db "$tmp/s.db" "${shipped[@]}" >/dev/null || fail "import of setup.jsonl"

# 2. Without the example's folders, UpdateSupportTerms is an unknown change type: refused, nothing made.
out=$("$bin" start-change-set --change-set "$ex/offer_with_refund_policy.json" --at 2026-01-05T10:00:00Z \
      "${seller[@]}" "${shipped[@]}" 2>&1)
status=$?
[ $status -eq 1 ] || fail "shipped policy alone: exit $status, expected 1"
case $out in *"unknown change type UpdateSupportTerms for Offer@1.0"*) ;; *) fail "no unknown-change-type refusal: $out" ;; esac

# 3. With them, the offer is created and its refund policy set in one change set.
out=$("$bin" start-change-set --change-set "$ex/offer_with_refund_policy.json" --at 2026-01-05T10:00:00Z \
      "${seller[@]}" "${extended[@]}" 2>&1)
status=$?
[ $status -eq 0 ] || fail "with the example: exit $status: $out"
case $out in *'"Status":"SUCCEEDED","ChangeSet"'*) ;; *) fail "change set did not succeed: $out" ;; esac
offer=$(printf '%s' "$out" | sed -n 's/.*"Identifier":"\(offer-[a-z2-7]*\)".*/\1/p')
[ -n "$offer" ] || fail "no offer identifier in: $out"
out=$("$bin" describe-entity "$offer" --db "$tmp/s.db" --output json "${extended[@]}" 2>&1)
case $out in *'"SupportTerms":[{"Type":"SupportTerm","RefundPolicy":"Full refund within 30 days'*) ;;
  *) fail "describe-entity does not show the refund policy: $out" ;; esac

# 4. The example's rules run like shipped ones: a blank refund policy fails with INVALID_INPUT.
sed "s/OFFER_ID/$offer/" "$ex/blank_refund_policy.json" >"$tmp/blank.json"
out=$("$bin" start-change-set --change-set "$tmp/blank.json" --at 2026-01-05T11:00:00Z \
      "${seller[@]}" "${extended[@]}" 2>&1)
status=$?
[ $status -eq 1 ] || fail "blank refund policy: exit $status, expected 1"
case $out in *'"ErrorCode":"INVALID_INPUT","ErrorMessage":"RefundPolicy is blank'*) ;;
  *) fail "blank refund policy: no INVALID_INPUT: $out" ;; esac

if [ $failures -eq 0 ]; then
  echo "new-request-type example: ok"
else
  echo "new-request-type example: $failures failure(s)"
  exit 1
fi
