// The engine: change sets run through their request machines, effects land on entities through
// entity machines, and every step is recorded, all inside one store transaction per command.
#include "engine/run/engine.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "dsl/json.h"
#include "dsl/program.h"
#include "dsl/time.h"
#include "dsl/utf8.h"
#include "engine/base/ids.h"
#include "engine/base/limits.h"
#include "engine/base/log.h"
#include "engine/base/sha256.h"
#include "engine/check/check_policy.h"
#include "engine/run/coverage.h"
#include "engine/run/describe.h"
#include "engine/run/upgrade.h"
#include "engine/run/views.h"

namespace sellerflow::engine {

using dsl::JsonString;

namespace {

using dsl::Value;
using dsl::ValueKind;

// A request that cannot go on: thrown inside a command, turned into its Outcome, and everything
// the command wrote is rolled back with it (only the command log entry stays).
struct Refusal {
  Result result;
  std::string type;
  std::string message;
  std::vector<Violation> violations;
};

bool ActorMay(const std::vector<std::string>& actors, const std::string& actor,
              const std::string& owner) {
  for (const auto& a : actors) {
    if (a == "any") return true;
    if (a == "operations" && actor == "operations") return true;
    if (a == "seller" && actor.rfind("seller:", 0) == 0) return true;
    if (a == "buyer" && actor.rfind("buyer:", 0) == 0) return true;
    if (a == "owner" && !owner.empty() && actor == owner) return true;
  }
  return false;
}

// "workflows/offer.yaml:12:9": where a part of a machine is written, for messages.
std::string Located(const Where& w) {
  std::string out = w.source ? w.source->name : "<policy>";
  if (w.line) out += ":" + std::to_string(w.line) + ":" + std::to_string(w.column);
  return out;
}

// "from Routing to InReview on approve": a transition, as a message names it.
std::string Describe(const Transition& t) {
  std::string out = "from " + t.from + " to " + t.to;
  if (!t.event.empty()) out += " on " + t.event;
  if (!t.after.empty()) out += " after " + t.after.text;
  if (!t.at_time.empty()) out += " at " + t.at_time.text;
  return out;
}

// Why rule `r` of `rules` could not be evaluated, with where the error stands in its file.
std::string RuleFault(const dsl::Program& rules, size_t r, const dsl::RuleResult& result) {
  const dsl::RuleInfo& info = rules.rule(r);
  std::string at = info.file;
  dsl::SourcePos pos = result.error_pos.line ? result.error_pos : info.pos;
  if (pos.line) at += ":" + std::to_string(pos.line) + ":" + std::to_string(pos.column);
  return "rule " + info.name + " could not be evaluated: " +
         (result.error.empty() ? std::string("it is not compiled") : result.error) + " (at " + at +
         ")";
}

const char* ResultName(Result r) {
  switch (r) {
    case Result::kOk:
      return "ok";
    case Result::kRefused:
      return "refused";
    case Result::kConflict:
      return "conflict";
    case Result::kNotFound:
      return "not found";
    case Result::kAccessDenied:
      return "access denied";
  }
  return "";
}

struct CompiledAction {
  const Action* action;
  std::unique_ptr<dsl::Expression> value, target, owner, message, data;
};

struct CompiledTransition {
  const Transition* t = nullptr;
  const dsl::TypeEnv* env = nullptr;
  std::unique_ptr<dsl::Expression> guard, after, at;
  std::vector<CompiledAction> actions;
};

struct CompiledMachine {
  const Machine* m = nullptr;
  dsl::TypeEnv env;
  std::vector<std::unique_ptr<dsl::Expression>> context_ids;  // Parallel to m->context.
  std::unique_ptr<dsl::Expression> owner;  // Entity machines: who owns a new entity.
  std::map<std::string, dsl::TypeEnv> event_envs;
  std::shared_ptr<const dsl::Program> rules;
  std::vector<CompiledTransition> transitions;
  dsl::TypePtr doc_type;  // The entity's document type, as `env` holds it.
  bool timed = false;     // Some transition is a timer's.
};

// An entity as the running command sees it: loaded once, changed in memory, written at the end.
struct WorkEntity {
  EntityRow row;
  std::string stored_document;  // The document as the store has it (to see an `at` timer move).
  bool in_store = false;
  bool changed = false;
  bool state_changed = false;
};

// One entry of a change's ErrorDetailList: the Catalog API's code and message, and, for a violated
// validation rule, the rule and where it is written ("rules/product.rules:12"), so that a reader
// finds what to fix or whom to ask.
struct ErrorDetail {
  std::string code;
  std::string message;
  std::string rule;
  std::string source;
};

struct ChangeWork {
  ChangeRow row;
  const CompiledMachine* cm = nullptr;
  std::vector<ErrorDetail> errors;
  std::string server_fault;  // A guard that could not be evaluated.
  bool failed = false;       // A send found no transition: the change fails where it stands.
  bool moved = false;        // It took a transition in this command: its old timers are void.
};

}  // namespace

struct EngineImpl {
  const Policy& policy;
  Store* store;
  std::map<const Machine*, std::unique_ptr<CompiledMachine>> machines;
  std::vector<dsl::Source> rule_sources;
  // Earlier definitions that open change sets started under, by content hash.
  struct Pinned {
    std::unique_ptr<dsl::Source> source;
    std::unique_ptr<Machine> machine;
    std::unique_ptr<CompiledMachine> cm;
  };
  std::map<std::string, Pinned> pinned;
  // What schema limits of a pinned definition name, read from today's rules (as its rules are).
  std::optional<LimitConstants> limit_constants;
  // A command's documents take several KiB: blocks of 64 KiB, so that a command's values fit in the
  // first block, which Reset keeps, instead of a malloc and a free per block per command.
  dsl::Arena arena{64 * 1024};
  dsl::EvalContext ctx;

  // State of the command being run.
  const Command* cmd = nullptr;
  int64_t command_seq = 0;  // The command_log seq of the command running now.
  std::map<std::string, WorkEntity> work;
  std::vector<HistoryRow> entity_history;
  std::vector<HistoryRow> request_history;
  std::vector<std::string>
      entered;  // Entities whose state changed (their timers are due for setting).
  std::vector<std::string> retimed;  // Entities whose document changed in the same state.
  // What a timer did to entities, step by step, so that an open change set whose working copy
  // holds one of them can take the same step (FollowHolders): an event delivered (`event` set),
  // or an entity timer's own transition (`transition`, due at `due_us`).
  struct TimerStep {
    std::string entity;
    std::string event;
    std::string data;
    int transition = -1;
    int64_t due_us = 0;
  };
  std::vector<TimerStep> timer_steps;
  // Taking a timer's step on a holder's working copy: its sends are not sent again (the timer's
  // own run sent them to the entities as stored, and each follows its own holder).
  bool following = false;
  bool persist = true;               // false for Intent VALIDATE.
  // An import without a time into a store that has no clock yet: what it imports has no dates
  // (not the epoch the clock stands in with).
  bool undated = false;
  bool respond = true;               // Build response bodies (a replay reads only the outcome).
  Coverage* coverage = nullptr;      // Counts what runs, for policy tests; not owned.
  // The timers the command's FireTimers fired (the first kMaxTimersListed) and how many it fired:
  // what a tick answers.
  struct FiredTimer {
    std::string at;  // Its deadline, the time it fired at.
    std::string change_set;
    int change = -1;
    std::string entity;
    std::string from, to;
  };
  std::vector<FiredTimer> fired;
  int64_t fired_count = 0;
  // Documents read in this command, by type and text; their values live in `arena`.
  std::map<std::pair<const dsl::Type*, std::string>, Value> documents;

  EngineImpl(const Policy& p, Store* s) : policy(p), store(s) {}

  // ---- Compilation ----------------------------------------------------------------------------
  void Compile() {
    for (const auto* src : policy.rule_sources) rule_sources.push_back(*src);
    for (const auto& m : policy.machines) machines[m.get()] = CompileMachine(*m);
    for (const auto& src : policy.sources)
      store->PutDefinition(Sha256Hex(src.text), src.name, src.text);
  }

  std::unique_ptr<CompiledMachine> CompileMachine(const Machine& m) {
    auto cm = std::make_unique<CompiledMachine>();
    cm->m = &m;
    cm->env = MachineEnv(policy, m);
    cm->doc_type = cm->env["entity"]->fields()[4].type;
    for (const auto& e : m.events) {
      dsl::TypeEnv env = cm->env;
      env["event"] = e.data.type;
      cm->event_envs[e.name] = std::move(env);
    }
    std::vector<std::string> used;
    for (const auto& st : m.states)
      if (st.validate)
        used.insert(used.end(), st.validate->rules.begin(), st.validate->rules.end());
    for (const auto& t : m.transitions) used.insert(used.end(), t.rules.begin(), t.rules.end());
    used.insert(used.end(), m.access.begin(), m.access.end());
    dsl::Diagnostics diags;
    dsl::BuildOptions options;
    options.only_rules = &used;
    options.warn_unused_constants = false;
    cm->rules = dsl::Program::BuildShared(rule_sources, cm->env, &diags, options);
    if (!cm->rules)
      throw std::runtime_error("rules do not compile for " + m.Key() + ":\n" + diags.ToText());
    for (const auto& c : m.context)
      cm->context_ids.push_back(Expr(c.id, cm->env, cm->rules.get(), false));
    cm->owner = Expr(m.owner, cm->env, cm->rules.get(), false);
    for (const auto& t : m.transitions) {
      CompiledTransition ct;
      ct.t = &t;
      ct.env = t.event.empty() ? &cm->env : &cm->event_envs[t.event];
      ct.guard = Expr(t.guard, *ct.env, cm->rules.get(), false);
      ct.after = Expr(t.after, *ct.env, cm->rules.get(), false);
      ct.at = Expr(t.at_time, *ct.env, cm->rules.get(), false);
      for (const auto& a : t.actions) {
        CompiledAction ca;
        ca.action = &a;
        ca.value = Expr(a.value, *ct.env, cm->rules.get(), false);
        ca.target = Expr(a.target, *ct.env, cm->rules.get(), false);
        ca.owner = Expr(a.owner, *ct.env, cm->rules.get(), false);
        ca.message = Expr(a.message, *ct.env, cm->rules.get(), true);
        ca.data = Expr(a.data, *ct.env, cm->rules.get(), false);
        ct.actions.push_back(std::move(ca));
      }
      cm->timed = cm->timed || t.is_timer();
      cm->transitions.push_back(std::move(ct));
    }
    return cm;
  }

  // The request machine a change started under: the current one when its file is unchanged,
  // else the earlier definition, read back from the store by its content hash and checked against
  // today's entity machines and rules. Where it does not fit them (a document field it writes that
  // they lack, a rule or an event they do not have) the change set cannot run to its end as it
  // began: the command is refused, naming what is missing, rather than dropping what it writes.
  const CompiledMachine* PinnedMachine(const ChangeRow& row) {
    const CompiledMachine* current = RequestMachine(row.change_type, row.entity_type);
    if (current && current->m->content_hash == row.machine_hash) return current;
    if (auto it = pinned.find(row.machine_hash); it != pinned.end()) return it->second.cm.get();
    auto text = store->GetDefinition(row.machine_hash);
    if (!text) return current;  // Started before definitions were kept: the current one it is.
    const std::string what = row.change_type + " on " + row.entity_type;
    const std::string fix =
        "run the command with the --workflows and --rules folders the change set started under";
    Pinned p;
    // Named by the path it was stored from, as the set's operator knows it.
    const std::string path = store->GetDefinitionPath(row.machine_hash).value_or("");
    p.source = std::make_unique<dsl::Source>(dsl::Source{
        (path.empty() ? "" : path + " ") + "(pinned " + row.machine_hash.substr(0, 12) + ")",
        *text});
    dsl::Diagnostics diags;
    if (!limit_constants) limit_constants = ReadLimitConstants(rule_sources);
    p.machine = LoadMachine(*p.source, &diags, &*limit_constants);
    if (p.machine) CheckMachineAgainst(policy, *p.machine, &diags);
    if (!p.machine || diags.has_errors()) {
      dsl::Diagnostics errors;
      for (const auto& d : diags.items())
        if (d.severity == dsl::Severity::kError) errors.Append(d);
      throw DefinitionsMissing("its " + what + " started under the definition " +
                               row.machine_hash.substr(0, 12) +
                               " (kept in the store), which the current workflows and rules "
                               "cannot run:\n" +
                               errors.ToText() + fix);
    }
    p.machine->content_hash = row.machine_hash;
    p.cm = CompileMachine(*p.machine);
    return pinned.emplace(row.machine_hash, std::move(p)).first->second.cm.get();
  }

  std::unique_ptr<dsl::Expression> Expr(const ExprText& x, const dsl::TypeEnv& env,
                                        const dsl::Program* constants, bool is_template) {
    if (x.empty()) return nullptr;
    dsl::Diagnostics diags;
    dsl::Source s{x.at.source ? x.at.source->name : "<policy>", x.text};
    auto e = is_template ? dsl::Expression::CompileTemplate(s, env, &diags, constants)
                         : dsl::Expression::Compile(s, env, &diags, constants);
    if (!e)
      throw std::runtime_error("expression does not compile: " + x.text + "\n" + diags.ToText());
    return e;
  }

  const CompiledMachine* RequestMachine(const std::string& change_type, const std::string& type) {
    const Machine* m = policy.FindRequestMachine(change_type, type);
    return m ? machines[m].get() : nullptr;
  }
  const CompiledMachine* EntityMachine(const std::string& type) {
    const Machine* m = policy.FindEntityMachine(type);
    return m ? machines[m].get() : nullptr;
  }

