// The workflow loader: YAML trees into machines, checking every key, value kind and name on the
// way.
#include "engine/model/load.h"

#include <re2/re2.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <iterator>
#include <sstream>

#include "dsl/diagnostics.h"
#include "dsl/program.h"
#include "dsl/time.h"
#include "engine/base/limits.h"
#include "engine/base/sha256.h"
#include "engine/model/yaml_doc.h"

namespace sellerflow::engine {

using dsl::Diagnostics;
using dsl::Severity;
using dsl::Source;

const char* RequestStatusName(RequestStatus s) {
  switch (s) {
    case RequestStatus::kNone:
      return "";
    case RequestStatus::kPreparing:
      return "PREPARING";
    case RequestStatus::kApplying:
      return "APPLYING";
    case RequestStatus::kSucceeded:
      return "SUCCEEDED";
    case RequestStatus::kFailed:
      return "FAILED";
    case RequestStatus::kCancelled:
      return "CANCELLED";
  }
  return "";
}

const char* ActionKindName(Action::Kind kind) {
  switch (kind) {
    case Action::Kind::kSet:
      return "set";
    case Action::Kind::kMerge:
      return "merge";
    case Action::Kind::kAppend:
      return "append";
    case Action::Kind::kRemove:
      return "remove";
    case Action::Kind::kCreate:
      return "create";
    case Action::Kind::kSend:
      return "send";
    case Action::Kind::kFail:
      return "fail";
  }
  return "";
}

const std::vector<std::string>& ReviewDecisions() {
  static const std::vector<std::string> kDecisions = {"approve", "reject"};
  return kDecisions;
}

std::string Machine::Key() const {
  if (kind == MachineKind::kEntity) return entity_type;
  return change_type + " on " + entity_type;
}

const State* Machine::FindState(const std::string& name) const {
  for (const auto& s : states)
    if (s.name == name) return &s;
  return nullptr;
}

const EventSpec* Machine::FindEvent(const std::string& name) const {
  for (const auto& e : events)
    if (e.name == name) return &e;
  return nullptr;
}

const Machine* Policy::FindRequestMachine(const std::string& change_type,
                                          const std::string& entity_type) const {
  for (const auto& m : machines)
    if (m->kind == MachineKind::kRequest && m->change_type == change_type &&
        m->entity_type == entity_type)
      return m.get();
  return nullptr;
}

const Machine* Policy::FindEntityMachine(const std::string& entity_type) const {
  for (const auto& m : machines)
    if (m->kind == MachineKind::kEntity && m->entity_type == entity_type) return m.get();
  return nullptr;
}

const std::vector<std::pair<std::string, std::vector<std::string>>>& AllowedKeys() {
  static const std::vector<std::pair<std::string, std::vector<std::string>>> kKeys = {
      {"machine",
       {"machine", "change_type", "entity_type", "description", "id_prefix", "owner", "actors",
        "access", "creates", "input", "document", "context", "events", "states", "transitions"}},
      {"extension", {"machine", "extends", "description", "document"}},
      {"field",
       {"type", "description", "min_length", "max_length", "min_items", "max_items", "minimum",
        "maximum", "pattern", "format", "one_of", "refers_to", "items", "fields"}},
      {"context", {"entity_type", "id", "description"}},
      {"event", {"actors", "data", "description"}},
      {"state", {"initial", "final", "status", "validate", "description"}},
      {"validate", {"rules", "passed", "failed"}},
      {"transition", {"from", "to", "on", "after", "at", "rules", "if", "actions", "description"}},
      {"set", {"set", "value"}},
      {"merge", {"merge", "value"}},
      {"append", {"append", "value"}},
      {"remove", {"remove", "value"}},
      {"create", {"create", "owner", "document", "bind"}},
      {"send", {"send", "to", "entity_type", "data"}},
      {"fail", {"fail", "message"}},
  };
  return kKeys;
}

namespace {

const std::vector<std::string>& Keys(const std::string& kind) {
  for (const auto& [k, keys] : AllowedKeys())
    if (k == kind) return keys;
  static const std::vector<std::string> kNone;
  return kNone;
}

// Keys whose values are written in the rule language (expressions, templates, types), which
// YAML reads first: an unquoted one with ': ', ', ', '[', '{' or a leading quote in it is misread.
bool IsExpressionKey(std::string_view key) {
  // Not `to`: in a transition it names a state, and the hints below would mislead there.
  static const char* const kKeys[] = {"if",       "after", "at", "value", "owner",
                                      "document", "data",  "id", "type",  "message"};
  return std::any_of(std::begin(kKeys), std::end(kKeys), [&](const char* k) { return key == k; });
}

// The hint for a YAML syntax error at `column` of `line_text` that stands inside the value of an
// expression key (`if: "a" == details.X`, `if: x in ["a"]` inside {...}): quote it whole.
std::string QuoteHint(std::string_view line_text, uint32_t column) {
  size_t end = 0;  // The byte where the column's code point starts.
  for (uint32_t c = 1; c < column && end < line_text.size(); ++c) {
    ++end;
    while (end < line_text.size() && (static_cast<unsigned char>(line_text[end]) & 0xC0) == 0x80)
      ++end;
  }
  std::string_view before = line_text.substr(0, end);
  std::string key;
  for (size_t colon = before.find(':'); colon != std::string_view::npos;
       colon = before.find(':', colon + 1)) {
    if (colon + 1 < before.size() && before[colon + 1] != ' ') continue;
    size_t start = colon;
    while (start > 0 && (std::isalnum(static_cast<unsigned char>(before[start - 1])) ||
                         before[start - 1] == '_'))
      --start;
    std::string_view name = before.substr(start, colon - start);
    if (start > 0 && !std::strchr(" \t{,-", before[start - 1])) continue;
    if (IsExpressionKey(name) && colon + 1 < before.size()) key = std::string(name);
  }
  if (key.empty()) return "";
  return "this stands in the unquoted expression of '" + key +
         "': quote all of it so YAML reads it as one string, " + key +
         ": '...' (write '' for a ' inside)";
}

using dsl::JoinNames;

// Reads YAML values into model fields, reporting each problem at the node it concerns.
class Reader {
 public:
  Reader(const Source& source, Diagnostics* diags) : source_(source), diags_(diags) {}

  bool ok() const { return errors_ == 0; }
  void CountError() { ++errors_; }
  const Source& source() const { return source_; }

  void Error(const YamlNode& at, std::string message, std::string hint = {}) {
    ++errors_;
    diags_->AddAt(Severity::kError, source_, at.line, at.column, std::move(message),
                  std::move(hint));
  }

  void ErrorAt(const Where& at, std::string message, std::string hint = {}) {
    ++errors_;
    diags_->AddAt(Severity::kError, source_, at.line, at.column, std::move(message),
                  std::move(hint));
  }

  Where At(const YamlNode& n) const { return {&source_, n.line, n.column}; }

  // A map whose keys are all in `kind`'s allowed list, each once.
  bool CheckMap(const YamlNode& n, const std::string& kind, const char* what) {
    if (!n.is_map()) {
      Error(n, std::string(what) + " must be a map, not " + n.KindName());
      return false;
    }
    const auto& allowed = Keys(kind);
    CheckKeys(n, what, &allowed);
    return true;
  }

