// Upgrade plans: each open change set's request machines, old against new, state by state.
#include "engine/run/upgrade.h"

#include <algorithm>
#include <map>
#include <memory>

#include "dsl/diagnostics.h"
#include "dsl/utf8.h"
#include "engine/run/describe.h"

namespace sellerflow::engine {

using dsl::JsonString;

namespace {

// How a transition is triggered: the key under which an old one and a new one are compared.
std::string Trigger(const Transition& t) {
  if (!t.event.empty()) return "on " + t.event;
  if (!t.after.empty()) return "after " + t.after.text;
  if (!t.at_time.empty()) return "at " + t.at_time.text;
  return "automatic";
}

// A transition for people: "on approve -> Approved [rules: a, b] if guard (2 actions)".
std::string Describe(const Transition& t) {
  std::string s = Trigger(t) + " -> " + t.to;
  if (!t.rules.empty()) s += " [rules: " + dsl::JoinNames(t.rules) + "]";
  if (!t.guard.empty()) s += " if " + t.guard.text;
  if (!t.actions.empty())
    s += " (" + std::to_string(t.actions.size()) +
         (t.actions.size() == 1 ? " action)" : " actions)");
  return s;
}

// Everything that decides what a transition does, so that two with the same description but
// other actions still differ.
std::string Signature(const Transition& t) {
  std::string s = Describe(t);
  for (const Action& a : t.actions) {
    s += '\x1f';
    for (const std::string* part :
         {&a.path, &a.value.text, &a.entity_type, &a.target.text, &a.event, &a.data.text, &a.code,
          &a.message.text, &a.owner.text, &a.bind}) {
      s += *part;
      s += '\x1e';
    }
    s += ActionKindName(a.kind);
  }
  return s;
}

std::vector<int> From(const Machine& m, const std::string& state) {
  std::vector<int> out;
  for (size_t i = 0; i < m.transitions.size(); ++i)
    if (m.transitions[i].from == state) out.push_back(static_cast<int>(i));
  return out;
}

bool SameTimerKind(const Transition& a, const Transition& b) {
  return a.is_timer() && b.is_timer() && a.after.empty() == b.after.empty() && a.to == b.to;
}

class Planner {
 public:
  Planner(Store& store, const Policy& policy) : store_(store), policy_(policy), kept_(store) {}

  UpgradePlan Plan() {
    UpgradePlan plan;
    std::vector<ChangeSetRow> open = store_.ListChangeSets("PREPARING", "", "");
    for (auto& cs : store_.ListChangeSets("APPLYING", "", "")) open.push_back(std::move(cs));
    std::sort(open.begin(), open.end(),
              [](const ChangeSetRow& a, const ChangeSetRow& b) { return a.seq < b.seq; });
    plan.open = static_cast<int64_t>(open.size());
    for (const ChangeSetRow& cs : open) {
      ChangeSetUpgrade u;
      u.change_set = cs.id;
      u.status = cs.status;
      std::vector<TimerRow> timers;
      bool timers_read = false;
      for (const ChangeRow& c : cs.changes) {
        const Machine* now = policy_.FindRequestMachine(c.change_type, c.entity_type);
        if (now && now->content_hash == c.machine_hash) continue;
        if (!timers_read) {
          timers = store_.TimersOf(cs.id);
          timers_read = true;
        }
        u.changes.push_back(PlanChange(c, now, timers));
      }
      if (!u.changes.empty()) plan.change_sets.push_back(std::move(u));
    }
    return plan;
  }

