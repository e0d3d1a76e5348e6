#!/usr/bin/env bash
# End-to-end tests of the engine commands: the real sellerflow binary on real SQLite files, a temp dir per test.
# usage: run_engine_e2e.sh SELLERFLOW_BINARY SOURCE_DIR
# With SELLERFLOW_TEST_DB_KIND=pg, under tests/store/pg_harness.sh: each test's store ($DB) is a fresh
# PostgreSQL database instead (the stores a test replays into stay SQLite files).
set -u
BIN=$1
SRC=$2
SELLER=seller:111122223333
OTHER=seller:999988887777
PT=ProfessionalServicesProduct@1.0
PA=prod-aaaaaaaaaaaaa
PB=prod-bbbbbbbbbbbbb

source "$(cd "$(dirname "$0")/.." && pwd)/e2e_lib.sh"
# import_products ID...: imports Limited products owned by $SELLER with a title and a description.
import_products() {
  : >"$T/ents.jsonl"
  for id in "$@"; do
    printf '{"EntityType":"%s","EntityIdentifier":"%s","State":"Limited","Owner":"%s","DetailsDocument":{"ProductTitle":"Old %s","ShortDescription":"kept"}}\n' \
      "$PT" "$id" "$SELLER" "$id" >>"$T/ents.jsonl"
  done
  sf import "$T/ents.jsonl"
  rc 0 "import"
}
# body CHANGE...: a StartChangeSet body in $T/body.json; extra top-level fields in $EXTRA.
body() {
  local IFS=,
  printf '{"Catalog":"AWSMarketplace"%s,"ChangeSet":[%s]}' "${EXTRA-}" "$*" >"$T/body.json"
}
ui() {  # ui ID DETAILS_JSON
  printf '{"ChangeType":"UpdateInformation","Entity":{"Type":"%s","Identifier":"%s"},"DetailsDocument":%s}' "$PT" "$1" "$2"
}
vis() {  # vis ID TARGET
  printf '{"ChangeType":"UpdateVisibility","Entity":{"Type":"%s","Identifier":"%s"},"DetailsDocument":{"TargetVisibility":"%s"}}' "$PT" "$1" "$2"
}
profile() {  # profile ACCOUNT
  printf '{"ChangeType":"UpdateSellerProfile","Entity":{"Type":"Seller@1.0","Identifier":"%s"},"DetailsDocument":{"PublicProfile":true}}' "$1"
}
start() {  # start ACTOR AT [more args]
  local actor=$1 at=$2
  shift 2
  sf start-change-set --change-set "$T/body.json" --actor "$actor" --at "$at" "$@"
}
entity() {  # entity ID: describe-entity into $OUT
  sf describe-entity "$1"
}
cs_count() {
  sf list-change-sets "$@"
  j 'len(d["ChangeSetSummaryList"])'
}
digest() {
  sf digest
  echo "$OUT"
}

# ---- tests -----------------------------------------------------------------------------------------
test_update_information_succeeded() {
  begin update_information_succeeded
  import_products $PA
  body "$(ui $PA '{"ProductTitle":"New title","Categories":["Training"]}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 0 "start"
  eq "status" "$(j 'd["Status"]')" SUCCEEDED
  local cs
  cs=$(j 'd["ChangeSetId"]')
  entity $PA
  eq "revision" "$(j 'd["Revision"]')" 2
  eq "title" "$(j 'd["DetailsDocument"]["ProductTitle"]')" "New title"
  eq "merged, not replaced" "$(j 'd["DetailsDocument"]["ShortDescription"]')" kept
  eq "categories" "$(j 'd["DetailsDocument"]["Categories"]')" '["Training"]'
  eq "no lock" "$(j '"LockedBy" in d')" false
  eq "modified" "$(j 'd["LastModifiedDate"]')" 2026-01-01T00:01:00Z
  sf describe-change-set "$cs"
  eq "a SUCCEEDED set's changes were applied" "$(j '[c.get("Applied") for c in d["ChangeSet"]]')" '[true]'
  sf history "$cs"
  eq "change set history" "$(j '[(e["Event"], e["To"]) for e in d["Events"]]')" \
    '[["start", "Submitted"], ["automatic", "Validating"], ["validation passed", "Applying"], ["automatic", "Succeeded"]]'
  sf history $PA
  eq "entity history" "$(j '[e["Event"] for e in d["Events"]]')" \
    '["import", "start", "automatic", "validation passed", "automatic"]'
  end
}

test_update_information_failed() {
  begin update_information_failed
  import_products $PA
  local long
  long=$(printf 'x%.0s' $(seq 1 80))
  body "$(ui $PA "{\"ProductTitle\":\"$long\",\"LogoUrl\":\"http://example.com/a.png\",\"Categories\":[\"Not A Category\"]}")"
  start $SELLER 2026-01-01T00:01:00Z
  rc 1 "a FAILED change set exits 1"
  eq "status" "$(j 'd["Status"]')" FAILED
  eq "failure code" "$(j 'd["FailureCode"]')" CLIENT_ERROR
  eq "every violated rule" "$(j '[e["ErrorCode"] for e in d["ChangeSet"][0]["ErrorDetailList"]]')" \
    '["INVALID_INPUT", "INVALID_INPUT", "INVALID_CATEGORY_NAMES", "INVALID_CATEGORY_NAMES"]'
  has "title message" "$(j 'd["ChangeSet"][0]["ErrorDetailList"][0]["ErrorMessage"]')" "80 characters"
  eq "a FAILED set's changes were not applied" "$(j '[c.get("Applied") for c in d["ChangeSet"]]')" '[false]'
  local failed
  failed=$(j 'd["ChangeSetId"]')
  sf describe-change-set "$failed" --output text
  has "text: not applied" "$OUT" "not applied"
  has "text: the rule and where" "$OUT" "(rule title_length, rules/product_information.rules:"
  sf describe-change-set "$failed"
  eq "each error names its rule" "$(j '[e.get("Rule") for e in d["ChangeSet"][0]["ErrorDetailList"]]')" \
    '["title_length", "logo_url_https", "categories_known", "categories_professional_services"]'
  local line
  line=$(grep -n '^rule title_length ' "$SRC/rules/product_information.rules" | cut -d: -f1)
  eq "and its file and line, as the folder names it" \
    "$(j 'd["ChangeSet"][0]["ErrorDetailList"][0]["Source"]')" "rules/product_information.rules:$line"
  # The same request against the same rules, named another way (relative, trailing slash, from
  # another directory): the same store, so a replay anywhere gives the same digest.
  local want
  want=$(digest)
  sf log export
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  (cd "$SRC" && "$BIN" replay "$T/log.jsonl" --db "$T/again.db" --workflows ./workflows/ --rules rules/ >"$T/again.out")
  eq "digest whatever the rules folder is called" "$(j 'd["Digest"]' "$(cat "$T/again.out")")" "$want"
  entity $PA
  eq "revision untouched" "$(j 'd["Revision"]')" 1
  eq "document untouched" "$(j 'd["DetailsDocument"]')" "{\"ProductTitle\": \"Old $PA\", \"ShortDescription\": \"kept\"}"
  eq "not locked" "$(j '"LockedBy" in d')" false
  end
}

test_shape_refusal() {
  begin shape_refusal
  import_products $PA
  local before
  before=$(digest)
  body "$(vis $PA Sideways)" "$(ui $PA '{"ProductTitle":7,"Colour":"red"}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 1 "refused"
  eq "type" "$(j 'd["__type"]')" ValidationException
  eq "every violation" "$(j 'sorted(v["Path"] for v in d["Violations"])')" \
    '["ChangeSet[0].DetailsDocument.TargetVisibility", "ChangeSet[1].DetailsDocument.Colour", "ChangeSet[1].DetailsDocument.ProductTitle"]'
  has "stderr" "$ERR" ValidationException
  eq "no change set" "$(cs_count)" 0
  eq "digest unchanged" "$(digest)" "$before"
  # The envelope (checked before the store is opened): every violation listed.
  printf '{"Catalog":"AWS Marketplace","ChangeSet":[{"ChangeType":"updateInformation","Entity":{"Type":"%s","Identifier":"%s"},"DetailsDocument":{}}]}' \
    "$PT" $PA >"$T/body.json"
  start $SELLER 2026-01-01T00:02:00Z
  rc 1 "envelope refused"
  has "catalog named" "$ERR" Catalog
  has "change type named" "$ERR" "ChangeSet[0].ChangeType"
  eq "still no change set" "$(cs_count)" 0
  eq "digest still unchanged" "$(digest)" "$before"
  end
}

test_unknown_change_type() {
  begin unknown_change_type
  import_products $PA
  body "{\"ChangeType\":\"FlyToTheMoon\",\"Entity\":{\"Type\":\"$PT\",\"Identifier\":\"$PA\"},\"DetailsDocument\":{}}"
  start $SELLER 2026-01-01T00:01:00Z
  rc 1 "refused"
  eq "type" "$(j 'd["__type"]')" ValidationException
  has "names it" "$(j 'd["Violations"][0]["Message"]')" FlyToTheMoon
  eq "no change set" "$(cs_count)" 0
  end
}

test_atomicity() {
  begin atomicity
  import_products $PA $PB
  body "$(ui $PA '{"ProductTitle":"Fine"}')" "$(ui $PB '{"Categories":["Not A Category"]}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 1 "the set fails"
  eq "status" "$(j 'd["Status"]')" FAILED
  eq "second change failed" "$(j 'd["ChangeSet"][1]["Status"]')" FAILED
  entity $PA
  eq "first entity revision" "$(j 'd["Revision"]')" 1
  eq "first entity title" "$(j 'd["DetailsDocument"]["ProductTitle"]')" "Old $PA"
  eq "first entity not locked" "$(j '"LockedBy" in d')" false
  entity $PB
  eq "second entity revision" "$(j 'd["Revision"]')" 1
  end
}

# The seller profile, then a Public visibility change waiting for review; returns its id in $CS.
public_in_review() {
  body "$(profile 111122223333)"
  start $SELLER 2026-01-01T00:01:00Z
  rc 0 "profile"
  body "$(vis "$1" Public)"
  start $SELLER 2026-01-01T00:02:00Z
  rc 0 "visibility"
  eq "in review" "$(j 'd["Status"]') $(j 'd["ChangeSet"][0]["State"]')" "APPLYING InReview"
  eq "the answer says what it waits for" "$(j '[e["Event"] for e in d["WaitingFor"]["Events"]]')" \
    '["approve", "reject"]'
  CS=$(j 'd["ChangeSetId"]')
}

test_review_flow() {
  begin review_flow
  import_products $PA
  public_in_review $PA
  entity $PA
  eq "locked by the open set" "$(j 'd.get("LockedBy")')" "$CS"
  body "$(ui $PA '{"ProductTitle":"Meanwhile"}')"
  start $SELLER 2026-01-01T00:03:00Z
  rc 4 "second change set on a held product"
  eq "type" "$(j 'd["__type"]')" ResourceInUseException
  has "names the holder" "$(j 'd["Message"]')" "$CS"
  sf review "$CS" approve --actor $SELLER --at 2026-01-01T00:04:00Z
  rc 6 "a seller may not review"
  sf describe-change-set "$CS"
  eq "still in review" "$(j 'd["Status"]')" APPLYING
  eq "an open set's changes are not decided" "$(j '"Applied" in d["ChangeSet"][0]')" false
  sf review "$CS" approve --actor operations --at 2026-01-01T00:05:00Z
  rc 0 "approve"
  eq "succeeded" "$(j 'd["Status"]')" SUCCEEDED
  entity $PA
  eq "product public" "$(j 'd["State"]')" Public
  eq "lock released" "$(j '"LockedBy" in d')" false
  start $SELLER 2026-01-01T00:06:00Z
  rc 0 "the product takes changes again"
  end
}