  // Keys of a map: scalars, each once; with `allowed`, each one of those.
  void CheckKeys(const YamlNode& n, const char* what, const std::vector<std::string>* allowed) {
    for (size_t i = 0; i < n.entries.size(); ++i) {
      const YamlNode& k = n.entries[i].first;
      if (!k.is_scalar()) {
        Error(k, std::string("keys of ") + what + " must be names, not " + k.KindName());
        continue;
      }
      for (size_t j = 0; j < i; ++j) {
        const YamlNode& prev = n.entries[j].first;
        if (prev.is_scalar() && prev.text == k.text) {
          Error(k,
                "duplicate key '" + k.text + "' in " + what + " (first at line " +
                    std::to_string(prev.line) + ")",
                "YAML keeps only one of them; remove or rename the other");
          break;
        }
      }
      if (allowed && std::find(allowed->begin(), allowed->end(), k.text) == allowed->end()) {
        std::string near = dsl::NearestName(k.text, *allowed);
        // In {...}, a ',' ends an unquoted value: the "key" may be the rest of an expression.
        const YamlNode* prev_key = i > 0 ? &n.entries[i - 1].first : nullptr;
        const YamlNode* prev_value = i > 0 ? &n.entries[i - 1].second : nullptr;
        const bool name_like =
            !k.text.empty() && std::all_of(k.text.begin(), k.text.end(), [](char c) {
              return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
            });
        if (!name_like && prev_key && prev_key->is_scalar() && IsExpressionKey(prev_key->text) &&
            prev_value->is_scalar() && prev_value->plain && prev_value->line == k.line) {
          Error(k, "unknown key '" + k.text + "' in " + what,
                "inside {...} a ',' ends an unquoted value: if this belongs to the expression "
                "of '" +
                    prev_key->text + "', quote all of it, " + prev_key->text + ": '...'");
          continue;
        }
        Error(k, "unknown key '" + k.text + "' in " + what,
              (near.empty() ? std::string() : "did you mean '" + near + "'? ") +
                  "allowed: " + JoinNames(*allowed));
      }
    }
  }

  bool Scalar(const YamlNode& n, const char* what, std::string* out) {
    if (!n.is_scalar()) {
      Error(n, std::string(what) + " must be a single value, not " + n.KindName());
      return false;
    }
    *out = n.text;
    return true;
  }

  // A name (state, event, rule, field): a scalar that YAML 1.1 tools would not read as a bool.
  bool Name(const YamlNode& n, const char* what, std::string* out) {
    if (!Scalar(n, what, out)) return false;
    if (n.plain && LooksBoolean(n.text)) {
      Error(n, std::string(what) + " '" + n.text + "' reads as a boolean in YAML",
            "quote it (\"" + n.text + "\") or choose another name");
      return false;
    }
    if (out->empty()) {
      Error(n, std::string(what) + " is empty");
      return false;
    }
    return true;
  }

  bool Bool(const YamlNode& n, const char* what, bool* out) {
    std::string s;
    if (!Scalar(n, what, &s)) return false;
    if (n.plain && (s == "true" || s == "false")) {
      *out = s == "true";
      return true;
    }
    if (!n.plain && (s == "true" || s == "false")) {
      Error(n, std::string(what) + " must be true or false, not the string '" + s + "'",
            "write it without quotes");
      return false;
    }
    Error(n, std::string(what) + " must be true or false, not '" + s + "'",
          LooksBoolean(s) ? "write true or false: yes, no, on and off mean different things "
                            "to different YAML readers"
                          : "");
    return false;
  }

  bool Int(const YamlNode& n, const char* what, int64_t* out) {
    std::string s;
    if (!Scalar(n, what, &s)) return false;
    char* end = nullptr;
    errno = 0;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end || errno || !n.plain || v < 0) {
      Error(n, std::string(what) + " must be a whole number of at least 0, not '" + s + "'");
      return false;
    }
    *out = v;
    return true;
  }

  // A list of names; a single name is accepted as a list of one. With `at`, where each is
  // written.
  bool Names(const YamlNode& n, const char* what, std::vector<std::string>* out,
             std::vector<Where>* at = nullptr) {
    if (n.is_scalar()) {
      std::string s;
      if (!Name(n, what, &s)) return false;
      out->push_back(s);
      if (at) at->push_back(At(n));
      return true;
    }
    if (!n.is_sequence()) {
      Error(n, std::string(what) + " must be a list of names, not " + n.KindName());
      return false;
    }
    bool good = true;
    for (const auto& item : n.items) {
      std::string s;
      if (Name(item, what, &s)) {
        out->push_back(s);
        if (at) at->push_back(At(item));
      } else {
        good = false;
      }
    }
    return good;
  }

  // An expression: a scalar, with the position of its first character (inside quotes).
  bool Expr(const YamlNode& n, const char* what, ExprText* out) {
    if (!n.is_scalar() && !n.is_null()) {
      Error(n, std::string(what) + " must be a single value, not " + n.KindName(),
            std::string("YAML reads an unquoted value that starts with '{' or '[', or holds ': ', "
                        "as a map or a list: quote the whole expression") +
                (what[0] == 'a' && what[1] == ' ' ? "" : ", " + std::string(what) + ": '...'"));
      return false;
    }
    if (!Scalar(n, what, &out->text)) return false;
    out->at = At(n);
    if (!n.plain && n.column > 0) {
      // A quoted scalar's mark is its opening quote.
      const std::string& text = source_.text;
      size_t offset = OffsetOf(n.line, n.column);
      if (offset < text.size() && (text[offset] == '"' || text[offset] == '\'')) ++out->at.column;
    }
    if (out->text.empty()) {
      Error(n, std::string(what) + " is empty");
      return false;
    }
    return true;
  }

 private:
  size_t OffsetOf(uint32_t line, uint32_t column) const {
    size_t offset = 0;
    for (uint32_t l = 1; l < line && offset < source_.text.size(); ++l) {
      offset = source_.text.find('\n', offset);
      if (offset == std::string::npos) return source_.text.size();
      ++offset;
    }
    return offset + column - 1;
  }

  const Source& source_;
  Diagnostics* diags_;
  int errors_ = 0;
};

class MachineReader {
 public:
  MachineReader(const Source& source, Diagnostics* diags, const LimitConstants* constants,
                bool outline = false)
      : r_(source, diags), diags_(diags), constants_(constants), outline_(outline) {}

  // Set by Read for an extension file (which returns no machine).
  std::unique_ptr<Extension> extension;

