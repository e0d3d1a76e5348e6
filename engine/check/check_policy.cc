// Checks a loaded policy: every machine on its own, every expression against its types, then the
// machines together.
#include "engine/check/check_policy.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "dsl/diagnostics.h"
#include "dsl/program.h"
#include "engine/base/limits.h"

namespace sellerflow::engine {

using dsl::Diagnostics;
using dsl::Severity;
using dsl::Type;
using dsl::TypePtr;

namespace {

std::string Quote(const std::string& s) { return "'" + s + "'"; }

void At(Diagnostics* diags, Severity severity, const Where& where, std::string message,
        std::string hint = {}) {
  if (!where.source) {
    diags->AddFile(severity, "<policy>", std::move(message));
    return;
  }
  diags->AddAt(severity, *where.source, where.line, where.column, std::move(message),
               std::move(hint));
}

std::string Locate(const Where& w) {
  if (!w.source) return "?";
  return w.source->name + ":" + std::to_string(w.line) + ":" + std::to_string(w.column);
}

TypePtr EntityView(const TypePtr& document) {
  return Type::Object({{"Identifier", Type::String(), false},
                       {"State", Type::String(), false},
                       {"Owner", Type::String(), false},
                       {"Revision", Type::Int(), false},
                       {"Document", document ? document : Type::Dyn(), false}});
}

TypePtr RequestType() {
  static const TypePtr kType = Type::Object({{"ChangeSetId", Type::String(), false},
                                             {"ChangeType", Type::String(), false},
                                             {"ChangeName", Type::String(), true},
                                             {"Intent", Type::String(), false},
                                             {"Actor", Type::String(), false},
                                             {"At", Type::Timestamp(), false}});
  return kType;
}

TypePtr DocumentOf(const Policy& policy, const std::string& entity_type) {
  const Machine* m = policy.FindEntityMachine(entity_type);
  return m ? m->document.type : Type::Dyn();
}

// The type a path such as "entity.Document.Dimensions" names in `env`; nullptr when it names
// nothing, with *why set.
TypePtr PathType(const dsl::TypeEnv& env, const std::string& path, std::string* why) {
  size_t start = 0;
  TypePtr t;
  while (start <= path.size()) {
    size_t dot = path.find('.', start);
    std::string part =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!t) {
      auto it = env.find(part);
      if (it == env.end()) {
        *why = "no variable " + Quote(part);
        return nullptr;
      }
      t = it->second;
    } else if (t->kind() == dsl::TypeKind::kObject) {
      int i = t->FieldIndex(part);
      if (i < 0) {
        std::vector<std::string> names;
        for (const auto& f : t->fields()) names.push_back(f.name);
        std::string near = dsl::NearestName(part, names);
        *why = "no field " + Quote(part) +
               (near.empty() ? "" : " (did you mean " + Quote(near) + "?)");
        return nullptr;
      }
      t = t->fields()[static_cast<size_t>(i)].type;
    } else if (t->kind() == dsl::TypeKind::kMap || t->kind() == dsl::TypeKind::kDyn) {
      t = t->kind() == dsl::TypeKind::kMap ? t->elem() : t;
    } else {
      *why = "" + dsl::WithArticle(t->ToString()) + " has no field " + Quote(part);
      return nullptr;
    }
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return t;
}

// Whether a value of type `from` may be written where `to` is declared. Documents are rebuilt by
// field name when actions apply, so objects match by name (not slot): every field written must be
// declared, every required field must be written, and an int may stand for a decimal.
bool Fits(const Type& from, const Type& to) {
  using dsl::TypeKind;
  if (from.kind() == TypeKind::kDyn || to.kind() == TypeKind::kDyn) return true;
  if (from.kind() == TypeKind::kInt && to.kind() == TypeKind::kDecimal) return true;
  // A map literal ({"ProductId": ..., "EndsAt": ...}) builds an object: its values must fit every
  // field; its keys are matched to the fields when it runs.
  if (from.kind() == TypeKind::kMap && to.kind() == TypeKind::kObject)
    return std::all_of(to.fields().begin(), to.fields().end(),
                       [&](const dsl::Field& f) { return Fits(*from.elem(), *f.type); });
  if (from.kind() != to.kind()) return false;
  switch (from.kind()) {
    case TypeKind::kList:
    case TypeKind::kMap:
      return Fits(*from.elem(), *to.elem());
    case TypeKind::kObject:
      for (const auto& f : from.fields()) {
        int i = to.FieldIndex(f.name);
        if (i < 0) return false;
        const dsl::Field& t = to.fields()[static_cast<size_t>(i)];
        if (f.optional && !t.optional) return false;
        if (!Fits(*f.type, *t.type)) return false;
      }
      for (const auto& t : to.fields())
        if (!t.optional && from.FieldIndex(t.name) < 0) return false;
      return true;
    default:
      return true;
  }
}

class PolicyChecker {
 public:
  PolicyChecker(const Policy& policy, Diagnostics* diags) : policy_(policy), diags_(diags) {
    for (const auto* s : policy.rule_sources) rule_sources_.push_back(*s);
  }