test_reject() {
  begin reject
  import_products $PA
  public_in_review $PA
  sf review "$CS" reject --reason "The logo is blurry" --actor operations --at 2026-01-01T00:05:00Z
  rc 0 "a rejection that fails the set did what it was asked"
  eq "status" "$(j 'd["Status"]')" FAILED
  eq "code" "$(j 'd["ChangeSet"][0]["ErrorDetailList"][0]["ErrorCode"]')" AUDIT_ERROR
  has "reason" "$(j 'd["ChangeSet"][0]["ErrorDetailList"][0]["ErrorMessage"]')" "The logo is blurry"
  entity $PA
  eq "product unchanged" "$(j 'd["State"]') $(j 'd["Revision"]')" "Limited 1"
  eq "lock released" "$(j '"LockedBy" in d')" false
  sf review "$CS" approve --actor operations --at 2026-01-01T00:06:00Z
  rc 1 "an ended set takes no review"
  sf review "$CS" reject --reason "again" --actor operations --at 2026-01-01T00:07:00Z
  rc 1 "nor a second rejection: refused, told apart from the first"
  has "why" "$ERR" "ValidationException"
  end
}

# A body file that starts with a byte-order mark is read as its text (issue 13.16).
test_body_with_bom() {
  begin body_with_bom
  import_products $PA
  printf '\xef\xbb\xbf' >"$T/bom.json"
  body "$(ui $PA '{"ProductTitle":"New"}')"
  cat "$T/body.json" >>"$T/bom.json"
  sf start-change-set --change-set "$T/bom.json" --actor $SELLER --at 2026-01-01T00:01:00Z --output json
  rc 0 "a body after a BOM"
  eq "status" "$(j 'd["Status"]')" SUCCEEDED
  end
}

# With --output json a refusal prints one document on stdout, whether the body's envelope or a
# change's DetailsDocument is wrong (issue 13.16).
test_refusals_print_one_shape() {
  begin refusals_print_one_shape
  import_products $PA
  printf '{"Catalog":"AWSMarketplace","ChangeSet":[{"ChangeType":"UpdateInformation"}]}' >"$T/body.json"
  start $SELLER 2026-01-01T00:01:00Z --output json
  rc 1 "an envelope error"
  eq "envelope" "$(j '[d["__type"], d["Message"], [v["Path"] for v in d["Violations"]]]')" \
    '["ValidationException", "1 problem with the request", ["ChangeSet[0].Entity"]]'
  body "$(ui $PA '{"ProductTitle":7}')"
  start $SELLER 2026-01-01T00:02:00Z --output json
  rc 1 "a document error"
  eq "document" "$(j '[d["__type"], d["Message"], [v["Path"] for v in d["Violations"]]]')" \
    '["ValidationException", "1 problem with the request", ["ChangeSet[0].DetailsDocument.ProductTitle"]]'
  end
}

# No command moves the clock more than 100 years at once, accepted or not: a request at
# 9999-12-31 would leave every later command before the store's clock (issue 13.2).
test_far_future_request_refused() {
  begin far_future_request_refused
  import_products $PA
  sf tick --to 2026-01-01T00:00:00Z --actor operations
  body "$(ui $PA '{"ProductTitle":"New"}')"
  start $SELLER 9999-12-31T23:59:59Z
  rc 1 "a request 8,000 years on"
  has "why" "$ERR" "At 9999-12-31T23:59:59Z is more than 100 years past the store's clock 2026-01-01T00:00:00Z"
  start $SELLER 2026-01-02T00:00:00Z
  rc 0 "the clock did not move: a request the next day runs"
  end
}


test_restricted_cancel() {
  begin restricted_cancel
  import_products $PA
  body "$(vis $PA Restricted)"
  start $SELLER 2026-01-01T10:00:00Z
  rc 0 "start"
  eq "cancel window" "$(j 'd["Status"]') $(j 'd["ChangeSet"][0]["State"]')" "PREPARING CancelWindow"
  local cs
  cs=$(j 'd["ChangeSetId"]')
  sf cancel-change-set "$cs" --actor $OTHER --at 2026-01-01T11:00:00Z
  rc 6 "another seller may not cancel"
  sf cancel-change-set "$cs" --actor $SELLER --at 2026-01-01T12:00:00Z
  rc 0 "cancel"
  eq "cancelled" "$(j 'd["Status"]') $(j 'd["EndTime"]')" "CANCELLED 2026-01-01T12:00:00Z"
  entity $PA
  eq "lock released" "$(j '"LockedBy" in d')" false
  sf tick --to 2026-01-03T00:00:00Z --actor operations
  rc 0 "tick"
  sf describe-change-set "$cs"
  eq "the window's timer does nothing" "$(j 'd["Status"]')" CANCELLED
  entity $PA
  eq "product untouched" "$(j 'd["State"]') $(j 'd["Revision"]')" "Limited 1"
  end
}

test_restricted_timer() {
  begin restricted_timer
  import_products $PA
  body "$(vis $PA Restricted)"
  start $SELLER 2026-01-01T10:00:00Z
  local cs
  cs=$(j 'd["ChangeSetId"]')
  sf tick --to 2026-01-02T09:59:59Z --actor operations
  eq "a tick that fires nothing says so" "$(j 'd["TimersFired"]') $(j 'd["Timers"]')" "0 []"
  sf describe-change-set "$cs"
  eq "before 24h" "$(j 'd["ChangeSet"][0]["State"]')" CancelWindow
  eq "waits for a cancel from the owner" "$(j 'd["WaitingFor"]["Events"]')" \
    '[{"Event": "cancel", "Actors": ["owner"], "Changes": [0]}]'
  eq "and for the window's timer" "$(j 'd["WaitingFor"]["Timers"]')" \
    '[{"Change": 0, "Deadline": "2026-01-02T10:00:00Z", "From": "CancelWindow", "To": "InReview"}]'
  sf describe-change-set "$cs" --output text
  has "text: the event" "$OUT" "waits for cancel from owner (change 0)"
  has "text: the timer" "$OUT" "timer due 2026-01-02T10:00:00Z: change 0 moves from CancelWindow to InReview"
  # Read commands load no policy: a broken workflows/ folder does not stop the answer.
  mkdir -p "$T/broken"
  printf 'machine: [\n' >"$T/broken/x.yaml"
  "$BIN" describe-change-set "$cs" --db "$DB" --workflows "$T/broken" --output json >"$T/out"
  eq "read without the policy" "$(j 'd["WaitingFor"]["Timers"][0]["To"]' "$(cat "$T/out")")" InReview
  sf tick --to 2026-01-02T10:00:00Z --actor operations
  rc 0 "tick"
  eq "the tick names the timer it fired" "$(j 'd["TimersFired"]') $(j 'd["Timers"]')" \
    "1 [{\"At\": \"2026-01-02T10:00:00Z\", \"ChangeSetId\": \"$cs\", \"Change\": 0, \"Entity\": \"$PA\", \"From\": \"CancelWindow\", \"To\": \"InReview\"}]"
  sf describe-change-set "$cs"
  eq "in review after 24h" "$(j 'd["Status"]') $(j 'd["ChangeSet"][0]["State"]')" "APPLYING InReview"
  eq "waits for Seller Operations" "$(j '[(e["Event"], e["Actors"]) for e in d["WaitingFor"]["Events"]]')" \
    '[["approve", ["operations"]], ["reject", ["operations"]]]'
  eq "no timer any more" "$(j 'd["WaitingFor"]["Timers"]')" '[]'
  sf cancel-change-set "$cs" --actor $SELLER --at 2026-01-02T11:00:00Z
  rc 1 "no cancel once APPLYING"
  sf review "$cs" approve --actor operations --at 2026-01-02T12:00:00Z
  rc 0 "approve"
  sf describe-change-set "$cs"
  eq "an ended set waits for nothing" "$(j '"WaitingFor" in d')" false
  entity $PA
  eq "removed (no active agreements)" "$(j 'd["State"]')" Removed
  eq "lock released" "$(j '"LockedBy" in d')" false
  sf history "$cs"
  eq "the set's events from its three commands" "$(j '[(e["Event"], e["Actor"]) for e in d["Events"]]')" \
    '[["start", "seller:111122223333"], ["validation passed", "seller:111122223333"], ["automatic", "seller:111122223333"], ["timer", "timer"], ["approve", "operations"], ["restrict", "operations"]]'
  eq "timer event at its due time" "$(j '[(e["Event"], e["At"], e["Actor"]) for e in d["Events"] if e["Event"] == "timer"]')" \
    '[["timer", "2026-01-02T10:00:00Z", "timer"]]'
  end
}

# A refused command changes nothing: the restriction's 24-hour timer, due before it, does not fire,
# and the clock stays, so a later command at an earlier time than the refused one still runs. The
# refusal is logged, and the log replays to the same digest.
test_refused_fires_no_timers() {
  begin refused_fires_no_timers
  import_products $PA $PB
  body "$(vis $PA Restricted)"
  start $SELLER 2026-01-01T10:00:00Z
  local cs
  cs=$(j 'd["ChangeSetId"]')
  body "$(vis $PB Sideways)"
  start $SELLER 2026-01-03T00:00:00Z
  rc 1 "a refused change set"
  has "refused" "$ERR" ValidationException
  sf describe-change-set "$cs" --actor operations --at 2026-01-03T00:00:00Z
  eq "the window's timer has not fired" "$(j 'd["Status"]') $(j 'd["ChangeSet"][0]["State"]')" "PREPARING CancelWindow"
  sf review cs-doesnotexist approve --actor operations --at 2026-01-04T00:00:00Z
  rc 5 "a review of nothing"
  body "$(ui $PB '{"ProductTitle":"Not yours"}')"
  start $OTHER 2026-01-04T00:00:00Z
  rc 6 "a change by another seller"
  sf describe-change-set "$cs"
  eq "still waiting" "$(j 'd["ChangeSet"][0]["State"]')" CancelWindow
  sf log export
  has "the refusals are logged" "$OUT" '"TargetVisibility":"Sideways"'
  sf cancel-change-set "$cs" --actor $SELLER --at 2026-01-01T12:00:00Z
  rc 0 "the clock did not move: a cancel before the refused commands' times"
  eq "cancelled" "$(j 'd["Status"]')" CANCELLED
  local want
  want=$(digest)
  sf log export
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  "$BIN" replay "$T/log.jsonl" --db "$T/fresh.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >"$T/replay.out" 2>&1
  eq "replay exit" "$?" 0
  eq "replay digest" "$(j 'd["Digest"]' "$(cat "$T/replay.out")")" "$want"
  eq "replay refusals" "$(j '[d.get("Refused"), d.get("NotFound"), d.get("AccessDenied")]' "$(cat "$T/replay.out")")" "[1, 1, 1]"
  end
}