  std::unique_ptr<Machine> Read(const YamlNode& root) {
    if (const YamlNode* n = root.is_map() ? root.Find("machine") : nullptr;
        n && n->is_scalar() && n->text == "extension") {
      extension = ReadExtension(root);
      return nullptr;
    }
    if (!r_.CheckMap(root, "machine", "a workflow file")) return nullptr;
    auto m = std::make_unique<Machine>();
    m->source = &r_.source();
    m->at = r_.At(root);
    std::string kind;
    if (const YamlNode* n = Required(root, "machine", "a workflow file")) {
      if (r_.Scalar(*n, "machine", &kind)) {
        if (kind == "request") {
          m->kind = MachineKind::kRequest;
        } else if (kind == "entity") {
          m->kind = MachineKind::kEntity;
        } else {
          r_.Error(*n, "machine must be 'request', 'entity' or 'extension', not '" + kind + "'");
          return nullptr;  // What else is allowed depends on the kind: nothing more to say.
        }
      }
    }
    if (const YamlNode* n = Required(root, "entity_type", "a workflow file")) {
      r_.Name(*n, "entity_type", &m->entity_type);
      m->entity_type_at = r_.At(*n);
    }
    if (const YamlNode* n = root.Find("change_type")) {
      r_.Name(*n, "change_type", &m->change_type);
      m->change_type_at = r_.At(*n);
      if (kind == "entity") r_.Error(*n, "an entity machine has no change_type");
    } else if (kind == "request") {
      r_.Error(root, "a request machine needs 'change_type' (the ChangeType it runs)");
    }
    if (const YamlNode* n = root.Find("description")) r_.Scalar(*n, "description", &m->description);
    if (const YamlNode* n = root.Find("id_prefix")) {
      r_.Scalar(*n, "id_prefix", &m->id_prefix);
      if (kind == "request") r_.Error(*n, "id_prefix belongs to entity machines");
    }
    if (const YamlNode* n = root.Find("owner")) {
      r_.Expr(*n, "owner", &m->owner);
      if (kind == "request")
        r_.Error(*n, "owner belongs to entity machines (who owns the entities they create)");
    }
    if (const YamlNode* n = root.Find("actors")) {
      if (kind == "entity")
        r_.Error(*n, "actors belong to request machines; events list their own");
      r_.Names(*n, "an actor", &m->actors, &m->actor_at);
      static const std::vector<std::string> kActors = {"owner", "seller", "buyer", "operations",
                                                       "any"};
      for (size_t i = 0; i < m->actors.size(); ++i) {
        const std::string& a = m->actors[i];
        if (std::find(kActors.begin(), kActors.end(), a) == kActors.end()) {
          std::string near = dsl::NearestName(a, kActors);
          r_.ErrorAt(
              m->actor_at[i], "unknown actor '" + a + "'",
              near.empty() ? "actors: " + JoinNames(kActors) : "did you mean '" + near + "'?");
        }
      }
    }
    if (const YamlNode* n = root.Find("access")) {
      if (kind == "entity") r_.Error(*n, "access belongs to request machines");
      m->access_at = r_.At(*n);
      r_.Names(*n, "a rule name", &m->access, &m->access_rule_at);
    }
    if (const YamlNode* n = root.Find("creates")) {
      std::string v;
      if (kind == "entity") r_.Error(*n, "creates belongs to request machines");
      if (r_.Scalar(*n, "creates", &v)) {
        if (v == "never") {
          m->creates = Creates::kNever;
        } else if (v == "always") {
          m->creates = Creates::kAlways;
        } else if (v == "if_missing") {
          m->creates = Creates::kIfMissing;
        } else {
          r_.Error(*n, "creates must be never, always or if_missing, not '" + v + "'");
        }
      }
    }
    if (m->actors.empty()) m->actors.push_back(m->creates == Creates::kAlways ? "seller" : "owner");
    if (const YamlNode* n = root.Find("input")) {
      if (kind == "entity") r_.Error(*n, "an entity machine has no input; use document");
      ReadSchema(*n, "input", &m->input);
      m->input.has_references = m->input.list ? HasReferences(*m->input.list)
                                              : std::any_of(m->input.fields.begin(),
                                                            m->input.fields.end(), HasReferences);
    } else {
      m->input.type = dsl::Type::Object({});
    }
    if (const YamlNode* n = root.Find("document")) {
      if (kind == "request") r_.Error(*n, "a request machine has no document; use input");
      ReadSchema(*n, "document", &m->document);
    } else {
      m->document.type = dsl::Type::Object({});
    }
    if (const YamlNode* n = root.Find("context")) ReadContext(*n, m.get());
    if (const YamlNode* n = root.Find("events")) ReadEvents(*n, m.get());
    if (const YamlNode* n = Required(root, "states", "a workflow file")) ReadStates(*n, m.get());
    if (const YamlNode* n = root.Find("transitions")) ReadTransitions(*n, m.get());
    if (!r_.ok()) return nullptr;
    m->content_hash = Sha256Hex(r_.source().text);
    return m;
  }

 private:
  // `machine: extension`: new optional fields for the document of the entity type it `extends`.
  std::unique_ptr<Extension> ReadExtension(const YamlNode& root) {
    r_.CheckMap(root, "extension", "an extension");
    auto e = std::make_unique<Extension>();
    e->source = &r_.source();
    e->at = r_.At(root);
    if (const YamlNode* n = Required(root, "extends", "an extension")) {
      r_.Name(*n, "extends", &e->extends);
      e->extends_at = r_.At(*n);
    }
    if (const YamlNode* n = root.Find("description")) r_.Scalar(*n, "description", &e->description);
    if (const YamlNode* n = Required(root, "document", "an extension")) {
      ReadSchema(*n, "document", &e->document);
      // Entities stored before the extension have none of its fields: each must be optional.
      for (const FieldSpec& f : e->document.fields)
        if (!f.optional)
          r_.ErrorAt(f.at, "an extension adds optional fields only: '" + f.name + "' is required",
                     "write '" + f.name + "?:' (entities stored before it have no " + f.name + ")");
    }
    if (!r_.ok()) return nullptr;
    e->content_hash = Sha256Hex(r_.source().text);
    return e;
  }

  // The key node of `key` in `map` (its first entry), for diagnostics about the key itself.
  static const YamlNode* KeyOf(const YamlNode& map, std::string_view key) {
    for (const auto& [k, v] : map.entries)
      if (k.is_scalar() && k.text == key) return &k;
    return &map;
  }

  const YamlNode* Required(const YamlNode& map, const char* key, const char* what) {
    const YamlNode* n = map.Find(key);
    if (!n) r_.Error(map, std::string(what) + " needs '" + key + "'");
    return n;
  }

  // Parses a fragment of the file (an expression or a type) with the rule language and moves its
  // diagnostics to where the fragment stands in the file.
  template <typename Parse>
  auto ParseFragment(const ExprText& fragment, Parse parse) {
    Diagnostics local;
    Source src{r_.source().name, fragment.text};
    auto result = parse(src, &local);
    for (dsl::Diagnostic d : local.items()) {
      RelocateDiagnostic(fragment, &d);
      if (d.severity == Severity::kError) r_.CountError();
      diags_->Append(std::move(d));
    }
    return result;
  }

