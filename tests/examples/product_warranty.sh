#!/usr/bin/env bash
# End-to-end test of examples/product-warranty: an integrator's folder adds a request type and an
# extension of the product's document; a change set waiting for review is never completed without
# the field it writes; the folders may be configured once (SELLERFLOW_WORKFLOWS, sellerflow.yaml).
#
# Usage: product_warranty.sh SELLERFLOW SOURCE_DIR
set -u
bin=$(cd "$(dirname "$1")" && pwd)/$(basename "$1")
root=$(cd "$2" && pwd)
ex=$root/examples/product-warranty
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sellerflow-example.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
unset SELLERFLOW_WORKFLOWS SELLERFLOW_RULES SELLERFLOW_DB

shipped=(--workflows "$root/workflows" --rules "$root/rules")
extended=(--workflows "$root/workflows" --workflows "$ex/workflows" --rules "$root/rules" --rules "$ex/rules")
db=(--db "$tmp/s.db" --output json)
product=prod-aaaaaaaaaaaaa

# 1. The example checks clean beside the shipped policy, and says what it adds.
out=$("$bin" check --strict "${extended[@]}" 2>&1)
[ $? -eq 0 ] || fail "check --strict with the example's folders: $out"
case $out in *"1 document extension, "*": ok") ;; *) fail "check does not count the extension: $out" ;; esac

# 2. Without the extension the request type's field is not there: check names it.
mkdir "$tmp/request-only"
cp "$ex/workflows/update_warranty.yaml" "$tmp/request-only/"
out=$("$bin" check --workflows "$root/workflows" --workflows "$tmp/request-only" \
      --rules "$root/rules" --rules "$ex/rules" 2>&1)
case $out in *"'entity.Document.Warranty' names nothing: no field 'Warranty'"*) ;;
  *) fail "check without the extension: $out" ;; esac

# 3. Started with the folders, the change set waits for Seller Operations.
"$bin" import "$ex/setup.jsonl" "${db[@]}" "${shipped[@]}" >/dev/null || fail "import of setup.jsonl"
out=$("$bin" start-change-set --change-set "$ex/warranty.json" --actor seller:111122223333 \
      --at 2026-01-05T10:00:00Z "${db[@]}" "${extended[@]}" 2>&1)
[ $? -eq 0 ] || fail "start: $out"
case $out in *'"Status":"APPLYING"'*) ;; *) fail "not waiting for review: $out" ;; esac
cs=$(printf '%s' "$out" | sed -n 's/.*"ChangeSetId":"\(cs-[a-z2-7]*\)".*/\1/p')
cp "$tmp/s.db" "$tmp/waiting.db"

# 4. Approved with the shipped workflows alone (the example's rules given), it is refused naming the
#    field its pinned request writes; nothing changes, and it still waits.
out=$("$bin" review "$cs" approve --actor operations --at 2026-01-05T11:00:00Z "${db[@]}" \
      --workflows "$root/workflows" --rules "$root/rules" --rules "$ex/rules" 2>&1)
status=$?
[ $status -eq 3 ] || fail "approve without the extension: exit $status, expected 3: $out"
case $out in *SUCCEEDED*) fail "approve without the extension succeeded: $out" ;; esac
case $out in *"its UpdateWarranty on ProfessionalServicesProduct@1.0 started under the definition"*"no field 'Warranty'"*"folders the change set started under"*) ;;
  *) fail "the refusal does not name the missing field: $out" ;; esac
out=$("$bin" describe-change-set "$cs" "${db[@]}" 2>&1)
case $out in *'"Status":"APPLYING"'*) ;; *) fail "no longer waiting: $out" ;; esac

# 5. With its folders it completes, and the product keeps the field.
out=$("$bin" review "$cs" approve --actor operations --at 2026-01-05T11:00:00Z "${db[@]}" "${extended[@]}" 2>&1)
case $out in *'"Status":"SUCCEEDED"'*) ;; *) fail "approve with the folders: $out" ;; esac
out=$("$bin" describe-entity $product "${db[@]}" 2>&1)
case $out in *'"Warranty":{"Months":12,"Terms":"Defects in delivered work'*) ;;
  *) fail "the product has no Warranty: $out" ;; esac

