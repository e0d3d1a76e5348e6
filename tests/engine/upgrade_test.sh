#!/usr/bin/env bash
# End-to-end tests of `sellerflow upgrade-plan` and `upgrade --apply`: the real binary, a real store
# with change sets waiting (one for review, one in a cancel window with a timer), and edited copies
# of the shipped workflows.
# usage: upgrade_test.sh SELLERFLOW_BINARY SOURCE_DIR
set -u
BIN=$1
SRC=$2
source "$(cd "$(dirname "$0")/.." && pwd)/e2e_lib.sh"
WALK=$SRC/examples/walkthroughs/product-walkthrough.jsonl
REVIEW=cs-22222256xenrikrhcqhaytxun  # UpdateVisibility to Limited, in InReview (APPLYING).
WINDOW=cs-2222227atx2ugad2bpe5nusnv  # UpdateVisibility to Restricted, in CancelWindow (PREPARING).

# in_flight: a store in $T/s.db with the two change sets waiting, and a copy of the workflows in
# $T/wf to edit. The walkthrough's lines 1, 2, 6, 8 and 13 (without their recorded outcomes).
in_flight() {
  python3 - "$WALK" >"$T/open.jsonl" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
for n in (1, 2, 6, 8, 13):
    d = json.loads(lines[n - 1])
    d.pop("Outcome", None)
    print(json.dumps(d))
EOF
  sf replay "$T/open.jsonl"
  rc 0 "replay"
  cp -rL "$SRC/workflows" "$T/wf"
}
# up ARGS...: the binary on the test's store with $T/wf and the shipped rules.
up() {
  "$BIN" "$@" --db "$T/s.db" --workflows "$T/wf" --rules "$SRC/rules" >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
}
# An edit every waiting set can take: the cancel window's timer is 48 hours, a review that waits 30
# days fails, and a rejection's message is reworded.
movable_edit() {
  python3 - "$T/wf/update_visibility.yaml" <<'EOF'
import sys
p = sys.argv[1]
s = open(p).read()
s = s.replace('{from: CancelWindow, to: InReview, after: duration("PT24H")}',
              '''{from: CancelWindow, to: InReview, after: duration("PT48H")}
  - from: InReview
    to: Failed
    after: duration("P30D")
    actions:
      - fail: AUDIT_ERROR
        message: "Seller Operations did not review the change within 30 days"''')
s = s.replace('"Seller Operations rejected the change: {event.Reason}"',
              '"Rejected by Seller Operations: {event.Reason}"')
open(p, "w").write(s)
EOF
}
fingerprint() { sha256sum "$T/s.db" | cut -d' ' -f1; }

test_nothing_to_upgrade() {
  begin nothing_to_upgrade
  in_flight
  up upgrade-plan --output text
  rc 0 "plan under the definitions it started with"
  eq "plan" "$OUT" "no open change set runs on older definitions (2 open)"
  up upgrade-plan --output json
  eq "json" "$OUT" '{"Open":2,"OnOlderDefinitions":0,"CanMove":0,"Blocked":0,"ChangeSets":[]}'
  # A comment changes the file's bytes, not what it does: it moves with nothing to say.
  echo "# reviewed" >>"$T/wf/update_visibility.yaml"
  up upgrade-plan --output json
  rc 0 "plan after a comment"
  eq "nothing changes" "$(j '[(c["ChangeSetId"], c["CanMove"], c["Changes"][0]["Notes"]) for c in d["ChangeSets"]]')" \
    "[[\"$REVIEW\", true, []], [\"$WINDOW\", true, []]]"
  end
}