  // ---- Values for expressions -----------------------------------------------------------------
  Value Document(const std::string& json, const dsl::TypePtr& type) {
    // The same documents are read for every guard and rule of a command: read each once.
    auto key = std::make_pair(type.get(), json);
    if (auto it = documents.find(key); it != documents.end()) return it->second;
    Value v;
    std::vector<dsl::JsonIssue> issues;
    if (!dsl::JsonToValue(json, type, "Document", arena, &v, &issues)) {
      std::string m = issues.empty() ? "unreadable" : issues[0].path + ": " + issues[0].message;
      throw Refusal{
          Result::kRefused, "ValidationException", "a document does not fit its schema: " + m, {}};
    }
    documents.emplace(std::move(key), v);
    return v;
  }

  Value EntityView(const EntityRow& row, const dsl::TypePtr& view) {
    dsl::ObjectRep* o = dsl::MakeObject(arena, view.get());
    o->slots[0] = dsl::StringValue(arena, row.id);
    o->slots[1] = dsl::StringValue(arena, row.state);
    o->slots[2] = dsl::StringValue(arena, row.owner);
    o->slots[3] = Value::Int(row.revision);
    o->slots[4] = Document(row.document, view->fields()[4].type);
    return Value::Obj(o);
  }

  Value RequestValue(const dsl::TypePtr& type, const std::string& cs_id, const ChangeRow& c) {
    dsl::ObjectRep* o = dsl::MakeObject(arena, type.get());
    o->slots[0] = dsl::StringValue(arena, cs_id);
    o->slots[1] = dsl::StringValue(arena, c.change_type);
    if (!c.change_name.empty()) o->slots[2] = dsl::StringValue(arena, c.change_name);
    o->slots[3] = dsl::StringValue(arena, cmd->intent.empty() ? "APPLY" : cmd->intent);
    o->slots[4] = dsl::StringValue(arena, cmd->actor);
    o->slots[5] = Value::Timestamp(cmd->at_us);
    return Value::Obj(o);
  }

  // The bindings of an expression compiled against `env`, in its slot order.
  dsl::Bindings Bind(const dsl::TypeEnv& env, const CompiledMachine& cm, const std::string& cs_id,
                     const ChangeRow* change, const WorkEntity* entity,
                     const std::string& event_json) {
    dsl::Bindings b;
    std::map<std::string, Value> named;
    for (const auto& [name, type] : env) {
      Value v = dsl::AbsentSlot();
      if (name == "details" && change) {
        v = Document(change->details, type);
      } else if (name == "entity" && entity) {
        v = EntityView(entity->row, type);
      } else if (name == "request" && change) {
        v = RequestValue(type, cs_id, *change);
      } else if (name == "event") {
        v = Document(event_json.empty() ? "{}" : event_json, type);
      }
      named[name] = v;
    }
    // Context entities: their ids are expressions over the others (compiled against the
    // machine's own variables, so bound in that order).
    for (size_t k = 0; k < cm.m->context.size(); ++k) {
      const ContextEntity& c = cm.m->context[k];
      dsl::Bindings inner;
      for (const auto& [name, type] : cm.env)
        inner.push_back(named.count(name) ? named[name] : dsl::AbsentSlot());
      Value id = cm.context_ids[k]->Evaluate(inner, ctx);
      if (id.kind != ValueKind::kString) continue;
      const WorkEntity* ce = Load(std::string(id.str()));
      if (ce) named[c.name] = EntityView(ce->row, env.at(c.name));
    }
    for (const auto& [name, type] : env) b.push_back(named[name]);
    return b;
  }

  // ---- Entities -------------------------------------------------------------------------------
  // Refuses the command when another open change set (not `cs_id`) holds the entity. With
  // `if_changed`, only when the holder's working copy has changed it (a send may still reach an
  // entity whose request waits without having changed it yet, such as an agreement counted on a
  // product whose restriction waits: the restriction applies to the product as it then is).
  void RefuseIfHeld(const WorkEntity& e, const std::string& cs_id, bool if_changed) {
    if (e.row.locked_by.empty() || e.row.locked_by == cs_id) return;
    auto holder = store->GetChangeSet(e.row.locked_by);
    if (!holder || (holder->status != "PREPARING" && holder->status != "APPLYING")) return;
    if (if_changed && !WorkingChanges(*holder, e.row.id)) return;
    throw Refusal{Result::kConflict,
                  "ResourceInUseException",
                  e.row.id + " is in use by change set " + holder->id + " (" + holder->status + ")",
                  {}};
  }

  // Refuses a new entity `id` that an open change set's working copy already creates: the id is
  // that set's until it ends (else its apply would find the id taken, and so would every replay).
  void RefuseIfReserved(const std::string& id, Result result, const std::string& type) {
    for (const char* status : {"PREPARING", "APPLYING"}) {
      for (const ChangeSetRow& cs : store->ListChangeSets(status, "", "")) {
        if (cs.working.empty()) continue;
        const dsl::ListRep* entities = ReadWorking(cs).obj->slots[0].list;
        for (uint32_t i = 0; i < entities->size; ++i) {
          const dsl::ObjectRep* e = entities->items[i].obj;
          if (e->slots[0].str() != id || e->slots[7].b) continue;
          throw Refusal{result,
                        type,
                        id + " is being created by change set " + cs.id + " (" + cs.status + ")",
                        {}};
        }
      }
    }
  }

  WorkEntity* Load(const std::string& id) {
    auto it = work.find(id);
    if (it != work.end()) return &it->second;
    auto row = store->GetEntity(id);
    if (!row) return nullptr;
    WorkEntity& w = work[id];
    w.stored_document = row->document;
    w.row = std::move(*row);
    w.in_store = true;
    return &w;
  }

  WorkEntity* Create(const std::string& type, const std::string& owner, const std::string& id_hint,
                     const std::string& document) {
    const CompiledMachine* em = EntityMachine(type);
    if (!em)
      throw Refusal{
          Result::kRefused, "ValidationException", "no machine for entity type " + type, {}};
    std::string id = id_hint;
    if (id.empty()) {
      std::string prefix = em->m->id_prefix.empty() ? "ent-" : em->m->id_prefix;
      do {
        id = MakeId(prefix, type, store->NextCounter("entity:" + type), 13);
      } while (work.count(id) || store->GetEntity(id));
    }
    const State* initial = nullptr;
    for (const auto& s : em->m->states)
      if (s.initial) initial = &s;
    WorkEntity& w = work[id];
    w.row.id = id;
    w.row.type = type;
    w.row.owner = owner;
    w.row.state = initial ? initial->name : "";
    if (coverage && initial) coverage->EnterState(*em->m, initial->name);
    w.row.revision = 0;
    w.row.document = document;
    w.row.created_at = cmd->at;
    w.changed = true;
    w.state_changed = true;
    // An entity that is an account's own (a seller's profile) belongs to that account, whoever
    // creates it: operations making it must not lock its seller out.
    if (em->owner) {
      Value v = em->owner->Evaluate(Bind(em->env, *em, "", nullptr, &w, "{}"), ctx);
      if (v.kind != ValueKind::kString || v.str().empty()) {
        work.erase(id);
        throw Refusal{Result::kRefused,
                      "ValidationException",
                      "the owner of the new " + type + " " + id + " cannot be computed: " +
                          (v.is_error() ? std::string(v.error_message()) : "it is empty") +
                          " (at " + Located(em->m->owner.at) + ")",
                      {}};
      }
      w.row.owner = std::string(v.str());
    }
    return &w;
  }

  // Delivers `event` to an entity's machine: the first transition from its state on that event
  // whose guard holds. Returns an error message when none applies; *fault is set when that is
  // because a guard or an action could not be evaluated (a server fault, not the request's).
  std::string Deliver(const std::string& event, WorkEntity* e, const std::string& cs_id,
                      int change_index, ChangeWork* change, const std::string& event_json,
                      bool* fault) {
    const CompiledMachine* em = EntityMachine(e->row.type);
    if (!em) return "no machine for entity type " + e->row.type;
    for (const auto& ct : em->transitions) {
      const Transition& t = *ct.t;
      if (t.from != e->row.state || t.event != event) continue;
      dsl::Bindings b = Bind(*ct.env, *em, cs_id, nullptr, e, event_json);
      std::string guard_fault;
      if (!GuardHolds(*em, ct, b, &guard_fault)) {
        if (guard_fault.empty()) continue;
        *fault = true;
        return guard_fault;
      }
      std::string failure = RunActions(ct, *em, cs_id, nullptr, e, b, change);
      if (!failure.empty()) {
        *fault = true;
        return failure;
      }
      HistoryRow h;
      h.change_set = cs_id;
      h.change_index = change_index;
      h.entity = e->row.id;
      h.event = event;
      h.from_state = e->row.state;
      h.to_state = t.to;
      h.actor = cmd->actor;
      h.at = cmd->at;
      entity_history.push_back(h);
      if (coverage && !following) {
        coverage->TakeTransition(*em->m, t);
        coverage->EnterState(*em->m, t.to);
      }
      LogEvent(LogLevel::kDebug, {{"event", "entity transition"},
                                  {"at", cmd->at},
                                  {"change_set", cs_id},
                                  {"entity", e->row.id},
                                  {"trigger", event},
                                  {"from", e->row.state},
                                  {"to", t.to}});
      if (t.to != e->row.state) e->state_changed = true;
      e->row.state = t.to;
      e->changed = true;
      if (cs_id.empty() && !following) timer_steps.push_back({e->row.id, event, event_json});
      return "";
    }
    return e->row.type + " " + e->row.id + " is " + e->row.state + ": it has no transition on '" +
           event + "' that applies";
  }

  // ---- Actions --------------------------------------------------------------------------------
  // Writes `value` at `path` (field names under the document) in `doc`, returning the new document.
  Value SetPath(Value doc, const dsl::Type& type, const std::vector<std::string>& path, size_t i,
                const Value& value, Action::Kind kind) {
    if (i == path.size()) return Combine(doc, type, value, kind);
    int slot = type.kind() == dsl::TypeKind::kObject ? type.FieldIndex(path[i]) : -1;
    if (slot < 0) {
      Dropped(path[i]);
      return doc;
    }
    dsl::ObjectRep* o = dsl::MakeObject(arena, &type);
    if (doc.kind == ValueKind::kObject && doc.obj->type == &type)
      std::copy(doc.obj->slots, doc.obj->slots + type.fields().size(), o->slots);
    const dsl::Field& f = type.fields()[static_cast<size_t>(slot)];
    o->slots[slot] = SetPath(o->slots[slot], *f.type, path, i + 1, value, kind);
    return Value::Obj(o);
  }

  // A field a write names that the document's schema does not declare: the first one, since the
  // last action began. Such a write is a fault, never a silent drop (the checker refuses what it
  // can see; a map built at run time, or a request pinned to another document schema, it cannot).
  std::string dropped;
  void Dropped(const std::string& field) {
    if (dropped.empty()) dropped = field;
  }
  // The fault for a write that named an undeclared field, or "".
  std::string DroppedFault(const Action& a, const CompiledMachine& cm,
                           const CompiledMachine* entity_machine, const std::string& entity_type) {
    if (dropped.empty()) return "";
    std::string where =
        entity_machine ? " (" + Located(entity_machine->m->entity_type_at) + ")" : "";
    std::string out = "the " + std::string(ActionKindName(a.kind)) + " action of " + cm.m->Key() +
                      " at " + Located(a.at) + " writes " + dropped + ", which the document of " +
                      entity_type + where + " does not declare; nothing was written";
    dropped.clear();
    return out;
  }

  Value Coerce(const Value& v, const dsl::Type& type) {
    if (v.kind == ValueKind::kInt && type.kind() == dsl::TypeKind::kDecimal)
      return Value::Dec(dsl::DecimalFromInt(v.i));
    if (v.kind == ValueKind::kObject && type.kind() == dsl::TypeKind::kObject &&
        v.obj->type != &type) {
      // Fields by name: an object of another shape (the request's input) moves into the document.
      dsl::ObjectRep* o = dsl::MakeObject(arena, &type);
      const auto& from = v.obj->type->fields();
      for (size_t k = 0; k < from.size(); ++k) {
        if (v.obj->slots[k].is_absent()) continue;
        int slot = type.FieldIndex(from[k].name);
        if (slot < 0)
          Dropped(from[k].name);
        else
          o->slots[slot] = Coerce(v.obj->slots[k], *type.fields()[static_cast<size_t>(slot)].type);
      }
      return Value::Obj(o);
    }
    if (v.kind == ValueKind::kMap && type.kind() == dsl::TypeKind::kObject) {
      // A map literal builds an object: its keys name the fields (a key that names none is an
      // error, never dropped).
      dsl::ObjectRep* o = dsl::MakeObject(arena, &type);
      for (uint32_t k = 0; k < v.map->size; ++k) {
        const dsl::MapEntry& entry = v.map->entries[k];
        if (entry.value.is_absent()) continue;
        int slot = type.FieldIndex(std::string(entry.key.str()));
        if (slot < 0)
          Dropped(std::string(entry.key.str()));
        else
          o->slots[slot] = Coerce(entry.value, *type.fields()[static_cast<size_t>(slot)].type);
      }
      return Value::Obj(o);
    }
    if (v.kind == ValueKind::kList && type.kind() == dsl::TypeKind::kList) {
      dsl::ListRep* l = dsl::MakeList(arena, v.list->size);
      for (uint32_t k = 0; k < v.list->size; ++k)
        l->items[k] = Coerce(v.list->items[k], *type.elem());
      return Value::List(l);
    }
    return v;
  }

