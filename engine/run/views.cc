// The console's reads of the store: access, pages of requests, paths through machines, counts.
#include "engine/run/views.h"

#include <algorithm>
#include <set>
#include <simdjson.h>

namespace sellerflow::engine {
namespace {

// Every (from, to) a machine can move along: its transitions and its validations' outcomes.
std::set<std::pair<std::string, std::string>> Moves(const Machine& m) {
  std::set<std::pair<std::string, std::string>> out;
  for (const Transition& t : m.transitions) out.insert({t.from, t.to});
  for (const State& s : m.states)
    if (s.validate) {
      out.insert({s.name, s.validate->passed});
      out.insert({s.name, s.validate->failed});
    }
  return out;
}

}  // namespace

std::string AccountOf(const std::string& actor) {
  const size_t colon = actor.find(':');
  return colon == std::string::npos ? "" : actor.substr(colon + 1);
}

bool ActorMaySee(const std::string& actor, const std::string& owner) {
  return actor == "operations" || (!AccountOf(actor).empty() && AccountOf(actor) == AccountOf(owner));
}

bool ActorMaySeeEntity(const std::string& actor, const EntityRow& entity) {
  if (ActorMaySee(actor, entity.owner)) return true;
  if (actor.rfind("buyer:", 0) != 0 || entity.type.rfind("Offer@", 0) != 0) return false;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(entity.document).get(doc)) return false;
  simdjson::dom::array buyers;
  if (doc.at_pointer("/PositiveTargeting/BuyerAccounts").get(buyers)) return false;
  const std::string account = AccountOf(actor);
  for (simdjson::dom::element b : buyers) {
    std::string_view v;
    if (!b.get(v) && v == account) return true;
  }
  return false;
}

RequestsPage ListRequests(Store& store, const std::string& actor, ChangeSetPageQuery query) {
  // Operations see every account's; anyone else their own account's, filtered by the database.
  query.account = actor == "operations" ? "" : AccountOf(actor);
  if (actor != "operations" && query.account.empty()) return {};
  const int limit = std::max(1, query.limit);
  query.limit = limit + 1;  // One more tells whether a next page exists.
  RequestsPage page;
  page.rows = store.ListChangeSetsPage(query);
  if (page.rows.size() > static_cast<size_t>(limit)) {
    page.rows.resize(static_cast<size_t>(limit));
    page.next_after_seq = page.rows.back().seq;
  }
  return page;
}

GraphMarks MarksOf(const Machine& machine, const std::vector<HistoryRow>& history,
                   const std::string& current) {
  GraphMarks marks;
  marks.current = current;
  const auto moves = Moves(machine);
  for (const HistoryRow& h : history)
    if (moves.count({h.from_state, h.to_state})) marks.taken.insert({h.from_state, h.to_state});
  return marks;
}

TransitionCounts CountTransitions(Store& store, const Policy& policy) {
  TransitionCounts counts;
  std::map<const Machine*, std::set<std::pair<std::string, std::string>>> moves;
  const auto count = [&](const Machine* m, const HistoryRow& h) {
    if (m == nullptr) return;
    auto it = moves.find(m);
    if (it == moves.end()) it = moves.emplace(m, Moves(*m)).first;
    if (it->second.count({h.from_state, h.to_state})) ++counts[m->Key()][{h.from_state, h.to_state}];
  };
  for (const ChangeSetRow& cs : store.ListChangeSets("", "", "")) {
    std::vector<HistoryRow> history = store.History(cs.id);
    for (const HistoryRow& h : history) {
      if (h.change_set != cs.id) continue;
      auto c = std::find_if(cs.changes.begin(), cs.changes.end(),
                            [&](const ChangeRow& r) { return r.index == h.change_index; });
      if (c != cs.changes.end()) count(policy.FindRequestMachine(c->change_type, c->entity_type), h);
    }
  }
  // Entity moves: each entity's own history, whatever caused it (a change set or a timer). A row
  // that is a request's move on the entity fails the machine's move test unless the state names
  // coincide.
  for (const EntityRow& e : store.ListEntities("", "")) {
    const Machine* m = policy.FindEntityMachine(e.type);
    for (const HistoryRow& h : store.History(e.id))
      if (h.entity == e.id) count(m, h);
  }
  return counts;
}

}  // namespace sellerflow::engine