test_plan_is_read_only() {
  begin plan_is_read_only
  in_flight
  movable_edit
  local before
  before=$(fingerprint)
  up upgrade-plan --output text
  rc 0 "plan"
  eq "plan" "$OUT" "$REVIEW (APPLYING): can move
  ChangeSet[0] UpdateVisibility on prod-gxekl6ylv7qvz, in InReview: 6d5b31faaba7 -> $(hash12)
    + timer after duration(\"P30D\") -> Failed (1 action): armed counting from 2026-01-08T10:00:00Z
    ~ on reject -> Failed (1 action): its actions change
$WINDOW (PREPARING): can move
  ChangeSet[0] UpdateVisibility on prod-ds5ap5ivhwelu, in CancelWindow: 6d5b31faaba7 -> $(hash12)
    ~ timer after duration(\"PT24H\") -> InReview becomes after duration(\"PT48H\") -> InReview; it stays due 2026-01-20T10:00:00Z
2 of 2 open change sets on older definitions: 2 can move, 0 blocked"
  eq "stderr" "$ERR" ""
  eq "the store is not written" "$(fingerprint)" "$before"
  # upgrade without --apply is the plan.
  up upgrade --output text
  rc 0 "upgrade without --apply"
  has "plan" "$OUT" "2 can move, 0 blocked"
  eq "still not written" "$(fingerprint)" "$before"
  end
}

# The short content hash of the edited update_visibility.yaml.
hash12() { sha256sum "$T/wf/update_visibility.yaml" | cut -c1-12; }

test_apply_moves_and_records() {
  begin apply_moves_and_records
  in_flight
  movable_edit
  up upgrade --apply --actor operations --at 2026-01-20T00:00:00Z --output json
  rc 0 "apply"
  eq "moved" "$(j 'd["Moved"]')" "[\"$REVIEW\", \"$WINDOW\"]"
  up history "$REVIEW" --output json
  eq "history" "$(j '[[h["Event"], h["From"], h["To"], h["Actor"], h["At"]] for h in d["Events"]][-1]')" \
    '["upgrade", "InReview", "InReview", "operations", "2026-01-20T00:00:00Z"]'
  up upgrade-plan --output text
  eq "nothing left to move" "$OUT" "no open change set runs on older definitions (2 open)"
  # The window's timer kept its time; the review got the new 30-day timer, from when it began.
  up describe-change-set "$WINDOW" --output json
  eq "window timer" "$(j '[(t["Deadline"], t["To"]) for t in d["WaitingFor"]["Timers"]]')" '[["2026-01-20T10:00:00Z", "InReview"]]'
  up describe-change-set "$REVIEW" --output json
  eq "review timer" "$(j '[(t["Deadline"], t["To"]) for t in d["WaitingFor"]["Timers"]]')" '[["2026-02-07T10:00:00Z", "Failed"]]'
  # The new definitions decide from here on: the new timer fails the review that waited too long.
  up tick --to 2026-02-08T00:00:00Z --actor operations --output json
  rc 0 "tick"
  up describe-change-set "$REVIEW" --output json
  eq "failed by the new timer" "$(j '[d["Status"], d["ChangeSet"][0]["ErrorDetailList"][0]["ErrorMessage"]]')" \
    '["FAILED", "Seller Operations did not review the change within 30 days"]'
  end
}

test_blocked_sets_stay() {
  begin blocked_sets_stay
  in_flight
  # The window can no longer be cancelled; the review can instead.
  sed -i 's/{from: CancelWindow, to: Cancelled, on: cancel}/{from: InReview, to: Cancelled, on: cancel}/' \
    "$T/wf/update_visibility.yaml"
  up upgrade-plan --output text
  rc 1 "a plan with a blocked set"
  has "window blocked" "$OUT" "$WINDOW (PREPARING): blocked
  ChangeSet[0] UpdateVisibility on prod-ds5ap5ivhwelu, in CancelWindow: 6d5b31faaba7 -> $(hash12)
    blocked: the event cancel it waits for in CancelWindow has no transition out of CancelWindow in the new definition"
  has "review can move" "$OUT" "$REVIEW (APPLYING): can move"
  has "summary" "$OUT" "2 of 2 open change sets on older definitions: 1 can move, 1 blocked"
  up upgrade --apply --actor operations --at 2026-01-20T00:00:00Z --output json
  rc 1 "apply with a blocked set"
  eq "only the movable one moved" "$(j '[d["Moved"], d["Blocked"]]')" "[[\"$REVIEW\"], 1]"
  up upgrade-plan --output json
  eq "the window still waits on its own" "$(j '[(c["ChangeSetId"], c["Changes"][0]["From"][:12]) for c in d["ChangeSets"]]')" \
    "[[\"$WINDOW\", \"6d5b31faaba7\"]]"
  # Cancelling it still works: it runs on the definition it started with.
  up cancel-change-set --change-set-id "$WINDOW" --actor seller:111122223333 --at 2026-01-20T01:00:00Z --output json
  rc 0 "cancel the blocked one"
  eq "cancelled" "$(j 'd.get("Status")')" "CANCELLED"

  # A fresh store: a renamed state blocks the review too.
  rm -f "$T/s.db"*
  sf replay "$T/open.jsonl"
  sed -i 's/InReview/Review/g' "$T/wf/update_visibility.yaml"
  up upgrade-plan --output json
  rc 1 "renamed state"
  eq "renamed state" "$(j 'd["ChangeSets"][0]["Changes"][0]["Blockers"]')" \
    '["its state InReview is not in the new definition (its states: Submitted, Routing, CancelWindow, Review, Succeeded, Failed, Cancelled)"]'
  end
}

test_refusals_change_nothing() {
  begin refusals_change_nothing
  in_flight
  movable_edit
  sf digest
  local before=$OUT
  up upgrade --apply --actor seller:111122223333 --at 2026-01-20T00:00:00Z
  rc 6 "a seller may not upgrade"
  has "why" "$ERR" "AccessDeniedException: seller:111122223333 may not move change sets to other definitions: only operations may"
  up upgrade --apply --at 2026-01-20T00:00:00Z
  rc 2 "no actor"
  has "who acts" "$ERR" "who acts?"
  echo "states: [" >"$T/wf/broken.yaml"
  up upgrade-plan
  rc 3 "broken definitions"
  has "names the file" "$ERR" "broken.yaml:"
  up upgrade --apply --actor operations --at 2026-01-20T00:00:00Z
  rc 3 "broken definitions, apply"
  # Only the refused command's log entry is new: the change sets, timers and history are as they were.
  rm -f "$T/wf/broken.yaml"
  "$BIN" upgrade-plan --db "$T/missing.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >/dev/null 2>"$T/err"
  RC=$?
  rc 5 "no store"
  [ -e "$T/missing.db" ] && fail "a plan created a store"
  up upgrade-plan --output json
  eq "still two to move" "$(j 'd["CanMove"]')" "2"
  sf digest
  eq "digest" "$OUT" "$before"
  end
}

test_replay_is_deterministic() {
  begin replay_is_deterministic
  in_flight
  movable_edit
  up upgrade --apply --actor operations --at 2026-01-20T00:00:00Z --output json
  rc 0 "apply"
  up log export
  cp "$T/out" "$T/log.jsonl"
  has "the upgrade is logged" "$OUT" '{"op":"upgrade","Actor":"operations","At":"2026-01-20T00:00:00Z","Outcome":{"Result":"Ok"}}'
  # The same log under the same definitions reaches the same digest every time.
  local a b
  "$BIN" replay "$T/log.jsonl" --db "$T/a.db" --workflows "$T/wf" --rules "$SRC/rules" --output json >"$T/ra" 2>&1
  "$BIN" replay "$T/log.jsonl" --db "$T/b.db" --workflows "$T/wf" --rules "$SRC/rules" --output json >"$T/rb" 2>&1
  a=$(j 'd["Digest"]' "$(cat "$T/ra")")
  b=$(j 'd["Digest"]' "$(cat "$T/rb")")
  eq "same digest" "$a" "$b"
  end
}

run_tests