  void Run() {
    CheckRulesAlone();
    CheckMachineSet();
    for (const auto& m : policy_.machines) {
      CheckStructure(*m);
      CheckTypes(*m);
    }
    CheckLinks();
    for (const auto& m : policy_.machines) NoteLimitConstants(*m);
    ReportUnused();
  }

  // One machine that is not among the policy's (a change set's pinned definition) against it.
  void RunOne(const Machine& m) {
    CheckRulesAlone();
    CheckStructure(m);
    CheckTypes(m);
    if (m.kind == MachineKind::kRequest && !policy_.FindEntityMachine(m.entity_type))
      At(diags_, Severity::kError, m.entity_type_at,
         "request machine " + m.Key() + " changes entity type " + Quote(m.entity_type) +
             ", which no entity machine defines");
    CheckSends();
  }

 private:
  // Parses every rules file once, checking nothing that depends on a machine, so syntax errors
  // are reported once however many machines use the file. A declaration with an error is still
  // known by its name, so what refers to it gets no error of its own.
  void CheckRulesAlone() {
    Diagnostics local;
    dsl::BuildOptions options;
    std::vector<std::string> none;
    options.only_rules = &none;
    options.warn_unused_constants = false;
    options.keep_going = true;
    // Shared: the loader built the same to read the constants schema limits name.
    auto program = dsl::Program::BuildShared(rule_sources_, {}, &local, options);
    for (const auto& d : local.items()) {
      Emit(d);
      if (d.severity == Severity::kError) broken_rule_files_.insert(d.file);
    }
    rules_ok_ = !local.has_errors();
    if (program) {
      for (size_t i = 0; i < program->rule_count(); ++i) {
        const dsl::RuleInfo& r = program->rule(i);
        all_rules_.push_back(r.name);
        rule_info_[r.name] = r;
        names_in_rules_[r.name] = program->NamesIn(i);
      }
      for (const auto& c : program->Constants()) all_constants_.push_back(c);
      for (const auto& c : program->UsedConstants()) used_constants_.insert(c);
    }
  }

  // Keys are unique: one request machine per change type and entity type, one entity machine per
  // entity type.
  void CheckMachineSet() {
    std::map<std::string, const Machine*> seen;
    for (const auto& m : policy_.machines) {
      std::string key = (m->kind == MachineKind::kEntity ? "entity " : "request ") + m->Key();
      auto [it, inserted] = seen.insert({key, m.get()});
      if (inserted) continue;
      const char* what =
          m->kind == MachineKind::kEntity ? "an entity machine for " : "a request machine for ";
      At(diags_, Severity::kError, NameAt(*m),
         std::string("two machines define ") + what + m->Key() + "; the other is " +
             it->second->source->name);
      At(diags_, Severity::kError, NameAt(*it->second),
         std::string("two machines define ") + what + m->Key() + "; the other is " +
             m->source->name);
    }
  }

  // Where a machine's key is written: its change type (request machines) or its entity type.
  static const Where& NameAt(const Machine& m) {
    return m.kind == MachineKind::kRequest ? m.change_type_at : m.entity_type_at;
  }

