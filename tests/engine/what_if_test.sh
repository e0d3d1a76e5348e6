#!/usr/bin/env bash
# End-to-end tests of `sellerflow what-if`: the real binary replays a real store's log under edited
# definitions; the report, the exit codes, and the store and scratch folder left as they were.
# usage: what_if_test.sh SELLERFLOW_BINARY SOURCE_DIR
set -u
BIN=$1
SRC=$2
source "$(cd "$(dirname "$0")/.." && pwd)/e2e_lib.sh"
WALK=$SRC/examples/walkthroughs/product-walkthrough.jsonl

# walkthrough: the seller guide's walkthrough in $T/s.db, and an editable copy of the rules in $T/rules.
walkthrough() {
  sf replay "$WALK"
  rc 0 "replay"
  cp -rL "$SRC/rules" "$T/rules"
}
# wi ARGS...: what-if on the test's store with the shipped workflows and $T/rules, and TMPDIR in $T/tmp.
wi() {
  mkdir -p "$T/tmp"
  TMPDIR=$T/tmp "$BIN" what-if --db "$T/s.db" --workflows "$SRC/workflows" --rules "$T/rules" "$@" \
    >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
}
store_fingerprint() { sha256sum "$T/s.db" | cut -d' ' -f1; ls "$T"/s.db* | tr '\n' ' '; }

test_same_definitions_nothing_differs() {
  begin same_definitions_nothing_differs
  walkthrough
  wi --output text
  rc 0 "what-if under the store's own definitions"
  eq "report" "$OUT" "replayed 15 commands (10 change sets): nothing would differ"
  wi --output json
  eq "json" "$(j '[d["Differs"], d["Commands"], d["ChangeSets"], d["ChangeSetList"]]')" '[false, 15, 10, []]'
  end
}

