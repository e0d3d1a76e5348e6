// What-if: a store's command log replayed under other definitions into a scratch store, compared.
#include "engine/run/what_if.h"

#include <simdjson.h>
#include <stdlib.h>

#include <filesystem>
#include <set>
#include <unordered_map>

#include "dsl/diagnostics.h"
#include "dsl/utf8.h"
#include "engine/read/command.h"
#include "engine/run/engine.h"
#include "engine/run/replay.h"

namespace sellerflow::engine {

using dsl::JsonString;

namespace {

constexpr size_t kWhatIfTextValue = 160;  // Bytes of a value the text output shows.

// A temporary folder that is removed however the run ends: a what-if leaves nothing behind.
class ScratchDir {
 public:
  explicit ScratchDir(const std::string& under) {
    std::string pattern =
        (under.empty() ? std::string("/tmp") : under) + "/sellerflow-what-if-XXXXXX";
    if (mkdtemp(pattern.data()) == nullptr)
      throw StoreError(StoreError::Kind::kIo,
                       "cannot make a scratch folder under " + (under.empty() ? "/tmp" : under));
    path_ = pattern;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

struct ErrorItem {
  std::string code, message, rule;
};

// An ErrorDetailList as the engine writes it; what cannot be read counts as its text alone.
std::vector<ErrorItem> ReadErrors(const std::string& json) {
  std::vector<ErrorItem> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) || !doc.is_array()) return {{json, "", ""}};
  for (simdjson::dom::element e : doc.get_array()) {
    ErrorItem item;
    std::string_view v;
    if (!e["ErrorCode"].get(v)) item.code = v;
    if (!e["ErrorMessage"].get(v)) item.message = v;
    if (!e["Rule"].get(v)) item.rule = v;
    out.push_back(std::move(item));
  }
  return out;
}

std::string ErrorsText(const std::vector<ErrorItem>& errors) {
  std::string out;
  for (const ErrorItem& e : errors) {
    if (!out.empty()) out += "; ";
    out += e.code + ": " + e.message;
  }
  return out;
}

// A document's top-level fields, each as its JSON text, sorted by name.
std::map<std::string, std::string> Fields(const std::string& json) {
  std::map<std::string, std::string> out;
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) || !doc.is_object()) {
    out[""] = json;
    return out;
  }
  for (auto [key, value] : doc.get_object()) out[std::string(key)] = simdjson::minify(value);
  return out;
}

void Compare(const std::string& field, const std::string& now, const std::string& would,
             std::vector<WhatIfField>* out) {
  if (now != would) out->push_back({field, now, would});
}

// What a command answered, as "Ok" or "Refused (ValidationException: 1 problem with the
// request)".
std::string ResultText(const std::string& result, const std::string& error,
                       const std::string& message) {
  if (error.empty()) return result;
  return result + " (" + error + (message.empty() ? "" : ": " + message) + ")";
}

// The "Message" member of a JSON object ("" when it has none).
std::string MessageOf(const std::string& json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view v;
  if (parser.parse(json).get(doc) || doc["Message"].get(v)) return "";
  return std::string(v);
}

// The violations of a refusal's response body, each as "path: message", and the fields they
// name with change indexes dropped ("ChangeSet[].DetailsDocument.ProductTitle"): a refusal at
// the input names no rule, so the summary counts the field the input schema refused.
void ReadViolations(const std::string& body, std::string* text, std::set<std::string>* fields) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array list;
  if (parser.parse(body).get(doc) || doc["Violations"].get(list)) return;
  for (simdjson::dom::element e : list) {
    std::string_view path, message;
    if (e["Path"].get(path) || e["Message"].get(message)) continue;
    *text += (text->empty() ? "" : "; ") + std::string(path) + ": " + std::string(message);
    std::string field;
    bool in_index = false;
    for (char ch : path) {
      if (ch == '[') in_index = true;
      if (!in_index || ch == '[') field += ch;
      if (ch == ']') in_index = false, field += ch;
    }
    fields->insert("input " + field);
  }
}