  void CheckStructure(const Machine& m) {
    const bool request = m.kind == MachineKind::kRequest;
    std::vector<std::string> names;
    for (const auto& s : m.states) names.push_back(s.name);
    auto unknown_state = [&](const Where& where, const std::string& name, const char* role) {
      std::string near = dsl::NearestName(name, names);
      At(diags_, Severity::kError, where,
         std::string(role) + " state " + Quote(name) + " is not defined",
         near.empty() ? "states: " + dsl::JoinNames(names) : "did you mean " + Quote(near) + "?");
    };

    // Initial state.
    const State* initial = nullptr;
    for (const auto& s : m.states) {
      if (!s.initial) continue;
      if (initial) {
        At(diags_, Severity::kError, s.initial_at,
           "a second initial state " + Quote(s.name) + "; the first is " + Quote(initial->name));
      } else {
        initial = &s;
      }
      if (s.final)
        At(diags_, Severity::kError, s.final_at,
           "state " + Quote(s.name) + " is both initial and final");
    }
    if (!initial && !m.states.empty())
      At(diags_, Severity::kError, m.states.front().at, "no initial state in " + m.Key(),
         "mark one state with initial: true");

    // Statuses of request states.
    for (const auto& s : m.states) {
      if (!request || s.status == RequestStatus::kNone) continue;
      bool terminal = s.status == RequestStatus::kSucceeded || s.status == RequestStatus::kFailed ||
                      s.status == RequestStatus::kCancelled;
      if (s.final && !terminal)
        At(diags_, Severity::kError, s.status_at,
           "final state " + Quote(s.name) + " has status " + RequestStatusName(s.status),
           "a request ends SUCCEEDED, FAILED or CANCELLED");
      if (!s.final && terminal)
        At(diags_, Severity::kError, s.status_at,
           "state " + Quote(s.name) + " has status " + RequestStatusName(s.status) +
               " but is not final",
           "mark it final: true, or give it status PREPARING or APPLYING");
      if (s.initial && s.status != RequestStatus::kPreparing)
        At(diags_, Severity::kError, s.status_at,
           "the initial state " + Quote(s.name) + " must have status PREPARING");
    }

    // Edges: transitions and validation branches.
    std::map<std::string, std::vector<std::string>> next;
    for (const auto& s : m.states) {
      if (!s.validate) continue;
      if (s.final)
        At(diags_, Severity::kError, s.validate->at,
           "final state " + Quote(s.name) + " cannot validate");
      const std::pair<const std::string*, const Where*> targets[] = {
          {&s.validate->passed, &s.validate->passed_at},
          {&s.validate->failed, &s.validate->failed_at}};
      for (const auto& [target, where] : targets) {
        if (target->empty()) continue;
        if (!m.FindState(*target))
          unknown_state(*where, *target, "the validation's");
        else
          next[s.name].push_back(*target);
      }
    }
    for (const auto& t : m.transitions) {
      const State* from = m.FindState(t.from);
      if (!from) unknown_state(t.from_at, t.from, "the transition's 'from'");
      if (!m.FindState(t.to)) unknown_state(t.to_at, t.to, "the transition's 'to'");
      if (from && from->final) {
        if (t.is_timer())
          At(diags_, Severity::kError, t.after.empty() ? t.at_time.at : t.after.at,
             "a timer on final state " + Quote(t.from) + ": a final state never leaves");
        else
          At(diags_, Severity::kError, t.from_at,
             "final state " + Quote(t.from) + " has an outgoing transition");
      }
      // A `fail` action reports why the change failed: it must lead to a FAILED state, or the
      // change would succeed with errors in its ErrorDetailList.
      const State* to = m.FindState(t.to);
      if (request && to && to->status != RequestStatus::kFailed) {
        for (const auto& a : t.actions)
          if (a.kind == Action::Kind::kFail)
            At(diags_, Severity::kError, t.to_at,
               "this transition fails the change (" + a.code + ") but leads to " + Quote(t.to) +
                   ", whose status is " + RequestStatusName(to->status),
               "lead it to a state with status: FAILED");
      }
      if (from && from->validate && t.event.empty())
        At(diags_, Severity::kError, t.from_at,
           "state " + Quote(t.from) +
               " validates and leaves through passed/failed; an automatic "
               "or timed transition from it would race with them");
      if (!t.event.empty() && !m.FindEvent(t.event)) {
        std::vector<std::string> events;
        for (const auto& e : m.events) events.push_back(e.name);
        std::string near = dsl::NearestName(t.event, events);
        At(diags_, Severity::kError, t.event_at,
           "event " + Quote(t.event) + " is not declared in events",
           near.empty() ? "declare it under events: with the actors who may send it"
                        : "did you mean " + Quote(near) + "?");
      }
      if (m.FindState(t.to)) next[t.from].push_back(t.to);
    }

    // Every state reachable, every non-final state with a way out.
    if (initial) {
      std::set<std::string> reached = {initial->name};
      std::vector<std::string> todo = {initial->name};
      while (!todo.empty()) {
        std::string s = todo.back();
        todo.pop_back();
        for (const auto& n : next[s])
          if (reached.insert(n).second) todo.push_back(n);
      }
      for (const auto& s : m.states)
        if (!reached.count(s.name))
          At(diags_, Severity::kError, s.at,
             "state " + Quote(s.name) + " cannot be reached from the initial state " +
                 Quote(initial->name));
    }
    // A request must end; an entity may rest in a state that only requests' documents change.
    for (const auto& s : m.states)
      if (request && !s.final && next[s.name].empty())
        At(diags_, Severity::kError, s.at,
           "state " + Quote(s.name) + " is not final and has no way out",
           "add a transition from it, or mark it final: true");

    // Automatic transitions that always fire and lead round in a circle would loop forever (the
    // engine stops a change after a bound of steps, at run time; say it here, at the definition).
    // A state's first automatic transition without a guard is always taken once it is reached.
    std::map<std::string, const Transition*> forced;
    for (const auto& t : m.transitions) {
      if (!t.is_automatic() || forced.count(t.from)) continue;
      const State* from = m.FindState(t.from);
      if (from && from->validate) continue;
      forced[t.from] = t.guard.empty() && t.rules.empty() ? &t : nullptr;
    }
    std::set<std::string> reported;
    for (const auto& [start, first] : forced) {
      if (!first || reported.count(start)) continue;
      std::vector<std::string> path = {start};
      std::string at = start;
      while (true) {
        auto it = forced.find(at);
        if (it == forced.end() || !it->second) break;
        at = it->second->to;
        auto seen = std::find(path.begin(), path.end(), at);
        if (seen != path.end()) {
          if (seen == path.begin()) {  // Report each circle once, from its first state.
            std::string circle;
            for (const auto& name : path) circle += Quote(name) + " -> ";
            for (const auto& name : path) reported.insert(name);
            At(diags_, Severity::kError, first->at,
               "automatic transitions go round in a circle: " + circle + Quote(start),
               "give one of them a guard, an event (on:) or a timer (after:)");
          }
          break;
        }
        path.push_back(at);
      }
    }

    // Events: someone must be able to send each one.
    const auto& decisions = ReviewDecisions();
    for (const auto& e : m.events) {
      bool used = std::any_of(m.transitions.begin(), m.transitions.end(),
                              [&](const Transition& t) { return t.event == e.name; });
      // Only commands send events to a request machine, and they send a fixed few; an event no
      // command sends gets that error alone, not also a warning that no transition takes it.
      const bool sendable =
          !request || e.name == kCancelEvent ||
          std::find(decisions.begin(), decisions.end(), e.name) != decisions.end();
      if (!used && sendable)
        At(diags_, Severity::kWarning, e.at,
           "event " + Quote(e.name) + " is declared but no transition takes it");
      if (e.actors.empty() && request)
        At(diags_, Severity::kError, e.at, "no actor may send event " + Quote(e.name),
           "list who may: actors: [operations], [owner], ...");
      if (!sendable) {
        std::vector<std::string> sendable = decisions;
        sendable.push_back(kCancelEvent);
        std::string near = dsl::NearestName(e.name, sendable);
        At(diags_, Severity::kError, e.at,
           "no command can send event " + Quote(e.name) + " to a request machine",
           (near.empty() ? std::string() : "did you mean " + Quote(near) + "? ") +
               "a request machine gets " + dsl::JoinNames(decisions) +
               " (the review command) and " + kCancelEvent + " (cancel-change-set)");
      }
      for (size_t i = 0; i < e.actors.size(); ++i) {
        const std::string& a = e.actors[i];
        static const std::vector<std::string> kActors = {"operations", "seller", "buyer", "owner",
                                                         "any"};
        if (std::find(kActors.begin(), kActors.end(), a) == kActors.end()) {
          std::string near = dsl::NearestName(a, kActors);
          At(diags_, Severity::kError, e.actor_at[i],
             "unknown actor " + Quote(a) + " for event " + Quote(e.name),
             near.empty() ? "actors: " + dsl::JoinNames(kActors)
                          : "did you mean " + Quote(near) + "?");
        }
      }
    }

    CheckOverlaps(m);
  }