# At most kMaxTimerRounds (10,000) timers fire before one command; the rest wait for the next one,
# and the command says so: a warning in the log and "TimersDeferred" in its answer. A request whose
# timer re-arms every second, and a clock moved three hours, makes 10,800 due firings.
test_timers_deferred() {
  begin timers_deferred
  mkdir -p "$T/wf" "$T/rules"
  echo 'const UNUSED = 1' >"$T/rules/none.rules"
  cat >"$T/wf/thing.yaml" <<'YAML'
machine: entity
entity_type: Thing@1.0
id_prefix: thing-
document: {}
states:
  Idle: {initial: true}
transitions: []
YAML
  cat >"$T/wf/poll.yaml" <<'YAML'
machine: request
change_type: Poll
entity_type: Thing@1.0
creates: always
events:
  approve: [owner]
states:
  Submitted: {initial: true, status: PREPARING}
  Polling: {status: PREPARING}
  Done: {final: true, status: SUCCEEDED}
transitions:
  - {from: Submitted, to: Polling}
  - {from: Polling, to: Polling, after: duration("PT1S")}
  - {from: Polling, to: Done, on: approve}
YAML
  local args=(--db "$DB" --workflows "$T/wf" --rules "$T/rules" --output json)
  printf '{"Catalog":"AWSMarketplace","ChangeSet":[{"ChangeType":"Poll","Entity":{"Type":"Thing@1.0"},"DetailsDocument":{}}]}' >"$T/body.json"
  "$BIN" start-change-set --change-set "$T/body.json" --actor $SELLER --at 2026-01-01T00:00:00Z "${args[@]}" >"$T/out" 2>"$T/err"
  RC=$? OUT=$(cat "$T/out") ERR=$(cat "$T/err")
  rc 0 "start"
  local cs
  cs=$(j 'd["ChangeSetId"]')
  "$BIN" tick --to 2026-01-01T03:00:00Z --actor operations "${args[@]}" >"$T/out" 2>"$T/err"
  RC=$? OUT=$(cat "$T/out") ERR=$(cat "$T/err")
  rc 0 "tick"
  eq "the answer counts the deferred timers" "$(j 'd.get("TimersDeferred")')" 1
  eq "and counts the timers it fired" "$(j 'd["TimersFired"]')" 10000
  eq "listing only the first 100" "$(j 'len(d["Timers"])')" 100
  eq "the first, in firing order" \
    "$(j '[d["Timers"][0][k] for k in ("At", "ChangeSetId", "Change", "From", "To")]')" \
    "[\"2026-01-01T00:00:01Z\", \"$cs\", 0, \"Polling\", \"Polling\"]"
  has "with the change's entity" "$(j 'd["Timers"][0]["Entity"]')" thing-
  eq "the 100th" "$(j 'd["Timers"][99]["At"]')" 2026-01-01T00:01:40Z
  has "a warning says so" "$ERR" "timers deferred"
  has "with the count" "$ERR" "deferred=1"
  "$BIN" history "$cs" "${args[@]}" >"$T/out" 2>"$T/err"
  OUT=$(cat "$T/out")
  eq "10,000 fired" "$(j 'sum(1 for e in d["Events"] if e["Event"] == "timer")')" 10000
  "$BIN" tick --to 2026-01-01T03:00:00Z --actor operations "${args[@]}" >"$T/out" 2>"$T/err"
  RC=$? OUT=$(cat "$T/out") ERR=$(cat "$T/err")
  rc 0 "the next command"
  eq "nothing deferred now" "$(j '"TimersDeferred" in d')" false
  eq "the rest fired" "$(j 'd["TimersFired"]')" 800
  hasnt "no warning" "$ERR" "timers deferred"
  "$BIN" history "$cs" "${args[@]}" >"$T/out" 2>"$T/err"
  OUT=$(cat "$T/out")
  eq "the rest fired before it" "$(j 'sum(1 for e in d["Events"] if e["Event"] == "timer")')" 10800
  # For people: the count, a table of the first ones, and how many more.
  "$BIN" tick --to 2026-01-01T04:00:00Z --actor operations "${args[@]:0:6}" --output text >"$T/out" 2>"$T/err"
  OUT=$(cat "$T/out")
  has "text: the count" "$OUT" "clock 2026-01-01T04:00:00Z: 3600 timers fired"
  has "text: a row" "$OUT" "2026-01-01T03:00:01Z  $cs  0"
  has "text: the rest counted" "$OUT" "... and 3500 more"
  end
}

# A restriction whose ReplacementProductId is a product the same set creates and releases: the set
# waits (24 hours, then a review) with the new product in its working copy only; read back, its
# DetailsDocument names the new product's identifier, and the approval applies the whole set.
test_replacement_created_in_set() {
  begin replacement_created_in_set
  import_products $PA
  local new='$New.Entity.Identifier'
  body '{"ChangeType":"CreateProduct","ChangeName":"New","Entity":{"Type":"'$PT'"},"DetailsDocument":{"ProductTitle":"Successor"}}' \
    "$(ui "$new" '{"ShortDescription":"s","LongDescription":"l","LogoUrl":"https://example.com/logo.png","Highlights":["h"],"AdditionalResources":[{"Text":"t","Url":"https://example.com"}],"SupportDescription":"d","Categories":["Training"],"SearchKeywords":["k"]}')" \
    '{"ChangeType":"AddDimensions","Entity":{"Type":"'$PT'","Identifier":"'$new'"},"DetailsDocument":[{"Key":"Gold","Name":"Gold","Description":"d","Unit":"Units","Types":["Entitled"]}]}' \
    '{"ChangeType":"ReleaseProduct","Entity":{"Type":"'$PT'","Identifier":"'$new'"},"DetailsDocument":{}}' \
    '{"ChangeType":"UpdateVisibility","Entity":{"Type":"'$PT'","Identifier":"'$PA'"},"DetailsDocument":{"TargetVisibility":"Restricted","ReplacementProductId":"'$new'"}}'
  start $SELLER 2026-01-01T10:00:00Z
  rc 0 "start"
  eq "waits" "$(j 'd["Status"]')" PREPARING
  local cs created
  cs=$(j 'd["ChangeSetId"]')
  created=$(j 'd["ChangeSet"][0]["Entity"]["Identifier"]')
  entity "$created"
  rc 5 "the new product is not in the store while the set waits"
  sf tick --to 2026-01-02T11:00:00Z --actor operations
  sf describe-change-set "$cs"
  eq "in review" "$(j 'd["Status"]')" APPLYING
  eq "read back, the reference is the new product" "$(j 'd["ChangeSet"][4]["DetailsDocument"]["ReplacementProductId"]')" "$created"
  sf review "$cs" approve --actor operations --at 2026-01-02T12:00:00Z
  rc 0 "approve"
  eq "applied" "$(j 'd["Status"]')" SUCCEEDED
  entity "$created"
  eq "the replacement exists, released" "$(j 'd["State"]')" Limited
  entity $PA
  eq "the old product restricted" "$(j 'd["State"]')" Removed
  end
}

test_timer_order() {
  begin timer_order
  import_products $PA $PB
  body "$(vis $PB Restricted)"
  start $SELLER 2026-01-01T01:00:00Z
  local first
  first=$(j 'd["ChangeSetId"]')
  body "$(vis $PA Restricted)"
  start $SELLER 2026-01-01T05:00:00Z
  local second
  second=$(j 'd["ChangeSetId"]')
  sf tick --to 2026-01-05T00:00:00Z --actor operations
  rc 0 "tick"
  local h1 h2
  sf history "$first"
  h1=$(j '[[e["Seq"], e["At"]] for e in d["Events"] if e["Event"] == "timer"][0]')
  sf history "$second"
  h2=$(j '[[e["Seq"], e["At"]] for e in d["Events"] if e["Event"] == "timer"][0]')
  eq "first due" "${h1#*, }" '"2026-01-02T01:00:00Z"]'
  eq "second due" "${h2#*, }" '"2026-01-02T05:00:00Z"]'
  local s1 s2
  s1=$(j 'd[0]' "$h1")
  s2=$(j 'd[0]' "$h2")
  if [ "$s1" -ge "$s2" ]; then fail "history order: the earlier deadline has seq $s1, the later $s2"; fi
  eq "both in review" "$(cs_count --status APPLYING)" 2
  end
}

# An import names each line it refuses, with the reason, counts them, and exits 1; the other lines
# go in.
test_import_refused_lines() {
  begin import_refused_lines
  local line='{"EntityType":"%s","EntityIdentifier":"%s","State":"%s","Owner":"%s","DetailsDocument":{}}\n'
  {
    printf "$line" "$PT" $PA Limited $SELLER
    printf "$line" "$PT" $PB Nowhere $SELLER
    printf "$line" "$PT" $PA Limited $SELLER
    echo
    printf "$line" "$PT" $PB Limited $SELLER
  } >"$T/ents.jsonl"
  sf import "$T/ents.jsonl"
  rc 1 "an import with refused lines"
  eq "each refused line named with its reason" "$ERR" \
"$T/ents.jsonl:2: ValidationException: $PT has no state Nowhere
$T/ents.jsonl:3: ConflictException: $PA exists already"
  eq "counted in the summary" "$(j '[d["Lines"], d["Ok"], d["RefusedLines"]]')" "[5, 2, 2]"
  sf list-entities --type $PT
  eq "the other lines went in" "$(j '[(e["EntityId"], e["State"]) for e in d["EntitySummaryList"]]')" \
    "[[\"$PA\", \"Limited\"], [\"$PB\", \"Limited\"]]"
  end
}

# An imported entity's machine timers are set: an Active agreement expires at its EndsAt and tells
# its Restricted product, which is removed.
test_imported_agreement_expires() {
  begin imported_agreement_expires
  sf tick --to 2026-01-01T00:00:00Z --actor operations
  cat >"$T/ents.jsonl" <<JSONL
{"EntityType":"$PT","EntityIdentifier":"$PA","State":"Restricted","Owner":"$SELLER","DetailsDocument":{"ActiveAgreements":1}}
{"EntityType":"Agreement@1.0","EntityIdentifier":"agmt-aaaaaaaaaaaaa","State":"Active","Owner":"buyer:444455556666","DetailsDocument":{"ProductId":"$PA","OfferId":"offer-1","Buyer":"buyer:444455556666","EndsAt":"2026-03-01T00:00:00Z"}}
JSONL
  sf import "$T/ents.jsonl"
  rc 0 "import"
  sf tick --to 2026-02-28T23:59:59Z --actor operations
  entity agmt-aaaaaaaaaaaaa
  eq "active before its end" "$(j 'd["State"]')" Active
  sf tick --to 2026-04-01T00:00:00Z --actor operations
  eq "the tick names the entity's timer" "$(j 'd["Timers"]')" \
    '[{"At": "2026-03-01T00:00:00Z", "Entity": "agmt-aaaaaaaaaaaaa", "From": "Active", "To": "Expired"}]'
  entity agmt-aaaaaaaaaaaaa
  eq "expired" "$(j 'd["State"]') $(j 'd["LastModifiedDate"]')" "Expired 2026-03-01T00:00:00Z"
  entity $PA
  eq "product removed" "$(j 'd["State"]') $(j 'd["DetailsDocument"]')" 'Removed {"ActiveAgreements": 0}'
  end
}

# The Catalog API refuses one change type twice on one entity in a change set: refused at once,
# naming both changes, whether the entity is named by its Identifier or by a $ChangeName reference.
test_repeated_change_type() {
  begin repeated_change_type
  import_products $PA $PB
  body "$(ui $PA '{"ProductTitle":"One"}')" "$(ui $PB '{"ProductTitle":"Other"}')" "$(ui "$PA@1" '{"ProductTitle":"Two"}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 1 "refused"
  has "names both changes" "$ERR" "ChangeSet[2] and ChangeSet[0] both run UpdateInformation on $PA"
  eq "no change set" "$(cs_count)" 0
  entity $PA
  eq "product untouched" "$(j 'd["Revision"]')" 1
  body '{"ChangeType":"CreateProduct","ChangeName":"New","Entity":{"Type":"'$PT'"},"DetailsDocument":{}}' \
    "$(ui '$New.Entity.Identifier' '{"ProductTitle":"A"}')" \
    '{"ChangeType":"UpdateInformation","ChangeName":"Again","Entity":{"Type":"'$PT'","Identifier":"$New.Entity.Identifier"},"DetailsDocument":{"ProductTitle":"B"}}'
  start $SELLER 2026-01-01T00:02:00Z
  rc 1 "refused on a created entity"
  has "names both changes" "$ERR" "ChangeSet[2] (ChangeName 'Again') and ChangeSet[1] both run UpdateInformation on the entity ChangeSet[0] (ChangeName 'New') creates"
  eq "still no change set" "$(cs_count)" 0
  sf list-entities --type $PT
  eq "nothing created" "$(j 'len(d["EntitySummaryList"])')" 2
  end
}

test_idempotency() {
  begin idempotency
  import_products $PA
  EXTRA=',"ClientRequestToken":"tok-1"' body "$(ui $PA '{"ProductTitle":"Once"}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 0 "first"
  local cs
  cs=$(j 'd["ChangeSetId"]')
  start $SELLER 2026-01-01T00:02:00Z
  rc 0 "retry"
  eq "same id" "$(j 'd["ChangeSetId"]')" "$cs"
  eq "one change set" "$(cs_count)" 1
  entity $PA
  eq "applied once" "$(j 'd["Revision"]')" 2
  EXTRA=',"ClientRequestToken":"tok-1"' body "$(ui $PA '{"ProductTitle":"Twice"}')"
  start $SELLER 2026-01-01T00:03:00Z
  rc 4 "same token, other body"
  has "names the original" "$(j 'd["Message"]')" "$cs"
  eq "still one change set" "$(cs_count)" 1
  end
}