 public:
  // Moves a diagnostic about `fragment` (positions counted from the fragment's start) to the
  // file's line and column, with the file's line as its source line.
  static void RelocateDiagnostic(const ExprText& fragment, dsl::Diagnostic* d) {
    if (!fragment.at.source) return;
    const std::string& text = fragment.at.source->text;
    const std::string& frag = fragment.text;
    // The diagnostic's byte offset in the fragment (its column counts code points).
    size_t target = 0;
    for (uint32_t l = 1; l < d->line && target < frag.size(); ++l) {
      size_t newline = frag.find('\n', target);
      target = newline == std::string::npos ? frag.size() : newline + 1;
    }
    for (uint32_t c = 1; c < d->column && target < frag.size() && frag[target] != '\n'; ++c) {
      ++target;
      while (target < frag.size() && (static_cast<unsigned char>(frag[target]) & 0xC0) == 0x80)
        ++target;
    }
    // Where the fragment starts in the file; a block scalar's (| or >) text starts a line below.
    size_t start = 0;
    for (uint32_t l = 1; l < fragment.at.line && start < text.size(); ++l) {
      size_t newline = text.find('\n', start);
      start = newline == std::string::npos ? text.size() : newline + 1;
    }
    start = std::min(text.size(), start + (fragment.at.column > 0 ? fragment.at.column - 1 : 0));
    if (start < text.size() && (text[start] == '|' || text[start] == '>')) {
      start = std::min(text.size(), text.find('\n', start) + 1);
      while (start < text.size() && text[start] == ' ') ++start;
    }
    // Walk the fragment and the file together: YAML folds line breaks and indentation of
    // multi-line scalars into spaces and turns escapes ('' or \") into one character, so where
    // they differ, whitespace matches whitespace and other file characters are skipped.
    auto blank = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    size_t i = 0, j = start;
    while (i < target && j < text.size()) {
      if (frag[i] == text[j]) {
        ++i;
        ++j;
      } else if (blank(frag[i]) && blank(text[j])) {
        while (i < target && blank(frag[i])) ++i;
        while (j < text.size() && blank(text[j])) ++j;
      } else if (blank(frag[i])) {
        ++i;
      } else {
        ++j;
      }
    }
    std::string_view line_text;
    dsl::LocateOffset(text, j, &d->line, &d->column, &line_text);
    d->source_line = std::string(line_text);
  }

 private:
  static bool HasReferences(const FieldSpec& f) {
    return !f.refers_to.empty() || (f.items && HasReferences(*f.items)) ||
           std::any_of(f.fields.begin(), f.fields.end(), HasReferences);
  }

  void ReadSchema(const YamlNode& n, const char* what, Schema* schema) {
    // Nested `fields` stay in the input they belong to.
    const bool outer = std::string_view(what) != "fields";
    const bool was_input = in_input_;
    if (outer) in_input_ = std::string_view(what) == "input";
    ReadSchemaIn(n, what, schema);
    in_input_ = was_input;
  }

  void ReadSchemaIn(const YamlNode& n, const char* what, Schema* schema) {
    if (n.is_sequence() && std::string_view(what) == "input") {
      // A list document: `input: [{Key: string, ...}]`, one map giving each item's fields.
      if (n.items.size() != 1 || !n.items[0].is_map()) {
        // At the item that should not be there, or at the one item that is not a map.
        r_.Error(n.items.size() > 1 ? n.items[1]
                 : n.items.empty()  ? n
                                    : n.items[0],
                 "a list input is a sequence of exactly one map (the fields of each item), not " +
                     std::to_string(n.items.size()) + " item" + (n.items.size() == 1 ? "" : "s"));
        schema->type = dsl::Type::Object({});
        return;
      }
      ReadSchema(n.items[0], what, schema);
      auto items = std::make_unique<FieldSpec>();
      items->type = schema->type;
      items->fields = std::move(schema->fields);
      items->at = r_.At(n.items[0]);
      schema->fields.clear();
      schema->list = std::make_unique<FieldSpec>();
      schema->list->type = dsl::Type::List(items->type);
      schema->list->at = r_.At(n);
      schema->list->items = std::move(items);
      schema->type = schema->list->type;
      return;
    }
    if (!n.is_map()) {
      r_.Error(n, std::string(what) + " must be a map of field names to types" +
                      (std::string_view(what) == "input"
                           ? " (or, for a list, a sequence of one such map)"
                           : "") +
                      ", not " + n.KindName());
      schema->type = dsl::Type::Object({});
      return;
    }
    r_.CheckKeys(n, what, nullptr);
    std::vector<dsl::Field> fields;
    for (const auto& [k, v] : n.entries) {
      if (!k.is_scalar()) continue;
      FieldSpec f;
      f.name = k.text;
      if (!f.name.empty() && f.name.back() == '?') {
        f.optional = true;
        f.name.pop_back();
      }
      f.at = r_.At(k);
      if (f.name.empty()) {
        r_.Error(k, "a field needs a name");
        continue;
      }
      ReadField(v, &f);
      if (!f.type) f.type = dsl::Type::Dyn();
      fields.push_back({f.name, f.type, f.optional});
      schema->fields.push_back(std::move(f));
    }
    schema->type = dsl::Type::Object(std::move(fields));
  }

