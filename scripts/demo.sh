#!/bin/sh
# make demo: check the shipped policy and draw the product lifecycle, replay the seed's product walkthrough into
# ./sellerflow.db, and show its requests (as the portal's Requests tab does) and its products; replay the
# private-offer walkthrough into ./offers.db and show its offer and agreement; then the rule language on an example.
set -e
sellerflow=${1:-build/src/sellerflow}
types=examples/update-information/details.types
walkthrough=examples/walkthroughs/product-walkthrough.jsonl
run() {
  echo "\$ sellerflow $*"
  "$sellerflow" "$@" || true
  echo
}
run check
run graph ProfessionalServicesProduct@1.0

# The walkthrough, replayed into a fresh store (examples/walkthroughs/README.md tells its story).
rm -f sellerflow.db sellerflow.db-wal sellerflow.db-shm
run replay "$walkthrough" --db sellerflow.db
echo "# The Requests tab: each change of each request, with its product, type, status and errors."
run list-change-sets --db sellerflow.db --fields ProductTitle --output table
echo "# The products."
run list-entities --type ProfessionalServicesProduct@1.0 --db sellerflow.db --fields ProductTitle,Categories --output table
echo "# Why a request failed, and the history of a product:"
failed=$("$sellerflow" list-change-sets --db sellerflow.db --status FAILED --output json |
  sed -n 's/.*"ChangeSetId":"\([^"]*\)".*/\1/p' | head -n 1)
[ -n "$failed" ] && run describe-change-set "$failed" --db sellerflow.db --output text
product=$("$sellerflow" list-entities --type ProfessionalServicesProduct@1.0 --state Public --db sellerflow.db --output json |
  sed -n 's/.*"EntityId":"\([^"]*\)".*/\1/p' | head -n 1)
[ -n "$product" ] && run history "$product" --db sellerflow.db --output table

# The private-offer walkthrough (examples/private-offer/README.md), in its own store: it starts earlier than the
# product walkthrough ends, and a store's clock only moves forward.
rm -f offers.db offers.db-wal offers.db-shm
run replay examples/private-offer/walkthrough.jsonl --db offers.db
echo "# Its requests, its offer (released, extended, then expired by its timer), the buyer's agreement and the product."
run list-change-sets --db offers.db --output table
run list-entities --type Offer@1.0 --db offers.db --fields Name,AvailabilityEndDate --output table
run list-entities --type Agreement@1.0 --db offers.db --fields Buyer,EndsAt --output table
run list-entities --type ProfessionalServicesProduct@1.0 --db offers.db --fields ProductTitle,ActiveAgreements --output table

# The rule language on its own.
run check-rules rules/product_information.rules --types "$types"
run eval-rules rules/product_information.rules --types "$types" --data examples/update-information/invalid.json --explain
run eval '0.1 + 0.2 == 0.3 and date("2026-01-31") + duration("P1M") == date("2026-02-28")'
echo "The store is ./sellerflow.db: try \`$sellerflow describe-entity $product\` or \`$sellerflow list-change-sets\`."