# Issue 13: a ClientRequestToken is its actor's own. Two sellers with one token each get their own
# change set, and neither learns the other's id from it.
# Issue 13: a change set waiting out its 24 hours (UpdateInformation plus a restriction) holds a
# product its working copy has changed; an agreement's end timer sends agreement_ended to that
# product meanwhile. Both updates are kept: the send lands on the product as stored and on the
# holder's working copy, so the restriction applies to a product with no active agreement and
# removes it, with the new title, and the revision moves with every write.
test_timer_send_to_held_entity() {
  begin timer_send_to_held_entity
  sf tick --to 2026-01-01T00:00:00Z --actor operations
  cat >"$T/ents.jsonl" <<JSONL
{"EntityType":"$PT","EntityIdentifier":"$PA","State":"Limited","Owner":"$SELLER","DetailsDocument":{"ProductTitle":"Old","ActiveAgreements":1,"AgreementBuyers":["buyer:444455556666"]}}
{"EntityType":"Agreement@1.0","EntityIdentifier":"agmt-aaaaaaaaaaaaa","State":"Active","Owner":"buyer:444455556666","DetailsDocument":{"ProductId":"$PA","OfferId":"offer-1","Buyer":"buyer:444455556666","EndsAt":"2026-01-01T12:00:00Z"}}
JSONL
  sf import "$T/ents.jsonl"
  rc 0 "import"
  body "$(ui $PA '{"ProductTitle":"New title"}')" "$(vis $PA Restricted)"
  start $SELLER 2026-01-01T00:01:00Z
  rc 0 "start"
  eq "waits" "$(j 'd["Status"]')" PREPARING
  local cs
  cs=$(j 'd["ChangeSetId"]')
  sf tick --to 2026-01-02T01:00:00Z --actor operations
  rc 0 "tick past the agreement's end and the window"
  entity agmt-aaaaaaaaaaaaa
  eq "agreement expired" "$(j 'd["State"]')" Expired
  entity $PA
  eq "stored product counts the end" "$(j 'd["DetailsDocument"]["ActiveAgreements"]') $(j 'd["Revision"]')" "0 2"
  sf review "$cs" approve --actor operations --at 2026-01-02T02:00:00Z
  rc 0 "approve"
  eq "applied" "$(j 'd["Status"]')" SUCCEEDED
  entity $PA
  eq "removed, both updates kept" \
    "$(j 'd["State"]') $(j 'd["DetailsDocument"]["ProductTitle"]') $(j 'd["DetailsDocument"]["ActiveAgreements"]') $(j 'd["DetailsDocument"].get("AgreementBuyers")')" \
    "Removed New title 0 []"
  eq "revision moved past the timer's" "$(j 'd["Revision"]')" 3
  # The same story replayed gives the same store.
  local before
  before=$(digest)
  sf log export
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  "$BIN" replay "$T/log.jsonl" --db "$T/copy.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >/dev/null 2>&1
  eq "replay exit" "$?" 0
  eq "same digest" "$("$BIN" digest --db "$T/copy.db")" "$before"
  end
}

# Issue 13: an id a waiting change set will create is reserved: another create of it (here a
# Seller profile, made on first use) and an import of it are conflicts, and the waiting set still
# applies (it used to fail with a UNIQUE constraint, exit 70, unlogged, and every replay aborted).
test_reserved_ids() {
  begin reserved_ids
  import_products $PA
  body "$(profile 111122223333)" "$(vis $PA Restricted)"
  start $SELLER 2026-01-01T00:01:00Z
  rc 0 "start"
  eq "waits" "$(j 'd["Status"]')" PREPARING
  local cs
  cs=$(j 'd["ChangeSetId"]')
  body "$(profile 111122223333)"
  start operations 2026-01-01T00:02:00Z
  rc 4 "another create of the id"
  eq "type" "$(j 'd["__type"]')" ResourceInUseException
  has "names the holder" "$(j 'd["Message"]')" "$cs"
  printf '{"EntityType":"Seller@1.0","EntityIdentifier":"111122223333","State":"Active","Owner":"%s","DetailsDocument":{}}\n' \
    "$SELLER" >"$T/seller.jsonl"
  sf import "$T/seller.jsonl" --log-level info
  eq "an import of the id is a conflict" "$(j 'd["Conflict"]')" 1
  has "the import's refusal names the holder" "$ERR" "is being created by change set $cs"
  sf describe-entity 111122223333
  rc 5 "not created"
  sf tick --to 2026-01-02T01:00:00Z --actor operations
  sf review "$cs" approve --actor operations --at 2026-01-02T02:00:00Z
  rc 0 "approve"
  eq "applied" "$(j 'd["Status"]')" SUCCEEDED
  entity 111122223333
  eq "the holder created it" "$(j 'd["State"]') $(j 'd["DetailsDocument"]["PublicProfile"]')" "Active true"
  local before
  before=$(digest)
  sf log export
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  "$BIN" replay "$T/log.jsonl" --db "$T/copy.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >/dev/null 2>&1
  eq "replay exit" "$?" 0
  eq "same digest" "$("$BIN" digest --db "$T/copy.db")" "$before"
  end
}

# Issue 13: moving time is an operator's act, within bounds: a tick names its actor, only
# operations may move the clock, and one tick neither goes back, nor past the year 9999, nor more
# than 100 years on. Every refusal leaves the clock where it was.
test_tick_is_operations_only() {
  begin tick_is_operations_only
  sf tick --to 2026-01-01T00:00:00Z --actor operations
  rc 0 "operations"
  sf tick --to 2026-01-02T00:00:00Z
  rc 2 "no actor"
  has "asks who acts" "$ERR" "--actor"
  sf tick --to 2026-01-02T00:00:00Z --actor $SELLER
  rc 6 "a seller"
  has "only operations" "$ERR$OUT" "only operations may"
  printf '{"op":"tick","To":"2026-01-03T00:00:00Z"}\n' >"$T/old.jsonl"
  sf replay "$T/old.jsonl" --append
  eq "a tick line without an actor is refused" "$(j 'd.get("AccessDenied", d.get("Refused"))')" 1
  sf tick --to 2025-12-31T00:00:00Z --actor operations
  rc 1 "backwards"
  has "names --to" "$ERR$OUT" "tick --to"
  sf tick --to 2126-06-01T00:00:00Z --actor operations
  rc 1 "more than 100 years on"
  has "says why" "$ERR$OUT" "more than 100 years past the store's clock"
  sf tick --to 10000-01-01T00:00:00Z --actor operations
  rc 2 "past 9999"
  has "names --to" "$ERR" '--to "10000-01-01T00:00:00Z" is not an RFC 3339 time'
  sf tick --to 2026-01-01T00:00:00Z --actor operations
  rc 0 "the clock stayed"
  eq "clock" "$(j 'd["Clock"]')" 2026-01-01T00:00:00Z
  end
}

# Issue 13, the entity's own timer: an offer a waiting change set has renamed expires at its end
# date meanwhile; the holder's copy expires too, so the set applies the new name to an Expired
# offer instead of bringing back a Released one whose timer is gone.
test_own_timer_of_held_entity() {
  begin own_timer_of_held_entity
  sf tick --to 2025-12-31T00:00:00Z --actor operations
  cat >"$T/ents.jsonl" <<JSONL
{"EntityType":"$PT","EntityIdentifier":"$PA","State":"Limited","Owner":"$SELLER","DetailsDocument":{"ProductTitle":"Old"}}
{"EntityType":"Offer@1.0","EntityIdentifier":"offer-aaaaaaaaaaaaa","State":"Released","Owner":"$SELLER","DetailsDocument":{"ProductId":"$PA","Name":"Old name","AvailabilityEndDate":"2026-01-01"}}
JSONL
  sf import "$T/ents.jsonl"
  rc 0 "import"
  body '{"ChangeType":"UpdateInformation","Entity":{"Type":"Offer@1.0","Identifier":"offer-aaaaaaaaaaaaa"},"DetailsDocument":{"Name":"New name"}}' "$(vis $PA Restricted)"
  start $SELLER 2025-12-31T12:00:00Z
  rc 0 "start"
  eq "waits" "$(j 'd["Status"]')" PREPARING
  local cs
  cs=$(j 'd["ChangeSetId"]')
  sf tick --to 2026-01-02T13:00:00Z --actor operations
  entity offer-aaaaaaaaaaaaa
  eq "expired as stored" "$(j 'd["State"]')" Expired
  sf review "$cs" approve --actor operations --at 2026-01-02T14:00:00Z
  rc 0 "approve"
  eq "applied" "$(j 'd["Status"]')" SUCCEEDED
  entity offer-aaaaaaaaaaaaa
  eq "expired, renamed" "$(j 'd["State"]') $(j 'd["DetailsDocument"]["Name"]') $(j 'd["Revision"]')" "Expired New name 3"
  end
}

test_tokens_are_per_actor() {
  begin tokens_are_per_actor
  import_products $PA
  printf '{"EntityType":"%s","EntityIdentifier":"%s","State":"Limited","Owner":"%s","DetailsDocument":{"ProductTitle":"Theirs"}}\n' \
    "$PT" "$PB" "$OTHER" >"$T/theirs.jsonl"
  sf import "$T/theirs.jsonl"
  rc 0 "import the other seller's product"
  EXTRA=',"ClientRequestToken":"shared"' body "$(ui $PA '{"ProductTitle":"Mine"}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 0 "first seller"
  local mine
  mine=$(j 'd["ChangeSetId"]')
  EXTRA=',"ClientRequestToken":"shared"' body "$(ui $PB '{"ProductTitle":"Also theirs"}')"
  start $OTHER 2026-01-01T00:02:00Z
  rc 0 "second seller, same token"
  local theirs
  theirs=$(j 'd["ChangeSetId"]')
  hasnt "no word of the first seller's set" "$OUT" "$mine"
  [ "$theirs" != "$mine" ] || fail "the second seller got the first seller's change set $mine"
  eq "two change sets" "$(cs_count)" 2
  entity $PB
  eq "the second seller's change applied" "$(j 'd["DetailsDocument"]["ProductTitle"]')" "Also theirs"
  # A retry by either answers with that seller's own set.
  start $OTHER 2026-01-01T00:03:00Z
  rc 0 "second seller retries"
  eq "their own set" "$(j 'd["ChangeSetId"]')" "$theirs"
  EXTRA=',"ClientRequestToken":"shared"' body "$(ui $PA '{"ProductTitle":"Mine"}')"
  start $SELLER 2026-01-01T00:04:00Z
  rc 0 "first seller retries"
  eq "my own set" "$(j 'd["ChangeSetId"]')" "$mine"
  eq "still two change sets" "$(cs_count)" 2
  end
}

# Issue 13: a VALIDATE run's ChangeSetId is answered, so it is never handed out again (the next
# real change set, maybe another seller's, would show under it), and a replay hands out the same.
test_validate_ids_not_reused() {
  begin validate_ids_not_reused
  import_products $PA
  EXTRA=',"Intent":"VALIDATE"' body "$(ui $PA '{"ProductTitle":"Only checked"}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 0 "validate"
  local validated
  validated=$(j 'd["ChangeSetId"]')
  [ -n "$validated" ] || fail "VALIDATE answered no ChangeSetId"
  body "$(ui $PA '{"ProductTitle":"Real"}')"
  start $SELLER 2026-01-01T00:03:00Z
  rc 0 "real change set"
  local real
  real=$(j 'd["ChangeSetId"]')
  [ "$real" != "$validated" ] || fail "the VALIDATE id $validated was handed out again"
  sf describe-change-set "$validated"
  rc 5 "the VALIDATE id names no change set"
  local before
  before=$(digest)
  sf log export
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  "$BIN" replay "$T/log.jsonl" --db "$T/copy.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >/dev/null 2>&1
  eq "replay exit" "$?" 0
  "$BIN" describe-change-set "$real" --db "$T/copy.db" >"$T/out" 2>/dev/null
  eq "the replay gives the real set the same id" "$?" 0
  eq "same digest" "$("$BIN" digest --db "$T/copy.db")" "$before"
  end
}

test_stale_revision() {
  begin stale_revision
  import_products $PA
  body "$(ui "$PA@1" '{"ProductTitle":"Second"}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 0 "current revision"
  start $SELLER 2026-01-01T00:02:00Z
  rc 4 "stale revision"
  has "latest revision" "$(j 'd["Message"]')" "latest revision is 2"
  entity $PA
  eq "revision" "$(j 'd["Revision"]')" 2
  end
}

test_validate_intent() {
  begin validate_intent
  import_products $PA
  local before
  before=$(digest)
  EXTRA=',"Intent":"VALIDATE"' body "$(ui $PA '{"ProductTitle":"Only checked"}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 0 "validate"
  eq "digest unchanged" "$(digest)" "$before"
  eq "no change set" "$(cs_count)" 0
  entity $PA
  eq "entity untouched" "$(j 'd["Revision"]')" 1
  sf log export
  eq "log lines" "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 2
  has "log has the VALIDATE line" "$OUT" '"Intent":"VALIDATE"'
  EXTRA=',"Intent":"VALIDATE"' body "$(ui $PA '{"Categories":["Not A Category"]}')"
  start $SELLER 2026-01-01T00:02:00Z
  rc 1 "validate with violations"
  eq "digest still unchanged" "$(digest)" "$before"
  end
}

