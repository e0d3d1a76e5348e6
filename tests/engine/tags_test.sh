#!/usr/bin/env bash
# End-to-end tests of the tag and resource-policy commands (tag-resource, untag-resource,
# list-tags-for-resource, put-, get- and delete-resource-policy): the real binary on a real store,
# the access rule the API applies, the errors and their exit codes, and a replay of the log.
# usage: tags_test.sh SELLERFLOW_BINARY SOURCE_DIR
set -u
BIN=$1
SRC=$2
source "$(cd "$(dirname "$0")/.." && pwd)/e2e_lib.sh"
ARN=arn:aws:aws-marketplace:us-east-1:000000000000:AWSMarketplace/
SELLER=seller:111122223333
OTHER=seller:444455556666

# product: the tour's seller and product in $T/s.db; sets CS (the change set that made it), PROD,
# and their ARNs CS_ARN and PROD_ARN.
product() {
  sf import "$SRC/examples/tour/setup.jsonl" --at 2026-03-02T09:00:00Z
  rc 0 "import"
  sf start-change-set --change-set "$SRC/examples/tour/create_product.json" --actor "$SELLER" \
    --at 2026-03-02T10:00:00Z --output json
  rc 0 "start-change-set"
  CS=$(j 'd["ChangeSetId"]')
  sf describe-change-set "$CS" --output json
  PROD=$(j 'd["ChangeSet"][0]["Entity"]["Identifier"]')
  CS_ARN=${ARN}ChangeSet/$CS
  PROD_ARN=${ARN}ProfessionalServicesProduct/$PROD
}
# as ACTOR COMMAND ARGS...: a command at a fixed time, as ACTOR, printing JSON.
as() {
  local actor=$1
  shift
  sf "$@" --actor "$actor" --at 2026-03-02T12:00:00Z --output json
}
store_fingerprint() { sha256sum "$T/s.db" | cut -d' ' -f1; }

test_tag_list_untag() {
  begin tag_list_untag
  product
  as "$SELLER" tag-resource --resource-arn "$CS_ARN" --tags Key=team,Value=alpha Key=env,Value=
  rc 0 "tag the change set (shorthand, two tags)"
  eq "JSON prints nothing, as the AWS CLI prints an empty answer" "$OUT" ""
  as "$SELLER" tag-resource --resource-arn "$PROD_ARN" --tags '[{"Key":"Stage","Value":"beta launch"}]'
  rc 0 "tag the entity (JSON)"
  as "$SELLER" list-tags-for-resource --resource-arn "$CS_ARN"
  rc 0 "list the change set's tags"
  eq "ListTagsForResource's answer, by key" "$OUT" \
    "{\"ResourceArn\":\"$CS_ARN\",\"Tags\":[{\"Key\":\"env\",\"Value\":\"\"},{\"Key\":\"team\",\"Value\":\"alpha\"}]}"
  as "$SELLER" list-tags-for-resource --resource-arn "$PROD_ARN"
  eq "the entity's tags" "$(j 'd["Tags"]')" '[{"Key": "Stage", "Value": "beta launch"}]'
  sf list-tags-for-resource --resource-arn "$CS_ARN" --actor "$SELLER" --output table
  eq "for people" "$OUT" "$CS_ARN
Key   Value
env
team  alpha"
  sf tag-resource --resource-arn "$CS_ARN" --tags Key=team,Value=beta --actor "$SELLER" \
    --at 2026-03-02T12:00:00Z --output text
  rc 0 "a key given again"
  eq "what was done, for people" "$OUT" "tagged $CS_ARN"
  as operations list-tags-for-resource --resource-arn "$CS_ARN"
  eq "operations see every account's, the value replaced" "$(j 'd["Tags"]')" \
    '[{"Key": "env", "Value": ""}, {"Key": "team", "Value": "beta"}]'
  as "$SELLER" untag-resource --resource-arn "$CS_ARN" --tag-keys team never-set
  rc 0 "untag (a key never set is no error)"
  as "$SELLER" list-tags-for-resource --resource-arn "$CS_ARN"
  eq "after untag" "$(j 'd["Tags"]')" '[{"Key": "env", "Value": ""}]'
  as "$SELLER" untag-resource --resource-arn "$CS_ARN" --tag-keys '["env"]'
  rc 0 "untag (JSON)"
  as "$SELLER" list-tags-for-resource --resource-arn "$CS_ARN"
  eq "no tags left" "$(j 'd["Tags"]')" '[]'
  sf list-tags-for-resource --resource-arn "$CS_ARN" --actor "$SELLER" --output text
  eq "no tags, for people" "$OUT" "$CS_ARN
no tags"
  end
}