  Value Combine(const Value& current, const dsl::Type& type, const Value& value,
                Action::Kind kind) {
    switch (kind) {
      case Action::Kind::kSet:
        return Coerce(value, type);
      case Action::Kind::kMerge: {
        if (type.kind() != dsl::TypeKind::kObject || value.kind != ValueKind::kObject) {
          Dropped("(a merge of " + dsl::ToDisplay(value) + ")");
          return current;
        }
        dsl::ObjectRep* o = dsl::MakeObject(arena, &type);
        if (current.kind == ValueKind::kObject && current.obj->type == &type)
          std::copy(current.obj->slots, current.obj->slots + type.fields().size(), o->slots);
        const auto& from = value.obj->type->fields();
        for (size_t k = 0; k < from.size(); ++k) {
          if (value.obj->slots[k].is_absent()) continue;
          int slot = type.FieldIndex(from[k].name);
          if (slot < 0)
            Dropped(from[k].name);
          else
            o->slots[slot] =
                Coerce(value.obj->slots[k], *type.fields()[static_cast<size_t>(slot)].type);
        }
        return Value::Obj(o);
      }
      case Action::Kind::kAppend:
      case Action::Kind::kRemove: {
        if (type.kind() != dsl::TypeKind::kList) return current;
        // Nothing to remove from a list that is not there: it stays absent.
        if (kind == Action::Kind::kRemove && current.kind != ValueKind::kList) return current;
        std::vector<Value> items;
        if (current.kind == ValueKind::kList)
          items.assign(current.list->items, current.list->items + current.list->size);
        std::vector<Value> given;
        bool many = value.kind == ValueKind::kList && type.elem()->kind() != dsl::TypeKind::kList;
        if (many)
          given.assign(value.list->items, value.list->items + value.list->size);
        else
          given.push_back(value);
        if (kind == Action::Kind::kAppend) {
          for (const auto& g : given) items.push_back(Coerce(g, *type.elem()));
        } else {
          items.erase(std::remove_if(items.begin(), items.end(),
                                     [&](const Value& x) {
                                       return std::any_of(
                                           given.begin(), given.end(),
                                           [&](const Value& g) { return dsl::ValuesEqual(x, g); });
                                     }),
                      items.end());
        }
        dsl::ListRep* l = dsl::MakeList(arena, static_cast<uint32_t>(items.size()));
        std::copy(items.begin(), items.end(), l->items);
        return Value::List(l);
      }
      default:
        return current;
    }
  }

  // Runs a transition's actions. Returns a message when an action could not run (a server fault).
  std::string RunActions(const CompiledTransition& ct, const CompiledMachine& cm,
                         const std::string& cs_id, ChangeWork* change, WorkEntity* entity,
                         const dsl::Bindings& b, ChangeWork* owner_change) {
    ChangeWork* errors_to = change ? change : owner_change;
    for (const auto& ca : ct.actions) {
      const Action& a = *ca.action;
      auto eval = [&](const std::unique_ptr<dsl::Expression>& e, Value* out) -> std::string {
        *out = e->Evaluate(b, ctx);
        if (out->is_error())
          return "the " + std::string(ActionKindName(a.kind)) + " action of " + cm.m->Key() +
                 " could not be evaluated: " + std::string(out->error_message());
        return "";
      };
      switch (a.kind) {
        case Action::Kind::kSet:
        case Action::Kind::kMerge:
        case Action::Kind::kAppend:
        case Action::Kind::kRemove: {
          if (!entity) return "no entity for " + std::string(ActionKindName(a.kind));
          Value v;
          if (auto m = eval(ca.value, &v); !m.empty()) return m;
          std::vector<std::string> path;
          std::string rest = a.path.substr(std::string("entity.Document").size());
          for (size_t p = 0; p < rest.size();) {
            size_t next = rest.find('.', p + 1);
            path.push_back(rest.substr(p + 1, next == std::string::npos ? next : next - p - 1));
            p = next == std::string::npos ? rest.size() : next;
          }
          const CompiledMachine* em = EntityMachine(entity->row.type);
          const dsl::TypePtr& doc_type = em ? em->doc_type : cm.doc_type;
          Value doc = Document(entity->row.document, doc_type);
          dropped.clear();
          Value updated = SetPath(doc, *doc_type, path, 0, v, a.kind);
          if (auto m = DroppedFault(a, cm, em, entity->row.type); !m.empty()) return m;
          entity->row.document = dsl::ToJson(updated);
          entity->changed = true;
          break;
        }
        case Action::Kind::kCreate: {
          Value owner, document;
          if (auto m = eval(ca.owner, &owner); !m.empty()) return m;
          if (auto m = eval(ca.value, &document); !m.empty()) return m;
          const CompiledMachine* em = EntityMachine(a.entity_type);
          if (!em) return "no machine for entity type " + a.entity_type;
          dropped.clear();
          Value doc = Coerce(document, *em->doc_type);
          if (auto m = DroppedFault(a, cm, em, a.entity_type); !m.empty()) return m;
          if (doc.kind == ValueKind::kObject) {
            for (size_t k = 0; k < em->doc_type->fields().size(); ++k) {
              const dsl::Field& f = em->doc_type->fields()[k];
              if (!f.optional && doc.obj->slots[k].is_absent())
                return "the create action of " + cm.m->Key() + " gives no " + f.name +
                       " for the new " + a.entity_type;
            }
          }
          Create(a.entity_type, owner.kind == ValueKind::kString ? std::string(owner.str()) : "",
                 "", dsl::ToJson(doc));
          break;
        }
        case Action::Kind::kSend: {
          if (following) break;
          WorkEntity* target = entity;
          if (ca.target) {
            Value id;
            if (auto m = eval(ca.target, &id); !m.empty()) return m;
            target = id.kind == ValueKind::kString ? Load(std::string(id.str())) : nullptr;
            if (!target) return "send " + a.event + ": no entity " + dsl::ToDisplay(id);
            // A change set changes only entities no other open set holds. A timer, which runs in
            // no set and cannot be turned away, is not refused: what it does to a held entity the
            // holder's working copy takes too (FollowHolders).
            if (!cs_id.empty()) RefuseIfHeld(*target, cs_id, /*if_changed=*/true);
          }
          if (!target) return "send " + a.event + ": no entity to send to";
          std::string data = "{}";
          if (ca.data) {
            Value d;
            if (auto m = eval(ca.data, &d); !m.empty()) return m;
            data = dsl::ToJson(d);
          }
          bool fault = false;
          std::string failure = Deliver(a.event, target, cs_id, change ? change->row.index : -1,
                                        errors_to, data, &fault);
          if (!failure.empty()) {
            if (errors_to && !fault) {
              errors_to->errors.push_back({"INVALID_STATE", failure, "", ""});
              errors_to->failed = true;
              return "";
            }
            return failure;
          }
          break;
        }
        case Action::Kind::kFail: {
          Value m = ca.message->Evaluate(b, ctx);
          std::string text = m.kind == ValueKind::kString ? std::string(m.str())
                                                          : "(message could not be evaluated)";
          if (errors_to) errors_to->errors.push_back({a.code, text, "", ""});
          break;
        }
      }
    }
    return "";
  }

  // ---- Request machines -----------------------------------------------------------------------
  RequestStatus StatusOf(const ChangeWork& c) {
    const State* s = c.cm->m->FindState(c.row.state);
    return s ? s->status : RequestStatus::kNone;
  }

  void Enter(ChangeWork& c, const std::string& to, const std::string& trigger,
             const std::string& cs_id) {
    HistoryRow h;
    h.change_set = cs_id;
    h.change_index = c.row.index;
    h.entity = c.row.entity_id;
    h.event = trigger;
    h.from_state = c.row.state;
    h.to_state = to;
    h.actor = cmd->actor;
    h.at = cmd->at;
    request_history.push_back(h);
    if (LogEnabled(LogLevel::kDebug)) {
      std::string index = std::to_string(c.row.index);
      LogEvent(LogLevel::kDebug, {{"event", "transition"},
                                  {"at", cmd->at},
                                  {"change_set", cs_id},
                                  {"change", index},
                                  {"entity", c.row.entity_id},
                                  {"trigger", trigger},
                                  {"from", c.row.state},
                                  {"to", to}});
    }
    if (coverage) coverage->EnterState(*c.cm->m, to);
    c.row.state = to;
    c.row.entered_at = cmd->at;
    c.moved = true;
    const State* s = c.cm->m->FindState(to);
    c.row.status = s ? RequestStatusName(s->status) : "";
  }

  // Takes one transition of a change: its actions, then the move.
  void Take(ChangeWork& c, const CompiledTransition& ct, const std::string& trigger,
            const std::string& cs_id, const dsl::Bindings& b) {
    WorkEntity* entity = c.row.entity_id.empty() ? nullptr : Load(c.row.entity_id);
    std::string fault = RunActions(ct, *c.cm, cs_id, &c, entity, b, nullptr);
    if (!fault.empty()) {
      c.server_fault = fault;
      return;
    }
    if (c.failed) {
      c.row.status = "FAILED";
      return;
    }
    if (coverage) coverage->TakeTransition(*c.cm->m, *ct.t);
    Enter(c, ct.t->to, trigger, cs_id);
  }

  // Runs a change until it waits (for an event or a timer) or ends.
  void Advance(ChangeWork& c, const std::string& cs_id) {
    for (int step = 0; step < kMaxStepsPerRun; ++step) {
      if (!c.server_fault.empty() || c.failed) return;
      const State* s = c.cm->m->FindState(c.row.state);
      if (!s || s->final) return;
      WorkEntity* entity = c.row.entity_id.empty() ? nullptr : Load(c.row.entity_id);
      if (s->validate) {
        dsl::Bindings b = Bind(c.cm->env, *c.cm, cs_id, &c.row, entity, "");
        bool passed = true;
        // A rule that cannot be evaluated decides neither way: the change fails with SERVER_FAULT
        // naming it (after the other rules, whose violations are still listed).
        std::string fault;
        for (const auto& name : s->validate->rules) {
          int i = c.cm->rules->FindRule(name);
          if (i < 0) {
            if (fault.empty())
              fault = "the validation of " + c.cm->m->Key() + " in state " + s->name +
                      " names rule " + name + ", which its rules do not define";
            continue;
          }
          const size_t rule = static_cast<size_t>(i);
          dsl::RuleResult r = c.cm->rules->Evaluate(rule, b, ctx);
          if (coverage) coverage->EvaluateRule(*c.cm->rules, rule, r.outcome);
          if (r.outcome == dsl::Outcome::kError) {
            if (fault.empty())
              fault = "the validation of " + c.cm->m->Key() + " in state " + s->name + " (" +
                      Located(s->validate->at) + "): " + RuleFault(*c.cm->rules, rule, r);
          } else if (r.outcome == dsl::Outcome::kFailed) {
            passed = false;
            const dsl::RuleInfo& info = c.cm->rules->rule(rule);
            c.errors.push_back(
                {info.code, r.message, info.name,
                 policy.RecordedPath(info.file) + ":" + std::to_string(info.pos.line)});
          }
        }
        if (!fault.empty()) {
          c.server_fault = fault;
          return;
        }
        if (coverage) coverage->Validate(*c.cm->m, *s, passed);
        Enter(c, passed ? s->validate->passed : s->validate->failed,
              passed ? "validation passed" : "validation failed", cs_id);
        continue;
      }
      bool moved = false;
      for (const auto& ct : c.cm->transitions) {
        const Transition& t = *ct.t;
        if (t.from != c.row.state || !t.is_automatic()) continue;
        dsl::Bindings b = Bind(*ct.env, *c.cm, cs_id, &c.row, entity, "");
        if (!Holds(c, ct, b)) {
          if (!c.server_fault.empty()) return;
          continue;
        }
        Take(c, ct, "automatic", cs_id, b);
        moved = true;
        break;
      }
      if (!moved) return;  // Waits for an event or a timer.
    }
    c.server_fault = c.cm->m->Key() + " took more than " + std::to_string(kMaxStepsPerRun) +
                     " automatic steps in one go: its machine loops";
  }

  // A change's transition's guard; one that cannot be evaluated sets the change's server fault.
  bool Holds(ChangeWork& c, const CompiledTransition& ct, const dsl::Bindings& b) {
    return GuardHolds(*c.cm, ct, b, &c.server_fault);
  }

  // Whether a transition's guard holds: its inline condition and its named rules (one whose `when`
  // is false does not stand in the way). A guard that cannot be evaluated (an error value, a rule
  // the machine's rules lack) holds no more than a false one, and *fault says why, naming the
  // guard and where it is written: the caller fails with SERVER_FAULT instead of taking another
  // transition in its place.
  bool GuardHolds(const CompiledMachine& cm, const CompiledTransition& ct, const dsl::Bindings& b,
                  std::string* fault) {
    const Transition& t = *ct.t;
    const auto guard_of = [&] {
      return "the guard of " + cm.m->Key() + "'s transition " + Describe(t) + " (" + Located(t.at) +
             ")";
    };
    if (ct.guard) {
      Value g = ct.guard->Evaluate(b, ctx);
      if (g.kind != ValueKind::kBool) {
        *fault = guard_of() + " could not be evaluated: " +
                 (g.is_error() ? std::string(g.error_message()) : "it is not a bool") + " (in " +
                 t.guard.text + " at " + Located(t.guard.at) + ")";
        return false;
      }
      if (!g.b) return false;
    }
    for (const auto& name : t.rules) {
      int i = cm.rules->FindRule(name);
      if (i < 0) {
        *fault = guard_of() + " names rule " + name + ", which its rules do not define";
        return false;
      }
      const size_t rule = static_cast<size_t>(i);
      dsl::Outcome o = cm.rules->Test(rule, b, ctx);
      if (coverage) coverage->EvaluateRule(*cm.rules, rule, o);
      if (o == dsl::Outcome::kError) {
        *fault = guard_of() + ": " + RuleFault(*cm.rules, rule, cm.rules->Evaluate(rule, b, ctx));
        return false;
      }
      if (o == dsl::Outcome::kFailed) return false;
    }
    return true;
  }