  // A field's type: "string", "list<string>", or {type: ..., max_length: ..., ...}.
  void ReadField(const YamlNode& v, FieldSpec* f) {
    if (v.is_scalar()) {
      ExprText t;
      if (r_.Expr(v, "a type", &t)) f->type = ParseTypeText(t);
      return;
    }
    if (!r_.CheckMap(v, "field", ("field '" + f->name + "'").c_str())) return;
    if (const YamlNode* t = v.Find("type")) {
      ExprText text;
      if (r_.Expr(*t, "type", &text)) f->type = ParseTypeText(text);
    }
    auto int_key = [&](const char* key, std::optional<int64_t>* out) {
      if (const YamlNode* n = v.Find(key)) {
        std::optional<dsl::Decimal> named;
        if (LimitName(*n, key, true, f, &named)) {
          if (named) *out = named->coefficient;
          return;
        }
        int64_t x = 0;
        if (r_.Int(*n, key, &x)) *out = x;
      }
    };
    int_key("min_length", &f->min_length);
    int_key("max_length", &f->max_length);
    int_key("min_items", &f->min_items);
    int_key("max_items", &f->max_items);
    if (const YamlNode* n = v.Find("format")) {
      std::string s;
      if (r_.Scalar(*n, "format", &s)) {
        static const std::pair<const char*, dsl::TypeKind> kFormats[] = {
            {"date", dsl::TypeKind::kDate},
            {"timestamp", dsl::TypeKind::kTimestamp},
            {"duration", dsl::TypeKind::kDuration},
            {"decimal", dsl::TypeKind::kDecimal}};
        for (const auto& [name, kind] : kFormats)
          if (s == name) f->format = kind;
        if (f->format == dsl::TypeKind::kDyn)
          r_.Error(*n, "format must be date, timestamp, duration or decimal, not '" + s + "'");
      }
    }
    if (const YamlNode* n = v.Find("pattern")) {
      if (r_.Scalar(*n, "pattern", &f->pattern)) {
        RE2::Options options;
        options.set_log_errors(false);
        RE2 re(f->pattern, options);
        if (!re.ok()) r_.Error(*n, "invalid regular expression: " + re.error());
      }
    }
    if (const YamlNode* n = v.Find("one_of")) {
      if (!n->is_sequence()) {
        r_.Error(*n, "one_of must be a list of values");
      } else {
        for (const auto& item : n->items) {
          std::string s;
          if (r_.Scalar(item, "a one_of value", &s)) f->one_of.push_back(s);
        }
      }
    }
    if (const YamlNode* n = v.Find("refers_to")) {
      if (r_.Scalar(*n, "refers_to", &f->refers_to) && !in_input_) {
        r_.Error(*n,
                 "refers_to applies to a request's input (a change names what it refers to); '" +
                     f->name + "' is not in one");
      }
    }
    if (const YamlNode* n = v.Find("items")) {
      f->items = std::make_unique<FieldSpec>();
      f->items->name = f->name + "[]";
      f->items->at = r_.At(*n);
      // The elements' type comes from the list's unless the items say otherwise.
      if (f->type && f->type->kind() == dsl::TypeKind::kList) f->items->type = f->type->elem();
      ReadField(*n, f->items.get());
    }
    if (const YamlNode* n = v.Find("fields")) {
      Schema nested;
      ReadSchema(*n, "fields", &nested);
      f->fields = std::move(nested.fields);
      if (!f->type) f->type = nested.type;
    }
    if (!f->type && f->items && f->items->type) f->type = dsl::Type::List(f->items->type);
    if (!f->type) {
      r_.Error(v, "field '" + f->name + "' needs a type",
               "add type: string (or int, decimal, "
               "bool, date, list<T>, ...)");
      return;
    }
    if (f->items && !f->items->type && f->type->kind() == dsl::TypeKind::kList)
      f->items->type = f->type->elem();
    bool is_string = f->type->kind() == dsl::TypeKind::kString;
    bool is_list = f->type->kind() == dsl::TypeKind::kList;
    // Reported at the first constraint of the group that does not apply, not at the field.
    auto first_key = [&](std::initializer_list<const char*> keys) -> const YamlNode* {
      for (const auto& [k, x] : v.entries)
        for (const char* key : keys)
          if (k.is_scalar() && k.text == key) return &k;
      return nullptr;
    };
    const YamlNode* k = nullptr;
    if (!f->refers_to.empty() && !is_string && (k = first_key({"refers_to"})))
      r_.Error(*k, "refers_to applies to strings (an entity's identifier); '" + f->name +
                       "' is a " + f->type->ToString());
    if ((f->min_length || f->max_length || !f->pattern.empty() || !f->one_of.empty()) &&
        !is_string && (k = first_key({"min_length", "max_length", "pattern", "one_of"})))
      r_.Error(*k, "length, pattern and one_of constraints apply to strings; '" + f->name +
                       "' is a " + f->type->ToString());
    if ((f->min_items || f->max_items || f->items) && !is_list &&
        (k = first_key({"min_items", "max_items", "items"})))
      r_.Error(*k,
               "item constraints apply to lists; '" + f->name + "' is a " + f->type->ToString());
    if (f->format != dsl::TypeKind::kDyn && !is_string && (k = first_key({"format"})))
      r_.Error(*k, "format applies to strings; '" + f->name + "' is a " + f->type->ToString() +
                       (f->type->kind() == f->format ? ", which is checked as one already" : ""));
    // minimum and maximum: decimals (or a rules constant's name) for numbers and decimal strings,
    // durations for durations.
    const bool is_duration = f->type->kind() == dsl::TypeKind::kDuration ||
                             (is_string && f->format == dsl::TypeKind::kDuration);
    const bool is_number =
        f->type->IsNumeric() || (is_string && f->format == dsl::TypeKind::kDecimal);
    auto bound_key = [&](const char* key, std::optional<dsl::Decimal>* number,
                         std::optional<FieldSpec::DurationBound>* duration) {
      const YamlNode* n = v.Find(key);
      if (n == nullptr) return;
      if (!is_duration && LimitName(*n, key, false, f, number)) return;
      std::string s;
      if (!r_.Scalar(*n, key, &s)) return;
      if (is_duration) {
        dsl::Duration d{0, 0};
        if (dsl::ParseDuration(s, &d))
          *duration = FieldSpec::DurationBound{d, s};
        else
          r_.Error(*n, std::string(key) + " must be a duration such as P1D, not '" + s + "'");
        return;
      }
      dsl::Decimal d{0, 0};
      if (dsl::ParseDecimal(s, &d) == dsl::DecimalStatus::kOk)
        *number = d;
      else
        r_.Error(*n, std::string(key) + " must be a number, not '" + s + "'");
    };
    bound_key("minimum", &f->minimum, &f->shortest);
    bound_key("maximum", &f->maximum, &f->longest);
    if (!is_number && !is_duration && (k = first_key({"minimum", "maximum"})))
      r_.Error(*k, "minimum and maximum apply to numbers, decimal strings and durations; '" +
                       f->name + "' is a " + f->type->ToString());
  }

  dsl::TypePtr ParseTypeText(const ExprText& t) {
    dsl::TypePtr type = ParseFragment(t, [](const Source& s, Diagnostics* d) {
      dsl::TypeEnv env;
      Source decl{s.name, "x: " + s.text};
      Diagnostics local;
      bool ok = dsl::ParseTypeDeclarations(decl, &env, &local);
      // Positions inside "x: " are three columns right of the fragment's.
      for (dsl::Diagnostic diag : local.items()) {
        if (diag.line == 1 && diag.column > 3) diag.column -= 3;
        diag.source_line = s.text;
        d->Append(std::move(diag));
      }
      return ok && env.count("x") ? env["x"] : nullptr;
    });
    return type ? type : dsl::Type::Dyn();
  }

  void ReadContext(const YamlNode& n, Machine* m) {
    if (!n.is_map()) {
      r_.Error(n, "context must be a map of names to entities, not " + std::string(n.KindName()));
      return;
    }
    r_.CheckKeys(n, "context", nullptr);
    for (const auto& [k, v] : n.entries) {
      ContextEntity c;
      if (!r_.Name(k, "a context name", &c.name)) continue;
      c.at = r_.At(k);
      if (!r_.CheckMap(v, "context", ("context '" + c.name + "'").c_str())) continue;
      if (const YamlNode* t = Required(v, "entity_type", "a context entity")) {
        r_.Name(*t, "entity_type", &c.entity_type);
        c.entity_type_at = r_.At(*t);
      }
      if (const YamlNode* id = Required(v, "id", "a context entity")) r_.Expr(*id, "id", &c.id);
      m->context.push_back(std::move(c));
    }
  }

  void ReadEvents(const YamlNode& n, Machine* m) {
    if (!n.is_map()) {
      r_.Error(n, "events must be a map of event names, not " + std::string(n.KindName()));
      return;
    }
    r_.CheckKeys(n, "events", nullptr);
    for (const auto& [k, v] : n.entries) {
      EventSpec e;
      if (!r_.Name(k, "event name", &e.name)) continue;
      e.at = r_.At(k);
      if (v.is_sequence() || v.is_scalar()) {
        r_.Names(v, "an actor", &e.actors, &e.actor_at);  // Short form: the actors alone.
      } else if (r_.CheckMap(v, "event", ("event '" + e.name + "'").c_str())) {
        if (const YamlNode* a = v.Find("actors")) r_.Names(*a, "an actor", &e.actors, &e.actor_at);
        if (const YamlNode* d = v.Find("data")) ReadSchema(*d, "data", &e.data);
      }
      if (!e.data.type) e.data.type = dsl::Type::Object({});
      m->events.push_back(std::move(e));
    }
  }

