#!/usr/bin/env bash
# End-to-end tests of timers whose change or entity left the state they were armed in: the
# scenario of a change back in a timed state (timer_reentry.yaml), and the store keeping no timer
# for a closed change set or an ended agreement.
# usage: timers_test.sh SELLERFLOW_BINARY SOURCE_DIR
set -u
BIN=$1
SRC=$2
source "$(cd "$(dirname "$0")/../.." && pwd)/e2e_lib.sh"
HERE=$SRC/tests/engine/timer_reentry
SF_ARGS="--workflows $HERE/workflows"
timers() { sqlite3 "$DB" "SELECT count(*) FROM timers"; }
start() {  # start FILE ACTOR AT
  sf start-change-set --change-set "file://$1" --actor "$2" --at "$3" --output json
}
imports() {
  cat >"$T/setup.jsonl" <<'JSON'
{"op":"import","EntityType":"ProfessionalServicesProduct@1.0","EntityIdentifier":"prod-aaaaaaaaaaaaa","State":"Limited","Owner":"seller:111122223333","DetailsDocument":{"ProductTitle":"Cloud assessment","ActiveAgreements":1},"At":"2026-01-05T09:00:00Z"}
{"op":"import","EntityType":"Agreement@1.0","EntityIdentifier":"agmt-aaaaaaaaaaaaa","State":"Active","Owner":"seller:111122223333","DetailsDocument":{"ProductId":"prod-aaaaaaaaaaaaa","OfferId":"offer-aaaaaaaaaaaaa","Buyer":"buyer:444455556666","EndsAt":"2027-01-01T00:00:00Z"},"At":"2026-01-05T09:00:00Z"}
JSON
  sf import "$T/setup.jsonl" --output json
  rc 0 "import"
}

test_back_in_a_timed_state() {
  begin back_in_a_timed_state
  "$BIN" test "$HERE/timer_reentry.yaml" --workflows "$SRC/workflows" --workflows "$HERE/workflows" \
    --rules "$SRC/rules" >"$T/out" 2>&1
  RC=$?
  OUT=$(cat "$T/out")
  ERR=
  rc 0 "scenario"
  eq "report" "$(tail -1 "$T/out")" "1 of 1 scenarios passed"
  end
}

test_closed_set_leaves_no_timer() {
  begin closed_set_leaves_no_timer
  imports
  printf '%s' '{"Catalog":"AWSMarketplace","ChangeSet":[{"ChangeType":"ReviewLoop","Entity":{"Type":"ProfessionalServicesProduct@1.0","Identifier":"prod-aaaaaaaaaaaaa"},"DetailsDocument":{"Note":"first"}}]}' >"$T/loop.json"
  start "$T/loop.json" seller:111122223333 2026-01-05T10:00:00Z
  rc 0 "start"
  local id
  id=$(j 'd["ChangeSetId"]')
  eq "timers while in review" "$(timers)" 2  # The agreement's and the review's.
  sf review "$id" approve --actor operations --at 2026-01-05T11:00:00Z --output json
  rc 0 "approve"
  eq "timers after approval" "$(timers)" 1   # The agreement's only.
  end
}

test_ended_agreement_leaves_no_timer() {
  begin ended_agreement_leaves_no_timer
  imports
  eq "the agreement's end armed" "$(timers)" 1
  printf '%s' '{"Catalog":"AWSMarketplace","ChangeSet":[{"ChangeType":"CancelAgreement","Entity":{"Type":"Agreement@1.0","Identifier":"agmt-aaaaaaaaaaaaa"},"DetailsDocument":{}}]}' >"$T/cancel.json"
  start "$T/cancel.json" operations 2026-02-01T00:00:00Z
  rc 0 "cancel"
  eq "status" "$(j 'd.get("Status", d)')" "SUCCEEDED"
  sf describe-entity --entity-id agmt-aaaaaaaaaaaaa --catalog AWSMarketplace --output json
  eq "state" "$(j 'd.get("EntityState", d.get("State"))')" "Cancelled"
  eq "timers after it ended" "$(timers)" 0
  end
}

run_tests
