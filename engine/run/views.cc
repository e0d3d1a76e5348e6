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
  TransitionCounter counter(policy);
  return counter.CatchUp(store);
}

const std::set<std::pair<std::string, std::string>>& TransitionCounter::MovesOf(const Machine* m) {
  auto it = moves_.find(m);
  if (it == moves_.end()) it = moves_.emplace(m, Moves(*m)).first;
  return it->second;
}

const TransitionCounts& TransitionCounter::CatchUp(Store& store) {
  constexpr int64_t kChunk = 10000;
  const auto count = [&](const Machine* m, const HistoryRow& h) {
    if (m != nullptr && MovesOf(m).count({h.from_state, h.to_state}))
      ++counts_[m->Key()][{h.from_state, h.to_state}];
  };
  for (;;) {
    const std::vector<HistoryRow> rows = store.HistoryAfter(last_seq_, kChunk);
    for (const HistoryRow& h : rows) {
      // A request's move counts for its change's request machine; an entity's for the entity's
      // machine. A row does not say which it is: the machine's moves decide (request and entity
      // machines name their states apart).
      if (!h.change_set.empty() && h.change_index >= 0) {
        auto cs = request_machines_.find(h.change_set);
        if (cs == request_machines_.end()) {
          std::map<int, const Machine*> machines;
          if (auto row = store.GetChangeSet(h.change_set))
            for (const ChangeRow& c : row->changes)
              machines[c.index] = policy_.FindRequestMachine(c.change_type, c.entity_type);
          cs = request_machines_.emplace(h.change_set, std::move(machines)).first;
        }
        auto m = cs->second.find(h.change_index);
        if (m != cs->second.end()) count(m->second, h);
      }
      if (!h.entity.empty()) {
        auto e = entity_machines_.find(h.entity);
        if (e == entity_machines_.end()) {
          auto row = store.GetEntity(h.entity);
          // An entity a change set had not created yet when the row was written is looked up
          // again next time rather than remembered as missing.
          if (!row) continue;
          e = entity_machines_.emplace(h.entity, policy_.FindEntityMachine(row->type)).first;
        }
        count(e->second, h);
      }
    }
    if (!rows.empty()) last_seq_ = rows.back().seq;
    if (static_cast<int64_t>(rows.size()) < kChunk) break;
  }
  return counts_;
}

}  // namespace sellerflow::engine