  void ReadStates(const YamlNode& n, Machine* m) {
    if (!n.is_map()) {
      r_.Error(n, "states must be a map of state names, not " + std::string(n.KindName()));
      return;
    }
    r_.CheckKeys(n, "states", nullptr);
    if (n.entries.size() > kMaxStates)
      r_.Error(n, "a machine has at most " + std::to_string(kMaxStates) + " states");
    for (const auto& [k, v] : n.entries) {
      State s;
      if (!r_.Name(k, "state name", &s.name)) continue;
      s.at = r_.At(k);
      if (!v.is_null() && r_.CheckMap(v, "state", ("state '" + s.name + "'").c_str())) {
        if (const YamlNode* x = v.Find("initial")) {
          r_.Bool(*x, "initial", &s.initial);
          s.initial_at = r_.At(*x);
        }
        if (const YamlNode* x = v.Find("final")) {
          r_.Bool(*x, "final", &s.final);
          s.final_at = r_.At(*x);
        }
        if (const YamlNode* x = v.Find("description")) r_.Scalar(*x, "description", &s.description);
        if (const YamlNode* x = v.Find("status")) {
          ReadStatus(*x, m, &s);
          s.status_at = r_.At(*x);
        }
        if (const YamlNode* x = v.Find("validate")) ReadValidation(*x, &s);
      }
      // An unknown status was reported where it stands; saying it is missing too would mislead.
      if (m->kind == MachineKind::kRequest && s.status == RequestStatus::kNone &&
          !(v.is_map() && v.Find("status")))
        r_.Error(k, "state '" + s.name + "' of a request machine needs a status",
                 "status: PREPARING, APPLYING, SUCCEEDED, FAILED or CANCELLED");
      m->states.push_back(std::move(s));
    }
  }

  void ReadStatus(const YamlNode& x, Machine* m, State* s) {
    std::string v;
    if (!r_.Scalar(x, "status", &v)) return;
    if (m->kind == MachineKind::kEntity) {
      r_.Error(x, "entity states have no request status");
      return;
    }
    static const std::pair<const char*, RequestStatus> kStatuses[] = {
        {"PREPARING", RequestStatus::kPreparing},
        {"APPLYING", RequestStatus::kApplying},
        {"SUCCEEDED", RequestStatus::kSucceeded},
        {"FAILED", RequestStatus::kFailed},
        {"CANCELLED", RequestStatus::kCancelled}};
    for (const auto& [name, status] : kStatuses)
      if (v == name) s->status = status;
    if (s->status == RequestStatus::kNone) {
      std::vector<std::string> names;
      for (const auto& [name, status] : kStatuses) names.push_back(name);
      std::string near = dsl::NearestName(v, names);
      r_.Error(x, "unknown status '" + v + "'",
               near.empty() ? "statuses: " + JoinNames(names) : "did you mean '" + near + "'?");
    }
  }

  void ReadValidation(const YamlNode& x, State* s) {
    if (!r_.CheckMap(x, "validate", "validate")) return;
    Validation v;
    v.at = r_.At(x);
    if (const YamlNode* n = Required(x, "rules", "validate"))
      r_.Names(*n, "a rule name", &v.rules, &v.rules_at);
    if (const YamlNode* n = Required(x, "passed", "validate")) {
      r_.Name(*n, "the state after passing", &v.passed);
      v.passed_at = r_.At(*n);
    }
    if (const YamlNode* n = Required(x, "failed", "validate")) {
      r_.Name(*n, "the state after failing", &v.failed);
      v.failed_at = r_.At(*n);
    }
    s->validate = std::move(v);
  }

  void ReadTransitions(const YamlNode& n, Machine* m) {
    if (!n.is_sequence()) {
      r_.Error(n, "transitions must be a list, not " + std::string(n.KindName()));
      return;
    }
    if (n.items.size() > kMaxTransitions)
      r_.Error(n, "a machine has at most " + std::to_string(kMaxTransitions) + " transitions");
    for (const auto& item : n.items) {
      if (!r_.CheckMap(item, "transition", "a transition")) continue;
      Transition t;
      t.at = r_.At(item);
      std::vector<std::string> froms;
      std::vector<Where> from_at;
      if (const YamlNode* x = Required(item, "from", "a transition"))
        r_.Names(*x, "a state name", &froms, &from_at);
      if (const YamlNode* x = Required(item, "to", "a transition")) {
        r_.Name(*x, "a state name", &t.to);
        t.to_at = r_.At(*x);
      }
      if (const YamlNode* x = item.Find("on")) {
        r_.Name(*x, "event name", &t.event);
        t.event_at = r_.At(*x);
      }
      if (const YamlNode* x = item.Find("after")) r_.Expr(*x, "after", &t.after);
      if (const YamlNode* x = item.Find("at")) r_.Expr(*x, "at", &t.at_time);
      if (const YamlNode* x = item.Find("rules"))
        r_.Names(*x, "a rule name", &t.rules, &t.rules_at);
      if (const YamlNode* x = item.Find("if")) r_.Expr(*x, "if", &t.guard);
      // The timer is what does not belong: it is the later idea, and the event names the
      // transition.
      const YamlNode* timer = item.Find("after") ? item.Find("after") : item.Find("at");
      if (!t.event.empty() && t.is_timer())
        r_.Error(*timer, "a transition is taken on an event or on a timer, not both");
      if (!t.after.empty() && !t.at_time.empty())
        r_.Error(*item.Find("at"), "a timer is either 'after' a duration or 'at' a time, not both");
      if (const YamlNode* x = item.Find("actions")) ReadActions(*x, &t.actions);
      for (size_t i = 0; i < froms.size(); ++i) {
        Transition copy = t;
        copy.from = froms[i];
        copy.from_at = from_at[i];
        m->transitions.push_back(std::move(copy));
      }
    }
  }

  void ReadActions(const YamlNode& n, std::vector<Action>* out) {
    if (!n.is_sequence()) {
      r_.Error(n, "actions must be a list, not " + std::string(n.KindName()));
      return;
    }
    static const std::pair<const char*, Action::Kind> kKinds[] = {
        {"set", Action::Kind::kSet},       {"merge", Action::Kind::kMerge},
        {"append", Action::Kind::kAppend}, {"remove", Action::Kind::kRemove},
        {"create", Action::Kind::kCreate}, {"send", Action::Kind::kSend},
        {"fail", Action::Kind::kFail}};
    for (const auto& item : n.items) {
      if (!item.is_map()) {
        r_.Error(item, "an action must be a map such as {set: entity.Document.X, value: ...}");
        continue;
      }
      const char* kind_name = nullptr;
      Action a;
      a.at = r_.At(item);
      for (const auto& [name, kind] : kKinds) {
        if (item.Find(name)) {
          if (kind_name) {
            r_.Error(*KeyOf(item, name), std::string("an action does one thing: both '") +
                                             kind_name + "' and '" + name + "' are here");
          }
          kind_name = name;
          a.kind = kind;
        }
      }
      if (!kind_name) {
        std::vector<std::string> names;
        for (const auto& [name, kind] : kKinds) names.push_back(name);
        r_.Error(item, "an action needs one of: " + JoinNames(names));
        continue;
      }
      r_.CheckMap(item, kind_name, (std::string("a '") + kind_name + "' action").c_str());
      const YamlNode& main = *item.Find(kind_name);
      switch (a.kind) {
        case Action::Kind::kSet:
        case Action::Kind::kMerge:
        case Action::Kind::kAppend:
        case Action::Kind::kRemove:
          r_.Scalar(main, "a path", &a.path);
          a.path_at = r_.At(main);
          if (const YamlNode* v = Required(item, "value", "this action"))
            r_.Expr(*v, "value", &a.value);
          break;
        case Action::Kind::kCreate:
          r_.Name(main, "entity_type", &a.entity_type);
          a.entity_type_at = r_.At(main);
          if (const YamlNode* v = Required(item, "owner", "a create action"))
            r_.Expr(*v, "owner", &a.owner);
          if (const YamlNode* v = Required(item, "document", "a create action"))
            r_.Expr(*v, "document", &a.value);
          if (const YamlNode* v = item.Find("bind")) r_.Name(*v, "bind", &a.bind);
          break;
        case Action::Kind::kSend:
          r_.Name(main, "event name", &a.event);
          a.event_at = r_.At(main);
          if (const YamlNode* v = item.Find("to")) r_.Expr(*v, "to", &a.target);
          if (const YamlNode* v = item.Find("entity_type")) {
            r_.Name(*v, "entity_type", &a.entity_type);
            a.entity_type_at = r_.At(*v);
          }
          if (const YamlNode* v = item.Find("data")) r_.Expr(*v, "data", &a.data);
          break;
        case Action::Kind::kFail:
          r_.Name(main, "an error code", &a.code);
          a.code_at = r_.At(main);
          if (const YamlNode* v = Required(item, "message", "a fail action"))
            r_.Expr(*v, "message", &a.message);
          break;
      }
      out->push_back(std::move(a));
    }
  }