test_at_before_clock() {
  begin at_before_clock
  import_products $PA
  sf tick --to 2026-02-01T00:00:00Z --actor operations
  body "$(ui $PA '{"ProductTitle":"Late"}')"
  start $SELLER 2026-01-01T00:00:00Z
  rc 1 "before the clock"
  has "message" "$ERR" "before the store's clock"
  eq "no change set" "$(cs_count)" 0
  sf tick --to 2026-01-15T00:00:00Z --actor operations
  rc 1 "tick backwards"
  end
}

test_not_found() {
  begin not_found
  import_products $PA
  sf describe-change-set cs-doesnotexist
  rc 5 "describe-change-set"
  sf describe-entity prod-doesnotexist
  rc 5 "describe-entity"
  sf review cs-doesnotexist approve --actor operations --at 2026-01-01T00:00:00Z
  rc 5 "review"
  sf cancel-change-set cs-doesnotexist --actor $SELLER --at 2026-01-01T00:00:00Z
  rc 5 "cancel"
  body "$(ui prod-doesnotexist '{"ProductTitle":"x"}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 5 "change on a missing entity"
  eq "type" "$(j 'd["__type"]')" ResourceNotFoundException
  end
}

test_replay() {
  begin replay
  import_products $PA $PB prod-ccccccccccccc
  body "$(ui $PA '{"ProductTitle":"Updated"}')"
  start $SELLER 2026-01-01T00:01:00Z
  body "$(ui $PB '{"Categories":["Not A Category"]}')"
  start $SELLER 2026-01-01T00:02:00Z                    # FAILED
  body "$(vis $PA Sideways)"
  start $SELLER 2026-01-01T00:03:00Z                    # refused
  body "$(ui $PA '{"ProductTitle":"Too early"}')"
  start $SELLER 2026-01-01T00:00:30Z                    # refused: before the clock
  body "$(profile 111122223333)"
  start $SELLER 2026-01-01T00:04:00Z
  body "$(vis $PA Public)"
  start $SELLER 2026-01-01T00:05:00Z
  local review
  review=$(j 'd["ChangeSetId"]')
  sf review "$review" approve --actor operations --at 2026-01-01T00:06:00Z
  body "$(vis $PB Public)"
  start $SELLER 2026-01-01T00:07:00Z
  sf review "$(j 'd["ChangeSetId"]')" reject --reason "no" --actor operations --at 2026-01-01T00:08:00Z
  body "$(vis $PB Restricted)"
  start $SELLER 2026-01-01T00:09:00Z
  sf cancel-change-set "$(j 'd["ChangeSetId"]')" --actor $SELLER --at 2026-01-01T00:10:00Z
  body "$(vis prod-ccccccccccccc Restricted)"
  start $SELLER 2026-01-01T00:11:00Z
  sf tick --to 2026-01-03T00:00:00Z --actor operations
  EXTRA=',"ClientRequestToken":"t1"' body "$(ui $PB '{"ProductTitle":"Tokened"}')"
  start $SELLER 2026-01-03T00:01:00Z
  start $SELLER 2026-01-03T00:02:00Z                    # idempotent retry
  sf review cs-doesnotexist approve --actor operations --at 2026-01-03T00:03:00Z
  local want
  want=$(digest)
  sf log export
  rc 0 "log export"
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  for op in import start-change-set review cancel-change-set tick; do
    has "log has $op" "$OUT" "\"op\":\"$op\""
  done
  "$BIN" replay "$T/log.jsonl" --db "$T/fresh.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >"$T/replay.out" 2>&1
  eq "replay exit" "$?" 0
  eq "replay digest" "$(j 'd["Digest"]' "$(cat "$T/replay.out")")" "$want"
  "$BIN" replay "$T/log.jsonl" --commit batch --db "$T/batch.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >"$T/batch.out" 2>&1
  eq "batch replay digest" "$(j 'd["Digest"]' "$(cat "$T/batch.out")")" "$want"
  end
}

# Imported by someone: --actor goes into the lines that carry none, so the replay agrees.
test_replay_import_actor() {
  begin replay_import_actor
  local want
  printf '{"EntityType":"%s","EntityIdentifier":"prod-ddddddddddddd","State":"Draft","Owner":"%s","DetailsDocument":{}}\n' "$PT" "$SELLER" >"$T/more.jsonl"
  sf import "$T/more.jsonl" --actor operations
  rc 0 "import with an actor"
  want=$(digest)
  sf log export
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  "$BIN" replay "$T/log.jsonl" --db "$T/fresh.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >"$T/replay.out" 2>&1
  eq "replay digest" "$(j 'd["Digest"]' "$(cat "$T/replay.out")")" "$want"
  end
}

# An import line may carry Actor and At, checked as a command's: the entity is created then, by
# them; its timers count from then; the clock moves to it, and an At before the clock is refused.
test_import_actor_at() {
  begin import_actor_at
  cat >"$T/ents.jsonl" <<JSONL
{"Actor":"operations","At":"2026-02-01T09:00:00Z","EntityType":"$PT","EntityIdentifier":"$PA","State":"Limited","Owner":"$SELLER","DetailsDocument":{}}
{"At":"2026-02-01T10:00:00Z","EntityType":"Agreement@1.0","EntityIdentifier":"agmt-aaaaaaaaaaaaa","State":"Active","Owner":"buyer:444455556666","DetailsDocument":{"ProductId":"$PA","OfferId":"offer-1","Buyer":"buyer:444455556666","EndsAt":"2026-03-01T00:00:00Z"}}
{"At":"2026-01-01T00:00:00Z","EntityType":"$PT","EntityIdentifier":"$PB","State":"Limited","Owner":"$SELLER","DetailsDocument":{}}
{"Actor":"admin","At":"yesterday","EntityType":"$PT","EntityIdentifier":"prod-ccccccccccccc","State":"Limited","Owner":"$SELLER","DetailsDocument":{}}
JSONL
  sf import "$T/ents.jsonl"
  rc 1 "a refused and a malformed line"
  has "At checked" "$ERR" "At: must be an RFC 3339 timestamp"
  has "Actor checked" "$ERR" "Actor: must be seller:<12 digits>"
  eq "summary" "$(j '[d.get("Ok"), d.get("Refused"), d.get("Malformed")]')" "[2, 1, 1]"
  entity $PA
  eq "created at its At" "$(j 'd["LastModifiedDate"]')" 2026-02-01T09:00:00Z
  sf history $PA
  eq "by its Actor, at its At" "$(j '[(e["Event"], e["Actor"], e["At"]) for e in d["Events"]]')" \
    '[["import", "operations", "2026-02-01T09:00:00Z"]]'
  entity $PB
  rc 5 "before the clock: not imported"
  sf tick --to 2026-02-01T09:30:00Z --actor operations
  rc 1 "the clock is the last import's At"
  sf tick --to 2026-04-01T00:00:00Z --actor operations
  entity agmt-aaaaaaaaaaaaa
  eq "its end timer fired" "$(j 'd["State"]') $(j 'd["LastModifiedDate"]')" "Expired 2026-03-01T00:00:00Z"
  local want
  want=$(digest)
  sf log export
  has "the log keeps Actor and At" "$OUT" '{"op":"import","Actor":"operations","At":"2026-02-01T09:00:00Z",'
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  "$BIN" replay "$T/log.jsonl" --db "$T/fresh.db" --workflows "$SRC/workflows" --rules "$SRC/rules" >"$T/replay.out" 2>&1
  eq "replay digest" "$(j 'd["Digest"]' "$(cat "$T/replay.out")")" "$want"
  end
}

# An import line without At in a store that has no clock yet has no time: its entity has no dates
# (not 1970, the epoch the clock stands in with), until a request changes it. Into a store with a
# clock, such a line happens at the clock.
test_import_undated() {
  begin import_undated
  printf '{"EntityType":"%s","EntityIdentifier":"%s","State":"Limited","Owner":"%s","DetailsDocument":{}}\n' "$PT" "$PA" "$SELLER" >"$T/a.jsonl"
  sf import "$T/a.jsonl" --actor operations
  rc 0 "import without At"
  entity $PA
  eq "no date" "$(j '"LastModifiedDate" in d')" "false"
  sf list-entities --output json
  eq "none in the list" "$(j '[e.get("LastModifiedDate") for e in d["EntitySummaryList"]]')" "[null]"
  sf history $PA
  eq "history without a time" "$(j '[(e["Event"], e["At"]) for e in d["Events"]]')" '[["import", ""]]'
  hasnt "no epoch" "$OUT" "1970"
  sf tick --to 2026-02-01T00:00:00Z --actor operations
  printf '{"EntityType":"%s","EntityIdentifier":"%s","State":"Limited","Owner":"%s","DetailsDocument":{}}\n' "$PT" "$PB" "$SELLER" >"$T/b.jsonl"
  sf import "$T/b.jsonl" --actor operations
  entity $PB
  eq "at the store's clock" "$(j 'd["LastModifiedDate"]')" "2026-02-01T00:00:00Z"
  end
}

# import --at times the lines without an At of their own; it used to be taken and ignored.
test_import_at_flag() {
  begin import_at_flag
  printf '{"EntityType":"%s","EntityIdentifier":"%s","State":"Limited","Owner":"%s","DetailsDocument":{}}\n' "$PT" "$PA" "$SELLER" >"$T/a.jsonl"
  printf '{"At":"2026-02-03T00:00:00Z","EntityType":"%s","EntityIdentifier":"%s","State":"Limited","Owner":"%s","DetailsDocument":{}}\n' "$PT" "$PB" "$SELLER" >>"$T/a.jsonl"
  sf import "$T/a.jsonl" --actor operations --at 2026-02-01T10:00:00+02:00
  rc 0 "import --at"
  entity $PA
  eq "the flag's time, in UTC" "$(j 'd["LastModifiedDate"]')" "2026-02-01T08:00:00Z"
  entity $PB
  eq "a line's own At wins" "$(j 'd["LastModifiedDate"]')" "2026-02-03T00:00:00Z"
  sf log export
  has "logged with its time" "$OUT" '"At":"2026-02-01T08:00:00Z","EntityType"'
  sf import "$T/a.jsonl" --actor operations --at yesterday
  rc 2 "a time that is not one"
  has "why" "$ERR" "--at 'yesterday' is not an RFC 3339 time"
  end
}

test_corrupt_store() {
  begin corrupt_store
  sqlite_only "it overwrites the store's file with garbage" || return 0
  head -c 8192 /dev/urandom >"$T/s.db"
  sf list-change-sets
  rc 74 "not an SQLite file"
  has "names the path" "$ERR" "$T/s.db"
  printf 'SQLite format 3\000' >"$T/s.db"
  head -c 4096 /dev/urandom >>"$T/s.db"
  sf digest
  rc 74 "a damaged header"
  has "names the path" "$ERR" "$T/s.db"
  end
}