  // Order decides between transitions of one state and trigger; say where that matters. Guards
  // that require different values of one field cannot both hold, so they are not ambiguous.
  void CheckOverlaps(const Machine& m) {
    std::vector<std::vector<std::pair<std::string, std::string>>> equalities;
    for (const auto& t : m.transitions) {
      equalities.emplace_back();
      if (t.guard.empty()) continue;
      Diagnostics ignored;
      dsl::TypeEnv env =
          t.event.empty() ? MachineEnv(policy_, m) : TransitionEnv(policy_, m, t.event);
      auto e = dsl::Expression::Compile({"<guard>", t.guard.text}, env, &ignored);
      if (e) equalities.back() = e->Equalities();
    }
    auto disjoint = [&](size_t i, size_t j) {
      for (const auto& [path_a, value_a] : equalities[i])
        for (const auto& [path_b, value_b] : equalities[j])
          if (path_a == path_b && value_a != value_b) return true;
      return false;
    };
    for (size_t i = 0; i < m.transitions.size(); ++i) {
      const Transition& a = m.transitions[i];
      for (size_t j = i + 1; j < m.transitions.size(); ++j) {
        const Transition& b = m.transitions[j];
        if (a.from != b.from || a.event != b.event || a.is_timer() || b.is_timer()) continue;
        const bool a_guarded = !a.rules.empty() || !a.guard.empty();
        const bool b_guarded = !b.rules.empty() || !b.guard.empty();
        std::string trigger = a.event.empty() ? "automatically" : "on " + Quote(a.event);
        if (!a_guarded) {
          At(diags_, Severity::kError, b.at,
             "this transition is never taken: the one at " + Locate(a.at) + " leaves " +
                 Quote(a.from) + " " + trigger + " with no guard, and comes first");
        } else if (b_guarded && !disjoint(i, j)) {
          At(diags_, Severity::kWarning, b.at,
             "this transition and the one at " + Locate(a.at) + " may both fire from " +
                 Quote(a.from) + " " + trigger + "; the first listed wins");
        }
      }
    }
  }