 private:
  ChangeUpgrade PlanChange(const ChangeRow& c, const Machine* now,
                           const std::vector<TimerRow>& timers) {
    ChangeUpgrade u;
    u.index = c.index;
    u.change_type = c.change_type;
    u.entity_type = c.entity_type;
    u.entity_id = c.entity_id;
    u.state = c.state;
    u.from_hash = c.machine_hash;
    if (!now) {
      u.blockers.push_back("the new workflows have no request machine for " + c.change_type +
                           " on " + c.entity_type);
      return u;
    }
    u.to_hash = now->content_hash;
    const State* to_state = now->FindState(c.state);
    if (!to_state) {
      std::vector<std::string> names;
      for (const auto& st : now->states) names.push_back(st.name);
      u.blockers.push_back("its state " + c.state + " is not in the new definition (its states: " +
                           dsl::JoinNames(names) + ")");
      return u;
    }
    if (RequestStatusName(to_state->status) != c.status)
      u.blockers.push_back("its state " + c.state + " is " + c.status + " now and would be " +
                           RequestStatusName(to_state->status) + " in the new definition");
    const Machine* old = kept_.Get(c.machine_hash);
    if (!old) {
      u.notes.push_back(
          "its definition was not kept in the store: it already runs on today's machine");
      return u;
    }
    const State* from_state = old->FindState(c.state);
    if (from_state && from_state->final != to_state->final)
      u.blockers.push_back("its state " + c.state + " is " +
                           (from_state->final ? "final" : "not final") + " in its definition and " +
                           (to_state->final ? "final" : "not final") + " in the new one");

    const std::vector<int> olds = From(*old, c.state), news = From(*now, c.state);
    // Pending events: every event its state answers must still be answered.
    std::vector<std::string> events;
    for (int i : olds) {
      const Transition& t = old->transitions[i];
      if (t.event.empty() || std::find(events.begin(), events.end(), t.event) != events.end())
        continue;
      events.push_back(t.event);
      const bool answered = std::any_of(
          news.begin(), news.end(), [&](int j) { return now->transitions[j].event == t.event; });
      if (!answered)
        u.blockers.push_back("the event " + t.event + " it waits for in " + c.state +
                             " has no transition out of " + c.state + " in the new definition");
    }
    // Armed timers: each goes over to a timed transition of the same kind and target.
    std::vector<int> taken;
    for (const TimerRow& t : timers) {
      if (t.change_index != c.index) continue;
      if (t.state != c.state) {
        u.void_timers.push_back(t.id);
        continue;
      }
      if (t.transition < 0 || static_cast<size_t>(t.transition) >= old->transitions.size()) {
        u.blockers.push_back("its timer due " + t.due + " names transition " +
                             std::to_string(t.transition) + ", which its definition does not have");
        continue;
      }
      const Transition& was = old->transitions[t.transition];
      TimerMove m;
      m.timer_id = t.id;
      m.due_us = t.due_us;
      m.due = t.due;
      m.was = Describe(was);
      int best = -1;
      for (int j : news) {
        const Transition& n = now->transitions[j];
        if (!SameTimerKind(was, n) || std::find(taken.begin(), taken.end(), j) != taken.end())
          continue;
        if (best < 0 || Signature(n) == Signature(was)) best = j;
      }
      if (best < 0) {
        u.blockers.push_back("its timer " + m.was + ", due " + t.due +
                             ", has no timed transition to " + was.to + " out of " + c.state +
                             " in the new definition");
      } else {
        taken.push_back(best);
        m.to_transition = best;
        m.becomes = Describe(now->transitions[best]);
        if (m.becomes == m.was && Signature(now->transitions[best]) != Signature(was))
          u.notes.push_back("~ timer " + m.was + ": its actions change; it stays due " + t.due);
        else if (m.becomes != m.was)
          u.notes.push_back("~ timer " + m.was + " becomes " + m.becomes + "; it stays due " +
                            t.due);
      }
      u.timers.push_back(std::move(m));
    }
    // New timed transitions arm; the others are compared by what they do.
    for (int j : news) {
      const Transition& n = now->transitions[j];
      if (!n.is_timer()) continue;
      const bool had = std::any_of(olds.begin(), olds.end(),
                                   [&](int i) { return SameTimerKind(old->transitions[i], n); });
      if (!had) {
        u.new_timers.push_back(j);
        u.notes.push_back("+ timer " + Describe(n) + ": armed counting from " + c.entered_at);
      }
    }
    std::vector<std::string> old_sigs, new_sigs;
    for (int i : olds)
      if (!old->transitions[i].is_timer()) old_sigs.push_back(Signature(old->transitions[i]));
    for (int j : news)
      if (!now->transitions[j].is_timer()) new_sigs.push_back(Signature(now->transitions[j]));
    std::map<std::string, std::vector<const Transition*>> removed, added;
    for (int i : olds) {
      const Transition& t = old->transitions[i];
      if (!t.is_timer() &&
          std::find(new_sigs.begin(), new_sigs.end(), Signature(t)) == new_sigs.end())
        removed[Trigger(t)].push_back(&t);
    }
    for (int j : news) {
      const Transition& t = now->transitions[j];
      if (!t.is_timer() &&
          std::find(old_sigs.begin(), old_sigs.end(), Signature(t)) == old_sigs.end())
        added[Trigger(t)].push_back(&t);
    }
    for (auto& [trigger, gone] : removed) {
      auto& come = added[trigger];
      for (size_t k = 0; k < gone.size(); ++k) {
        if (k < come.size() && Describe(*gone[k]) == Describe(*come[k]))
          u.notes.push_back("~ " + Describe(*gone[k]) + ": its actions change");
        else if (k < come.size())
          u.notes.push_back("~ " + Describe(*gone[k]) + " becomes " + Describe(*come[k]));
        else
          u.notes.push_back("- " + Describe(*gone[k]));
      }
      if (come.size() > gone.size())
        come.erase(come.begin(), come.begin() + gone.size());
      else
        come.clear();
    }
    for (const auto& [trigger, come] : added)
      for (const Transition* t : come)
        u.notes.push_back("+ " + Describe(*t) +
                          (t->is_automatic() ? " (tried at its next event or timer)" : ""));
    return u;
  }