  // A limit written as a name: the rules constant's value, or an error at the name. Returns
  // whether `n` is a name at all (else it is read as a number).
  bool LimitName(const YamlNode& n, const char* key, bool whole, FieldSpec* f,
                 std::optional<dsl::Decimal>* out) {
    if (!n.is_scalar() || n.text.empty() ||
        !(std::isalpha(static_cast<unsigned char>(n.text[0])) || n.text[0] == '_') ||
        !std::all_of(n.text.begin(), n.text.end(), [](char c) {
          return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
        }))
      return false;
    f->limit_refs.push_back({key, n.text, r_.At(n)});
    if (outline_) return true;  // Read for its outline: the limit stays unset.
    auto it = constants_ ? constants_->find(n.text) : LimitConstants::const_iterator();
    if (!constants_ || it == constants_->end()) {
      std::vector<std::string> names;
      if (constants_)
        for (const auto& [name, c] : *constants_) names.push_back(name);
      std::string near = dsl::NearestName(n.text, names);
      r_.Error(n, std::string(key) + " names '" + n.text + "', which no rules file defines",
               near.empty() ? "a limit is a number or the name of a constant of the rules files"
                            : "did you mean '" + near + "'?");
      return true;
    }
    const LimitConstant& c = it->second;
    if (c.kind == LimitConstant::Kind::kBroken) return true;  // Its error stands where it is.
    const bool fits = whole ? c.kind == LimitConstant::Kind::kInt && c.value.coefficient >= 0
                            : c.kind != LimitConstant::Kind::kOther;
    if (!fits) {
      r_.Error(n,
               std::string(key) + " names '" + n.text + "', which is " +
                   (c.kind == LimitConstant::Kind::kOther
                        ? dsl::WithArticle(c.type)
                        : "the number " + dsl::DecimalToString(c.value)) +
                   (whole ? "; it must be a whole number of at least 0" : "; it must be a number"));
      return true;
    }
    *out = c.value;
    return true;
  }

  Reader r_;
  bool in_input_ = false;  // Reading a request machine's input (where refers_to belongs).
  Diagnostics* diags_;
  const LimitConstants* constants_;
  bool outline_;
};

bool ReadFile(const std::string& path, std::string* text, std::string* error) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    *error = "is a directory";
    return false;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = std::strerror(errno);
    return false;
  }
  std::ostringstream s;
  s << in.rdbuf();
  *text = s.str();
  return true;
}