  // Delivers an event from outside (a review, a cancel) to the changes waiting for it.
  bool DeliverToChanges(std::vector<ChangeWork>& changes, const std::string& event,
                        const std::string& event_json, const std::string& cs_id,
                        const std::string& submitter) {
    bool delivered = false;
    for (auto& c : changes) {
      const EventSpec* spec = c.cm->m->FindEvent(event);
      if (!spec) continue;
      WorkEntity* entity = c.row.entity_id.empty() ? nullptr : Load(c.row.entity_id);
      const std::string owner = entity ? entity->row.owner : submitter;
      for (const auto& ct : c.cm->transitions) {
        if (ct.t->from != c.row.state || ct.t->event != event) continue;
        if (!ActorMay(spec->actors, cmd->actor, owner))
          throw Refusal{Result::kAccessDenied,
                        "AccessDeniedException",
                        cmd->actor + " may not send '" + event + "' to " + c.cm->m->Key() +
                            " (allowed: " + JoinActors(spec->actors) + ")",
                        {}};
        dsl::Bindings b = Bind(*ct.env, *c.cm, cs_id, &c.row, entity, event_json);
        if (!Holds(c, ct, b)) {
          // A guard that cannot be evaluated ends the search: the event was received, and the
          // change fails with SERVER_FAULT rather than take the next transition in its place.
          if (!c.server_fault.empty()) {
            delivered = true;
            break;
          }
          continue;
        }
        Take(c, ct, event, cs_id, b);
        delivered = true;
        Advance(c, cs_id);
        break;
      }
    }
    return delivered;
  }

  static std::string JoinActors(const std::vector<std::string>& actors) {
    std::string out;
    for (const auto& a : actors) out += (out.empty() ? "" : ", ") + a;
    return out;
  }

  // ---- Change sets ----------------------------------------------------------------------------
  // The set's status from its changes' statuses, and, when it has ended, the outcome.
  void Settle(ChangeSetRow& cs, std::vector<ChangeWork>& changes) {
    CheckChangeDeadlines(cs.id, changes);
    bool any_failed = false, all_done = true, any_applying = false, any_cancelled = false;
    std::string fault;
    for (auto& c : changes) {
      if (!c.server_fault.empty()) fault = c.server_fault;
      std::string st = c.row.status;
      any_failed = any_failed || st == "FAILED";
      any_cancelled = any_cancelled || st == "CANCELLED";
      any_applying = any_applying || st == "APPLYING";
      all_done = all_done && st == "SUCCEEDED";
    }
    if (fault.empty() && all_done && !any_failed && !any_cancelled) fault = EntityDeadlineFault();
    if (!fault.empty()) {
      cs.status = "FAILED";
      cs.failure_code = "SERVER_FAULT";
      cs.failure_description = fault;
    } else if (any_failed) {
      cs.status = "FAILED";
      cs.failure_code = "CLIENT_ERROR";
      cs.failure_description =
          "Change set preparation has failed. For details see 'ErrorDetailList'.";
    } else if (any_cancelled) {
      cs.status = "CANCELLED";
    } else if (all_done) {
      cs.status = "SUCCEEDED";
    } else {
      cs.status = any_applying ? "APPLYING" : "PREPARING";
    }
    for (auto& c : changes) c.row.errors = ErrorsJson(c.errors, c.row.errors);
    const bool ended =
        cs.status == "SUCCEEDED" || cs.status == "FAILED" || cs.status == "CANCELLED";
    if (ended) {
      cs.ended_at = cmd->at;
      for (auto& c : changes) {
        if (c.row.status == "PREPARING" || c.row.status == "APPLYING")
          c.row.status = cs.status == "SUCCEEDED" ? "SUCCEEDED" : cs.status;
      }
    }
    cs.changes.clear();
    for (auto& c : changes) cs.changes.push_back(c.row);
  }

  static std::string ErrorsJson(const std::vector<ErrorDetail>& errors, const std::string& before) {
    if (errors.empty()) return before.empty() ? "[]" : before;
    std::string out = before.size() > 2 ? before.substr(0, before.size() - 1) + "," : "[";
    for (size_t i = 0; i < errors.size(); ++i) {
      const ErrorDetail& e = errors[i];
      if (i) out += ",";
      out += "{\"ErrorCode\":" + JsonString(e.code) + ",\"ErrorMessage\":" + JsonString(e.message);
      if (!e.rule.empty())
        out += ",\"Rule\":" + JsonString(e.rule) + ",\"Source\":" + JsonString(e.source);
      out += "}";
    }
    return out + "]";
  }

  // Writes what a command did: the set, its history, and, when it succeeded, its effects.
  void Commit(ChangeSetRow& cs, bool insert, std::vector<ChangeWork>& changes) {
    const bool open = cs.status == "PREPARING" || cs.status == "APPLYING";
    const bool applied = cs.status == "SUCCEEDED";
    std::set<std::string> touched;
    for (auto& c : changes)
      if (!c.row.entity_id.empty()) touched.insert(c.row.entity_id);
    if (open) {
      cs.working = WorkingJson();
    } else {
      cs.working.clear();
    }
    if (!persist) return;
    // What a change waited for in a state it left is void, even if it came back to that state
    // (ScheduleChangeTimers arms that state's timers anew), and a closed set waits for nothing.
    if (!insert)
      for (const auto& c : changes)
        if (c.moved || !open) store->DeleteChangeTimers(cs.id, c.row.index);
    // The set's row is written after its history, so that it can keep the range of seqs that
    // History(id) reads.
    const auto append = [&](std::vector<HistoryRow>& rows) {
      for (auto& h : rows) {
        store->AppendHistory(&h);
        if (h.change_set != cs.id) continue;
        if (cs.history_from == 0) cs.history_from = h.seq;
        cs.history_to = h.seq;
      }
    };
    const auto write_set = [&] {
      if (insert)
        store->InsertChangeSet(cs);
      else
        store->UpdateChangeSet(cs);
    };
    append(request_history);
    if (applied) {
      // A send from another set may have reached an entity this one only named (it had not
      // changed it then), and that set's working copy now holds it changed: writing it here would
      // be overwritten when that set applies. The command waits for that set instead (a timer,
      // which cannot be refused, is left to write).
      if (cmd->actor != "timer")
        for (const auto& [id, w] : work)
          if (w.changed && w.in_store) RefuseIfHeld(w, cs.id, /*if_changed=*/true);
      for (auto& [id, w] : work) {
        if (!w.changed) {
          if (w.in_store && w.row.locked_by == cs.id) {
            w.row.locked_by.clear();
            store->UpdateEntity(w.row);
          }
          continue;
        }
        w.row.locked_by.clear();
        w.row.revision += 1;
        w.row.updated_at = cmd->at;
        if (w.in_store)
          store->UpdateEntity(w.row);
        else
          store->InsertEntity(w.row);
        if (w.state_changed)
          entered.push_back(id);
        else if (w.in_store && w.row.document != w.stored_document)
          retimed.push_back(id);
      }
      append(entity_history);
      write_set();
      // EntityTags land with the entities they tag: a change set that fails or is cancelled tags
      // nothing, and an entity a set creates is tagged once it exists.
      for (const auto& c : changes) {
        if (c.row.entity_tags.empty() || c.row.entity_id.empty()) continue;
        auto row = store->GetEntity(c.row.entity_id);
        if (!row) continue;
        const std::string arn = EntityArn(row->type, row->id);
        for (const TagRow& t : c.row.entity_tags) store->PutTag(arn, t);
      }
      for (const auto& id : touched) {
        if (work.count(id)) continue;  // Written above, its lock released there.
        auto row = store->GetEntity(id);
        if (row && row->locked_by == cs.id) {
          row->locked_by.clear();
          store->UpdateEntity(*row);
        }
      }
      ScheduleEntityTimers();
    } else {
      write_set();
      // Not applied (yet): the entities stay as they were, held while the set is open: those
      // of its changes and those its working copy changed (sent to), so that no other set can
      // change what this one will write when it applies.
      for (const auto& [id, w] : work)
        if (w.changed && w.in_store) touched.insert(id);
      for (const auto& id : touched) {
        auto row = store->GetEntity(id);
        if (!row) continue;
        if (open ? row->locked_by == cs.id : row->locked_by != cs.id) continue;
        row->locked_by = open ? cs.id : "";
        store->UpdateEntity(*row);
      }
      if (open) ScheduleChangeTimers(cs, changes);
    }
  }

  // The entities an open set would change, kept with it until it resumes.
  std::string WorkingJson() {
    std::string out = "{\"entities\":[";
    bool first = true;
    for (const auto& [id, w] : work) {
      if (!w.changed) continue;
      if (!first) out += ",";
      first = false;
      out += "{\"id\":" + JsonString(w.row.id) + ",\"type\":" + JsonString(w.row.type) +
             ",\"owner\":" + JsonString(w.row.owner) + ",\"state\":" + JsonString(w.row.state) +
             ",\"revision\":" + std::to_string(w.row.revision) +
             ",\"document\":" + JsonString(w.row.document) +
             ",\"created_at\":" + JsonString(w.row.created_at) +
             ",\"in_store\":" + (w.in_store ? "true" : "false") +
             ",\"state_changed\":" + (w.state_changed ? "true" : "false") + "}";
    }
    out += "],\"history\":[";
    for (size_t i = 0; i < entity_history.size(); ++i) {
      const auto& h = entity_history[i];
      if (i) out += ",";
      out += "{\"change_index\":" + std::to_string(h.change_index) +
             ",\"entity\":" + JsonString(h.entity) + ",\"event\":" + JsonString(h.event) +
             ",\"from\":" + JsonString(h.from_state) + ",\"to\":" + JsonString(h.to_state) +
             ",\"actor\":" + JsonString(h.actor) + ",\"at\":" + JsonString(h.at) + "}";
    }
    return out + "]}";
  }

  // The working state of an open change set as a value: {entities: [...], history: [...]}.
  Value ReadWorking(const ChangeSetRow& cs) {
    static const dsl::TypePtr type = [] {
      dsl::TypePtr entity_type = dsl::Type::Object({{"id", dsl::Type::String(), false},
                                                    {"type", dsl::Type::String(), false},
                                                    {"owner", dsl::Type::String(), false},
                                                    {"state", dsl::Type::String(), false},
                                                    {"revision", dsl::Type::Int(), false},
                                                    {"document", dsl::Type::Dyn(), false},
                                                    {"created_at", dsl::Type::String(), false},
                                                    {"in_store", dsl::Type::Bool(), false},
                                                    {"state_changed", dsl::Type::Bool(), false}});
      dsl::TypePtr history_type = dsl::Type::Object({{"change_index", dsl::Type::Int(), false},
                                                     {"entity", dsl::Type::String(), false},
                                                     {"event", dsl::Type::String(), false},
                                                     {"from", dsl::Type::String(), false},
                                                     {"to", dsl::Type::String(), false},
                                                     {"actor", dsl::Type::String(), false},
                                                     {"at", dsl::Type::String(), false}});
      return dsl::Type::Object({{"entities", dsl::Type::List(entity_type), false},
                                {"history", dsl::Type::List(history_type), false}});
    }();
    Value v;
    std::vector<dsl::JsonIssue> issues;
    if (!dsl::JsonToValue(cs.working, type, "working", arena, &v, &issues))
      throw std::runtime_error("change set " + cs.id + " has an unreadable working state");
    return v;
  }

  // Whether the open change set's working copy has changed entity `id`.
  bool WorkingChanges(const ChangeSetRow& cs, const std::string& id) {
    if (cs.working.empty()) return false;
    const dsl::ListRep* entities = ReadWorking(cs).obj->slots[0].list;
    for (uint32_t i = 0; i < entities->size; ++i)
      if (entities->items[i].obj->slots[0].str() == id) return true;
    return false;
  }