test_tags_from_file() {
  begin tags_from_file
  product
  printf '[{"Key":"a","Value":"1"},{"Key":"b","Value":"two words"}]\n' >"$T/tags.json"
  as "$SELLER" tag-resource --resource-arn "$PROD_ARN" --tags "file://$T/tags.json"
  rc 0 "tags from file://"
  as "$SELLER" list-tags-for-resource --resource-arn "$PROD_ARN"
  eq "both" "$(j '[t["Value"] for t in d["Tags"]]')" '["1", "two words"]'
  end
}

test_policy_round_trip() {
  begin policy_round_trip
  product
  local policy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::444455556666:root"},"Action":["aws-marketplace:DescribeEntity"]}]}'
  as "$SELLER" put-resource-policy --resource-arn "$PROD_ARN" --policy "$policy"
  rc 0 "put-resource-policy"
  eq "nothing printed" "$OUT" ""
  as "$SELLER" get-resource-policy --resource-arn "$PROD_ARN"
  rc 0 "get-resource-policy"
  eq "the policy as put" "$(j 'd["Policy"]')" "$policy"
  eq "GetResourcePolicy's answer" "$(j 'list(d)')" '["Policy"]'
  sf get-resource-policy --resource-arn "$PROD_ARN" --actor "$SELLER" --output table
  eq "for people: indented, in the order put" "$(printf '%s\n' "$OUT" | head -3)" '{
  "Version": "2012-10-17",
  "Statement": ['
  printf '{"Version": "2012-10-17", "Statement": []}' >"$T/policy.json"
  as "$SELLER" put-resource-policy --resource-arn "$PROD_ARN" --policy "file://$T/policy.json"
  rc 0 "a policy from file:// replaces the one there"
  as "$SELLER" get-resource-policy --resource-arn "$PROD_ARN"
  eq "the new policy, as written" "$(j 'd["Policy"]')" '{"Version": "2012-10-17", "Statement": []}'
  sf delete-resource-policy --resource-arn "$PROD_ARN" --actor "$SELLER" --at 2026-03-02T12:00:00Z \
    --output text
  rc 0 "delete-resource-policy"
  eq "what was done" "$OUT" "deleted the resource policy of $PROD_ARN"
  as "$SELLER" get-resource-policy --resource-arn "$PROD_ARN"
  rc 5 "no policy left"
  eq "stderr" "$ERR" "sellerflow: ResourceNotFoundException: Resource $PROD_ARN has no resource policy"
  as "$SELLER" delete-resource-policy --resource-arn "$PROD_ARN"
  rc 5 "deleting it again"
  has "stderr" "$ERR" "ResourceNotFoundException: Resource $PROD_ARN has no resource policy"
  as "$SELLER" put-resource-policy --resource-arn "$CS_ARN" --policy '{}'
  rc 1 "a change set has no resource policy"
  has "stderr" "$ERR" "ValidationException: ResourceArn: $CS_ARN is a change set; resource policies are for entities"
  as "$SELLER" put-resource-policy --resource-arn "$PROD_ARN" --policy '[1, 2]'
  rc 1 "a policy that is not a JSON object"
  eq "stderr" "$ERR" "sellerflow: ValidationException: the request has 1 problem
  Policy: must be a JSON object's text, not another JSON value"
  end
}

test_other_seller_sees_nothing() {
  begin other_seller_sees_nothing
  product
  as "$SELLER" tag-resource --resource-arn "$PROD_ARN" --tags Key=team,Value=alpha
  as "$SELLER" put-resource-policy --resource-arn "$PROD_ARN" --policy '{"Statement":[]}'
  local before
  before=$(as operations list-tags-for-resource --resource-arn "$PROD_ARN"; echo "$OUT")
  # Another account's resources are not found, as the API answers: that they exist is not told.
  as "$OTHER" list-tags-for-resource --resource-arn "$CS_ARN"
  rc 5 "another seller lists a change set's tags"
  eq "stderr" "$ERR" "sellerflow: ResourceNotFoundException: Resource $CS_ARN not found"
  as "$OTHER" list-tags-for-resource --resource-arn "$PROD_ARN"
  rc 5 "another seller lists an entity's tags"
  as "$OTHER" get-resource-policy --resource-arn "$PROD_ARN"
  rc 5 "nor reads its policy"
  eq "stderr" "$ERR" "sellerflow: ResourceNotFoundException: Resource $PROD_ARN not found"
  as "$OTHER" tag-resource --resource-arn "$PROD_ARN" --tags Key=team,Value=mine
  rc 5 "nor tags it"
  eq "stderr" "$ERR" "sellerflow: ResourceNotFoundException: Resource $PROD_ARN not found"
  as "$OTHER" untag-resource --resource-arn "$PROD_ARN" --tag-keys team
  rc 5 "nor untags it"
  as "$OTHER" delete-resource-policy --resource-arn "$PROD_ARN"
  rc 5 "nor deletes its policy"
  as "buyer:444455556666" list-tags-for-resource --resource-arn "$PROD_ARN"
  rc 5 "nor a buyer"
  as operations list-tags-for-resource --resource-arn "$PROD_ARN"
  eq "the tags are as they were" "$OUT" "$before"
  as operations get-resource-policy --resource-arn "$PROD_ARN"
  eq "and the policy" "$(j 'd["Policy"]')" '{"Statement":[]}'
  end
}

test_bad_tags() {
  begin bad_tags
  product
  local before
  before=$(store_fingerprint)
  as "$SELLER" tag-resource --resource-arn "$CS_ARN" --tags 'Key=b%,Value=c'
  rc 1 "a key with % in it"
  eq "stderr" "$ERR" "sellerflow: ValidationException: the request has 1 problem
  Tags[0].Key: must hold only letters, numbers, spaces and _.:/=+-@"
  as "$SELLER" tag-resource --resource-arn "$CS_ARN" --tags "Key=$(printf 'k%.0s' $(seq 129)),Value=b" \
    Key=a,Value=b Key=a,Value=c
  rc 1 "a key too long and a key twice"
  eq "stderr" "$ERR" "sellerflow: ValidationException: the request has 2 problems
  Tags[0].Key: has 129 characters; at most 128 are allowed
  Tags[2].Key: is 'a' again; each key may be given once"
  as "$SELLER" tag-resource --resource-arn "$CS_ARN" --tags '[]'
  rc 1 "no tags at all"
  has "stderr" "$ERR" "Tags: has 0 items; at least 1 is required"
  as "$SELLER" untag-resource --resource-arn "$CS_ARN" --tag-keys ''
  rc 1 "an empty tag key"
  has "stderr" "$ERR" "TagKeys[0]"
  # Malformed arguments are usage errors: nothing reaches the engine.
  as "$SELLER" tag-resource --resource-arn "$CS_ARN" --tags Key=a,Valu=b
  rc 2 "a misspelt shorthand key"
  eq "stderr" "$ERR" "sellerflow: --tags: write Key=KEY,Value=VALUE, one tag an argument, not 'Key=a,Valu=b'"
  as "$SELLER" tag-resource --resource-arn "$CS_ARN" --tags Key=a,Value=b,c
  rc 2 "a list of values, in shorthand"
  as "$SELLER" tag-resource --resource-arn "$CS_ARN" --tags team
  rc 2 "no Key= at all"
  eq "stderr" "$ERR" "sellerflow: --tags: expected Key=Value pairs, not 'team'"
  as "$SELLER" tag-resource --resource-arn "$CS_ARN" --tags '[{"Key":"a",'
  rc 2 "broken JSON"
  has "stderr" "$ERR" "--tags: invalid JSON"
  as "$SELLER" tag-resource --resource-arn "$CS_ARN" --tags "file://$T/none.json"
  rc 2 "a file that is not there"
  has "stderr" "$ERR" "cannot read '$T/none.json'"
  sf tag-resource --resource-arn "$CS_ARN" --tags Key=a,Value=b --at 2026-03-02T12:00:00Z
  rc 2 "no --actor"
  has "stderr" "$ERR" "who acts?"
  sf list-tags-for-resource --resource-arn "$CS_ARN"
  rc 2 "a read without --actor"
  eq "stderr" "$ERR" "sellerflow: list-tags-for-resource needs --actor: who reads (a seller sees its own account's resources, --actor operations every one)"
  sf tag-resource --tags Key=a,Value=b --actor "$SELLER"
  rc 2 "no --resource-arn"
  eq "refused before the engine: the store is not touched" "$(store_fingerprint)" "$before"
  end
}

test_unknown_arn() {
  begin unknown_arn
  product
  as "$SELLER" list-tags-for-resource --resource-arn "${ARN}ChangeSet/cs-nope"
  rc 5 "an unknown change set"
  eq "stderr" "$ERR" "sellerflow: ResourceNotFoundException: Resource ${ARN}ChangeSet/cs-nope not found"
  as "$SELLER" tag-resource --resource-arn "${ARN}ChangeSet/cs-nope" --tags Key=a,Value=b
  rc 5 "tagging it"
  eq "stderr" "$ERR" "sellerflow: ResourceNotFoundException: Resource ${ARN}ChangeSet/cs-nope not found"
  as "$SELLER" tag-resource --resource-arn "${ARN}Offer/$PROD" --tags Key=a,Value=b
  rc 5 "an entity ARN naming another type"
  as operations get-resource-policy --resource-arn not-an-arn
  rc 5 "not an ARN"
  eq "stderr" "$ERR" "sellerflow: ResourceNotFoundException: Resource not-an-arn not found"
  end
}

test_reads_only_read() {
  begin reads_only_read
  as "$SELLER" list-tags-for-resource --resource-arn "${ARN}ChangeSet/cs-nope"
  rc 5 "no store"
  eq "no store is created" "$(ls "$T")" "$(printf 'err\nout')"
  product
  as "$SELLER" tag-resource --resource-arn "$CS_ARN" --tags Key=a,Value=b
  local before
  before=$(store_fingerprint)
  chmod a-w "$T/s.db"
  as "$SELLER" list-tags-for-resource --resource-arn "$CS_ARN"
  rc 0 "a read-only store file"
  as "$SELLER" get-resource-policy --resource-arn "$PROD_ARN"
  rc 5 "no policy"
  chmod u+w "$T/s.db"
  eq "the store is not written" "$(store_fingerprint)" "$before"
  end
}

test_log_replays_to_the_digest() {
  begin log_replays_to_the_digest
  product
  as "$SELLER" tag-resource --resource-arn "$CS_ARN" --tags Key=team,Value=alpha Key=env,Value=prod
  as "$SELLER" tag-resource --resource-arn "$PROD_ARN" --tags '[{"Key":"Stage","Value":"beta"}]'
  as "$SELLER" untag-resource --resource-arn "$CS_ARN" --tag-keys env
  as "$SELLER" put-resource-policy --resource-arn "$PROD_ARN" --policy '{"Statement":[1]}'
  as "$SELLER" put-resource-policy --resource-arn "$PROD_ARN" --policy '{"Statement":[2]}'
  as "$OTHER" tag-resource --resource-arn "$PROD_ARN" --tags Key=x,Value=y
  rc 5 "a refused command, kept in the log"
  as "$SELLER" delete-resource-policy --resource-arn "$PROD_ARN"
  as "$SELLER" put-resource-policy --resource-arn "$PROD_ARN" --policy '{"Statement":[3]}'
  sf digest
  local live=$OUT
  sf log export
  rc 0 "log export"
  printf '%s\n' "$OUT" >"$T/log.jsonl"
  for op in tag-resource untag-resource put-resource-policy delete-resource-policy; do
    has "the log holds $op" "$OUT" "\"op\":\"$op\""
  done
  has "the refusal's outcome" "$OUT" '"Outcome":{"Result":"NotFound","Error":"ResourceNotFoundException"}'
  "$BIN" replay "$T/log.jsonl" --db "$T/copy.db" --workflows "$SRC/workflows" --rules "$SRC/rules" \
    --expect-digest "$live" >"$T/out" 2>"$T/err"
  RC=$?
  OUT=$(cat "$T/out")
  ERR=$(cat "$T/err")
  rc 0 "replay to the live digest"
  eq "the replay's digest" "$(j 'd["Digest"]')" "$live"
  "$BIN" list-tags-for-resource --resource-arn "$CS_ARN" --actor "$SELLER" --db "$T/copy.db" \
    --output json >"$T/out"
  eq "the copy's tags" "$(j 'd["Tags"]' "$(cat "$T/out")")" '[{"Key": "team", "Value": "alpha"}]'
  end
}

run_tests