  // Types: rules against the machine's variables, and every inline expression.
  void CheckTypes(const Machine& m) {
    dsl::TypeEnv env = MachineEnv(policy_, m);
    std::vector<std::string> used;
    auto use_rules = [&](const std::vector<std::string>& rules, const std::vector<Where>& where) {
      for (size_t i = 0; i < rules.size(); ++i) {
        const std::string& r = rules[i];
        if (rule_info_.count(r)) {
          used.push_back(r);
          used_rules_.insert(r);
          continue;
        }
        if (NamedInBrokenRules(r)) continue;  // Its declaration's error stands for it.
        std::string near = dsl::NearestName(r, all_rules_);
        At(diags_, Severity::kError, where[i],
           "rule " + Quote(r) + " is not defined in the rules files",
           near.empty() ? "" : "did you mean " + Quote(near) + "?");
      }
    };
    for (const auto& s : m.states)
      if (s.validate) use_rules(s.validate->rules, s.validate->rules_at);
    for (const auto& t : m.transitions) use_rules(t.rules, t.rules_at);
    use_rules(m.access, m.access_rule_at);
    std::sort(used.begin(), used.end());
    used.erase(std::unique(used.begin(), used.end()), used.end());

    Diagnostics local;
    dsl::BuildOptions options;
    options.only_rules = &used;
    options.warn_unused_constants = false;
    options.keep_going = true;
    // Shared: the engine builds the same rules for this machine next (Program::BuildShared).
    auto program = dsl::Program::BuildShared(rule_sources_, env, &local, options);
    // Errors already reported (the files' syntax errors, a rule's error under the same variables
    // for another machine) are not repeated, nor is the note without a new error to explain.
    bool new_errors = false;
    for (const auto& d : local.items())
      if (Emit(d) && d.severity == Severity::kError) new_errors = true;
    if (new_errors)
      Emit({Severity::kNote, m.source->name, m.at.line, m.at.column,
            "while checking the rules of " + m.Key() + " against its variables (" + EnvText(env) +
                ")",
            "", ""});
    if (!program) return;
    for (const auto& c : program->UsedConstants()) used_constants_.insert(c);

    // Entity references in the input name entity types that exist.
    CheckRefersTo(m.input.list ? std::vector<const FieldSpec*>{m.input.list.get()}
                               : Pointers(m.input.fields));

    // Inline expressions.
    for (const auto& c : m.context) {
      if (!policy_.FindEntityMachine(c.entity_type))
        At(diags_, Severity::kError, c.entity_type_at,
           "context " + Quote(c.name) + " names entity type " + Quote(c.entity_type) +
               ", which no machine defines");
      Expect(c.id, env, program.get(), Type::String(), "the context id");
    }
    if (!m.owner.empty()) Expect(m.owner, env, program.get(), Type::String(), "the owner");
    std::vector<const Transition*> zero_timers;
    for (const auto& t : m.transitions) {
      dsl::TypeEnv tenv = t.event.empty() ? env : TransitionEnv(policy_, m, t.event);
      if (!t.guard.empty()) {
        auto e = Expect(t.guard, tenv, program.get(), Type::Bool(), "the guard ('if')");
        if (e) {
          const dsl::Value* v = e->ConstantValue();
          if (v && v->kind == dsl::ValueKind::kBool && !v->b)
            At(diags_, Severity::kWarning, t.guard.at,
               "this guard is always false: the transition is never taken");
        }
      }
      std::unique_ptr<dsl::Expression> due;
      if (!t.after.empty()) due = Expect(t.after, tenv, program.get(), Type::Duration(), "'after'");
      if (!t.at_time.empty())
        due = Expect(t.at_time, tenv, program.get(), Type::Timestamp(), "'at'");
      if (due && t.guard.empty() && t.rules.empty()) {
        // A constant `after` of zero (or less) is due as soon as its state is entered, and a
        // constant `at`, once the clock has passed it, every time its state is entered again.
        const dsl::Value* v = due->ConstantValue();
        if (v && v->kind == dsl::ValueKind::kDuration && v->dur().months <= 0 &&
            v->dur().micros <= 0)
          zero_timers.push_back(&t);
        else if (v && v->kind == dsl::ValueKind::kTimestamp)
          zero_timers.push_back(&t);
      }
      for (const auto& a : t.actions) CheckAction(m, a, tenv, program.get());
    }
    CheckZeroTimerCycles(m, zero_timers);
  }

  // Timers that lead round in a circle at zero duration (with automatic transitions that are
  // always taken between them) fire without end once due: the engine stops at kMaxTimerRounds per
  // command and every later command fires as many again. Only durations known here count: a
  // constant `after` of zero or less, or a constant `at`, on a timer without a guard. A duration
  // read from the data (`after: details.Wait`) may be zero at run time too; it is not reported
  // (it may as well never be), and the engine reports the timers it leaves past its bound.
  void CheckZeroTimerCycles(const Machine& m, const std::vector<const Transition*>& zero_timers) {
    if (zero_timers.empty()) return;
    // Edges that take no time: those timers, and each state's first automatic transition when it
    // has no guard (it is always taken).
    std::map<std::string, std::vector<const Transition*>> next;
    for (const Transition* t : zero_timers) next[t->from].push_back(t);
    std::set<std::string> decided;
    for (const auto& t : m.transitions) {
      if (!t.is_automatic() || decided.count(t.from)) continue;
      decided.insert(t.from);
      const State* from = m.FindState(t.from);
      if (from && from->validate) continue;
      if (t.guard.empty() && t.rules.empty()) next[t.from].push_back(&t);
    }
    std::set<std::string> reported;
    for (const Transition* timer : zero_timers) {
      if (reported.count(timer->from)) continue;
      // Breadth first from the timer's target back to its source: the shortest circle.
      std::map<std::string, std::string> came_from = {{timer->to, ""}};
      std::vector<std::string> queue = {timer->to};
      for (size_t q = 0; q < queue.size() && !came_from.count(timer->from); ++q)
        for (const Transition* t : next[queue[q]])
          if (came_from.emplace(t->to, queue[q]).second) queue.push_back(t->to);
      if (!came_from.count(timer->from)) continue;
      std::vector<std::string> path;
      for (std::string at = timer->from; !at.empty(); at = came_from[at]) path.push_back(at);
      std::reverse(path.begin(), path.end());
      std::string circle = Quote(timer->from);
      for (const auto& name : path) {
        circle += " -> " + Quote(name);
        reported.insert(name);
      }
      reported.insert(timer->from);
      At(diags_, Severity::kError, timer->at,
         "timers go round in a circle at zero duration: " + circle +
             "; once due they fire without end (at most " + std::to_string(kMaxTimerRounds) +
             " before each command)",
         "give one of them a duration above zero, or a guard that ends the circle");
    }
  }