  void RestoreWorking(const ChangeSetRow& cs) {
    if (cs.working.empty()) return;
    const Value v = ReadWorking(cs);
    const dsl::ListRep* es = v.obj->slots[0].list;
    for (uint32_t i = 0; i < es->size; ++i) {
      const dsl::ObjectRep* e = es->items[i].obj;
      WorkEntity& w = work[std::string(e->slots[0].str())];
      w.row.id = std::string(e->slots[0].str());
      w.row.type = std::string(e->slots[1].str());
      w.row.owner = std::string(e->slots[2].str());
      w.row.state = std::string(e->slots[3].str());
      w.row.revision = e->slots[4].i;
      // The document's text, kept as a string so that it comes back byte for byte (a working
      // copy written before kept it as an object, read back with its keys in sorted order).
      w.row.document = e->slots[5].kind == ValueKind::kString ? std::string(e->slots[5].str())
                                                              : dsl::ToJson(e->slots[5]);
      w.row.created_at = std::string(e->slots[6].str());
      w.in_store = e->slots[7].b;
      w.state_changed = e->slots[8].b;
      w.changed = true;
      if (w.in_store) {
        auto stored = store->GetEntity(w.row.id);
        if (stored) {
          w.row.locked_by = stored->locked_by;
          w.stored_document = stored->document;
          // A timer may have written the entity since the copy was made (the copy took the same
          // step, FollowHolders): applying the copy moves the revision past the store's.
          w.row.revision = stored->revision;
        }
      }
    }
    const dsl::ListRep* hs = v.obj->slots[1].list;
    for (uint32_t i = 0; i < hs->size; ++i) {
      const dsl::ObjectRep* h = hs->items[i].obj;
      HistoryRow row;
      row.change_set = cs.id;
      row.change_index = static_cast<int>(h->slots[0].i);
      row.entity = std::string(h->slots[1].str());
      row.event = std::string(h->slots[2].str());
      row.from_state = std::string(h->slots[3].str());
      row.to_state = std::string(h->slots[4].str());
      row.actor = std::string(h->slots[5].str());
      row.at = std::string(h->slots[6].str());
      entity_history.push_back(row);
    }
  }

  // ---- Timers ---------------------------------------------------------------------------------
  // When a timer transition of `cm` entered at `entered_us` falls due: "" with *due set, or why
  // its deadline cannot be computed (its expression is an error, or the time leaves the calendar).
  // A timer without a deadline would never fire: the callers fail or refuse instead.
  std::string DueOf(const CompiledMachine& cm, const CompiledTransition& ct, const dsl::Bindings& b,
                    int64_t entered_us, int64_t* due) {
    const Transition& t = *ct.t;
    const auto fault = [&](const std::string& why) {
      return "the deadline of " + cm.m->Key() + "'s transition " + Describe(t) + " (" +
             Located(t.at) + ") cannot be computed: " + why;
    };
    if (ct.after) {
      Value d = ct.after->Evaluate(b, ctx);
      if (d.is_error()) return fault(std::string(d.error_message()));
      if (d.kind != ValueKind::kDuration) return fault("it is not a duration");
      if (!dsl::AddDurationToTimestamp(entered_us, d.dur(), due))
        return fault(dsl::FormatTimestamp(entered_us) + " + " + dsl::FormatDuration(d.dur()) +
                     " is outside the years 0001 to 9999");
      return "";
    }
    if (ct.at) {
      Value v = ct.at->Evaluate(b, ctx);
      if (v.is_error()) return fault(std::string(v.error_message()));
      if (v.kind != ValueKind::kTimestamp) return fault("it is not a timestamp");
      *due = v.ts;
      return "";
    }
    return fault("it has neither after nor at");
  }

  // The timers a change's state sets when it is entered, and those of the entities a succeeding
  // set changes, must all have deadlines: checked before the set settles, so that one that has
  // none fails it with SERVER_FAULT instead of leaving a set or an entity that waits forever.
  void CheckChangeDeadlines(const std::string& cs_id, std::vector<ChangeWork>& changes) {
    for (auto& c : changes) {
      if (!c.server_fault.empty() || c.failed || c.row.entered_at != cmd->at) continue;
      const State* s = c.cm->m->FindState(c.row.state);
      if (!s || s->final) continue;
      for (const auto& ct : c.cm->transitions) {
        if (ct.t->from != c.row.state || !ct.t->is_timer()) continue;
        WorkEntity* entity = c.row.entity_id.empty() ? nullptr : Load(c.row.entity_id);
        int64_t due = 0;
        c.server_fault =
            DueOf(*c.cm, ct, Bind(*ct.env, *c.cm, cs_id, &c.row, entity, ""), cmd->at_us, &due);
        if (!c.server_fault.empty()) break;
      }
    }
  }

  std::string EntityDeadlineFault() {
    for (auto& [id, w] : work) {
      if (!w.changed) continue;
      const bool moved = w.in_store && w.row.document != w.stored_document;
      if (!w.state_changed && !moved) continue;
      const CompiledMachine* em = EntityMachine(w.row.type);
      if (!em) continue;
      for (const auto& ct : em->transitions) {
        if (ct.t->from != w.row.state || !ct.t->is_timer()) continue;
        if (!w.state_changed && !ct.at) continue;  // Only an `at` follows its document.
        int64_t due = 0;
        std::string fault =
            DueOf(*em, ct, Bind(*ct.env, *em, "", nullptr, &w, "{}"), cmd->at_us, &due);
        if (!fault.empty()) return id + ": " + fault;
      }
    }
    return "";
  }

  void ScheduleChangeTimers(const ChangeSetRow& cs, std::vector<ChangeWork>& changes) {
    for (auto& c : changes) {
      for (size_t i = 0; i < c.cm->transitions.size(); ++i) {
        const auto& ct = c.cm->transitions[i];
        if (ct.t->from != c.row.state || !ct.t->is_timer()) continue;
        if (c.row.entered_at != cmd->at) continue;  // Set when the state was entered, once.
        WorkEntity* entity = c.row.entity_id.empty() ? nullptr : Load(c.row.entity_id);
        dsl::Bindings b = Bind(*ct.env, *c.cm, cs.id, &c.row, entity, "");
        int64_t due = 0;
        // CheckChangeDeadlines failed the set before it stayed open on a timer without one.
        if (!DueOf(*c.cm, ct, b, cmd->at_us, &due).empty()) continue;
        TimerRow t;
        t.due_us = due;
        t.due = dsl::FormatTimestamp(due);
        t.change_set = cs.id;
        t.change_index = c.row.index;
        t.state = c.row.state;
        t.transition = static_cast<int>(i);
        store->AddTimer(&t);
      }
    }
  }

  // Sets the timers of the entities that entered a state or moved an `at` deadline. Returns why
  // one has no deadline, if one has none, and *entity names it (a set that applies checked them
  // before, see EntityDeadlineFault; an import is refused, a timer's effects are noted).
  std::string ScheduleEntityTimers(std::string* entity = nullptr) {
    std::string fault;
    const auto note = [&](const std::string& id, const std::string& why) {
      if (!fault.empty()) return;
      fault = why;
      if (entity) *entity = id;
    };
    for (const auto& id : entered) {
      WorkEntity* w = Load(id);
      if (!w) continue;
      const CompiledMachine* em = EntityMachine(w->row.type);
      if (!em) continue;
      // The entity left the state its timers were armed in: they are void, even if it is back in
      // that state (armed anew below).
      if (em->timed) store->DeleteEntityTimers(id);
      for (size_t i = 0; i < em->transitions.size(); ++i) {
        const auto& ct = em->transitions[i];
        if (ct.t->from != w->row.state || !ct.t->is_timer()) continue;
        dsl::Bindings b = Bind(*ct.env, *em, "", nullptr, w, "{}");
        int64_t due = 0;
        if (std::string why = DueOf(*em, ct, b, cmd->at_us, &due); !why.empty()) {
          note(id, why);
          continue;
        }
        AddEntityTimer(id, w->row.state, i, due);
      }
    }
    entered.clear();
    // An entity that stayed in its state but whose document moved an `at` deadline (an offer's
    // end date, extended): a timer at the new time. The one set before is found stale when due.
    for (const auto& id : retimed) {
      WorkEntity* w = Load(id);
      if (!w) continue;
      const CompiledMachine* em = EntityMachine(w->row.type);
      if (!em) continue;
      WorkEntity before = *w;
      before.row.document = w->stored_document;
      for (size_t i = 0; i < em->transitions.size(); ++i) {
        const auto& ct = em->transitions[i];
        if (ct.t->from != w->row.state || !ct.at) continue;
        int64_t due = 0, was = 0;
        std::string why =
            DueOf(*em, ct, Bind(*ct.env, *em, "", nullptr, w, "{}"), cmd->at_us, &due);
        if (!why.empty()) {
          note(id, why);
          continue;
        }
        if (DueOf(*em, ct, Bind(*ct.env, *em, "", nullptr, &before, "{}"), cmd->at_us, &was)
                .empty() &&
            was == due)
          continue;
        AddEntityTimer(id, w->row.state, i, due);
      }
    }
    retimed.clear();
    return fault;
  }

  void AddEntityTimer(const std::string& id, const std::string& state, size_t transition,
                      int64_t due) {
    TimerRow t;
    t.due_us = due;
    t.due = dsl::FormatTimestamp(due);
    t.entity = id;
    t.state = state;
    t.transition = static_cast<int>(transition);
    store->AddTimer(&t);
  }

  // Fires every timer due at or before `until_us`, earliest first; each sees the clock at its due
  // time. Returns how many were due but left for the next command (past kMaxTimerRounds).
  int64_t FireTimers(int64_t until_us) {
    const Command* outer = cmd;
    // Timers run before the command, so `persist` may still say what the previous command was
    // (false after a VALIDATE): their effects are always kept.
    persist = true;
    fired.clear();
    fired_count = 0;
    int64_t deferred = 0;
    for (int round = 0;; ++round) {
      auto due = store->DueTimers(until_us);
      if (due.empty()) break;
      if (round == kMaxTimerRounds) {
        deferred = static_cast<int64_t>(due.size());
        break;
      }
      const TimerRow t = due.front();
      store->DeleteTimer(t.id);
      Command at = *outer;
      at.actor = "timer";
      at.at_us = t.due_us;
      at.at = t.due;
      cmd = &at;
      ResetWork();
      if (!t.change_set.empty())
        FireChangeTimer(t);
      else
        FireEntityTimer(t);
      cmd = outer;
    }
    cmd = outer;
    ResetWork();
    return deferred;
  }

  void FireChangeTimer(const TimerRow& t) {
    auto cs = ReadResolved(t.change_set);
    if (!cs || (cs->status != "PREPARING" && cs->status != "APPLYING")) return;
    std::vector<ChangeWork> changes = Resume(*cs);
    RestoreWorking(*cs);
    for (auto& c : changes) {
      if (c.row.index != t.change_index || c.row.state != t.state) continue;
      const auto& ct = c.cm->transitions[static_cast<size_t>(t.transition)];
      WorkEntity* entity = c.row.entity_id.empty() ? nullptr : Load(c.row.entity_id);
      dsl::Bindings b = Bind(*ct.env, *c.cm, cs->id, &c.row, entity, "");
      if (!Holds(c, ct, b)) continue;
      NoteFired(cs->id, c.row.index, c.row.entity_id, c.row.state, ct.t->to);
      Take(c, ct, "timer", cs->id, b);
      Advance(c, cs->id);
    }
    Settle(*cs, changes);
    Commit(*cs, false, changes);
  }

  void FireEntityTimer(const TimerRow& t) {
    WorkEntity* w = Load(t.entity);
    if (!w || w->row.state != t.state) return;
    const CompiledMachine* em = EntityMachine(w->row.type);
    if (!em) return;
    const auto& ct = em->transitions[static_cast<size_t>(t.transition)];
    dsl::Bindings b = Bind(*ct.env, *em, "", nullptr, w, "{}");
    if (ct.at) {
      // The document may have moved the deadline since this timer was set: then a timer at the
      // new time exists, and this one is stale.
      int64_t due = 0;
      if (std::string why = DueOf(*em, ct, b, t.due_us, &due); !why.empty()) {
        TimerFault(*w, why);
        return;
      }
      if (due != t.due_us) return;
    }
    std::string fault;
    if (!GuardHolds(*em, ct, b, &fault)) {
      if (!fault.empty()) TimerFault(*w, fault);
      return;
    }
    timer_steps.push_back({w->row.id, "", "", t.transition, t.due_us});
    fault = RunActions(ct, *em, "", nullptr, w, b, nullptr);
    if (!fault.empty()) {
      TimerFault(*w, fault);
      return;
    }
    NoteFired("", -1, w->row.id, w->row.state, ct.t->to);
    HistoryRow h;
    h.entity = w->row.id;
    h.event = "timer";
    h.from_state = w->row.state;
    h.to_state = ct.t->to;
    h.actor = "timer";
    h.at = cmd->at;
    entity_history.push_back(h);
    if (coverage) {
      coverage->TakeTransition(*em->m, *ct.t);
      coverage->EnterState(*em->m, ct.t->to);
    }
    if (ct.t->to != w->row.state) w->state_changed = true;
    w->row.state = ct.t->to;
    w->changed = true;
    // Commit the entity effects directly: no change set holds them.
    for (auto& [id, e] : work) {
      if (!e.changed) continue;
      e.row.revision += 1;
      e.row.updated_at = cmd->at;
      if (e.in_store)
        store->UpdateEntity(e.row);
      else
        store->InsertEntity(e.row);
      if (e.state_changed)
        entered.push_back(id);
      else if (e.in_store && e.row.document != e.stored_document)
        retimed.push_back(id);
    }
    for (auto& hr : entity_history) store->AppendHistory(&hr);
    // Its effects are kept (no set is there to fail); an entity they left without a deadline says
    // so in its history.
    std::string without;
    if (std::string fault = ScheduleEntityTimers(&without); !fault.empty()) {
      if (const WorkEntity* e = Load(without)) TimerFault(*e, fault);
    }
    FollowHolders();
  }

