// What the console's pages show, read from the store: who may see what, a page of requests, the
// path a run took through its machine, and how often each transition was taken.
#ifndef SELLERFLOW_ENGINE_RUN_VIEWS_H_
#define SELLERFLOW_ENGINE_RUN_VIEWS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/check/graph.h"
#include "engine/model/load.h"
#include "engine/store/store.h"

namespace sellerflow::engine {

// The account of "seller:111122223333" or "buyer:...": its digits; "" for operations.
std::string AccountOf(const std::string& actor);

// Whether `actor` may see what `owner` (an actor) made or owns: an actor of the same account, or
// Seller Operations. The API's DescribeChangeSet, DescribeEntity and lists apply the same rule.
bool ActorMaySee(const std::string& actor, const std::string& owner);
// ActorMaySee of its owner, or a buyer an offer addresses (its PositiveTargeting.BuyerAccounts
// lists the buyer's account), who may read the offer it may accept.
bool ActorMaySeeEntity(const std::string& actor, const EntityRow& entity);

// One page of the Requests tab: the change sets `actor` may see, newest first (or oldest), with
// the cursor of the next page ("" on the last). Reads `query.limit` + 1 rows, never the table.
struct RequestsPage {
  std::vector<ChangeSetRow> rows;
  int64_t next_after_seq = 0;  // 0: no further page.
};
RequestsPage ListRequests(Store& store, const std::string& actor, ChangeSetPageQuery query);

// The marks of one run on its machine: `current` filled, and each move of `history` whose from
// and to are a move the machine can make, drawn as taken. Rows of other machines (a request's
// history holds its entity's moves too) are left out by that test.
GraphMarks MarksOf(const Machine& machine, const std::vector<HistoryRow>& history,
                   const std::string& current);

// How often each (from, to) move of each machine (by Machine::Key) was taken, over the whole
// history of the store: request moves by their change's machine, entity moves by the entity's.
using TransitionCounts = std::map<std::string, std::map<std::pair<std::string, std::string>, int64_t>>;
TransitionCounts CountTransitions(Store& store, const Policy& policy);

// The same counts kept up to date: each CatchUp reads only the history appended since the last one
// (the history is append-only), so a page that shows them costs the new rows, not the store.
class TransitionCounter {
 public:
  explicit TransitionCounter(const Policy& policy) : policy_(policy) {}
  const TransitionCounts& CatchUp(Store& store);

 private:
  const std::set<std::pair<std::string, std::string>>& MovesOf(const Machine* m);

  const Policy& policy_;
  int64_t last_seq_ = 0;
  TransitionCounts counts_;
  // What each row needs to find its machines: a change set's changes (change type, entity type)
  // by index, and an entity's type. Change sets and entities are never deleted.
  std::map<std::string, std::map<int, const Machine*>> request_machines_;
  std::map<std::string, const Machine*> entity_machines_;
  std::map<const Machine*, std::set<std::pair<std::string, std::string>>> moves_;
};

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_RUN_VIEWS_H_