// Files with one of `extensions` under `dir` (recursively), sorted; problems to *diags.
std::vector<std::string> ListFiles(const std::string& dir,
                                   const std::vector<std::string>& extensions, Diagnostics* diags) {
  std::vector<std::string> files;
  std::error_code ec;
  if (!std::filesystem::exists(dir, ec)) {
    diags->AddFile(Severity::kError, dir, "no such folder");
    return files;
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    diags->AddFile(Severity::kError, dir, "not a folder");
    return files;
  }
  auto it = std::filesystem::recursive_directory_iterator(
      dir, std::filesystem::directory_options::skip_permission_denied, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::string ext = it->path().extension().string();
    const bool wanted = std::find(extensions.begin(), extensions.end(), ext) != extensions.end();
    std::error_code link_ec;
    if (wanted && it->is_symlink(link_ec) && !std::filesystem::exists(it->path(), link_ec)) {
      // A definition the author meant to load must not vanish without a word.
      diags->AddFile(Severity::kError, it->path().lexically_normal().string(),
                     "broken symbolic link (to " +
                         std::filesystem::read_symlink(it->path(), link_ec).string() + ")");
      continue;
    }
    if (!it->is_regular_file(ec)) continue;
    if (wanted) files.push_back(it->path().lexically_normal().string());
    if (files.size() > kMaxWorkflowFiles) {
      diags->AddFile(Severity::kError, dir,
                     "holds more than " + std::to_string(kMaxWorkflowFiles) + " definition files");
      break;
    }
  }
  if (ec) diags->AddFile(Severity::kError, dir, "cannot list: " + ec.message());
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

void RelocateFragmentDiagnostic(const ExprText& fragment, dsl::Diagnostic* d) {
  MachineReader::RelocateDiagnostic(fragment, d);
}

LimitConstants ReadLimitConstants(const std::vector<Source>& rule_sources) {
  LimitConstants out;
  if (rule_sources.empty()) return out;
  Diagnostics ignored;  // The checker reports the rules' problems.
  dsl::BuildOptions options;
  std::vector<std::string> none;
  options.only_rules = &none;
  options.warn_unused_constants = false;
  options.keep_going = true;
  auto program = dsl::Program::BuildShared(rule_sources, {}, &ignored, options);
  if (!program) return out;
  for (const auto& name : program->ConstantNames()) {
    LimitConstant& c = out[name];
    Diagnostics local;
    auto e = dsl::Expression::Compile({"<limit>", name}, {}, &local, program.get());
    const dsl::Value* v = e ? e->ConstantValue() : nullptr;
    if (!v) continue;  // kBroken.
    if (v->kind == dsl::ValueKind::kInt) {
      c.kind = LimitConstant::Kind::kInt;
      c.value = {v->i, 0};
    } else if (v->kind == dsl::ValueKind::kDecimal) {
      c.kind = LimitConstant::Kind::kDecimal;
      c.value = v->dec();
    } else {
      c.kind = LimitConstant::Kind::kOther;
      c.type = e->type()->ToString();
    }
  }
  return out;
}

WorkflowFile LoadWorkflowFile(const Source& source, Diagnostics* diags,
                              const LimitConstants* constants) {
  WorkflowFile out;
  YamlNode root;
  Diagnostics read;
  const bool ok = ReadYaml(source, &root, &read);
  for (dsl::Diagnostic d : read.items()) {
    if (d.hint.empty() && d.message.rfind("YAML syntax error", 0) == 0 && d.column > 0)
      d.hint = QuoteHint(d.source_line, d.column);
    diags->Append(std::move(d));
  }
  if (!ok) return out;
  MachineReader reader(source, diags, constants);
  out.machine = reader.Read(root);
  out.extension = std::move(reader.extension);
  return out;
}

std::unique_ptr<Machine> LoadMachine(const Source& source, Diagnostics* diags,
                                     const LimitConstants* constants) {
  return LoadWorkflowFile(source, diags, constants).machine;
}

std::unique_ptr<Machine> LoadMachineOutline(const Source& source, Diagnostics* diags) {
  YamlNode root;
  if (!ReadYaml(source, &root, diags)) return nullptr;
  return MachineReader(source, diags, nullptr, /*outline=*/true).Read(root);
}

const std::string& Policy::RecordedPath(const std::string& path) const {
  auto it = recorded_paths.find(path);
  return it == recorded_paths.end() ? path : it->second;
}

namespace {

std::string Position(const Where& w) {
  return w.source->name + ":" + std::to_string(w.line) + ":" + std::to_string(w.column);
}

void ErrorAt(Diagnostics* diags, const Where& w, std::string message, std::string hint = {}) {
  diags->AddAt(Severity::kError, *w.source, w.line, w.column, std::move(message), std::move(hint));
}

// Moves each extension's fields into its entity machine's document. A field whose name the
// document has already (the machine's own or an earlier extension's, of any type) is reported
// where it is written and where the other is, and left out.
void ApplyExtensions(Policy* policy, Diagnostics* diags) {
  std::map<std::string, Machine*> entities;
  for (auto& m : policy->machines)
    if (m->kind == MachineKind::kEntity) entities.emplace(m->entity_type, m.get());
  for (auto& e : policy->extensions) {
    auto it = entities.find(e->extends);
    if (it == entities.end()) {
      // A machine missing because its file did not load was reported there.
      if (policy->failed_files == 0)
        ErrorAt(diags, e->extends_at,
                "this extension extends entity type '" + e->extends +
                    "', which no entity machine defines");
      continue;
    }
    Machine& m = *it->second;
    if (m.document.type->kind() != dsl::TypeKind::kObject) continue;
    for (FieldSpec& f : e->document.fields) {
      auto same = std::find_if(m.document.fields.begin(), m.document.fields.end(),
                               [&](const FieldSpec& g) { return g.name == f.name; });
      if (same != m.document.fields.end()) {
        const bool own = same->at.source == m.source;
        ErrorAt(diags, f.at,
                "field '" + f.name + "' of " + m.entity_type +
                    "'s document is declared already, at " + Position(same->at) +
                    "; an extension adds new fields only",
                "give it a name of its own");
        ErrorAt(diags, same->at,
                std::string("field '") + f.name + "' of " + m.entity_type + "'s document" +
                    (own ? "" : " (from an extension)") +
                    " is declared again by the extension at " + Position(f.at));
        continue;
      }
      FieldSpec moved = std::move(f);
      f = FieldSpec();
      f.name = moved.name;
      f.optional = moved.optional;
      f.type = moved.type;
      f.at = moved.at;
      m.document.fields.push_back(std::move(moved));
    }
    std::vector<dsl::Field> fields;
    for (const FieldSpec& f : m.document.fields) fields.push_back({f.name, f.type, f.optional});
    m.document.type = dsl::Type::Object(std::move(fields));
  }
}

// "rules/product.rules" for rules/product.rules read from the folder ./rules/ (or /src/rules).
std::string RecordedPathIn(const std::string& dir, const std::string& path) {
  std::filesystem::path folder = std::filesystem::path(dir).lexically_normal();
  if (folder.filename().empty()) folder = folder.parent_path();  // "rules/"
  std::string name = folder.filename().string();
  if (name.empty() || name == "." || name == "..") {
    std::error_code ec;
    name = std::filesystem::absolute(folder, ec).lexically_normal().filename().string();
  }
  const std::filesystem::path inside = std::filesystem::path(path).lexically_relative(folder);
  if (inside.empty() || *inside.begin() == "..") return path;
  return (std::filesystem::path(name) / inside).generic_string();
}

// The overrides that belong in `dir` by their extension, added to the files listed there, sorted.
std::vector<std::string> WithOverrides(const std::string& dir,
                                       const std::vector<std::string>& extensions,
                                       std::vector<std::string> files,
                                       const SourceOverrides* overrides) {
  if (!overrides) return files;
  const std::filesystem::path folder = std::filesystem::path(dir).lexically_normal();
  for (const auto& [path, text] : *overrides) {
    const std::string ext = std::filesystem::path(path).extension().string();
    if (std::find(extensions.begin(), extensions.end(), ext) == extensions.end()) continue;
    const std::filesystem::path inside = std::filesystem::path(path).lexically_relative(folder);
    if (inside.empty() || *inside.begin() == ".." || *inside.begin() == ".") continue;
    if (std::find(files.begin(), files.end(), path) == files.end()) files.push_back(path);
  }
  std::sort(files.begin(), files.end());
  return files;
}

std::unique_ptr<Policy> LoadPolicyWith(const std::vector<std::string>& workflow_dirs,
                                       const std::vector<std::string>& rule_dirs,
                                       const SourceOverrides* overrides, Diagnostics* diags) {
  auto policy = std::make_unique<Policy>();
  auto add = [&](const std::string& path, Diagnostics* to) -> const Source* {
    std::string text, error;
    if (overrides) {
      auto it = overrides->find(path);
      if (it != overrides->end()) {
        policy->sources.push_back({path, it->second});
        return &policy->sources.back();
      }
    }
    if (!ReadFile(path, &text, &error)) {
      to->AddFile(Severity::kError, path, "cannot read: " + error);
      return nullptr;
    }
    policy->sources.push_back({path, std::move(text)});
    return &policy->sources.back();
  };
  // The rules first, since schema limits may name their constants; their problems are reported
  // after the workflows', in the order the folders were given.
  Diagnostics rule_diags;
  for (const auto& dir : rule_dirs) {
    for (const auto& path :
         WithOverrides(dir, {".rules"}, ListFiles(dir, {".rules"}, &rule_diags), overrides)) {
      if (const Source* s = add(path, &rule_diags)) policy->rule_sources.push_back(s);
      policy->recorded_paths[path] = RecordedPathIn(dir, path);
    }
  }
  std::vector<Source> rule_texts;
  for (const Source* s : policy->rule_sources) rule_texts.push_back(*s);
  const LimitConstants constants = ReadLimitConstants(rule_texts);
  for (const auto& dir : workflow_dirs) {
    for (const auto& path : WithOverrides(dir, {".yaml", ".yml"},
                                          ListFiles(dir, {".yaml", ".yml"}, diags), overrides)) {
      policy->recorded_paths[path] = RecordedPathIn(dir, path);
      const Source* s = add(path, diags);
      if (!s) {
        ++policy->failed_files;
        continue;
      }
      WorkflowFile file = LoadWorkflowFile(*s, diags, &constants);
      if (file.machine)
        policy->machines.push_back(std::move(file.machine));
      else if (file.extension)
        policy->extensions.push_back(std::move(file.extension));
      else
        ++policy->failed_files;
    }
  }
  ApplyExtensions(policy.get(), diags);
  for (const auto& d : rule_diags.items()) diags->Append(d);
  return policy;
}

}  // namespace

std::unique_ptr<Policy> LoadPolicy(const std::vector<std::string>& workflow_dirs,
                                   const std::vector<std::string>& rule_dirs, Diagnostics* diags) {
  return LoadPolicyWith(workflow_dirs, rule_dirs, nullptr, diags);
}

std::unique_ptr<Policy> LoadPolicy(const std::vector<std::string>& workflow_dirs,
                                   const std::vector<std::string>& rule_dirs,
                                   const SourceOverrides& overrides, Diagnostics* diags) {
  return LoadPolicyWith(workflow_dirs, rule_dirs, &overrides, diags);
}

}  // namespace sellerflow::engine