test_broken_definitions() {
  begin broken_definitions
  import_products $PA
  mkdir -p "$T/wf"
  cp "$SRC"/workflows/*.yaml "$T/wf/"
  cat >"$T/wf/broken.yaml" <<'YAML'
machine: request
change_type: Broken
entity_type: ProfessionalServicesProduct@1.0
states:
  Submitted: {initial: true, status: PREPARING}
  Done: {final: true, status: SUCCEEDED}
transitions:
  - {from: Submitted, to: Nowhere}
YAML
  local before
  "$BIN" tick --to 2026-01-01T00:00:00Z --actor operations --db "$DB" >/dev/null
  before=$("$BIN" digest --db "$DB")
  "$BIN" tick --to 2026-03-01T00:00:00Z --actor operations --db "$DB" --workflows "$T/wf" --rules "$SRC/rules" \
    >"$T/out" 2>"$T/err"
  RC=$?
  ERR=$(cat "$T/err")
  rc 3 "broken machine"
  has "names the file" "$ERR" broken.yaml
  has "names the state" "$ERR" Nowhere
  eq "the store is as it was" "$("$BIN" digest --db "$DB")" "$before"
  # Reading the store needs no policy: a half-edited workflows/ does not stop it.
  "$BIN" list-change-sets --db "$DB" --workflows "$T/wf" --rules "$SRC/rules" >"$T/out" 2>"$T/err"
  RC=$?
  rc 0 "reads with broken definitions"
  "$BIN" digest --db "$DB" --workflows "$T/wf" >"$T/out" 2>"$T/err"
  RC=$?
  rc 0 "digest with broken definitions"
  "$BIN" describe-entity $PA --db "$DB" --workflows "$T/wf" --rules "$SRC/rules" --output json \
    >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
  rc 0 "describe-entity with broken definitions"
  eq "the entity, read without the policy" "$(j '[d["EntityIdentifier"], d["DetailsDocument"]["ProductTitle"]]')" \
    "[\"$PA\", \"Old $PA\"]"
  # A mistyped --db on a read: not found, and no store is created.
  "$BIN" describe-entity prod-x --db "$T/typo.db" >"$T/out" 2>"$T/err"
  RC=$?
  rc 5 "a read of a missing store"
  has "names the path" "$(cat "$T/err")" "no store at $T/typo.db"
  [ ! -e "$T/typo.db" ] || fail "a read created $T/typo.db"
  end
}

# The issue's own case: a listing (or digest, or export) of a mistyped --db answered nothing, exit 0.
# Each read-only command says the store is not there, exit 5, and leaves no file behind.
test_reads_of_a_missing_store() {
  begin reads_of_a_missing_store
  local args
  for args in "list-change-sets" "list-entities --entity-type $PT" "digest" "log export"; do
    # shellcheck disable=SC2086  # args is a command and its words.
    "$BIN" $args --db "$T/typo.db" >"$T/out" 2>"$T/err"
    RC=$?
    OUT=$(cat "$T/out")
    ERR=$(cat "$T/err")
    rc 5 "$args on a missing store"
    has "$args names the path" "$ERR" "no store at $T/typo.db"
    eq "$args prints nothing on stdout" "$OUT" ""
    [ ! -e "$T/typo.db" ] || fail "$args created $T/typo.db"
    rm -f "$T/typo.db"
  done
  end
}

test_two_processes() {
  begin two_processes
  local ids=() i
  for i in $(seq 0 9); do ids+=("prod-$(printf 'c%012d' "$i" | tr 0-9 a-j)"); done
  import_products "${ids[@]}"
  python3 - "$T" "$SELLER" "$PT" "${ids[@]}" <<'PY'
import json, sys
t, seller, pt, ids = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
for half, mine in (("a", ids[:5]), ("b", ids[5:])):
    with open(f"{t}/{half}.jsonl", "w") as f:
        for k in range(60):
            f.write(json.dumps({"op": "start-change-set", "Actor": seller, "At": "2026-01-01T00:00:00Z",
                                "Catalog": "AWSMarketplace",
                                "ChangeSet": [{"ChangeType": "UpdateInformation",
                                               "Entity": {"Type": pt, "Identifier": mine[k % 5]},
                                               "DetailsDocument": {"ProductTitle": f"{half} {k}"}}]}) + "\n")
PY
  local args=(--db "$DB" --workflows "$SRC/workflows" --rules "$SRC/rules")
  # --append: both add to a store that holds the import (and each other's commands).
  "$BIN" replay "$T/a.jsonl" --append "${args[@]}" >"$T/a.out" 2>"$T/a.err" &
  local pa=$!
  "$BIN" replay "$T/b.jsonl" --append "${args[@]}" >"$T/b.out" 2>"$T/b.err" &
  local pb=$!
  wait $pa
  eq "first replay exit" "$?" 0
  wait $pb
  eq "second replay exit" "$?" 0
  hasnt "no lock errors" "$(cat "$T/a.err" "$T/b.err")" "locked"
  eq "first replay succeeded" "$(j 'd.get("SUCCEEDED")' "$(cat "$T/a.out")")" 60
  eq "second replay succeeded" "$(j 'd.get("SUCCEEDED")' "$(cat "$T/b.out")")" 60
  eq "change sets add up" "$(cs_count --status SUCCEEDED)" 120
  sf list-entities --type $PT
  eq "revisions add up" "$(j 'sum(e["Revision"] for e in d["EntitySummaryList"])')" 130
  sf log export
  eq "log lines" "$(printf '%s\n' "$OUT" | wc -l | tr -d ' ')" 130
  end
}

# probe_policy: the shipped policy in $T/wf and $T/rules plus Probe machines whose guards, rules and timers
# divide by details.N (or entity.Document.N), so N=0 makes each of them an evaluation error.
probe_policy() {
  mkdir -p "$T/wf" "$T/rules"
  cp "$SRC"/workflows/*.yaml "$T/wf/"
  cp "$SRC"/rules/*.rules "$T/rules/"
  cat >"$T/rules/probe.rules" <<'RULES'
rule probe_positive {
  code PROBE
  require 10 / details.N > 0
  message "N is {details.N}"
}
RULES
  cat >"$T/wf/probe.yaml" <<'YAML'
machine: entity
entity_type: Probe@1.0
id_prefix: probe-
document:
  N?: int
  M?: int
  Wait?: string
events:
  poke: []
states:
  Idle: {initial: true}
  Poked: {}
  Late: {}
transitions:
  - {from: Idle, to: Poked, on: poke, if: '10 / (entity.Document.N ?? 0) > 0'}
  - {from: Idle, to: Idle, on: poke}
  - {from: Idle, to: Late, after: 'duration(entity.Document.Wait ?? "P1000D")'}
  - {from: Poked, to: Late, after: duration("PT1H"), if: '10 / (entity.Document.M ?? 0) > 0'}
YAML
  # probe_request NAME INPUT STATES TRANSITIONS [EXTRA]: a request machine on Probe@1.0.
  probe_request() {
    printf 'machine: request\nchange_type: %s\nentity_type: Probe@1.0\n%binput:\n%bstates:\n  Submitted: {initial: true, status: PREPARING}\n  Done: {final: true, status: SUCCEEDED}\n%btransitions:\n%b' \
      "$1" "${5-}" "$2" "$3" "$4" >"$T/wf/$(echo "$1" | tr '[:upper:]' '[:lower:]').yaml"
  }
  probe_request CreateProbe '  N: int\n  Wait?: string\n' '' \
    '  - {from: Submitted, to: Done, actions: [{merge: entity.Document, value: details}]}\n' 'creates: always\n'
  probe_request PokeProbe '  {}\n' '' '  - {from: Submitted, to: Done, actions: [{send: poke}]}\n'
  local other='  Other: {final: true, status: SUCCEEDED}\n'
  probe_request RuleGuard '  N: int\n' "$other" \
    '  - {from: Submitted, to: Done, rules: [probe_positive]}\n  - {from: Submitted, to: Other}\n'
  probe_request Validated '  N: int\n' \
    '  Checking: {status: PREPARING, validate: {rules: [probe_positive], passed: Done, failed: Failed}}\n  Failed: {final: true, status: FAILED}\n' \
    '  - {from: Submitted, to: Checking}\n'
  probe_request Guarded '  N: int\n' '' '  - {from: Submitted, to: Done}\n' 'access: [probe_positive]\n'
  probe_request Reviewed '  N: int\n' "$other"'  InReview: {status: APPLYING}\n' \
    '  - {from: Submitted, to: InReview}\n  - {from: InReview, to: Done, on: approve, if: 10 / details.N > 0}\n  - {from: InReview, to: Other, on: approve}\n' \
    'events:\n  approve: [operations]\n'
  probe_request Waits '  Wait: string\n' '  Waiting: {status: PREPARING}\n' \
    '  - {from: Submitted, to: Waiting}\n  - {from: Waiting, to: Done, after: duration(details.Wait)}\n'
  probe_request Timed '  N: int\n' "$other"'  Waiting: {status: PREPARING}\n' \
    '  - {from: Submitted, to: Waiting}\n  - {from: Waiting, to: Done, after: duration("PT1H"), rules: [probe_positive]}\n  - {from: Waiting, to: Other, after: duration("PT1H")}\n'
}
# pf ARGS...: sf on the probe policy.
pf() {
  "$BIN" "$@" --db "$DB" --workflows "$T/wf" --rules "$T/rules" --output json >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
}
probe() {  # probe CHANGE_TYPE IDENTIFIER DETAILS_JSON: a one-change body in $T/body.json
  local id=""
  [ -n "$2" ] && id=",\"Identifier\":\"$2\""
  printf '{"Catalog":"AWSMarketplace","ChangeSet":[{"ChangeType":"%s","Entity":{"Type":"Probe@1.0"%s},"DetailsDocument":%s}]}' \
    "$1" "$id" "$3" >"$T/body.json"
}

# A guard or rule that cannot be evaluated never takes a transition, nor lets the next one be taken in
# its place: the change set FAILS with SERVER_FAULT naming it, wherever it is evaluated.
test_guard_errors_are_server_faults() {
  begin guard_errors_are_server_faults
  probe_policy
  local at=2026-01-01T00:00:00Z probe0 probe1
  probe CreateProbe "" '{"N":0}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  rc 0 "create a probe with N=0"
  [ "$RC" = 0 ] || { end; return; }
  probe0=$(j 'd["ChangeSet"][0]["Entity"]["Identifier"]')
  probe CreateProbe "" '{"N":1}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  probe1=$(j 'd["ChangeSet"][0]["Entity"]["Identifier"]')
  # server_fault WHAT NEEDLE: the last response is a FAILED set with SERVER_FAULT whose description has NEEDLE.
  server_fault() {
    rc 1 "$1: exit"
    eq "$1: status" "$(j 'd.get("Status")')" FAILED
    eq "$1: failure code" "$(j 'd.get("FailureCode")')" SERVER_FAULT
    has "$1: names the guard" "$(j 'd.get("FailureDescription")')" "$2"
  }
  # An automatic transition guarded by a rule: the rule's error is not "false" (the next transition).
  probe RuleGuard "$probe0" '{"N":0}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  server_fault "rule guard" "rule probe_positive could not be evaluated: division by zero"
  has "rule guard: where" "$(j 'd["FailureDescription"]')" "probe.rules:3:"
  has "rule guard: which transition" "$(j 'd["FailureDescription"]')" "from Submitted to Done"
  probe RuleGuard "$probe0" '{"N":1}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  eq "rule guard holds" "$(j 'd["ChangeSet"][0]["State"]')" Done
  # A validation step: an error is neither a pass nor a violation of the request.
  probe Validated "$probe0" '{"N":0}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  server_fault "validation" "the validation of Validated on Probe@1.0 in state Checking"
  # An event transition: the first guard errs, so the unguarded one after it is not taken.
  probe Reviewed "$probe0" '{"N":0}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  local cs
  cs=$(j 'd["ChangeSetId"]')
  pf review "$cs" approve --actor operations --at $at
  server_fault "event guard" "the guard of Reviewed on Probe@1.0's transition from InReview to Done on approve"
  pf history "$cs"
  hasnt "event guard: the next transition is not taken" "$(j '[e["To"] for e in d["Events"]]')" Other
  # A timer transition guarded by a rule, with an unguarded timer at the same time after it.
  probe Timed "$probe0" '{"N":0}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  cs=$(j 'd["ChangeSetId"]')
  pf tick --to 2026-01-01T02:00:00Z --actor operations
  rc 0 "tick"
  pf describe-change-set "$cs"
  eq "timer guard: status" "$(j 'd["Status"]')" FAILED
  eq "timer guard: failure code" "$(j 'd.get("FailureCode")')" SERVER_FAULT
  eq "timer guard: not taken" "$(j 'd["ChangeSet"][0]["State"]')" Waiting
  # An entity machine's event transition (a send): a server fault, not the request's INVALID_STATE.
  probe PokeProbe "$probe0" '{}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at 2026-01-01T03:00:00Z
  server_fault "entity guard" "the guard of Probe@1.0's transition from Idle to Poked on poke"
  eq "entity guard: no client error" "$(j 'd["ChangeSet"][0]["ErrorDetailList"]')" "[]"
  pf describe-entity "$probe0"
  eq "entity guard: the probe stays Idle" "$(j 'd["State"]')" Idle
  probe PokeProbe "$probe1" '{}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at 2026-01-01T03:00:00Z
  rc 0 "entity guard holds"
  pf describe-entity "$probe1"
  eq "entity guard: poked" "$(j 'd["State"]')" Poked
  # An access rule that cannot be evaluated refuses the request.
  probe Guarded "$probe0" '{"N":0}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at 2026-01-01T03:00:00Z
  rc 6 "access rule error refuses"
  eq "access: type" "$(j 'd["__type"]')" AccessDeniedException
  has "access: names the rule" "$(j 'd["Message"]')" "rule probe_positive could not be evaluated"
  end
}

# A timer whose deadline cannot be computed never leaves a set or an entity waiting forever: the set FAILS
# with SERVER_FAULT, an import is refused, and an entity timer that cannot run says so in its history.
test_timer_deadlines_are_checked() {
  begin timer_deadlines_are_checked
  probe_policy
  local at=2026-01-01T00:00:00Z
  # A request's own timer: 9,000 years from now is past the calendar.
  probe CreateProbe "" '{"N":1}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  rc 0 "create a probe"
  local id
  id=$(j 'd["ChangeSet"][0]["Entity"]["Identifier"]')
  probe Waits "$id" '{"Wait":"P9000Y"}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  rc 1 "a set whose timer has no deadline fails"
  eq "request timer: status" "$(j 'd["Status"]')" FAILED
  eq "request timer: failure code" "$(j 'd.get("FailureCode")')" SERVER_FAULT
  has "request timer: says why" "$(j 'd.get("FailureDescription")')" \
    "the deadline of Waits on Probe@1.0's transition from Waiting to Done after duration(details.Wait)"
  has "request timer: the calendar" "$(j 'd.get("FailureDescription")')" "outside the years 0001 to 9999"
  pf describe-entity "$id"
  eq "request timer: the probe is not held" "$(j '"LockedBy" in d')" false
  probe CreateProbe "" '{"N":1}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  probe Waits "$(j 'd["ChangeSet"][0]["Entity"]["Identifier"]')" '{"Wait":"PT1H"}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  eq "request timer with a deadline waits" "$(j 'd["Status"]')" PREPARING
  # An entity's timer: the set that would leave the probe without a deadline fails, changing nothing.
  probe CreateProbe "" '{"N":1,"Wait":"P9000Y"}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  rc 1 "an entity left without a deadline fails the set"
  eq "entity timer: failure code" "$(j 'd.get("FailureCode")')" SERVER_FAULT
  has "entity timer: says why" "$(j 'd.get("FailureDescription")')" \
    "the deadline of Probe@1.0's transition from Idle to Late after"
  pf list-entities --type Probe@1.0
  eq "entity timer: nothing created" "$(j 'len(d["EntitySummaryList"])')" 2
  # An import of such an entity is refused.
  printf '{"EntityType":"Probe@1.0","EntityIdentifier":"probe-aaaaaaaaaaaaa","State":"Idle","Owner":"%s","DetailsDocument":{"Wait":"P9000Y"}}\n' \
    $SELLER >"$T/import.jsonl"
  pf import "$T/import.jsonl" --log-level info
  rc 1 "an import with a refused line"
  eq "an import without a deadline is refused" "$(j 'd.get("Refused")')" 1
  has "import: says why" "$ERR" "probe-aaaaaaaaaaaaa cannot be kept: the deadline of Probe@1.0"
  # An entity timer whose guard cannot be evaluated when it falls due: the probe stays, and says so.
  probe PokeProbe "$id" '{}'
  pf start-change-set --change-set "$T/body.json" --actor $SELLER --at $at
  rc 0 "poke"
  pf tick --to 2026-01-01T02:00:00Z --actor operations
  rc 0 "tick past the probe's timer"
  has "timer fault: logged" "$ERR" "timer fault"
  pf describe-entity "$id"
  eq "timer fault: the probe stays" "$(j 'd["State"]')" Poked
  pf history "$id"
  eq "timer fault: in the history" "$(j '[e["Event"] for e in d["Events"]][-1]')" "timer fault"
  end
}

# A change set in flight keeps the definitions it started under when the files change.
test_pinned_definitions() {
  begin pinned_definitions
  local wf=$T/workflows
  cp -r "$SRC/workflows" "$wf"
  import_products $PA
  body "$(profile 111122223333)"
  "$BIN" start-change-set --change-set "$T/body.json" --actor $SELLER --at 2026-01-01T00:01:00Z \
    --db "$DB" --workflows "$wf" --rules "$SRC/rules" --output json >/dev/null
  body "$(vis $PA Public)"
  "$BIN" start-change-set --change-set "$T/body.json" --actor $SELLER --at 2026-01-01T00:02:00Z \
    --db "$DB" --workflows "$wf" --rules "$SRC/rules" --output json >"$T/out"
  CS=$(j 'd["ChangeSetId"]' "$(cat "$T/out")")
  # The new definition fails a Public approval; the set in review started under the old one.
  python3 - "$wf/update_visibility.yaml" <<'PY'
import sys
p = sys.argv[1]
s = open(p).read()
old = '    to: Succeeded\n    on: approve\n    if: details.TargetVisibility == "Public"'
assert old in s
s = s.replace(old, old.replace("Succeeded", "Failed"), 1)
open(p, "w").write(s)
PY
  # What the set waits for comes from the definition it started under, not today's files.
  sed -i 's/actors: \[operations\]/actors: [seller]/' "$wf/update_visibility.yaml"
  grep -q 'actors: \[seller\]' "$wf/update_visibility.yaml" || fail "the edit of the actors did not apply"
  sf describe-change-set "$CS"
  eq "waits as pinned" "$(j '[(e["Event"], e["Actors"]) for e in d["WaitingFor"]["Events"]]')" \
    '[["approve", ["operations"]], ["reject", ["operations"]]]'
  "$BIN" review "$CS" approve --actor operations --at 2026-01-01T00:03:00Z \
    --db "$DB" --workflows "$wf" --rules "$SRC/rules" --output json >"$T/out"
  eq "approved under the old definition" "$(j 'd["Status"]' "$(cat "$T/out")")" SUCCEEDED
  sf describe-entity $PA
  eq "product public" "$(j 'd["State"]')" Public
  end
}

# ---- the command line as operators use it (issue 12, issue 13 items 5 and 18) ---------------------
test_cli_body_is_only_a_start_change_set() {
  begin cli_body_is_only_a_start_change_set
  import_products $PA
  local before
  before=$(digest)
  # A body that names another operation, an actor or a time is refused whole; nothing runs.
  EXTRA=',"op":"tick","To":"2026-12-01T00:00:00Z"' body "$(ui $PA '{"ProductTitle":"T"}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 1 "op refused"
  has "op named" "$ERR" "op: is not a StartChangeSet field"
  has "To named" "$ERR" "To: unknown field 'To'; allowed: Catalog, ChangeSetName, ClientRequestToken, Intent, ChangeSet"
  EXTRA=',"op":"import","EntityType":"'$PT'"' body "$(ui $PA '{"ProductTitle":"T"}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 1 "import refused"
  EXTRA=',"Actor":"operations","At":"2026-06-01T00:00:00Z"' body "$(ui $PA '{"ProductTitle":"T"}')"
  start $SELLER 2026-01-01T00:01:00Z
  rc 1 "Actor and At refused"
  has "Actor named" "$ERR" "Actor: is not a StartChangeSet field: the actor is not part of the body; give it with --actor"
  has "At named" "$ERR" "At: is not a StartChangeSet field: the time is not part of the body; give it with --at"
  has "ValidationException" "$ERR" "sellerflow: ValidationException: $T/body.json has 2 problems"
  eq "store unchanged" "$(digest)" "$before"
  # The same body without them runs as the flags say, read through file:// as the AWS CLI writes it.
  body "$(ui $PA '{"ProductTitle":"T"}')"
  pushd "$T" >/dev/null || return
  sf start-change-set --change-set file://body.json --actor $SELLER --at 2026-01-01T00:02:00Z
  popd >/dev/null || return
  rc 0 "file:// body"
  eq "at the flag's time" "$(j 'd["StartTime"]')" 2026-01-01T00:02:00Z
  sf start-change-set --change-set "file://$T/nope.json" --actor $SELLER --at 2026-01-01T00:03:00Z
  rc 2 "missing file"
  eq "names the file" "$ERR" "sellerflow: cannot read '$T/nope.json': No such file or directory"
  end
}

test_cli_change_set_as_the_aws_cli_takes_it() {
  begin cli_change_set_as_the_aws_cli_takes_it
  import_products $PA
  # The list of changes inline, the envelope from the flags.
  sf start-change-set --catalog AWSMarketplace --change-set "[$(ui $PA '{"ProductTitle":"Inline"}')]" \
    --change-set-name inline --client-request-token tok-inline --intent VALIDATE --actor $SELLER --at 2026-01-01T00:01:00Z
  rc 0 "inline list"
  eq "envelope" "$(j '[d["ChangeSetName"], d["Intent"], d["Status"]]')" '["inline", "VALIDATE", "SUCCEEDED"]'
  # The list in a file://, as `aws marketplace-catalog start-change-set --change-set file://changes.json`.
  printf '[%s]' "$(ui $PA '{"ProductTitle":"From a list"}')" >"$T/changes.json"
  sf start-change-set --change-set "file://$T/changes.json" --actor $SELLER --at 2026-01-01T00:02:00Z
  rc 0 "file:// list"
  entity $PA
  eq "applied" "$(j 'd["DetailsDocument"]["ProductTitle"]')" "From a list"
  local before
  before=$(digest)
  body "$(ui $PA '{"ProductTitle":"T"}')"
  sf start-change-set --change-set "$T/body.json" --change-set-name x --actor $SELLER --at 2026-01-01T00:03:00Z
  rc 2 "flags with a whole body"
  eq "says so" "$ERR" "sellerflow: --change-set-name, --client-request-token and --intent go with a --change-set that is a list of changes; a whole body carries its own"
  eq "store unchanged" "$(digest)" "$before"
  end
}

test_cli_times_are_utc() {
  begin cli_times_are_utc
  import_products $PA
  body "$(ui $PA '{"ProductTitle":"T"}')"
  start $SELLER 2026-01-01T02:01:00+02:00
  rc 0 "start"
  eq "StartTime in Z form" "$(j 'd["StartTime"]')" 2026-01-01T00:01:00Z
  sf tick --to 2026-01-01T09:30:00-05:00 --actor operations
  rc 0 "tick"
  eq "clock in Z form" "$OUT" '{"Clock":"2026-01-01T14:30:00Z","TimersFired":0,"Timers":[]}'
  sf log export
  eq "logged in Z form" "$(printf '%s\n' "$OUT" | tail -2 | python3 -c 'import json,sys; print([json.loads(l).get("At", json.loads(l).get("To")) for l in sys.stdin])')" \
    "['2026-01-01T00:01:00Z', '2026-01-01T14:30:00Z']"
  local before
  before=$(digest)
  sf tick --to 2026-01-02 --actor operations
  rc 2 "a date is not a time"
  eq "names --to" "$ERR" 'sellerflow: --to "2026-01-02" is not an RFC 3339 time (e.g. 2026-03-01T00:00:00Z)'
  eq "store unchanged" "$(digest)" "$before"
  end
}

test_cli_default_now_far_ahead() {
  begin cli_default_now_far_ahead
  import_products $PA
  # A store clock years before any machine's wall clock, so the test holds whatever the date.
  sf tick --to 2001-03-01T00:00:00Z --actor operations
  local before
  before=$(digest)
  body "$(ui $PA '{"ProductTitle":"T"}')"
  sf start-change-set --change-set "$T/body.json" --actor $SELLER
  rc 2 "the wall clock is years ahead"
  has "asks for --at" "$ERR" "sellerflow: the store's clock is at 2001-03-01T00:00:00Z and now is "
  has "or --now" "$ERR" "give the command's time with --at, or --now to run it now"
  sf cancel-change-set cs-doesnotexist --actor $SELLER
  rc 2 "cancel too"
  sf review cs-doesnotexist approve --actor operations
  rc 2 "review too"
  eq "store unchanged" "$(digest)" "$before"
  sf start-change-set --change-set "$T/body.json" --actor $SELLER --now
  rc 0 "--now confirms"
  end
}

test_cli_review_needs_actor_and_reason() {
  begin cli_review_needs_actor_and_reason
  import_products $PA
  public_in_review $PA
  local before
  before=$(digest)
  sf review "$CS" approve --at 2026-01-01T00:05:00Z
  rc 2 "no --actor"
  eq "says so" "$ERR" "sellerflow: review needs --actor: who decides (Seller Operations review as --actor operations)"
  sf review "$CS" reject --actor operations --at 2026-01-01T00:05:00Z
  rc 2 "reject without a reason"
  eq "says so" "$ERR" "sellerflow: reject needs --reason: the seller is told why"
  sf review --change-set-id "$CS" reject --reason "  " --actor operations --at 2026-01-01T00:05:00Z
  rc 2 "a blank reason"
  eq "store unchanged" "$(digest)" "$before"
  sf review --change-set-id "$CS" approve --actor operations --at 2026-01-01T00:05:00Z
  rc 0 "--change-set-id"
  eq "approved" "$(j 'd["Status"]')" SUCCEEDED
  end
}

test_cli_aws_options() {
  begin cli_aws_options
  import_products $PA $PB
  EXTRA=',"ChangeSetName":"first"' body "$(ui $PA '{"ProductTitle":"One"}')"
  start $SELLER 2026-01-01T00:01:00Z
  local first
  first=$(j 'd["ChangeSetId"]')
  EXTRA=',"ChangeSetName":"second"' body "$(ui $PB '{"ProductTitle":"Two"}')"
  start $SELLER 2026-01-01T00:02:00Z
  body "$(ui $PA '{"ProductTitle":"Three"}')"
  start $SELLER 2026-01-01T00:03:00Z
  sf describe-change-set --change-set-id "$first" --catalog AWSMarketplace
  rc 0 "--change-set-id"
  eq "described" "$(j 'd["ChangeSetName"]')" first
  sf describe-entity --entity-id $PA
  eq "--entity-id" "$(j 'd["DetailsDocument"]["ProductTitle"]')" Three
  sf describe-entity $PA --catalog Sandbox
  rc 2 "another catalog"
  eq "names it" "$ERR" "--catalog: the only catalog is AWSMarketplace, not 'Sandbox'
Run with --help for more information."
  # Summaries carry the name and the ARN, as ListChangeSets does.
  sf list-change-sets
  eq "names" "$(j '[c.get("ChangeSetName") for c in d["ChangeSetSummaryList"]]')" '["first", "second", null]'
  eq "arn" "$(j 'd["ChangeSetSummaryList"][0]["ChangeSetArn"]')" \
    "arn:aws:aws-marketplace:us-east-1:000000000000:AWSMarketplace/ChangeSet/$first"
  # Pages: a NextToken while more remain, the same token every time, none on the last page.
  sf list-change-sets --max-results 2
  eq "page 1" "$(j 'len(d["ChangeSetSummaryList"])')" 2
  local token
  token=$(j 'd["NextToken"]')
  sf list-change-sets --max-results 2
  eq "deterministic" "$(j 'd["NextToken"]')" "$token"
  sf list-change-sets --max-results 2 --next-token "$token"
  eq "page 2" "$(j '[c.get("ChangeSetName") for c in d["ChangeSetSummaryList"]]')" '[null]'
  eq "last page" "$(j '"NextToken" in d')" false
  sf list-change-sets --max-results 2 --next-token "${token}00"
  rc 2 "a bad token"
  has "names --next-token" "$ERR" "sellerflow: --next-token: is not a token of this listing"
  sf list-change-sets --max-results 2 --next-token "$token" --sort SortBy=StartTime
  rc 2 "a token of another listing"
  sf list-change-sets --max-results 21
  rc 2 "at most 20"
  eq "says so" "$ERR" "sellerflow: --max-results: must be 1 to 20 in ListChangeSets, not 21"
  # Filters and sort as the AWS CLI writes them.
  sf list-change-sets --filter-list Name=ChangeSetName,ValueList=first,second Name=EntityId,ValueList=$PB
  eq "shorthand" "$(j '[c["ChangeSetName"] for c in d["ChangeSetSummaryList"]]')" '["second"]'
  sf list-change-sets --filter-list '[{"Name":"Status","ValueList":["SUCCEEDED"]},{"Name":"AfterStartTime","ValueList":["2026-01-01T00:01:30Z"]}]' \
    --sort '{"SortBy":"StartTime","SortOrder":"DESCENDING"}'
  eq "JSON" "$(j '[c.get("ChangeSetName") for c in d["ChangeSetSummaryList"]]')" '[null, "second"]'
  sf list-change-sets --sort SortBy=StartTime
  eq "DESCENDING by default" "$(j '[c.get("ChangeSetName") for c in d["ChangeSetSummaryList"]]')" '[null, "second", "first"]'
  sf list-change-sets --filter-list Name=ChangeSetStatus,ValueList=APPLYING
  rc 2 "unknown filter"
  has "suggests" "$ERR" "(did you mean 'Status'?)"
  sf list-change-sets --filter-list Name=Status,ValueList=DONE
  rc 2 "unknown status"
  has "allowed" "$ERR" "unknown Status 'DONE'; allowed: PREPARING, APPLYING, SUCCEEDED, FAILED, CANCELLED"
  # Names the policy does not have are errors, not empty tables.
  sf list-change-sets --type UpdateInfo
  rc 2 "unknown change type"
  has "allowed" "$ERR" "sellerflow: --type: unknown change type \"UpdateInfo\"; allowed: "
  sf list-change-sets --status Applying
  rc 2 "unknown status"
  has "names the value and the statuses" "$ERR" "--status: Applying not in {PREPARING,APPLYING,SUCCEEDED,FAILED,CANCELLED}"
  sf list-entities --entity-type ProfessionalServicesProduct --state Limted
  rc 2 "unknown state"
  has "did you mean" "$ERR" "unknown state of $PT \"Limted\"; allowed: Draft, Limited, Public, Removed, Restricted (did you mean Limited?)"
  sf list-entities --entity-type ProfessionalServicesProduct --state Limited --max-results 1
  rc 0 "versionless type"
  eq "one page" "$(j '[e["EntityId"] for e in d["EntitySummaryList"]]')" "[\"$PA\"]"
  sf list-entities --entity-type ProfessionalServicesProduct --state Limited --max-results 1 --next-token "$(j 'd["NextToken"]')"
  eq "next page" "$(j '[e["EntityId"] for e in d["EntitySummaryList"]]')" "[\"$PB\"]"
  sf list-entities --type Product@1.0
  rc 2 "unknown entity type"
  # A mistyped change type in a body.
  body "$(ui $PA '{}')"
  sed -i 's/UpdateInformation/UpdateInformaton/' "$T/body.json"
  start $SELLER 2026-01-01T00:04:00Z
  rc 1 "unknown change type"
  has "did you mean" "$ERR" "unknown change type UpdateInformaton for $PT; did you mean UpdateInformation?"
  # A set that arrives between two pages is neither given twice nor shifts the next page.
  sf list-change-sets --max-results 2 --sort SortBy=StartTime
  eq "newest first" "$(j '[c.get("ChangeSetName") for c in d["ChangeSetSummaryList"]]')" '[null, "second"]'
  token=$(j 'd["NextToken"]')
  EXTRA=',"ChangeSetName":"fourth"' body "$(ui $PB '{"ProductTitle":"Four"}')"
  start $SELLER 2026-01-01T00:05:00Z
  rc 0 "a new set"
  sf list-change-sets --max-results 2 --sort SortBy=StartTime --next-token "$token"
  eq "after the cursor" "$(j '[c.get("ChangeSetName") for c in d["ChangeSetSummaryList"]]')" '["first"]'
  eq "the last page" "$(j '"NextToken" in d')" false
  end
}

# warranty_request DIR: a drop-in request type, UpdateWarranty, that waits for Seller Operations and
# then merges its Warranty into the product's document.
warranty_request() {
  mkdir -p "$1"
  cat >"$1/update_warranty.yaml" <<'YAML'
machine: request
change_type: UpdateWarranty
entity_type: ProfessionalServicesProduct@1.0
input:
  Warranty: string
events:
  approve: [operations]
states:
  Submitted: {initial: true, status: PREPARING}
  InReview: {status: APPLYING}
  Succeeded: {final: true, status: SUCCEEDED}
transitions:
  - {from: Submitted, to: InReview}
  - {from: InReview, to: Succeeded, on: approve, actions: [{merge: entity.Document, value: details}]}
YAML
}
warranty() {  # warranty ID TEXT
  printf '{"ChangeType":"UpdateWarranty","Entity":{"Type":"%s","Identifier":"%s"},"DetailsDocument":{"Warranty":"%s"}}' "$PT" "$1" "$2"
}
# with WORKFLOW_DIR... -- ARGS...: the binary on the test's store with these workflow folders.
with() {
  local folders=()
  while [ "$1" != -- ]; do folders+=(--workflows "$1"); shift; done
  shift
  "$BIN" "$@" --db "$DB" "${folders[@]}" --rules "$SRC/rules" --output json >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
}

# A change set waiting for review, approved with folders that lack the document field its request
# writes, is refused naming the field (it used to succeed and drop it); with its own folders it
# completes, keeping the field.
test_pinned_document_field_missing() {
  begin pinned_document_field_missing
  local alt=$T/alt
  cp -r "$SRC/workflows" "$alt"
  warranty_request "$alt"
  sed -i 's/^  AgreementBuyers?: list<string>.*/&\n  Warranty?: string/' "$alt/product.yaml"
  import_products $PA
  body "$(warranty $PA "90 days")"
  with "$alt" -- start-change-set --change-set "$T/body.json" --actor $SELLER --at 2026-01-01T00:01:00Z
  rc 0 "start with the extended product"
  eq "waits for review" "$(j 'd["Status"]')" APPLYING
  CS=$(j 'd["ChangeSetId"]')
  local before
  before=$(digest)
  with "$SRC/workflows" -- review "$CS" approve --actor operations --at 2026-01-01T00:02:00Z
  rc 3 "approve without the field's definition"
  hasnt "not succeeded" "$OUT" SUCCEEDED
  has "names the request" "$ERR" "its UpdateWarranty on $PT started under the definition"
  has "names the field" "$ERR" "hint: entity.Document has no field 'Warranty'"
  has "says what to do" "$ERR" "run the command with the --workflows and --rules folders the change set started under"
  eq "nothing changed" "$(digest)" "$before"
  sf describe-change-set "$CS"
  eq "still in review" "$(j 'd["Status"]')" APPLYING
  with "$alt" -- review "$CS" approve --actor operations --at 2026-01-01T00:03:00Z
  rc 0 "approve with its own folders"
  eq "succeeded" "$(j 'd["Status"]')" SUCCEEDED
  sf describe-entity $PA
  eq "the field is kept" "$(j 'd["DetailsDocument"]["Warranty"]')" "90 days"
  end
}