// Compares two change sets started by the same command. Where both made or named an entity under
// different ids (a refused creation earlier shifts the ids of those after it), records the pair in
// `same_entity` instead of reporting it: the entity is compared under both ids.
void CompareSets(const ChangeSetRow* now, const ChangeSetRow* would, WhatIfChangeSet* d,
                 std::map<std::string, int64_t>* by_rule,
                 std::map<std::string, std::string>* same_entity) {
  auto status = [](const ChangeSetRow* cs) { return cs ? cs->status : std::string(); };
  Compare("Status", status(now), status(would), &d->fields);
  if (!now || !would) return;
  Compare("FailureCode", now->failure_code, would->failure_code, &d->fields);
  Compare("FailureDescription", now->failure_description, would->failure_description, &d->fields);
  std::set<std::string> rules;  // Whose error stands on one side only.
  const size_t n = std::max(now->changes.size(), would->changes.size());
  for (size_t i = 0; i < n; ++i) {
    const ChangeRow* a = i < now->changes.size() ? &now->changes[i] : nullptr;
    const ChangeRow* b = i < would->changes.size() ? &would->changes[i] : nullptr;
    const std::string at = "Changes[" + std::to_string(i) + "].";
    const std::string ida = a ? a->entity_id : "", idb = b ? b->entity_id : "";
    if (!ida.empty() && !idb.empty())
      same_entity->emplace(ida, idb);
    else
      Compare(at + "EntityId", ida, idb, &d->fields);
    Compare(at + "State", a ? a->state : "", b ? b->state : "", &d->fields);
    Compare(at + "Status", a ? a->status : "", b ? b->status : "", &d->fields);
    // Errors are compared as sets, and each side shows only the errors the other lacks: a rule
    // edit adds or removes one error among several, and the rest would only hide it.
    const auto ea = a ? ReadErrors(a->errors) : std::vector<ErrorItem>();
    const auto eb = b ? ReadErrors(b->errors) : std::vector<ErrorItem>();
    auto key = [](const ErrorItem& e) { return e.code + ": " + e.message; };
    std::set<std::string> ka, kb;
    for (const auto& e : ea) ka.insert(key(e));
    for (const auto& e : eb) kb.insert(key(e));
    std::vector<ErrorItem> only_a, only_b;
    for (const auto& e : ea)
      if (!kb.count(key(e))) only_a.push_back(e);
    for (const auto& e : eb)
      if (!ka.count(key(e))) only_b.push_back(e);
    Compare(at + "Errors", ErrorsText(only_a), ErrorsText(only_b), &d->fields);
    for (const auto* side : {&only_a, &only_b})
      for (const auto& e : *side)
        if (!e.rule.empty()) rules.insert(e.rule);
  }
  for (const auto& r : rules) ++(*by_rule)[r];
}

void CompareEntity(const EntityRow& x, const EntityRow& y, WhatIfEntity* d) {
  Compare("Type", x.type, y.type, &d->fields);
  Compare("State", x.state, y.state, &d->fields);
  Compare("Owner", x.owner, y.owner, &d->fields);
  Compare("Revision", std::to_string(x.revision), std::to_string(y.revision), &d->fields);
  auto fx = Fields(x.document), fy = Fields(y.document);
  std::set<std::string> names;
  for (const auto& [k, v] : fx) names.insert(k);
  for (const auto& [k, v] : fy) names.insert(k);
  for (const auto& k : names) {
    auto p = fx.find(k), q = fy.find(k);
    Compare("Document." + k, p == fx.end() ? "" : p->second, q == fy.end() ? "" : q->second,
            &d->fields);
  }
}

// Entities are matched by id, except those `same_entity` pairs (made by the same change under
// different ids). Reported in the store's id order, then the new ones in theirs.
void CompareEntities(Store& now, Store& would,
                     const std::map<std::string, std::string>& same_entity, WhatIfReport* report) {
  std::map<std::string, EntityRow> b;
  for (EntityRow& e : would.ListEntities("", "")) b.emplace(e.id, std::move(e));
  std::set<std::string> matched;
  for (const EntityRow& x : now.ListEntities("", "")) {
    auto m = same_entity.find(x.id);
    const std::string& id = m == same_entity.end() ? x.id : m->second;
    auto y = b.find(id);
    if (y == b.end() || matched.count(id)) {
      report->entities_differing.push_back({x.id, "", x.type, "missing", {{"State", x.state, ""}}});
      continue;
    }
    matched.insert(id);
    WhatIfEntity d{x.id, id == x.id ? "" : id, x.type, "changed", {}};
    CompareEntity(x, y->second, &d);
    if (!d.fields.empty() || !d.would_be.empty())
      report->entities_differing.push_back(std::move(d));
  }
  for (const auto& [id, y] : b)
    if (!matched.count(id))
      report->entities_differing.push_back({id, "", y.type, "new", {{"State", "", y.state}}});
}