  void CheckAction(const Machine& m, const Action& a, const dsl::TypeEnv& env,
                   const dsl::Program* program) {
    switch (a.kind) {
      case Action::Kind::kSet:
      case Action::Kind::kMerge:
      case Action::Kind::kAppend:
      case Action::Kind::kRemove: {
        if (a.path != "entity.Document" && a.path.rfind("entity.Document.", 0) != 0) {
          At(diags_, Severity::kError, a.path_at,
             std::string(ActionKindName(a.kind)) +
                 " writes the entity's document: its path starts "
                 "with entity.Document, not " +
                 Quote(a.path));
          return;
        }
        std::string why;
        TypePtr target = PathType(env, a.path, &why);
        if (!target) {
          At(diags_, Severity::kError, a.path_at, Quote(a.path) + " names nothing: " + why);
          return;
        }
        auto e = Expect(a.value, env, program, nullptr, "the value");
        if (!e) return;
        TypePtr v = e->type();
        bool fits = true;
        std::string expected = target->ToString(), hint;
        if (a.kind == Action::Kind::kSet) {
          fits = Fits(*v, *target);
        } else if (a.kind == Action::Kind::kMerge) {
          fits =
              target->kind() == dsl::TypeKind::kDyn ||
              (target->kind() == dsl::TypeKind::kObject && v->kind() == dsl::TypeKind::kObject &&
               std::all_of(v->fields().begin(), v->fields().end(),
                           [&](const dsl::Field& f) {
                             int i = target->FieldIndex(f.name);
                             return i >= 0 &&
                                    Fits(*f.type, *target->fields()[static_cast<size_t>(i)].type);
                           })) ||
              v->kind() == dsl::TypeKind::kDyn;
          expected = "an object whose fields all belong to " + target->ToString();
          // Name the first field the document lacks: what a reader must add or drop.
          if (target->kind() == dsl::TypeKind::kObject && v->kind() == dsl::TypeKind::kObject)
            for (const auto& f : v->fields())
              if (target->FieldIndex(f.name) < 0) {
                hint = a.path + " has no field " + Quote(f.name);
                break;
              }
        } else {
          fits = target->kind() == dsl::TypeKind::kDyn ||
                 (target->kind() == dsl::TypeKind::kList &&
                  (Fits(*v, *target->elem()) || Fits(*v, *target)));
          expected = "an element of " + target->ToString() + " (or a list of them)";
        }
        if (!fits)
          At(diags_, Severity::kError, a.value.at,
             std::string("the value of this ") + ActionKindName(a.kind) + " is " +
                 dsl::WithArticle(v->ToString()) + "; " + a.path + " takes " + expected,
             hint);
        return;
      }
      case Action::Kind::kCreate: {
        const Machine* target = policy_.FindEntityMachine(a.entity_type);
        if (!target) {
          At(diags_, Severity::kError, a.entity_type_at,
             "create names entity type " + Quote(a.entity_type) + ", which no machine defines");
        }
        Expect(a.owner, env, program, Type::String(), "the owner");
        auto e = Expect(a.value, env, program, nullptr, "the document");
        if (e && target && !Fits(*e->type(), *target->document.type))
          At(diags_, Severity::kError, a.value.at,
             "the new " + a.entity_type + " document is " +
                 dsl::WithArticle(e->type()->ToString()) + "; the entity's document is " +
                 target->document.type->ToString());
        return;
      }
      case Action::Kind::kSend: {
        std::string type = a.entity_type.empty() ? m.entity_type : a.entity_type;
        if (!a.target.empty() && a.entity_type.empty())
          At(diags_, Severity::kError, a.target.at,
             "send with 'to' needs the target's entity_type");
        if (!a.target.empty()) Expect(a.target, env, program, Type::String(), "'to'");
        TypePtr data;
        if (!a.data.empty()) {
          auto e = Expect(a.data, env, program, nullptr, "the data");
          if (e) {
            data = e->type();
            const auto k = data->kind();
            if (k != dsl::TypeKind::kObject && k != dsl::TypeKind::kMap &&
                k != dsl::TypeKind::kDyn) {
              At(diags_, Severity::kError, a.data.at,
                 "the data of a send is " + dsl::WithArticle(data->ToString()) +
                     "; it must be a map or an object (the event's fields)");
              data = nullptr;
            }
          }
        }
        sends_.push_back({type, a.event, a.event_at,
                          a.entity_type.empty() ? a.event_at : a.entity_type_at, data, a.data.at});
        return;
      }
      case Action::Kind::kFail: {
        Diagnostics local;
        dsl::Source s{m.source->name, a.message.text};
        auto e = dsl::Expression::CompileTemplate(s, env, &local, program);
        Relocate(local, a.message);
        if (e) NoteConstants(*e);
        return;
      }
    }
  }