  // A timer cannot wait for a hold to end (an agreement ends at its time, not a day later) nor be
  // refused, so it changes a held entity as stored, and the holder's working copy takes the same
  // step: the event delivered again, or the timer's transition taken again, on the copy, without
  // its sends (the timer sent them). Both updates are kept, and the holder applies to the entity
  // as it then is, as it does for an entity it has not changed. Deterministic: the steps follow in
  // the order the timer took them. A copy that cannot take an event (no transition of its state
  // applies) could only write back what the timer undid: its change set fails instead. A timer
  // transition the copy is not waiting for (another state, a moved `at`, a guard that does not
  // hold) is left to the copy's own timers, set when it applies.
  void FollowHolders() {
    std::vector<TimerStep> steps;
    steps.swap(timer_steps);
    for (const TimerStep& step : steps) {
      auto stored = store->GetEntity(step.entity);
      if (!stored || stored->locked_by.empty()) continue;
      auto holder = store->GetChangeSet(stored->locked_by);
      if (!holder || (holder->status != "PREPARING" && holder->status != "APPLYING")) continue;
      if (!WorkingChanges(*holder, step.entity)) continue;
      FollowHolder(*holder, step);
    }
  }

  void FollowHolder(ChangeSetRow& holder, const TimerStep& step) {
    std::map<std::string, WorkEntity> outer_work;
    std::vector<HistoryRow> outer_history, outer_requests;
    outer_work.swap(work);
    outer_history.swap(entity_history);
    outer_requests.swap(request_history);
    const std::vector<std::string> outer_entered = entered, outer_retimed = retimed;
    RestoreWorking(holder);
    const size_t history_kept = entity_history.size();
    WorkEntity* copy = &work[step.entity];
    std::string failure;
    following = true;
    if (!step.event.empty()) {
      bool fault = false;
      failure = Deliver(step.event, copy, holder.id, -1, nullptr, step.data, &fault);
    } else if (const CompiledMachine* em = EntityMachine(copy->row.type)) {
      const auto& ct = em->transitions[static_cast<size_t>(step.transition)];
      dsl::Bindings b = Bind(*ct.env, *em, "", nullptr, copy, "{}");
      int64_t due = step.due_us;
      std::string fault;
      if (copy->row.state == ct.t->from &&
          (!ct.at || DueOf(*em, ct, b, step.due_us, &due).empty()) && due == step.due_us &&
          GuardHolds(*em, ct, b, &fault)) {
        if (RunActions(ct, *em, "", nullptr, copy, b, nullptr).empty()) {
          if (ct.t->to != copy->row.state) copy->state_changed = true;
          copy->row.state = ct.t->to;
        }
      }
    }
    following = false;
    // The timer's history is the entity's; the copy keeps only what its own changes did.
    entity_history.resize(history_kept);
    if (failure.empty()) {
      holder.working = WorkingJson();
      store->UpdateChangeSet(holder);
    } else {
      FailHolder(holder, step.entity + " changed while change set " + holder.id +
                             " held it, and its working copy cannot follow: " + failure);
    }
    work.swap(outer_work);
    entity_history.swap(outer_history);
    request_history.swap(outer_requests);
    entered = outer_entered;
    retimed = outer_retimed;
  }

  // Ends an open change set whose working copy can no longer be applied (FollowHolder): its open
  // changes fail, and its holds are released.
  void FailHolder(ChangeSetRow& holder, const std::string& why) {
    auto cs = ReadResolved(holder.id);
    if (!cs) return;
    std::vector<ChangeWork> changes = Resume(*cs);
    for (auto& c : changes) {
      if (c.row.status != "PREPARING" && c.row.status != "APPLYING") continue;
      c.errors.push_back({"RESOURCE_CHANGED", why, "", ""});
      c.row.status = "FAILED";
    }
    LogEvent(
        LogLevel::kWarn,
        {{"event", "holder failed"}, {"at", cmd->at}, {"change_set", cs->id}, {"message", why}});
    Settle(*cs, changes);
    Commit(*cs, false, changes);
  }

  void NoteFired(const std::string& cs_id, int change, const std::string& entity,
                 const std::string& from, const std::string& to) {
    if (fired.size() < kMaxTimersListed)
      fired.push_back({cmd->at, cs_id, change, entity, from, to});
    ++fired_count;
  }

  // What a tick answers: the clock, and the timers it fired (the first kMaxTimersListed of them,
  // and how many in all).
  std::string TickJson(const Command& c) {
    std::string out = "{\"Clock\":" + JsonString(c.at) +
                      ",\"TimersFired\":" + std::to_string(fired_count) + ",\"Timers\":[";
    for (size_t i = 0; i < fired.size(); ++i) {
      const FiredTimer& f = fired[i];
      if (i) out += ",";
      out += "{\"At\":" + JsonString(f.at);
      if (!f.change_set.empty())
        out += ",\"ChangeSetId\":" + JsonString(f.change_set) +
               ",\"Change\":" + std::to_string(f.change);
      out += ",\"Entity\":" + JsonString(f.entity) + ",\"From\":" + JsonString(f.from) +
             ",\"To\":" + JsonString(f.to) + "}";
    }
    return out + "]}";
  }

  // An entity's timer that could not run (its guard or an action could not be evaluated): no
  // change set is there to fail, so the entity stays as it is, and its history and the log say
  // why, rather than the timer passing unseen.
  void TimerFault(const WorkEntity& w, const std::string& fault) {
    LogEvent(LogLevel::kError, {{"event", "timer fault"},
                                {"at", cmd->at},
                                {"entity", w.row.id},
                                {"state", w.row.state},
                                {"message", fault}});
    HistoryRow h;
    h.entity = w.row.id;
    h.event = "timer fault";
    h.from_state = w.row.state;
    h.to_state = w.row.state;
    h.actor = "timer";
    h.at = cmd->at;
    h.data = "{\"Fault\":" + JsonString(fault) + "}";
    store->AppendHistory(&h);
  }

  // A change set as stored (describe.h), with its DetailsDocument references resolved again: the
  // log keeps the body as sent, and the engine runs on the identifiers the set's changes were given
  // when it started.
  std::optional<ChangeSetRow> ReadResolved(const std::string& id) {
    auto cs = ReadChangeSet(*store, id);
    if (cs) ResolveReferences(&*cs);
    return cs;
  }

  void AttachResolved(ChangeSetRow* cs) {
    AttachDetails(*store, cs);
    ResolveReferences(cs);
  }

  void ResolveReferences(ChangeSetRow* cs) {
    for (ChangeRow& c : cs->changes) {
      const CompiledMachine* cm = nullptr;
      try {
        cm = PinnedMachine(c);
      } catch (const DefinitionsMissing& e) {
        throw DefinitionsMissing("change set " + cs->id + ": " + e.what());
      }
      if (cm == nullptr || !cm->m->input.has_references) continue;
      std::vector<Violation> ignored;
      std::vector<DetailsReference> references;
      ValidateShape(c.details, cm->m->input, "", &ignored, &references);
      if (references.empty()) continue;
      std::vector<std::string> ids;
      for (const DetailsReference& ref : references) {
        auto named = std::find_if(cs->changes.begin(), cs->changes.end(), [&](const ChangeRow& o) {
          return o.change_name == ref.change_name;
        });
        ids.push_back(named != cs->changes.end() ? named->entity_id : "");
      }
      c.details = ReplaceReferences(c.details, references, ids);
    }
  }

  std::vector<ChangeWork> Resume(const ChangeSetRow& cs) {
    std::vector<ChangeWork> changes;
    for (const auto& row : cs.changes) {
      ChangeWork c;
      c.row = row;
      c.cm = PinnedMachine(row);
      if (!c.cm)
        throw DefinitionsMissing("change set " + cs.id + " runs " + row.change_type + " on " +
                                 row.entity_type +
                                 ", which no machine of the current workflows defines; run the "
                                 "command with the --workflows folders it started under");
      changes.push_back(std::move(c));
    }
    return changes;
  }

  void ResetWork() {
    documents.clear();
    work.clear();
    entity_history.clear();
    request_history.clear();
    entered.clear();
    retimed.clear();
    timer_steps.clear();
    arena.Reset();
  }

  // ---- Commands -------------------------------------------------------------------------------
  Outcome Start(const Command& c) {
    // Idempotency first: a retry of an accepted request answers as the original did.
    if (!c.client_request_token.empty()) {
      // A token is its actor's own: another account's change set is neither found nor named.
      if (auto original = store->FindChangeSetByToken(c.actor, c.client_request_token)) {
        if (original->body_hash == c.body_hash) {
          Outcome o;
          if (respond) {
            AttachResolved(&*original);
            o.body = DescribeChangeSet(*original, WaitingFor(*store, *original));
          }
          o.failed = original->status == "FAILED";
          o.status = original->status;
          o.change_set_id = original->id;
          return o;
        }
        throw Refusal{Result::kConflict,
                      "ConflictException",
                      "ClientRequestToken " + c.client_request_token +
                          " was already used for change set " + original->id +
                          " with a different body",
                      {}};
      }
    }
    // Shape: every change against its machine's input schema; every violation at once.
    std::vector<Violation> violations;
    std::vector<ChangeWork> changes;
    // $ChangeName references inside each change's DetailsDocument, in fields declared refers_to.
    std::vector<std::vector<DetailsReference>> references(c.changes.size());
    for (size_t i = 0; i < c.changes.size(); ++i) {
      const ChangeRequest& r = c.changes[i];
      std::string path = "ChangeSet[" + std::to_string(i) + "]";
      ChangeWork w;
      w.cm = RequestMachine(r.change_type, r.entity_type);
      if (!w.cm) {
        violations.push_back(
            {path + ".ChangeType", UnknownChangeType(policy, r.change_type, r.entity_type)});
        continue;
      }
      ValidateShape(r.details, w.cm->m->input, path + ".DetailsDocument", &violations,
                    w.cm->m->input.has_references ? &references[i] : nullptr);
      w.row.index = static_cast<int>(i);
      w.row.change_type = r.change_type;
      w.row.entity_type = r.entity_type;
      w.row.change_name = r.change_name;
      w.row.machine_hash = w.cm->m->content_hash;
      w.row.details = r.details;
      for (const Tag& t : r.entity_tags) w.row.entity_tags.push_back({t.key, t.value});
      changes.push_back(std::move(w));
    }
    CheckDetailsReferences(c, references, &violations);
    if (!violations.empty())
      throw Refusal{Result::kRefused, "ValidationException",
                    std::to_string(violations.size()) + " problem" +
                        (violations.size() == 1 ? "" : "s") + " with the request",
                    violations};

    ChangeSetRow cs;
    cs.seq = store->LastChangeSetSeq() + 1;
    cs.command_seq = command_seq;
    cs.id = ChangeSetId(cs.seq);
    cs.name = c.change_set_name;
    cs.token = c.client_request_token;
    cs.actor = c.actor;
    cs.body_hash = c.body_hash;
    cs.intent = c.intent.empty() ? "APPLY" : c.intent;
    cs.started_at = c.at;
    persist = cs.intent != "VALIDATE";

    // Entities in dependency order: a change naming $Name runs after the change named Name.
    std::vector<size_t> order = Order(c, references);
    std::map<std::string, std::string> created_ids;  // ChangeName -> identifier
    for (size_t i : order) {
      const ChangeRequest& r = c.changes[i];
      ChangeWork& w = changes[i];
      std::string id = r.reference.empty() ? r.entity_id : created_ids[r.reference];
      WorkEntity* e = id.empty() ? nullptr : Load(id);
      const Creates creates = w.cm->m->creates;
      if (creates == Creates::kAlways) {
        if (!r.entity_id.empty())
          throw Refusal{Result::kRefused,
                        "ValidationException",
                        r.change_type + " creates its entity: give no Entity.Identifier",
                        {}};
        e = Create(r.entity_type, c.actor, "", "{}");
      } else if (!e && creates == Creates::kIfMissing && !id.empty()) {
        RefuseIfReserved(id, Result::kConflict, "ResourceInUseException");
        e = Create(r.entity_type, c.actor, id, "{}");
      }
      if (!e)
        throw Refusal{
            Result::kNotFound,
            "ResourceNotFoundException",
            "no " + r.entity_type + " with identifier " + (id.empty() ? "(none given)" : id),
            {}};
      if (e->row.type != r.entity_type)
        throw Refusal{Result::kRefused,
                      "ValidationException",
                      id + " is a " + e->row.type + ", not a " + r.entity_type,
                      {}};
      RefuseIfHeld(*e, "", /*if_changed=*/false);
      if (r.revision && e->in_store && *r.revision != e->row.revision)
        throw Refusal{Result::kConflict,
                      "ValidationException",
                      e->row.id + "@" + std::to_string(*r.revision) +
                          " is stale: the latest revision is " + std::to_string(e->row.revision),
                      {}};
      if (!ActorMay(w.cm->m->actors, c.actor, e->row.owner))
        throw Refusal{Result::kAccessDenied,
                      "AccessDeniedException",
                      c.actor + " may not run " + r.change_type + " on " + e->row.id,
                      {}};
      w.row.entity_id = e->row.id;
      if (!r.change_name.empty()) created_ids[r.change_name] = e->row.id;
      // The changes referred to ran first (Order), so their entities have identifiers now, in
      // the working copy when they are new: the field reads as that identifier from here on.
      if (!references[i].empty()) {
        std::vector<std::string> ids;
        for (const DetailsReference& ref : references[i])
          ids.push_back(created_ids[ref.change_name]);
        w.row.details = ReplaceReferences(w.row.details, references[i], ids);
      }
    }
    // Who may send each change, where that depends on its data: a failed access rule refuses the
    // whole request, as the actors check above does.
    for (size_t i : order) {
      ChangeWork& w = changes[i];
      if (w.cm->m->access.empty()) continue;
      WorkEntity* entity = w.row.entity_id.empty() ? nullptr : Load(w.row.entity_id);
      dsl::Bindings b = Bind(w.cm->env, *w.cm, cs.id, &w.row, entity, "");
      for (const auto& name : w.cm->m->access) {
        // An access rule that cannot be evaluated (or is missing) refuses: it never lets through.
        int rule = w.cm->rules->FindRule(name);
        if (rule < 0)
          throw Refusal{Result::kAccessDenied,
                        "AccessDeniedException",
                        "the access rules of " + w.cm->m->Key() + " name rule " + name +
                            ", which its rules do not define: the request is refused",
                        {}};
        dsl::RuleResult r = w.cm->rules->Evaluate(static_cast<size_t>(rule), b, ctx);
        if (coverage) coverage->EvaluateRule(*w.cm->rules, static_cast<size_t>(rule), r.outcome);
        if (r.outcome == dsl::Outcome::kError)
          throw Refusal{Result::kAccessDenied,
                        "AccessDeniedException",
                        "the access rules of " + w.cm->m->Key() + " (" +
                            Located(w.cm->m->access_at) +
                            "): " + RuleFault(*w.cm->rules, static_cast<size_t>(rule), r) +
                            ": the request is refused",
                        {}};
        if (r.outcome == dsl::Outcome::kFailed)
          throw Refusal{Result::kAccessDenied, "AccessDeniedException", r.message, {}};
      }
    }
    // Run every change from its initial state.
    for (size_t i : order) {
      ChangeWork& w = changes[i];
      const State* initial = nullptr;
      for (const auto& s : w.cm->m->states)
        if (s.initial) initial = &s;
      w.row.state = "";
      Enter(w, initial->name, "start", cs.id);
      Advance(w, cs.id);
    }
    Settle(cs, changes);
    Commit(cs, true, changes);
    // ChangeSetTags tag the set at once, whatever becomes of it; a VALIDATE keeps nothing.
    if (persist) PutTags(ChangeSetArn(cs.id), c.tags);
    Outcome o;
    if (respond) o.body = DescribeChangeSet(cs, WaitingFor(*store, cs));
    o.failed = cs.status == "FAILED";
    o.status = cs.status;
    o.change_set_id = cs.id;
    return o;
  }