std::string FieldsJson(const std::vector<WhatIfField>& fields) {
  std::string out = "[";
  for (size_t i = 0; i < fields.size(); ++i) {
    if (i) out += ",";
    out += "{\"Field\":" + JsonString(fields[i].field) + ",\"Now\":" + JsonString(fields[i].now) +
           ",\"Would\":" + JsonString(fields[i].would) + "}";
  }
  return out + "]";
}

std::string CountsJson(const std::map<std::string, int64_t>& counts) {
  std::string out = "{";
  for (const auto& [k, v] : counts)
    out += (out.size() > 1 ? "," : "") + JsonString(k) + ":" + std::to_string(v);
  return out + "}";
}

std::string CountsText(const std::map<std::string, int64_t>& counts) {
  std::string out;
  for (const auto& [k, v] : counts) out += (out.empty() ? "" : ", ") + k + " " + std::to_string(v);
  return out.empty() ? "none" : out;
}

std::string Plural(int64_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

}  // namespace

WhatIfReport WhatIf(Store& store, const Policy& policy, const std::string& scratch_dir) {
  ScratchDir dir(scratch_dir);
  WhatIfReport report;
  // What each command answered in the store, by seq, for commands that made no change set.
  std::unordered_map<int64_t, std::pair<std::string, std::string>> answered_now;
  {
    std::unique_ptr<Store> scratch = Store::Open(dir.path() + "/what-if.db");
    Engine engine(policy, scratch.get());
    engine.set_respond(false);
    // One transaction for the whole log, as `replay --commit batch`: a scratch store need not
    // survive a crash, and a commit per command would be most of the time.
    scratch->BeginBatch();
    std::vector<std::pair<int64_t, std::pair<std::string, std::string>>> answered_would;
    int64_t after = 0;
    for (;;) {
      std::vector<CommandRow> rows = store.Commands(after, 1000);
      if (rows.empty()) break;
      for (const CommandRow& row : rows) {
        Command c;
        std::vector<Violation> violations;
        if (!ParseCommand(row.command, std::nullopt, &c, &violations)) continue;
        c.outcome.reset();  // The outcome it had is what is compared, not a reason to stop.
        const Outcome o = engine.Execute(c);
        ++report.commands;
        RecordedOutcome held;
        std::vector<Violation> ignored;
        if (ParseOutcome(row.outcome, "", &held, &ignored, /*log_spelling=*/true)) {
          const std::string now = ResultText(held.result, held.error, MessageOf(row.outcome));
          std::string would = ResultText(ResultKey(o.result), o.error_type, o.message);
          if (now != would) {
            std::string violations;
            std::set<std::string> fields;
            ReadViolations(o.body, &violations, &fields);
            if (!violations.empty()) would += " " + violations;
            for (const auto& f : fields) ++report.by_rule[f];
            answered_now[row.seq] = {now, would};
          }
        }
      }
      after = rows.back().seq;
    }
    scratch->CommitBatch();

    // Change sets are matched by the command that started them.
    std::map<int64_t, ChangeSetRow> now_sets, would_sets;
    for (ChangeSetRow& cs : store.ListChangeSets("", "", ""))
      now_sets[cs.command_seq] = std::move(cs);
    for (ChangeSetRow& cs : scratch->ListChangeSets("", "", ""))
      would_sets[cs.command_seq] = std::move(cs);
    report.change_sets = static_cast<int64_t>(now_sets.size());
    std::map<std::string, std::string> same_entity;  // Store id to the new definitions' id.
    std::set<int64_t> seqs;
    for (const auto& [k, v] : now_sets) seqs.insert(k);
    for (const auto& [k, v] : would_sets) seqs.insert(k);
    for (const auto& [k, v] : answered_now) seqs.insert(k);
    for (int64_t seq : seqs) {
      auto a = now_sets.find(seq), b = would_sets.find(seq);
      const ChangeSetRow* x = a == now_sets.end() ? nullptr : &a->second;
      const ChangeSetRow* y = b == would_sets.end() ? nullptr : &b->second;
      WhatIfChangeSet d;
      d.command = seq;
      if (auto r = answered_now.find(seq); r != answered_now.end())
        d.fields.push_back({"Result", r->second.first, r->second.second});
      d.change_set = x ? x->id : "";
      if (y && (!x || y->id != x->id)) d.would_be = y->id;
      if (const ChangeSetRow* any = x ? x : y)
        for (const ChangeRow& ch : any->changes) d.change_types.push_back(ch.change_type);
      CompareSets(x, y, &d, &report.by_rule, &same_entity);
      if (d.fields.empty()) continue;
      std::set<std::string> types(d.change_types.begin(), d.change_types.end());
      for (const auto& t : types) ++report.by_change_type[t];
      report.change_sets_differing.push_back(std::move(d));
    }
    CompareEntities(store, *scratch, same_entity, &report);
  }
  return report;
}