  // Compiles an inline expression, reports its problems where it stands in the YAML file, and
  // checks its type against `want` (null: any).
  std::unique_ptr<dsl::Expression> Expect(const ExprText& x, const dsl::TypeEnv& env,
                                          const dsl::Program* program, const TypePtr& want,
                                          const char* what) {
    if (x.empty()) return nullptr;
    Diagnostics local;
    dsl::Source s{x.at.source ? x.at.source->name : "<policy>", x.text};
    auto e = dsl::Expression::Compile(s, env, &local, program);
    Relocate(local, x);
    if (!e) return nullptr;
    NoteConstants(*e);
    if (want && !Type::Assignable(*e->type(), *want))
      At(diags_, Severity::kError, x.at,
         std::string(what) + " must be " + dsl::WithArticle(want->ToString()) + ", not " +
             e->type()->ToString());
    return e;
  }

  void NoteConstants(const dsl::Expression& e) {
    for (const auto& c : e.UsedConstants()) used_constants_.insert(c);
  }

  void Relocate(const Diagnostics& local, const ExprText& x) {
    for (dsl::Diagnostic d : local.items()) {
      RelocateFragmentDiagnostic(x, &d);
      Emit(d);
    }
  }

  static std::vector<const FieldSpec*> Pointers(const std::vector<FieldSpec>& fields) {
    std::vector<const FieldSpec*> out;
    for (const FieldSpec& f : fields) out.push_back(&f);
    return out;
  }

  void CheckRefersTo(const std::vector<const FieldSpec*>& fields) {
    for (const FieldSpec* f : fields) {
      if (!f->refers_to.empty() && !policy_.FindEntityMachine(f->refers_to))
        At(diags_, Severity::kError, f->at,
           "field " + Quote(f->name) + " refers to entity type " + Quote(f->refers_to) +
               ", which no machine defines");
      if (f->items) CheckRefersTo({f->items.get()});
      CheckRefersTo(Pointers(f->fields));
    }
  }

  // Entity machines must answer every event sent to them.
  void CheckLinks() {
    // A machine missing because its file did not load was reported there; saying again that
    // nothing defines it only buries that error.
    if (policy_.failed_files > 0) return;
    for (const auto& m : policy_.machines) {
      if (m->kind == MachineKind::kRequest && !policy_.FindEntityMachine(m->entity_type))
        At(diags_, Severity::kError, m->entity_type_at,
           "request machine " + m->Key() + " changes entity type " + Quote(m->entity_type) +
               ", which no entity machine defines");
    }
    CheckSends();
    // An entity event no actor sends and no machine sends can never happen.
    for (const auto& m : policy_.machines) {
      if (m->kind != MachineKind::kEntity) continue;
      for (const auto& e : m->events) {
        if (!e.actors.empty()) continue;
        bool sent = std::any_of(sends_.begin(), sends_.end(), [&](const Send& s) {
          return s.entity_type == m->entity_type && s.event == e.name;
        });
        if (!sent)
          At(diags_, Severity::kError, e.at,
             "no actor may send event " + Quote(e.name) + " and no request machine sends it",
             "list actors, or send it from a request machine's action");
      }
    }
  }

  // Every event sent reaches an entity machine with a transition on it, carrying what it declares.
  void CheckSends() {
    for (const auto& s : sends_) {
      const Machine* target = policy_.FindEntityMachine(s.entity_type);
      if (!target) {
        At(diags_, Severity::kError, s.entity_type_at,
           "send targets entity type " + Quote(s.entity_type) +
               ", which no entity machine defines");
        continue;
      }
      bool handled = std::any_of(target->transitions.begin(), target->transitions.end(),
                                 [&](const Transition& t) { return t.event == s.event; });
      if (!handled)
        At(diags_, Severity::kError, s.at,
           "event " + Quote(s.event) + " is sent to " + s.entity_type + ", whose machine (" +
               target->source->name + ") has no transition on it");
      // What a send carries must fit what the event declares (a map is checked when it is sent).
      const EventSpec* spec = target->FindEvent(s.event);
      if (s.data && s.data->kind() == dsl::TypeKind::kObject && spec && spec->data.type &&
          !Fits(*s.data, *spec->data.type))
        At(diags_, Severity::kError, s.data_at,
           "the data sent with " + Quote(s.event) + " is " + dsl::WithArticle(s.data->ToString()) +
               "; " + s.entity_type + "'s event takes " + spec->data.type->ToString());
    }
  }

  // Constants that schema limits name are used.
  void NoteLimitConstants(const Machine& m) {
    auto note = [this](const FieldSpec& f, const auto& self) -> void {
      for (const auto& ref : f.limit_refs) used_constants_.insert(ref.constant);
      if (f.items) self(*f.items, self);
      for (const auto& sub : f.fields) self(sub, self);
    };
    for (const Schema* s : {&m.input, &m.document}) {
      for (const auto& f : s->fields) note(f, note);
      if (s->list) note(*s->list, note);
    }
    for (const auto& e : m.events)
      for (const auto& f : e.data.fields) note(f, note);
  }