  Store& store_;
  const Policy& policy_;
  PinnedOutlines kept_;
};

}  // namespace

bool ChangeSetUpgrade::movable() const {
  return std::all_of(changes.begin(), changes.end(),
                     [](const ChangeUpgrade& c) { return c.blockers.empty(); });
}

int64_t UpgradePlan::movable() const {
  return std::count_if(change_sets.begin(), change_sets.end(),
                       [](const ChangeSetUpgrade& u) { return u.movable(); });
}

int64_t UpgradePlan::blocked() const {
  return static_cast<int64_t>(change_sets.size()) - movable();
}

UpgradePlan PlanUpgrade(Store& store, const Policy& policy) {
  return Planner(store, policy).Plan();
}

std::string UpgradePlan::ToJson(bool applied) const {
  const auto list = [](const std::vector<std::string>& items) {
    std::string out = "[";
    for (size_t i = 0; i < items.size(); ++i) out += (i ? "," : "") + JsonString(items[i]);
    return out + "]";
  };
  std::string out = "{\"Open\":" + std::to_string(open) +
                    ",\"OnOlderDefinitions\":" + std::to_string(change_sets.size()) +
                    ",\"CanMove\":" + std::to_string(movable()) +
                    ",\"Blocked\":" + std::to_string(blocked()) + ",\"ChangeSets\":[";
  for (size_t i = 0; i < change_sets.size(); ++i) {
    const ChangeSetUpgrade& u = change_sets[i];
    out += (i ? ",{" : "{");
    out += "\"ChangeSetId\":" + JsonString(u.change_set) + ",\"Status\":" + JsonString(u.status) +
           ",\"CanMove\":" + (u.movable() ? "true" : "false") + ",\"Changes\":[";
    for (size_t k = 0; k < u.changes.size(); ++k) {
      const ChangeUpgrade& c = u.changes[k];
      out += (k ? ",{" : "{");
      out +=
          "\"Index\":" + std::to_string(c.index) + ",\"ChangeType\":" + JsonString(c.change_type) +
          ",\"EntityType\":" + JsonString(c.entity_type) +
          ",\"EntityIdentifier\":" + JsonString(c.entity_id) + ",\"State\":" + JsonString(c.state) +
          ",\"From\":" + JsonString(c.from_hash) + ",\"To\":" + JsonString(c.to_hash) +
          ",\"Blockers\":" + list(c.blockers) + ",\"Notes\":" + list(c.notes) + ",\"Timers\":[";
      for (size_t t = 0; t < c.timers.size(); ++t) {
        const TimerMove& m = c.timers[t];
        out += (t ? ",{" : "{");
        out += "\"Due\":" + JsonString(m.due) + ",\"Was\":" + JsonString(m.was) +
               ",\"Becomes\":" + JsonString(m.becomes) + "}";
      }
      out += "]}";
    }
    out += "]}";
  }
  out += "]";
  if (applied) out += ",\"Moved\":" + list(moved);
  return out + "}";
}

std::string UpgradePlan::ToText(bool applied) const {
  std::string out;
  for (const ChangeSetUpgrade& u : change_sets) {
    const bool moves = u.movable();
    const bool did = applied && std::find(moved.begin(), moved.end(), u.change_set) != moved.end();
    out += u.change_set + " (" + u.status + "): " +
           (did     ? "moved"
            : moves ? (applied ? "not moved" : "can move")
                    : "blocked") +
           "\n";
    for (const ChangeUpgrade& c : u.changes) {
      out += "  ChangeSet[" + std::to_string(c.index) + "] " + c.change_type + " on " +
             (c.entity_id.empty() ? c.entity_type : c.entity_id) + ", in " + c.state + ": " +
             c.from_hash.substr(0, 12) + " -> " +
             (c.to_hash.empty() ? std::string("(none)") : c.to_hash.substr(0, 12)) + "\n";
      for (const auto& b : c.blockers) out += "    blocked: " + b + "\n";
      for (const auto& n : c.notes) out += "    " + n + "\n";
      if (c.blockers.empty() && c.notes.empty()) out += "    nothing it can still do changes\n";
    }
  }
  const int64_t n = static_cast<int64_t>(change_sets.size());
  if (n == 0)
    return out + "no open change set runs on older definitions (" + std::to_string(open) +
           " open)\n";
  out += std::to_string(n) + " of " + std::to_string(open) + " open change set" +
         (open == 1 ? "" : "s") + " on older definitions";
  if (applied)
    out += ": " + std::to_string(moved.size()) + " moved, " +
           std::to_string(n - static_cast<int64_t>(moved.size())) + " blocked\n";
  else
    out +=
        ": " + std::to_string(movable()) + " can move, " + std::to_string(blocked()) + " blocked\n";
  return out;
}

}  // namespace sellerflow::engine