std::string WhatIfReport::ToJson() const {
  std::string out = std::string("{\"Differs\":") + (differs() ? "true" : "false") +
                    ",\"Commands\":" + std::to_string(commands) +
                    ",\"ChangeSets\":" + std::to_string(change_sets) +
                    ",\"ChangeSetsDiffering\":" + std::to_string(change_sets_differing.size()) +
                    ",\"EntitiesDiffering\":" + std::to_string(entities_differing.size()) +
                    ",\"ByChangeType\":" + CountsJson(by_change_type) +
                    ",\"ByRule\":" + CountsJson(by_rule) + ",\"ChangeSetList\":[";
  for (size_t i = 0; i < change_sets_differing.size(); ++i) {
    const WhatIfChangeSet& d = change_sets_differing[i];
    if (i) out += ",";
    out += "{\"Command\":" + std::to_string(d.command) +
           ",\"ChangeSetId\":" + JsonString(d.change_set);
    if (!d.would_be.empty()) out += ",\"WouldBe\":" + JsonString(d.would_be);
    out += ",\"ChangeTypes\":[";
    for (size_t k = 0; k < d.change_types.size(); ++k)
      out += (k ? "," : "") + JsonString(d.change_types[k]);
    out += "],\"Differences\":" + FieldsJson(d.fields) + "}";
  }
  out += "],\"EntityList\":[";
  for (size_t i = 0; i < entities_differing.size(); ++i) {
    const WhatIfEntity& d = entities_differing[i];
    if (i) out += ",";
    out += "{\"EntityId\":" + JsonString(d.id) +
           (d.would_be.empty() ? "" : ",\"WouldBe\":" + JsonString(d.would_be)) +
           ",\"EntityType\":" + JsonString(d.type) + ",\"Kind\":" + JsonString(d.kind) +
           ",\"Differences\":" + FieldsJson(d.fields) + "}";
  }
  return out + "]}";
}

std::string WhatIfReport::ToText() const {
  // Documents can hold thousands of characters: the text shows the start of each value, the JSON
  // output all of it.
  auto value = [](const std::string& v) {
    if (v.empty()) return std::string("(none)");
    if (v.size() <= kWhatIfTextValue) return v;
    size_t cut = kWhatIfTextValue;
    while (cut > 0 && (static_cast<unsigned char>(v[cut]) & 0xC0) == 0x80) --cut;  // UTF-8.
    return v.substr(0, cut) + "... (" + std::to_string(v.size()) + " bytes)";
  };
  std::string out = "replayed " + Plural(commands, "command", "commands") + " (" +
                    Plural(change_sets, "change set", "change sets") + "): ";
  if (!differs()) return out + "nothing would differ\n";
  out += Plural(static_cast<int64_t>(change_sets_differing.size()), "change set", "change sets") +
         " and " + Plural(static_cast<int64_t>(entities_differing.size()), "entity", "entities") +
         " would differ\n";
  out += "by change type: " + CountsText(by_change_type) + "\n";
  out += "by rule: " + CountsText(by_rule) + "\n";
  for (const WhatIfChangeSet& d : change_sets_differing) {
    std::string types;
    for (const auto& t : d.change_types) types += (types.empty() ? "" : ", ") + t;
    out += "\n" + value(d.change_set) +
           (d.would_be.empty() ? "" : " (would be " + d.would_be + ")") + "  command " +
           std::to_string(d.command) + (types.empty() ? "" : "  " + types) + "\n";
    for (const auto& f : d.fields)
      out += "  " + f.field + ": " + value(f.now) + " -> " + value(f.would) + "\n";
  }
  for (const WhatIfEntity& d : entities_differing) {
    out += "\n" + d.id + (d.would_be.empty() ? "" : " (would be " + d.would_be + ")") + "  " +
           d.type + "  " + d.kind + "\n";
    for (const auto& f : d.fields)
      out += "  " + f.field + ": " + value(f.now) + " -> " + value(f.would) + "\n";
  }
  return out;
}

}  // namespace sellerflow::engine