  // Whether a workflow file that did not load names `name`: its machine may use it, so calling
  // it unused would only follow from that file's error.
  bool NamedInFailedWorkflow(const std::string& name) const {
    for (const auto& s : policy_.sources)
      if (std::find(policy_.rule_sources.begin(), policy_.rule_sources.end(), &s) ==
              policy_.rule_sources.end() &&
          !LoadedSource(s) && NamesWord(s.text, name))
        return true;
    return false;
  }
  bool LoadedSource(const dsl::Source& s) const {
    return std::any_of(policy_.machines.begin(), policy_.machines.end(),
                       [&](const auto& m) { return m->source == &s; });
  }

  void ReportUnused() {
    if (policy_.machines.empty()) return;  // Rules checked alone: nothing to be unused by.
    for (const auto& name : all_rules_) {
      if (used_rules_.count(name) || NamedInFailedWorkflow(name)) continue;
      const dsl::RuleInfo& r = rule_info_[name];
      for (const auto* s : policy_.rule_sources)
        if (s->name == r.file)
          diags_->AddAt(Severity::kWarning, *s, r.pos.line, r.pos.column,
                        "rule " + Quote(name) + " is used by no machine");
    }
    // A rule with an error was not checked through, so what it reads is not known.
    if (!rules_ok_) return;
    // Nor were the rules a machine that did not load may use: what they read may be used.
    for (const auto& name : all_rules_)
      if (!used_rules_.count(name) && NamedInFailedWorkflow(name))
        for (const auto& n : names_in_rules_[name]) used_constants_.insert(n);
    for (const auto& c : all_constants_) {
      if (used_constants_.count(c.name) || NamedInFailedWorkflow(c.name)) continue;
      for (const auto* s : policy_.rule_sources)
        if (s->name == c.file)
          diags_->AddAt(Severity::kWarning, *s, c.pos.line, c.pos.column,
                        "constant " + Quote(c.name) + " is never used");
    }
  }

  // Adds `d` unless the same diagnostic was added before; says whether it was added.
  bool Emit(const dsl::Diagnostic& d) {
    std::string key =
        d.file + ":" + std::to_string(d.line) + ":" + std::to_string(d.column) + ":" + d.message;
    if (!emitted_.insert(key).second) return false;
    diags_->Append(d);
    return true;
  }

  // Whether `name` stands as a word in a rules file with errors: a rule whose declaration is
  // broken before its name (or that the broken text swallowed) is likely the one meant.
  bool NamedInBrokenRules(const std::string& name) const {
    for (const auto& s : rule_sources_)
      if (broken_rule_files_.count(s.name) && NamesWord(s.text, name)) return true;
    return false;
  }

  // Whether `word` stands in `text` as a whole name (not inside a longer one).
  static bool NamesWord(const std::string& text, const std::string& word) {
    if (word.empty()) return false;
    auto name_char = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
      const size_t end = at + word.size();
      if ((at == 0 || !name_char(text[at - 1])) && (end == text.size() || !name_char(text[end])))
        return true;
    }
    return false;
  }

  static std::string EnvText(const dsl::TypeEnv& env) {
    std::string out;
    for (const auto& [name, t] : env) out += (out.empty() ? "" : ", ") + name;
    return out;
  }

  struct Send {
    std::string entity_type;
    std::string event;
    Where at;              // The event's name in the send action.
    Where entity_type_at;  // Its entity_type, or the event when the send names none.
    TypePtr data;          // The type of what it carries, when it carries something.
    Where data_at;
  };

  const Policy& policy_;
  Diagnostics* diags_;
  std::vector<dsl::Source> rule_sources_;
  bool rules_ok_ = true;
  std::set<std::string> broken_rule_files_;  // Rules files with an error of their own.
  std::vector<std::string> all_rules_;
  std::map<std::string, dsl::RuleInfo> rule_info_;
  std::map<std::string, std::vector<std::string>> names_in_rules_;
  std::vector<dsl::RuleInfo> all_constants_;
  std::set<std::string> used_rules_;
  std::set<std::string> used_constants_;
  std::vector<Send> sends_;
  std::set<std::string> emitted_;
};

}  // namespace

dsl::TypeEnv MachineEnv(const Policy& policy, const Machine& m) {
  dsl::TypeEnv env;
  if (m.kind == MachineKind::kRequest) {
    env["details"] = m.input.type;
    env["entity"] = EntityView(DocumentOf(policy, m.entity_type));
    env["request"] = RequestType();
  } else {
    env["entity"] = EntityView(m.document.type);
  }
  for (const auto& c : m.context) env[c.name] = EntityView(DocumentOf(policy, c.entity_type));
  return env;
}

dsl::TypeEnv TransitionEnv(const Policy& policy, const Machine& m, const std::string& event) {
  dsl::TypeEnv env = MachineEnv(policy, m);
  const EventSpec* e = m.FindEvent(event);
  env["event"] = e && e->data.type ? e->data.type : Type::Object({});
  return env;
}

void CheckPolicy(const Policy& policy, Diagnostics* diags) { PolicyChecker(policy, diags).Run(); }

void CheckMachineAgainst(const Policy& policy, const Machine& machine, Diagnostics* diags) {
  PolicyChecker(policy, diags).RunOne(machine);
}

}  // namespace sellerflow::engine