# 6. The folders configured once: $SELLERFLOW_WORKFLOWS and $SELLERFLOW_RULES, no flags (from a
#    directory with no workflows/ of its own).
mkdir "$tmp/elsewhere"
cd "$tmp/elsewhere" || exit 1
env_db=(--db "$tmp/env.db" --output json)
export SELLERFLOW_WORKFLOWS="$root/workflows:$ex/workflows" SELLERFLOW_RULES="$root/rules:$ex/rules"
out=$("$bin" check --strict 2>&1)
case $out in *"1 document extension, 9 rules files: ok"*) ;; *) fail "check from the environment: $out" ;; esac
"$bin" import "$ex/setup.jsonl" "${env_db[@]}" >/dev/null || fail "import with the environment"
out=$("$bin" start-change-set --change-set "$ex/warranty.json" --actor seller:111122223333 \
      --at 2026-01-05T10:00:00Z "${env_db[@]}" 2>&1)
case $out in *'"Status":"APPLYING"'*) ;; *) fail "start with the environment: $out" ;; esac
cs=$(printf '%s' "$out" | sed -n 's/.*"ChangeSetId":"\(cs-[a-z2-7]*\)".*/\1/p')
out=$("$bin" review "$cs" approve --actor operations --at 2026-01-05T11:00:00Z "${env_db[@]}" 2>&1)
case $out in *'"Status":"SUCCEEDED"'*) ;; *) fail "approve with the environment: $out" ;; esac
out=$("$bin" describe-entity $product "${env_db[@]}" 2>&1)
case $out in *'"Warranty":{"Months":12'*) ;; *) fail "no Warranty with the environment: $out" ;; esac
# Flags come first: the shipped workflows alone do not know UpdateWarranty.
out=$("$bin" start-change-set --change-set "$ex/warranty.json" --actor seller:111122223333 \
      --at 2026-01-05T12:00:00Z "${env_db[@]}" --workflows "$root/workflows" 2>&1)
case $out in *"unknown change type UpdateWarranty"*) ;; *) fail "--workflows did not win over the environment: $out" ;; esac
unset SELLERFLOW_WORKFLOWS SELLERFLOW_RULES

# 7. A project file beside the store names them, relative to itself; run from another directory.
mkdir "$tmp/project"
cp -r "$ex/workflows" "$tmp/project/warranty-workflows"
cp -r "$ex/rules" "$tmp/project/warranty-rules"
printf 'workflows: [%s, warranty-workflows]\nrules: [%s, warranty-rules]\n' "$root/workflows" "$root/rules" \
  >"$tmp/project/sellerflow.yaml"
proj_db=(--db "$tmp/project/s.db" --output json)
"$bin" import "$ex/setup.jsonl" "${proj_db[@]}" >/dev/null || fail "import with the project file"
out=$("$bin" start-change-set --change-set "$ex/warranty.json" --actor seller:111122223333 \
      --at 2026-01-05T10:00:00Z "${proj_db[@]}" 2>&1)
case $out in *'"Status":"APPLYING"'*) ;; *) fail "start with the project file: $out" ;; esac
# A broken project file is a usage error that says where.
printf 'workflow: [x]\n' >"$tmp/project/sellerflow.yaml"
out=$("$bin" tick --to 2026-01-06T00:00:00Z --actor operations "${proj_db[@]}" 2>&1)
status=$?
[ $status -eq 2 ] || fail "broken project file: exit $status, expected 2: $out"
case $out in *"sellerflow.yaml:1:1: error: unknown key 'workflow' in the project file"*) ;;
  *) fail "broken project file: $out" ;; esac
cd "$root" || exit 1

if [ $failures -eq 0 ]; then
  echo "product-warranty example: ok"
else
  echo "product-warranty example: $failures failure(s)"
  exit 1
fi