  // Each reference of a DetailsDocument names another change of the set, of the entity type its
  // field refers to (as ParseCommand checks Entity.Identifier references).
  static void CheckDetailsReferences(const Command& c,
                                     const std::vector<std::vector<DetailsReference>>& references,
                                     std::vector<Violation>* violations) {
    std::map<std::string, size_t> by_name;
    for (size_t i = 0; i < c.changes.size(); ++i)
      if (!c.changes[i].change_name.empty()) by_name[c.changes[i].change_name] = i;
    for (size_t i = 0; i < references.size(); ++i) {
      for (const DetailsReference& ref : references[i]) {
        const std::string name = "'" + ref.change_name + "'";
        auto it = by_name.find(ref.change_name);
        if (it == by_name.end()) {
          violations->push_back({ref.path, "refers to ChangeName " + name +
                                               ", which no change in this change set has"});
        } else if (it->second == i) {
          violations->push_back({ref.path, "refers to its own ChangeName " + name});
        } else if (c.changes[it->second].entity_type != ref.entity_type) {
          violations->push_back({ref.path, "refers to ChangeName " + name +
                                               ", whose entity type is " +
                                               c.changes[it->second].entity_type +
                                               "; this field refers to " + ref.entity_type});
        }
      }
    }
  }

  // The order the changes run in: each after the changes it names, in its Entity.Identifier or in
  // its DetailsDocument.
  std::vector<size_t> Order(const Command& c,
                            const std::vector<std::vector<DetailsReference>>& references) {
    std::vector<size_t> order;
    std::vector<bool> placed(c.changes.size(), false);
    std::map<std::string, size_t> by_name;
    for (size_t i = 0; i < c.changes.size(); ++i)
      if (!c.changes[i].change_name.empty()) by_name[c.changes[i].change_name] = i;
    const auto ready = [&](const std::string& name) {
      auto it = by_name.find(name);
      return it != by_name.end() && placed[it->second];
    };
    // Stable: repeatedly place the first change whose references are placed (references to
    // nowhere were refused before; a cycle is refused here).
    while (order.size() < c.changes.size()) {
      bool progress = false;
      for (size_t i = 0; i < c.changes.size(); ++i) {
        if (placed[i]) continue;
        const std::string& ref = c.changes[i].reference;
        if (!ref.empty() && !ready(ref)) continue;
        if (!std::all_of(references[i].begin(), references[i].end(),
                         [&](const DetailsReference& r) { return ready(r.change_name); }))
          continue;
        placed[i] = true;
        order.push_back(i);
        progress = true;
      }
      if (!progress)
        throw Refusal{Result::kRefused,
                      "ValidationException",
                      "the changes' $ChangeName references form a cycle",
                      {}};
    }
    return order;
  }

  Outcome EventCommand(const Command& c, const std::string& event, const std::string& event_json) {
    auto cs = ReadResolved(c.change_set_id);
    if (!cs)
      throw Refusal{
          Result::kNotFound, "ResourceNotFoundException", "no change set " + c.change_set_id, {}};
    const bool open = cs->status == "PREPARING" || cs->status == "APPLYING";
    if (!open)
      throw Refusal{Result::kRefused,
                    "ValidationException",
                    "change set " + cs->id + " has ended (" + cs->status + ")",
                    {}};
    std::vector<ChangeWork> changes = Resume(*cs);
    RestoreWorking(*cs);
    if (event == kCancelEvent) {
      if (cs->status != "PREPARING")
        throw Refusal{Result::kRefused,
                      "ValidationException",
                      "change set " + cs->id + " is " + cs->status +
                          ": only a PREPARING change set can be cancelled",
                      {}};
      if (c.actor != cs->actor && c.actor != "operations")
        throw Refusal{Result::kAccessDenied,
                      "AccessDeniedException",
                      c.actor + " may not cancel change set " + cs->id,
                      {}};
      // A machine that says what cancelling does gets the event; otherwise every open change ends.
      if (!DeliverToChanges(changes, kCancelEvent, "{}", cs->id, cs->actor)) {
        for (auto& ch : changes)
          if (ch.row.status == "PREPARING" || ch.row.status == "APPLYING")
            ch.row.status = "CANCELLED";
      }
    } else if (!DeliverToChanges(changes, event, event_json, cs->id, cs->actor)) {
      throw Refusal{Result::kRefused,
                    "ValidationException",
                    "change set " + cs->id + " is not waiting for '" + event + "'",
                    {}};
    }
    Settle(*cs, changes);
    if (cs->status == "CANCELLED" && cs->ended_at.empty()) cs->ended_at = cmd->at;
    Commit(*cs, false, changes);
    Outcome o;
    if (respond) o.body = DescribeChangeSet(*cs, WaitingFor(*store, *cs));
    // A rejection that fails the set did what it was asked: that is success, told apart from a
    // refused one (exit 0, not 1). An approval that ends FAILED did not.
    o.failed = cs->status == "FAILED" && c.decision != "reject";
    o.status = cs->status;
    o.change_set_id = cs->id;
    return o;
  }

  Outcome Import(const Command& c) {
    const CompiledMachine* em = EntityMachine(c.entity_type);
    if (!em)
      throw Refusal{Result::kRefused,
                    "ValidationException",
                    "no machine for entity type " + c.entity_type,
                    {}};
    if (!em->m->FindState(c.state))
      throw Refusal{
          Result::kRefused, "ValidationException", c.entity_type + " has no state " + c.state, {}};
    if (store->GetEntity(c.entity_id))
      throw Refusal{Result::kConflict, "ConflictException", c.entity_id + " exists already", {}};
    RefuseIfReserved(c.entity_id, Result::kConflict, "ConflictException");
    Value doc = Document(c.document, em->doc_type);
    EntityRow row;
    row.id = c.entity_id;
    row.type = c.entity_type;
    row.owner = c.owner;
    row.state = c.state;
    if (coverage) coverage->EnterState(*em->m, c.state);
    row.revision = 1;
    row.document = dsl::ToJson(doc);
    row.created_at = row.updated_at = undated ? "" : c.at;
    store->InsertEntity(row);
    HistoryRow h;
    h.entity = row.id;
    h.event = "import";
    h.to_state = row.state;
    h.actor = c.actor;
    h.at = row.created_at;
    store->AppendHistory(&h);
    entered.push_back(row.id);  // Its state's timers (an agreement's end) count from now.
    if (std::string fault = ScheduleEntityTimers(); !fault.empty())
      throw Refusal{
          Result::kRefused,
          "ValidationException",
          "the imported " + c.entity_type + " " + c.entity_id + " cannot be kept: " + fault,
          {}};
    Outcome o;
    if (respond) o.body = DescribeEntity(row);
    return o;
  }

  // ---- Tags and resource policies -------------------------------------------------------------
  // The change set or entity c.resource_arn names, if c.actor may see it: another account's is not
  // found, as DescribeChangeSet and DescribeEntity answer.
  Resource OwnedResource(const Command& c) {
    std::optional<Resource> r = FindResourceFor(*store, c.resource_arn, c.actor);
    if (!r)
      throw Refusal{Result::kNotFound,
                    "ResourceNotFoundException",
                    "Resource " + c.resource_arn + " not found",
                    {}};
    return *r;
  }

  void PutTags(const std::string& arn, const std::vector<Tag>& tags) {
    if (tags.empty()) return;
    for (const Tag& t : tags) store->PutTag(arn, {t.key, t.value});
    // Refused after the writes: the refusal rolls them back.
    const size_t n = store->Tags(arn).size();
    if (n > kMaxTags)
      throw Refusal{Result::kRefused,
                    "ValidationException",
                    "Tags: " + arn + " would have " + std::to_string(n) + " tags; at most " +
                        std::to_string(kMaxTags) + " are allowed",
                    {}};
  }

  Outcome ResourceCommand(const Command& c) {
    const Resource r = OwnedResource(c);
    switch (c.op) {
      case Op::kTagResource:
        PutTags(c.resource_arn, c.tags);
        break;
      case Op::kUntagResource:
        for (const std::string& key : c.tag_keys) store->DeleteTag(c.resource_arn, key);
        break;
      case Op::kPutResourcePolicy:
        if (r.change_set)
          throw Refusal{Result::kRefused,
                        "ValidationException",
                        "ResourceArn: " + c.resource_arn +
                            " is a change set; resource policies are for entities",
                        {}};
        store->PutResourcePolicy(c.resource_arn, c.policy);
        break;
      case Op::kDeleteResourcePolicy:
        if (!store->DeleteResourcePolicy(c.resource_arn))
          throw Refusal{Result::kNotFound,
                        "ResourceNotFoundException",
                        "Resource " + c.resource_arn + " has no resource policy",
                        {}};
        break;
      default:
        break;
    }
    Outcome o;
    if (respond) o.body = "{}";
    return o;
  }

  // ---- Upgrades -------------------------------------------------------------------------------
  // Moves every open change set that can to today's request machines (upgrade.h), all in this
  // command's transaction: its changes' definitions, its armed timers onto the new transitions
  // (due when they were), the new machine's timers armed from when each change entered its state,
  // and an "upgrade" row in its history. Those that cannot move stay as they are.
  Outcome Upgrade(const Command& c) {
    if (c.actor != "operations")
      throw Refusal{Result::kAccessDenied,
                    "AccessDeniedException",
                    (c.actor.empty() ? std::string("an upgrade without an actor") : c.actor) +
                        " may not move change sets to other definitions: only operations may",
                    {}};
    UpgradePlan plan = PlanUpgrade(*store, policy);
    for (ChangeSetUpgrade& u : plan.change_sets) {
      if (!u.movable()) continue;
      auto cs = ReadChangeSet(*store, u.change_set);
      if (!cs) continue;
      for (const ChangeUpgrade& cu : u.changes)
        for (ChangeRow& row : cs->changes)
          if (row.index == cu.index) row.machine_hash = cu.to_hash;
      ResetWork();
      ResolveReferences(&*cs);
      RestoreWorking(*cs);
      // Every new deadline first: a set whose deadline cannot be computed does not move at all.
      std::vector<TimerRow> armed;
      for (ChangeUpgrade& cu : u.changes) {
        const ChangeRow& row =
            *std::find_if(cs->changes.begin(), cs->changes.end(),
                          [&](const ChangeRow& r) { return r.index == cu.index; });
        const CompiledMachine* cm = RequestMachine(row.change_type, row.entity_type);
        int64_t entered_us = 0;
        ParseAt(row.entered_at, &entered_us);
        for (int j : cu.new_timers) {
          const CompiledTransition& ct = cm->transitions[static_cast<size_t>(j)];
          WorkEntity* entity = row.entity_id.empty() ? nullptr : Load(row.entity_id);
          dsl::Bindings b = Bind(*ct.env, *cm, cs->id, &row, entity, "");
          TimerRow t;
          if (std::string why = DueOf(*cm, ct, b, entered_us, &t.due_us); !why.empty()) {
            cu.blockers.push_back("its new timer's deadline cannot be computed: " + why);
            continue;
          }
          t.due = dsl::FormatTimestamp(t.due_us);
          t.change_set = cs->id;
          t.change_index = row.index;
          t.state = row.state;
          t.transition = j;
          armed.push_back(std::move(t));
        }
      }
      if (!u.movable()) continue;
      for (const ChangeUpgrade& cu : u.changes) {
        for (int64_t id : cu.void_timers) store->DeleteTimer(id);
        for (const TimerMove& m : cu.timers) {
          store->DeleteTimer(m.timer_id);
          TimerRow t;
          t.due_us = m.due_us;
          t.due = m.due;
          t.change_set = cs->id;
          t.change_index = cu.index;
          t.state = cu.state;
          t.transition = m.to_transition;
          store->AddTimer(&t);
        }
        HistoryRow h;
        h.change_set = cs->id;
        h.change_index = cu.index;
        h.entity = cu.entity_id;
        h.event = "upgrade";
        h.from_state = cu.state;
        h.to_state = cu.state;
        h.actor = c.actor;
        h.at = c.at;
        h.data =
            "{\"From\":" + JsonString(cu.from_hash) + ",\"To\":" + JsonString(cu.to_hash) + "}";
        store->AppendHistory(&h);
        if (cs->history_from == 0) cs->history_from = h.seq;
        cs->history_to = h.seq;
      }
      for (TimerRow& t : armed) store->AddTimer(&t);
      store->UpdateChangeSet(*cs);
      plan.moved.push_back(cs->id);
    }
    ResetWork();
    Outcome o;
    if (respond) {
      o.body = plan.ToJson(true);
      o.report = plan.ToText(true);
    }
    o.failed = plan.moved.size() < plan.change_sets.size();
    return o;
  }

