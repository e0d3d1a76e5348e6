// Coverage of a policy by its tests: counts kept by engines, gaps listed with their positions.
#include "engine/run/coverage.h"

#include <algorithm>
#include <map>
#include <set>
#include <tuple>

#include "dsl/diagnostics.h"
#include "dsl/utf8.h"

namespace sellerflow::engine {

using dsl::JsonString;

namespace {

std::string ValidationLabel(const State& s, bool passed) {
  return s.name + (passed ? " -validation passed-> " + s.validate->passed
                          : " -validation failed-> " + s.validate->failed);
}

}  // namespace

const char* CoverageItem::KindName() const {
  switch (kind) {
    case Kind::kState:
      return "state";
    case Kind::kTransition:
      return "transition";
    case Kind::kRule:
      return "rule";
  }
  return "";
}

std::string Coverage::Label(const Transition& t) {
  std::string how = !t.event.empty()         ? t.event
                    : !t.after.text.empty()   ? "after " + t.after.text
                    : !t.at_time.text.empty() ? "at " + t.at_time.text
                                              : "automatic";
  return t.from + " -" + how + "-> " + t.to;
}

std::string Coverage::Key(CoverageItem::Kind kind, const std::string& file,
                          const std::string& machine, const std::string& what) {
  return std::to_string(static_cast<int>(kind)) + '\0' + file + '\0' + machine + '\0' + what;
}

CoverageItem* Coverage::Find(const std::string& key) {
  auto it = items_.find(key);
  return it == items_.end() ? nullptr : &it->second;
}

void Coverage::AddPolicy(const Policy& policy) {
  using Kind = CoverageItem::Kind;
  for (const auto& mp : policy.machines) {
    const Machine& m = *mp;
    const std::string key = m.Key();
    const std::string file = m.source ? m.source->name : "";
    machines_[&m] = {key, file};
    auto add = [&](Kind kind, const std::string& what, const Where& at) {
      CoverageItem item;
      item.kind = kind;
      item.machine = key;
      item.what = what;
      item.file = file;
      item.line = at.line;
      item.column = at.column;
      items_.emplace(Key(kind, file, key, what), item);
    };
    for (const State& s : m.states) {
      add(Kind::kState, s.name, s.at);
      if (s.validate) {
        add(Kind::kTransition, ValidationLabel(s, true), s.validate->at);
        add(Kind::kTransition, ValidationLabel(s, false), s.validate->at);
      }
    }
    for (const Transition& t : m.transitions) add(Kind::kTransition, Label(t), t.at);
  }
}

void Coverage::AddRules(const dsl::Program& rules) {
  if (rules_.count(&rules)) return;
  std::vector<std::string>& keys = rules_[&rules];
  for (size_t i = 0; i < rules.rule_count(); ++i) {
    const dsl::RuleInfo& info = rules.rule(i);
    const std::string key = Key(CoverageItem::Kind::kRule, info.file, "", info.name);
    keys.push_back(key);
    CoverageItem item;
    item.kind = CoverageItem::Kind::kRule;
    item.what = info.name;
    item.file = info.file;
    item.line = info.pos.line;
    item.column = info.pos.column;
    items_.emplace(key, item);
  }
}

void Coverage::EnterState(const Machine& m, const std::string& state) {
  auto it = machines_.find(&m);
  if (it == machines_.end()) return;
  if (CoverageItem* item =
          Find(Key(CoverageItem::Kind::kState, it->second.second, it->second.first, state)))
    ++item->count;
}

void Coverage::TakeTransition(const Machine& m, const Transition& t) {
  auto it = machines_.find(&m);
  if (it == machines_.end()) return;
  if (CoverageItem* item = Find(
          Key(CoverageItem::Kind::kTransition, it->second.second, it->second.first, Label(t))))
    ++item->count;
}

void Coverage::Validate(const Machine& m, const State& s, bool passed) {
  auto it = machines_.find(&m);
  if (it == machines_.end() || !s.validate) return;
  if (CoverageItem* item = Find(Key(CoverageItem::Kind::kTransition, it->second.second,
                                    it->second.first, ValidationLabel(s, passed))))
    ++item->count;
}

void Coverage::EvaluateRule(const dsl::Program& rules, size_t rule, dsl::Outcome outcome) {
  auto it = rules_.find(&rules);
  if (it == rules_.end() || rule >= it->second.size()) return;
  if (CoverageItem* item = Find(it->second[rule])) {
    ++item->count;
    if (outcome == dsl::Outcome::kFailed) ++item->failed;
  }
}

std::vector<CoverageItem> Coverage::Items() const {
  std::vector<CoverageItem> out;
  out.reserve(items_.size());
  for (const auto& [key, item] : items_) out.push_back(item);
  std::stable_sort(out.begin(), out.end(), [](const CoverageItem& a, const CoverageItem& b) {
    return std::tie(a.file, a.line, a.column, a.kind, a.what) <
           std::tie(b.file, b.line, b.column, b.kind, b.what);
  });
  return out;
}

namespace {

// Why an item is a gap, or "" when it is not.
std::string GapOf(const CoverageItem& item) {
  switch (item.kind) {
    case CoverageItem::Kind::kState:
      return item.count ? "" : "never entered";
    case CoverageItem::Kind::kTransition:
      return item.count ? "" : "never taken";
    case CoverageItem::Kind::kRule:
      if (!item.count) return "never evaluated";
      return item.failed ? ""
                         : "never failed (evaluated " + std::to_string(item.count) +
                               (item.count == 1 ? " time)" : " times)");
  }
  return "";
}

}  // namespace

std::string Coverage::GapsText() const {
  // A machine no scenario ran is one gap, at its first state, not one per state and transition.
  std::map<std::string, std::pair<int, int>> machine_items;  // Items, items exercised.
  for (const auto& [key, item] : items_) {
    if (item.machine.empty()) continue;
    auto& [total, exercised] = machine_items[item.file + '\0' + item.machine];
    ++total;
    if (item.count) ++exercised;
  }
  std::string out;
  std::set<std::string> told;
  for (const CoverageItem& item : Items()) {
    const std::string gap = GapOf(item);
    if (gap.empty()) continue;
    if (!item.machine.empty()) {
      const std::string m = item.file + '\0' + item.machine;
      if (machine_items[m].second == 0) {
        if (told.insert(m).second)
          out += item.file + ":" + std::to_string(item.line) + ":" +
                 std::to_string(item.column) + ": machine " + item.machine +
                 " never ran (no scenario sends it)\n";
        continue;
      }
    }
    out += item.file + ":" + std::to_string(item.line) + ":" + std::to_string(item.column) + ": " +
           item.KindName() + " " + item.what + (item.machine.empty() ? "" : " of " + item.machine) +
           " " + gap + "\n";
  }
  return out;
}

Coverage::Totals Coverage::Count() const {
  Totals t;
  for (const auto& [key, item] : items_) {
    auto k = static_cast<int>(item.kind);
    ++t.total[k];
    if (item.count) ++t.covered[k];
    if (item.failed) ++t.rules_failed;
  }
  return t;
}

std::string Coverage::SummaryText() const {
  const Totals t = Count();
  auto of = [&](int k) {
    return std::to_string(t.covered[k]) + " of " + std::to_string(t.total[k]);
  };
  return "states " + of(0) + " entered, transitions " + of(1) + " taken, rules " + of(2) +
         " evaluated (" + std::to_string(t.rules_failed) + " failed at least once)";
}

std::string Coverage::ToJson() const {
  const Totals t = Count();
  auto pair = [&](int k) {
    return "{\"Covered\":" + std::to_string(t.covered[k]) +
           ",\"Total\":" + std::to_string(t.total[k]) + "}";
  };
  std::string out = "{\"States\":" + pair(0) + ",\"Transitions\":" + pair(1) +
                    ",\"Rules\":" + pair(2) + ",\"RulesFailed\":" + std::to_string(t.rules_failed) +
                    ",\"Gaps\":[";
  bool first = true;
  for (const CoverageItem& item : Items()) {
    const std::string gap = GapOf(item);
    if (gap.empty()) continue;
    if (!first) out += ",";
    first = false;
    out += std::string("{\"Kind\":") + JsonString(item.KindName()) +
           ",\"Machine\":" + JsonString(item.machine) + ",\"What\":" + JsonString(item.what) +
           ",\"File\":" + JsonString(item.file) + ",\"Line\":" + std::to_string(item.line) +
           ",\"Column\":" + std::to_string(item.column) +
           ",\"Count\":" + std::to_string(item.count) +
           ",\"Failed\":" + std::to_string(item.failed) + ",\"Gap\":" + JsonString(gap) + "}";
  }
  return out + "]}";
}

GraphMarks Coverage::ColdMarks(const Machine& m) const {
  GraphMarks marks;
  const std::string file = m.source ? m.source->name : "", key = m.Key();
  auto cold = [&](CoverageItem::Kind kind, const std::string& what) {
    auto it = items_.find(Key(kind, file, key, what));
    return it != items_.end() && it->second.count == 0;
  };
  for (size_t i = 0; i < m.states.size(); ++i) {
    const State& s = m.states[i];
    if (cold(CoverageItem::Kind::kState, s.name)) marks.cold_states.insert(i);
    if (!s.validate) continue;
    for (bool passed : {true, false})
      if (cold(CoverageItem::Kind::kTransition, ValidationLabel(s, passed)))
        marks.cold_validations.insert({i, passed});
  }
  for (size_t i = 0; i < m.transitions.size(); ++i)
    if (cold(CoverageItem::Kind::kTransition, Label(m.transitions[i])))
      marks.cold_transitions.insert(i);
  return marks;
}

}  // namespace sellerflow::engine