test_edited_rule_report() {
  begin edited_rule_report
  walkthrough
  sed -i 's/^const MAX_SEARCH_KEYWORDS = 15/const MAX_SEARCH_KEYWORDS = 3/' "$T/rules/product_information.rules"
  local before
  before=$(store_fingerprint)
  wi --output text
  rc 1 "what-if with a difference"
  eq "report" "$OUT" "replayed 15 commands (10 change sets): 2 change sets and 1 entity would differ
by change type: UpdateInformation 2
by rule: search_keywords_count 2

cs-22222256xenrikrhcqhaytxun  command 3  UpdateInformation
  Changes[0].Errors: (none) -> INVALID_INPUT: SearchKeywords has 4 items. Provide at least one search keyword and at most 3.

cs-2222226zeraoq7o26qlnasg57  command 4  UpdateInformation
  Status: SUCCEEDED -> FAILED
  FailureCode: (none) -> CLIENT_ERROR
  FailureDescription: (none) -> Change set preparation has failed. For details see 'ErrorDetailList'.
  Changes[0].State: Succeeded -> Failed
  Changes[0].Status: SUCCEEDED -> FAILED
  Changes[0].Errors: (none) -> INVALID_INPUT: SearchKeywords has 4 items. Provide at least one search keyword and at most 3.

prod-gxekl6ylv7qvz  ProfessionalServicesProduct@1.0  changed
  Revision: 4 -> 3
  Document.SearchKeywords: [\"migration\",\"assessment\",\"cloud\",\"plan\"] -> [\"migration\",\"assessment\",\"cloud\"]"
  eq "stderr" "$ERR" ""
  eq "the store is not written" "$(store_fingerprint)" "$before"
  eq "the scratch folder is removed" "$(ls -A "$T/tmp")" ""
  wi --output json
  rc 1 "json"
  eq "json summary" "$(j '[d["ChangeSetsDiffering"], d["EntitiesDiffering"], d["ByChangeType"], d["ByRule"]]')" \
    '[2, 1, {"UpdateInformation": 2}, {"search_keywords_count": 2}]'
  eq "json entity" "$(j '[(e["EntityId"], e["Kind"], [f["Field"] for f in e["Differences"]]) for e in d["EntityList"]]')" \
    '[["prod-gxekl6ylv7qvz", "changed", ["Revision", "Document.SearchKeywords"]]]'
  eq "json change set" "$(j '[(c["Command"], c["ChangeSetId"], c["ChangeTypes"]) for c in d["ChangeSetList"]]')" \
    '[[3, "cs-22222256xenrikrhcqhaytxun", ["UpdateInformation"]], [4, "cs-2222226zeraoq7o26qlnasg57", ["UpdateInformation"]]]'
  sf digest
  eq "digest unchanged" "$OUT" "45921243143d09931b24e9e87b82a22019cdda6fd278561a68d9ff30ea068b6f"
  end
}

test_refusal_and_shifted_ids() {
  begin refusal_and_shifted_ids
  walkthrough
  # A title limit below the walkthrough's first product title refuses its creation at the input:
  # the refusal is shown with its violation, and later change sets are matched by command.
  sed -i 's/^const MAX_TITLE = 72/const MAX_TITLE = 20/' "$T/rules/product_information.rules"
  wi --output json
  rc 1 "what-if"
  eq "the creation is refused" "$(j '[f["Would"] for f in d["ChangeSetList"][0]["Differences"] if f["Field"] == "Result"][0]')" \
    "Refused (ValidationException: 1 problem with the request) ChangeSet[0].DetailsDocument.ProductTitle: has 26 characters; at most 20 are allowed"
  eq "counted under the input field" "$(j 'd["ByRule"]')" '{"input ChangeSet[].DetailsDocument.ProductTitle": 1}'
  # The second creation (command 8) succeeds either way, under another product id: the set is not
  # listed, its product is, under both ids.
  eq "command 8 not listed" "$(j '[c["Command"] for c in d["ChangeSetList"] if c["Command"] == 8]')" '[]'
  # The second product would take the first's id: it is matched by the change that made it.
  eq "entities" "$(j '[[e["EntityId"], e.get("WouldBe"), e["Kind"]] for e in d["EntityList"]]')" \
    '[["prod-ds5ap5ivhwelu", "prod-gxekl6ylv7qvz", "changed"], ["prod-gxekl6ylv7qvz", null, "missing"]]'
  eq "the second product's differences" "$(j '[[f["Field"], f["Now"], f["Would"]] for f in d["EntityList"][0]["Differences"]]')" \
    '[["State", "Removed", "Limited"], ["Revision", "2", "1"]]'
  end
}

test_definition_errors_exit_3() {
  begin definition_errors_exit_3
  walkthrough
  printf 'rule broken {\n  require details.X >\n}\n' >"$T/rules/broken.rules"
  local before
  before=$(store_fingerprint)
  wi --output text
  rc 3 "what-if with broken definitions"
  has "names the place" "$ERR" "broken.rules:3:1: error: expected an expression, found '}'"
  has "says what to do" "$ERR" "run \`sellerflow check\`"
  eq "nothing printed" "$OUT" ""
  eq "the store is not written" "$(store_fingerprint)" "$before"
  end
}

test_missing_store_exit_5() {
  begin missing_store_exit_5
  cp -rL "$SRC/rules" "$T/rules"
  wi --output text
  rc 5 "what-if on no store"
  has "names the path" "$ERR" "$T/s.db"
  eq "no store is made" "$(ls "$T" | grep -c '^s\.db')" "0"
  end
}

test_timers_and_offers_replay_the_same() {
  begin timers_and_offers_replay_the_same
  # The private-offer walkthrough has timers, an agreement and a refused acceptance.
  sf replay "$SRC/examples/private-offer/walkthrough.jsonl"
  rc 0 "replay"
  cp -rL "$SRC/rules" "$T/rules"
  wi --output text
  rc 0 "what-if"
  eq "report" "$OUT" "replayed 8 commands (5 change sets): nothing would differ"
  end
}

run_tests