  // ---- Responses ------------------------------------------------------------------------------
  // What the command log keeps of an outcome: enough to audit, not the whole response (that is in
  // the change set itself).
  std::string OutcomeJson(const Outcome& o) {
    std::string out = "{\"Result\":" + JsonString(ResultName(o.result));
    if (!o.error_type.empty())
      out += ",\"Error\":" + JsonString(o.error_type) + ",\"Message\":" + JsonString(o.message);
    if (!o.change_set_id.empty()) out += ",\"ChangeSetId\":" + JsonString(o.change_set_id);
    if (!o.status.empty()) out += ",\"Status\":" + JsonString(o.status);
    if (o.timers_deferred > 0) out += ",\"TimersDeferred\":" + std::to_string(o.timers_deferred);
    return out + "}";
  }

  Outcome Run(const Command& c) {
    cmd = &c;
    persist = true;
    ResetWork();
    Outcome o;
    try {
      switch (c.op) {
        case Op::kStartChangeSet:
          o = Start(c);
          break;
        case Op::kReview:
          o = EventCommand(
              c, c.decision,
              c.decision == "reject" ? "{\"Reason\":" + JsonString(c.reason) + "}" : "{}");
          break;
        case Op::kCancelChangeSet:
          o = EventCommand(c, kCancelEvent, "{}");
          break;
        case Op::kTick:
          // Moving time fires every timer due for everyone: an operator's act, never a seller's
          // or an anonymous one (the line of a log written before ticks named an actor too).
          if (c.actor != "operations")
            throw Refusal{Result::kAccessDenied,
                          "AccessDeniedException",
                          (c.actor.empty() ? std::string("a tick without an actor") : c.actor) +
                              " may not move the clock: only operations may (tick --actor "
                              "operations)",
                          {}};
          o.body = TickJson(c);  // Bounded: at most kMaxTimersListed timers.
          break;
        case Op::kImport:
          o = Import(c);
          break;
        case Op::kTagResource:
        case Op::kUntagResource:
        case Op::kPutResourcePolicy:
        case Op::kDeleteResourcePolicy:
          o = ResourceCommand(c);
          break;
        case Op::kUpgrade:
          o = Upgrade(c);
          break;
      }
    } catch (const Refusal& r) {
      o = Outcome();
      o.result = r.result;
      o.error_type = r.type;
      o.message = r.message;
      std::string v;
      for (size_t i = 0; i < r.violations.size(); ++i) {
        if (i) v += ",";
        v += "{\"Path\":" + JsonString(r.violations[i].path) +
             ",\"Message\":" + JsonString(r.violations[i].message) + "}";
      }
      o.body = "{\"__type\":" + JsonString(r.type) + ",\"Message\":" + JsonString(r.message) +
               (r.violations.empty() ? "" : ",\"Violations\":[" + v + "]") + "}";
    }
    return o;
  }
};

Engine::Engine(const Policy& policy, Store* store)
    : impl_(std::make_unique<EngineImpl>(policy, store)) {
  store->Write([&] { impl_->Compile(); });
}

Engine::~Engine() = default;

void Engine::set_respond(bool respond) { impl_->respond = respond; }

void Engine::set_coverage(Coverage* coverage) {
  impl_->coverage = coverage;
  if (!coverage) return;
  coverage->AddPolicy(impl_->policy);
  for (const auto& [m, cm] : impl_->machines)
    if (cm->rules) coverage->AddRules(*cm->rules);
}

Store* Engine::store() const { return impl_->store; }

std::string Engine::DescribeChangeSet(const std::string& id) {
  auto cs = impl_->ReadResolved(id);
  return cs ? engine::DescribeChangeSet(*cs, WaitingFor(*impl_->store, *cs)) : "";
}
std::string Engine::DescribeEntity(const std::string& id) {
  return Catalog(impl_->store).DescribeEntity(id);
}
std::string Engine::ListChangeSets(const std::string& status, const std::string& entity,
                                   const std::string& change_type) {
  return Catalog(impl_->store).ListChangeSets(status, entity, change_type);
}
std::string Engine::ListEntities(const std::string& type, const std::string& state) {
  return Catalog(impl_->store).ListEntities(type, state);
}
std::string Engine::History(const std::string& id) { return Catalog(impl_->store).History(id); }

namespace {

// Timers left due past kMaxTimerRounds are not lost (they fire before the next command), but the
// operator who moved the clock expects them done: say so, in the log and in the answer.
void ReportDeferred(const Command& command, int64_t deferred, Outcome* outcome) {
  outcome->timers_deferred = deferred;
  const std::string count = std::to_string(deferred);
  const std::string fired = std::to_string(kMaxTimerRounds);
  LogEvent(LogLevel::kWarn,
           {{"event", "timers deferred"},
            {"op", OpName(command.op)},
            {"at", command.at},
            {"fired", fired},
            {"deferred", count},
            {"message", count + " due timer(s) left for the next command: at most " + fired +
                            " fire before one command"}});
  std::string& body = outcome->body;
  if (body.size() >= 2 && body.front() == '{' && body.back() == '}') {
    body.insert(body.size() - 1,
                std::string(body.size() > 2 ? "," : "") + "\"TimersDeferred\":" + count);
  }
}

}  // namespace

Outcome Engine::Execute(const Command& received) {
  EngineImpl& e = *impl_;
  // A refused command changes nothing: no timer fires and the clock stays, so that asking too early
  // or for the wrong thing never moves time on for everyone else; only its command-log entry is
  // kept, for a replay to refuse it again. A VALIDATE keeps the timers that fell due before it, as
  // any accepted command does, and nothing of its own. Rather than a savepoint around every
  // command, which copies each page it changes, the command runs at the top of its transaction;
  // when it is refused (or validates), that transaction is rolled back and a second one logs it
  // (firing the same timers first for a VALIDATE).
  struct Rerun {
    Outcome outcome;
    bool refused;
    int64_t command_seq;  // The log position it was decided at.
  };
  std::optional<Rerun> rerun;
  Outcome outcome;
  const auto attempt = [&] {
    e.store->Write([&] {
      // Numbered before it runs, so that a change set can name the command that made it; the log
      // entry is written last (it carries the outcome).
      e.command_seq = e.store->LastCommandSeq() + 1;
      // Another process committed between the two transactions (the lock is free between them):
      // the outcome was decided on a state the log no longer leads to, and logging it would give a
      // log that does not replay. Decide again, here.
      if (rerun && rerun->command_seq != e.command_seq) rerun.reset();
      std::string clock = e.store->Clock();
      int64_t clock_us = 0;
      if (!clock.empty()) ParseAt(clock, &clock_us);
      // A command without a time (an import line, usually) happens at the store's clock.
      Command command = received;
      // An import line without At is logged as it came: importing what existed before is not a
      // moment of the story, and the replay runs it at the same clock.
      const bool timeless_import = command.op == Op::kImport && command.at.empty();
      e.undated = timeless_import && clock_us <= 0;
      if (command.at.empty()) {
        command.at = clock.empty() ? "1970-01-01T00:00:00Z" : clock;
        command.at_us = clock_us;
      }
      bool moves_clock = true;
      const bool tick = command.op == Op::kTick;
      // A tick's time is its To (tick --to). No command moves the clock more than kMaxTickSpanUs
      // at once: a mistyped year would fire a century of timers, and a request accepted at
      // 9999-12-31 would leave every later command "before the store's clock" for good.
      const bool too_far = clock_us > 0 && command.at_us - clock_us > kMaxTickSpanUs;
      if (!clock.empty() && (command.at_us < clock_us || too_far)) {
        outcome = Outcome();
        outcome.result = Result::kRefused;
        outcome.error_type = "ValidationException";
        const std::string when = (tick ? "To (tick --to) " : "At ") + command.at;
        outcome.message =
            too_far
                ? when + " is more than " + std::to_string(kMaxTickSpanYears) +
                      " years past the store's clock " + clock + ": move the clock in smaller steps"
                : when + " is before the store's clock " + clock + ": time only moves forward";
        outcome.body =
            "{\"__type\":\"ValidationException\",\"Message\":" + JsonString(outcome.message) + "}";
        moves_clock = false;
      } else {
        e.cmd = &command;
        int64_t deferred = 0;
        if (rerun) {
          if (!rerun->refused) deferred = e.FireTimers(command.at_us);
          moves_clock = !rerun->refused;
          outcome = std::move(rerun->outcome);
          // A VALIDATE's id was answered: it is never handed out again, although its change set
          // was rolled back (else describing it would show the next request, maybe another
          // seller's).
          if (!rerun->refused && !outcome.change_set_id.empty())
            e.store->ReserveChangeSetSeq(ChangeSetSeq(outcome.change_set_id));
        } else {
          deferred = e.FireTimers(command.at_us);
          outcome = e.Run(command);
          const bool validate = command.op == Op::kStartChangeSet && command.intent == "VALIDATE";
          const bool refused = outcome.result != Result::kOk;
          if (refused || validate) throw Rerun{std::move(outcome), refused, e.command_seq};
        }
        if (deferred > 0) ReportDeferred(command, deferred, &outcome);
      }
      // Every command at info, refusals too: a refusal is an answer, not a fault of sellerflow.
      LogEvent(LogLevel::kInfo, {{"event", "command"},
                                 {"op", OpName(command.op)},
                                 {"at", command.at},
                                 {"actor", command.actor},
                                 {"result", ResultName(outcome.result)},
                                 {"change_set", outcome.change_set_id},
                                 {"status", outcome.status},
                                 {"error", outcome.error_type},
                                 {"message", outcome.message}});
      CommandRow row;
      if (timeless_import) {
        Command as_given = command;
        as_given.at.clear();
        row.command = as_given.ToJsonLine();
      } else {
        row.command = command.ToJsonLine();
      }
      row.outcome = e.OutcomeJson(outcome);
      row.at = moves_clock && (clock.empty() || command.at_us > clock_us) ? command.at : clock;
      e.store->AppendCommand(&row);
      if (row.seq != e.command_seq)
        throw std::logic_error("command logged as " + std::to_string(row.seq) + ", expected " +
                               std::to_string(e.command_seq));
    });
  };
  // Twice as a rule; again only when another process wrote in between (each time, it made
  // progress).
  for (;;) {
    try {
      attempt();
      break;
    } catch (Rerun& r) {
      rerun = std::move(r);
    }
  }
  return outcome;
}

std::string Engine::ExplainRule(const std::string& change_set_id, int change,
                                const std::string& rule) {
  EngineImpl& e = *impl_;
  std::optional<ChangeSetRow> cs = ReadChangeSet(*e.store, change_set_id);
  if (!cs) return "";
  auto row = std::find_if(cs->changes.begin(), cs->changes.end(),
                          [&](const ChangeRow& c) { return c.index == change; });
  if (row == cs->changes.end()) return "";
  // The engine's working state is a command's; this read borrows it and leaves it empty. `request`
  // is as the rule saw it: the submitter, the intent, and the time the set ended (it failed then).
  Command as_run;
  as_run.actor = cs->actor;
  as_run.intent = cs->intent;
  as_run.at = cs->ended_at.empty() ? cs->started_at : cs->ended_at;
  ParseAt(as_run.at, &as_run.at_us);
  struct Reset {
    EngineImpl& e;
    ~Reset() {
      e.ResetWork();
      e.cmd = nullptr;
    }
  } reset{e};
  e.ResetWork();
  e.cmd = &as_run;
  const CompiledMachine* cm = nullptr;
  try {
    cm = e.PinnedMachine(*row);
  } catch (const DefinitionsMissing&) {
    return "";
  }
  if (cm == nullptr || !cm->rules) return "";
  const int i = cm->rules->FindRule(rule);
  if (i < 0) return "";
  WorkEntity* entity = row->entity_id.empty() ? nullptr : e.Load(row->entity_id);
  dsl::Bindings b = e.Bind(cm->env, *cm, cs->id, &*row, entity, "");
  return cm->rules->Explain(static_cast<size_t>(i), b, e.ctx).ToJson();
}

}  // namespace sellerflow::engine