# The same through a drop-in folder: an extension adds Warranty to the product, the folder's request
# type writes it. Started with both folders, approved with the shipped ones alone: refused, naming
# the field and the pinned file; approved with both: SUCCEEDED with the field.
test_pinned_extension_missing() {
  begin pinned_extension_missing
  local extra=$T/extra
  warranty_request "$extra"
  printf 'machine: extension\nextends: %s\ndocument:\n  Warranty?: string\n' "$PT" >"$extra/warranty.yaml"
  import_products $PA
  body "$(warranty $PA "90 days")"
  with "$SRC/workflows" "$extra" -- start-change-set --change-set "$T/body.json" --actor $SELLER \
    --at 2026-01-01T00:01:00Z
  rc 0 "start with the drop-in folder"
  eq "waits for review" "$(j 'd["Status"]')" APPLYING
  CS=$(j 'd["ChangeSetId"]')
  local before
  before=$(digest)
  with "$SRC/workflows" -- review "$CS" approve --actor operations --at 2026-01-01T00:02:00Z
  rc 3 "approve without the drop-in folder"
  hasnt "not succeeded" "$OUT" SUCCEEDED
  has "names the pinned file" "$ERR" "$extra/update_warranty.yaml (pinned "
  has "names the field" "$ERR" "hint: entity.Document has no field 'Warranty'"
  eq "nothing changed" "$(digest)" "$before"
  with "$SRC/workflows" "$extra" -- review "$CS" approve --actor operations --at 2026-01-01T00:03:00Z
  rc 0 "approve with the drop-in folder"
  eq "succeeded" "$(j 'd["Status"]')" SUCCEEDED
  sf describe-entity $PA
  eq "the field is kept" "$(j 'd["DetailsDocument"]["Warranty"]')" "90 days"
  end
}

run_tests
