// The operator's commands, modelled on `aws marketplace-catalog`: each opens the store, loads the
// policy and runs the engine.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "dsl/time.h"
#include "dsl/utf8.h"
#include "engine/base/limits.h"
#include "engine/base/log.h"
#include "engine/check/check_policy.h"
#include "engine/run/describe.h"
#include "engine/run/engine.h"
#include "engine/run/replay.h"
#include "engine/store/store.h"
#include "src/commands.h"

namespace sellerflow {
namespace {

using engine::Result;

// Options every engine command shares.
struct Globals {
  std::string log_level = "warn", log_format = "text";
  std::string db;
  CLI::Option* db_option = nullptr;  // Tells `--db ""` from no --db at all.
  std::vector<std::string> workflows, rules;
  std::string actor, at;
  // Tables for a person at a terminal, JSON for scripts and pipes.
  std::string output = isatty(STDOUT_FILENO) ? "table" : "json";
};

void AddGlobals(CLI::App* app, Globals* g) {
  g->db_option =
      app->add_option("--db", g->db, "the store (default: $SELLERFLOW_DB, else ./sellerflow.db)");
  app->add_option("--workflows", g->workflows,
                  "workflow folders (default: the shipped workflows/)");
  app->add_option("--rules", g->rules, "rules folders (default: the shipped rules/)");
  app->add_option("--actor", g->actor, "who acts: seller:<account>, buyer:<account> or operations");
  app->add_option("--at", g->at, "the command's time, RFC 3339 (default: now)");
  app->add_option("--output", g->output,
                  "json, table or text (default: table on a terminal, else json)")
      ->check(CLI::IsMember({"json", "table", "text"}));
  app->add_option("--log-level", g->log_level,
                  "trace, debug (every transition), info (every command), warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app->add_option("--log-format", g->log_format, "text, or json for log collectors")
      ->check(CLI::IsMember({"text", "json"}));
}

std::string DefaultFolder(const char* name) {
  std::error_code ec;
  if (std::filesystem::is_directory(name, ec)) return name;
  return std::string(SELLERFLOW_POLICY_DIR) + "/" + name;
}

// The policy, checked, and the store, opened: everything a command needs. Exits 3 on
// definition errors (after printing them).
struct Session {
  std::unique_ptr<engine::Policy> policy;
  std::unique_ptr<engine::Store> store;
  std::unique_ptr<engine::Engine> engine;
};

// The store of --db, $SELLERFLOW_DB or ./sellerflow.db.
std::unique_ptr<engine::Store> OpenStore(const Globals& g, const engine::StoreOptions& options) {
  std::string db = g.db;
  // An empty --db is a mistake (an unset variable in a script), not a wish for the default store.
  if (db.empty() && g.db_option != nullptr && g.db_option->count() > 0)
    throw UsageError("--db is empty; give the path of a store file");
  if (db.empty()) {
    const char* env = std::getenv("SELLERFLOW_DB");
    db = env && *env ? env : "sellerflow.db";
  }
  std::error_code ec;
  if (std::filesystem::is_directory(db, ec)) {
    // SQLite would say only "unable to open database file".
    throw engine::StoreError(
        engine::StoreError::Kind::kIo,
        "cannot open " + db + ": it is a directory; give the path of a store file");
  }
  return engine::Store::Open(db, options);
}

// A command that only reads needs neither the policy (a half-edited workflows/ must not stop it)
// nor write access, and must never create a store behind a mistyped path.
std::unique_ptr<engine::Store> OpenStoreToRead(const Globals& g) {
  engine::ConfigureLog(
      g.log_level, g.log_format == "json" ? engine::LogFormat::kJson : engine::LogFormat::kText);
  engine::StoreOptions options;
  options.create = false;
  options.read_only = true;
  return OpenStore(g, options);
}

int OpenSession(const Globals& g, Session* s) {
  engine::ConfigureLog(
      g.log_level, g.log_format == "json" ? engine::LogFormat::kJson : engine::LogFormat::kText);
  dsl::Diagnostics diags;
  std::vector<std::string> workflows = g.workflows, rules = g.rules;
  if (workflows.empty()) workflows.push_back(DefaultFolder("workflows"));
  if (rules.empty()) rules.push_back(DefaultFolder("rules"));
  s->policy = engine::LoadPolicy(workflows, rules, &diags);
  engine::CheckPolicy(*s->policy, &diags);
  if (diags.has_errors()) {
    std::fputs(diags.ToText().c_str(), stderr);
    std::fprintf(stderr, "sellerflow: the definitions have errors; run `sellerflow check`\n");
    return kExitDefinitions;
  }
  s->store = OpenStore(g, engine::StoreOptions());
  s->engine = std::make_unique<engine::Engine>(*s->policy, s->store.get());
  return kExitOk;
}

std::string Now() {
  auto now = std::chrono::system_clock::now();
  int64_t us =
      std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  return dsl::FormatTimestamp(us - us % dsl::kMicrosPerSecond);  // Whole seconds read better.
}

int ExitFor(const engine::Outcome& o) {
  switch (o.result) {
    case Result::kOk:
      return o.failed ? kExitRefused : kExitOk;
    case Result::kRefused:
      return kExitRefused;
    case Result::kConflict:
      return kExitConflict;
    case Result::kNotFound:
      return kExitNotFound;
    case Result::kAccessDenied:
      return kExitAccessDenied;
  }
  return kExitInternal;
}

// Text for a terminal: control characters (a seller's text may hold any) as \xNN, so none moves
// the cursor or recolours what follows.
std::string Visible(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out.push_back(ch);
    }
  }
  return out;
}

// A JSON string field, or "", fit for a terminal.
std::string Str(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  return it != j.end() && it->is_string() ? Visible(it->get<std::string>()) : "";
}

// Rows as aligned columns, the first row the header.
std::string Table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> width;
  for (const auto& r : rows)
    for (size_t i = 0; i < r.size(); ++i) {
      if (width.size() <= i) width.push_back(0);
      width[i] = std::max(width[i], dsl::CountCodePoints(r[i]));
    }
  std::string out;
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) {
      out += r[i];
      if (i + 1 < r.size()) out += std::string(width[i] - dsl::CountCodePoints(r[i]) + 2, ' ');
    }
    while (!out.empty() && out.back() == ' ')
      out.pop_back();  // An empty last cell leaves no padding.
    out += "\n";
  }
  return out;
}

// A response for people: the shapes the engine answers with, as short lines and tables; anything
// else as indented JSON.
std::string ForPeople(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded()) return body + "\n";
  std::string out;
  if (j.contains("ChangeSetId") && j.contains("ChangeSet")) {
    out += Str(j, "ChangeSetId") + "  " + Str(j, "Status");
    if (!Str(j, "FailureCode").empty()) out += " (" + Str(j, "FailureCode") + ")";
    out += "  started " + Str(j, "StartTime");
    if (!Str(j, "EndTime").empty()) out += ", ended " + Str(j, "EndTime");
    out += "\n";
    std::vector<std::vector<std::string>> rows = {{"#", "ChangeType", "Entity", "Status", "State"}};
    int i = 0;
    for (const auto& c : j["ChangeSet"])
      rows.push_back({std::to_string(i++), Str(c, "ChangeType"), Str(c["Entity"], "Identifier"),
                      Str(c, "Status"), Str(c, "State")});
    out += Table(rows);
    i = 0;
    for (const auto& c : j["ChangeSet"]) {
      for (const auto& e : c["ErrorDetailList"])
        out += "  change " + std::to_string(i) + ": " + Str(e, "ErrorCode") + ": " +
               Str(e, "ErrorMessage") + "\n";
      ++i;
    }
    return out;
  }
  if (j.contains("ChangeSetSummaryList")) {
    std::vector<std::vector<std::string>> rows = {
        {"ChangeSetId", "Status", "Start", "End", "Entities"}};
    for (const auto& c : j["ChangeSetSummaryList"]) {
      std::string entities;
      for (const auto& e : c["EntityIdList"])
        entities += (entities.empty() ? "" : ",") + e.get<std::string>();
      rows.push_back({Str(c, "ChangeSetId"), Str(c, "Status"), Str(c, "StartTime"),
                      Str(c, "EndTime"), entities});
    }
    return Table(rows);
  }
  if (j.contains("EntitySummaryList")) {
    std::vector<std::vector<std::string>> rows = {
        {"EntityId", "Type", "State", "Revision", "Owner"}};
    for (const auto& e : j["EntitySummaryList"])
      rows.push_back({Str(e, "EntityId"), Str(e, "EntityType"), Str(e, "State"),
                      std::to_string(e.value("Revision", 0)), Str(e, "Owner")});
    return Table(rows);
  }
  if (j.contains("Events")) {
    // The change set and change columns tell apart the same events of a set's several changes.
    std::vector<std::vector<std::string>> rows = {
        {"At", "ChangeSetId", "Change", "Entity", "Event", "From", "To", "Actor"}};
    for (const auto& e : j["Events"]) {
      const int change = e.value("Change", -1);
      rows.push_back({Str(e, "At"), Str(e, "ChangeSetId"), change < 0 ? "" : std::to_string(change),
                      Str(e, "Entity"), Str(e, "Event"), Str(e, "From"), Str(e, "To"),
                      Str(e, "Actor")});
    }
    return Table(rows);
  }
  if (j.contains("EntityIdentifier")) {
    out += Str(j, "EntityIdentifier") + "  " + Str(j, "EntityType") + "  " + Str(j, "State") +
           "  revision " + std::to_string(j.value("Revision", 0)) + "  owner " + Str(j, "Owner") +
           "\n";
    return out + j["DetailsDocument"].dump(2) + "\n";
  }
  return j.dump(2) + "\n";
}

// Prints a response: JSON for scripts, lines and tables for people (the default on a terminal).
void Emit(const Globals& g, const std::string& body) {
  if (g.output == "json") {
    std::printf("%s\n", body.c_str());
  } else {
    std::fputs(ForPeople(body).c_str(), stdout);
  }
}

void Print(const Globals& g, const engine::Outcome& o) {
  if (o.result != Result::kOk) {
    std::fprintf(stderr, "sellerflow: %s: %s\n", o.error_type.c_str(), Visible(o.message).c_str());
    // The problems themselves, which otherwise only a JSON reader of stdout would see.
    nlohmann::json body = nlohmann::json::parse(o.body, nullptr, false);
    if (body.is_object() && body.contains("Violations") && body["Violations"].is_array()) {
      for (const auto& v : body["Violations"]) {
        std::string path = Str(v, "Path");
        std::fprintf(stderr, "  %s: %s\n", path.empty() ? "(body)" : path.c_str(),
                     Str(v, "Message").c_str());
      }
    }
    if (g.output == "json") std::printf("%s\n", o.body.c_str());
    return;
  }
  Emit(g, o.body);
}

// The stream to read `path` from: standard input for "-", else the file, opened into *file.
// Throws UsageError naming the path when it cannot be read or is a directory.
std::istream* OpenInput(const std::string& path, std::ifstream* file) {
  if (path == "-") return &std::cin;
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw UsageError("cannot read '" + path + "': it is a directory");
  file->open(path, std::ios::binary);
  if (!*file) throw UsageError("cannot read '" + path + "': " + std::strerror(errno));
  return file;
}

// Reads a whole file, or standard input for "-", up to `max` bytes: past them it stops reading and
// sets *too_long (a huge input is refused without being held).
std::string ReadInput(const std::string& path, size_t max, bool* too_long) {
  std::ifstream file;
  std::istream* in = OpenInput(path, &file);
  std::string text(max + 1, '\0');
  in->read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in->gcount()));
  *too_long = text.size() > max;
  return text;
}

// Fills in the actor and time a command did not carry, from --actor/--at or the wall clock.
bool Complete(const Globals& g, engine::Command* c, std::string* error) {
  if (!g.actor.empty()) c->actor = g.actor;
  if (!g.at.empty()) c->at = g.at;
  if (c->at.empty()) c->at = Now();
  if (!engine::ParseAt(c->at, &c->at_us)) {
    *error = std::string(c->op == engine::Op::kTick ? "--to " : "--at ") + c->at +
             " is not an RFC 3339 time (years 0001 to 9999)";
    return false;
  }
  if (!g.actor.empty() && !engine::ValidActor(g.actor)) {
    *error = "--actor must be seller:<12 digits>, buyer:<12 digits> or operations, not ";
    dsl::AppendJsonString(g.actor,
                          error);  // Quoted and escaped: no control character reaches the terminal.
    return false;
  }
  // A tick moves time for everyone: it names its actor too (the engine lets only operations).
  if (c->actor.empty() && c->op != engine::Op::kImport) {
    *error = "who acts? give --actor seller:<account>, buyer:<account> or operations";
    return false;
  }
  return true;
}

int RunCommand(const Globals& g, engine::Command c) {
  std::string error;
  if (!Complete(g, &c, &error)) {
    std::fprintf(stderr, "sellerflow: %s\n", error.c_str());
    return kExitUsage;
  }
  Session s;
  if (int rc = OpenSession(g, &s)) return rc;
  engine::Outcome o = s.engine->Execute(c);
  Print(g, o);
  return ExitFor(o);
}

void PrintViolations(const std::vector<engine::Violation>& violations, const std::string& where) {
  std::fprintf(stderr, "sellerflow: ValidationException: %s has %zu problem%s\n", where.c_str(),
               violations.size(), violations.size() == 1 ? "" : "s");
  for (const auto& v : violations)
    std::fprintf(stderr, "  %s: %s\n", v.path.empty() ? "(body)" : Visible(v.path).c_str(),
                 Visible(v.message).c_str());
}

// How `replay` and `import` report as they go.
struct ReplayFlags {
  bool ack = false;  // Print {"Ack":LINE} once each command is committed.
};

// Runs a file of commands through engine::Replay and prints its summary and the store's digest.
int ReplayLines(const Globals& g, Session& s, const std::string& path,
                engine::ReplayOptions options, const ReplayFlags& flags) {
  std::ifstream file;
  std::istream* in = OpenInput(path, &file);
  const bool progress = isatty(STDERR_FILENO);
  auto start = std::chrono::steady_clock::now();
  s.engine->set_respond(false);  // Only counts are reported.
  options.default_actor = g.actor;
  engine::ReplayHooks hooks;
  hooks.malformed = [&](int64_t line, const std::vector<engine::Violation>& violations) {
    PrintViolations(violations, path + ":" + std::to_string(line));
  };
  hooks.ran = [&](int64_t line, const engine::Outcome&) {
    if (flags.ack) {
      std::printf("{\"Ack\":%lld}\n", static_cast<long long>(line));
      std::fflush(stdout);
    }
    if (progress && line % 1000 == 0)
      std::fprintf(stderr, "\r%lld commands", static_cast<long long>(line));
  };
  engine::ReplayReport r;
  try {
    r = engine::Replay(*s.engine, *in, path, options, hooks);
  } catch (const engine::ReplayError& e) {
    throw UsageError(e.what());
  }
  if (progress && r.lines >= 1000) std::fprintf(stderr, "\r");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string out = "{\"Lines\":" + std::to_string(r.lines);
  for (const auto& [k, v] : r.counts) out += ",\"" + k + "\":" + std::to_string(v);
  if (r.malformed) out += ",\"Malformed\":" + std::to_string(r.malformed);
  if (options.resume) out += ",\"Skipped\":" + std::to_string(r.skipped);
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", seconds);
  out += std::string(",\"Seconds\":") + secs + ",\"Digest\":\"" + s.store->Digest() + "\"}";
  std::printf("%s\n", out.c_str());
  return r.malformed ? kExitRefused : kExitOk;
}

// An argument of a read command: positional when its name has no leading "--"; `allowed`, when
// not empty, lists its only values (a misspelt filter would otherwise match nothing, silently).
struct Arg {
  const char* name;
  const char* help;
  std::vector<std::string> allowed = {};
};

using ReadFn = std::function<std::string(engine::Catalog&, const std::vector<std::string>&)>;
// How a read command's answer is shown to people, when the generic table is not enough.
using PeopleFn = std::function<std::string(engine::Catalog&, const std::vector<std::string>&,
                                           const std::string& body)>;

// The fields named in --fields ("A,B"), in order.
std::vector<std::string> FieldList(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  std::string f;
  while (std::getline(in, f, ','))
    if (!f.empty()) out.push_back(f);
  return out;
}

// A document field for a table cell: strings as they are, anything else as compact JSON, cut short.
std::string Cell(const nlohmann::json& doc, const std::string& field) {
  if (!doc.is_object() || !doc.contains(field)) return "";
  const nlohmann::json& v = doc[field];
  std::string text = v.is_string() ? v.get<std::string>() : v.dump();
  constexpr size_t kMaxCell = 40;
  if (dsl::CountCodePoints(text) > kMaxCell) {
    size_t cut = 0;
    for (size_t n = 0; cut < text.size() && n < kMaxCell - 1; ++n) {
      ++cut;
      while (cut < text.size() && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) ++cut;
    }
    text = text.substr(0, cut) + "…";
  }
  return text;
}

// The document of an entity, read for its --fields columns (once per entity).
nlohmann::json EntityDocument(engine::Catalog& e, const std::string& id,
                              std::map<std::string, nlohmann::json>* cache) {
  auto it = cache->find(id);
  if (it != cache->end()) return it->second;
  nlohmann::json j = nlohmann::json::parse(e.DescribeEntity(id), nullptr, false);
  nlohmann::json doc =
      j.is_object() && j.contains("DetailsDocument") ? j["DetailsDocument"] : nlohmann::json();
  (*cache)[id] = doc;
  return doc;
}

// list-change-sets for people: one row per change, as a portal's list of requests shows them: the
// change set, the entity (and the --fields of its document), the change type, the status, and the
// error codes of that change.
std::string ChangeSetsForPeople(engine::Catalog& e, const std::vector<std::string>& args,
                                const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (!j.is_object() || !j.contains("ChangeSetSummaryList")) return ForPeople(body);
  std::vector<std::string> fields = FieldList(args.back());
  std::vector<std::string> header = {"ChangeSetId", "Start", "Entity"};
  header.insert(header.end(), fields.begin(), fields.end());
  for (const char* h : {"ChangeType", "Status", "Errors"}) header.emplace_back(h);
  std::vector<std::vector<std::string>> rows = {header};
  std::map<std::string, nlohmann::json> documents;
  for (const auto& summary : j["ChangeSetSummaryList"]) {
    nlohmann::json cs =
        nlohmann::json::parse(e.DescribeChangeSet(Str(summary, "ChangeSetId")), nullptr, false);
    if (!cs.is_object() || !cs.contains("ChangeSet")) continue;
    for (const auto& c : cs["ChangeSet"]) {
      std::string id = c.contains("Entity") ? Str(c["Entity"], "Identifier") : "";
      std::vector<std::string> row = {Str(cs, "ChangeSetId"), Str(cs, "StartTime"), id};
      nlohmann::json doc =
          fields.empty() || id.empty() ? nlohmann::json() : EntityDocument(e, id, &documents);
      for (const auto& f : fields) row.push_back(Cell(doc, f));
      std::string errors;
      for (const auto& err : c["ErrorDetailList"])
        errors += (errors.empty() ? "" : ", ") + Str(err, "ErrorCode");
      row.push_back(Str(c, "ChangeType"));
      row.push_back(Str(cs, "Status"));
      row.push_back(errors);
      rows.push_back(std::move(row));
    }
  }
  return Table(rows);
}

// list-entities for people: the generic table, plus a column for each of --fields.
std::string EntitiesForPeople(engine::Catalog& e, const std::vector<std::string>& args,
                              const std::string& body) {
  std::vector<std::string> fields = FieldList(args.back());
  nlohmann::json j = nlohmann::json::parse(body, nullptr, false);
  if (fields.empty() || !j.is_object() || !j.contains("EntitySummaryList")) return ForPeople(body);
  std::vector<std::string> header = {"EntityId", "Type", "State", "Revision", "Owner"};
  header.insert(header.end(), fields.begin(), fields.end());
  std::vector<std::vector<std::string>> rows = {header};
  std::map<std::string, nlohmann::json> documents;
  for (const auto& s : j["EntitySummaryList"]) {
    std::vector<std::string> row = {Str(s, "EntityId"), Str(s, "EntityType"), Str(s, "State"),
                                    std::to_string(s.value("Revision", 0)), Str(s, "Owner")};
    nlohmann::json doc = EntityDocument(e, Str(s, "EntityId"), &documents);
    for (const auto& f : fields) row.push_back(Cell(doc, f));
    rows.push_back(std::move(row));
  }
  return Table(rows);
}

// A command that only reads: it opens the store, asks the engine, and prints the answer (an
// empty answer means there was nothing by that name: exit 5, saying `what` was not found).
Command Reader(const char* name, const char* summary, std::vector<Arg> spec, const char* what,
               ReadFn read, PeopleFn people = nullptr) {
  return {name, summary, [spec, what, read, people](CLI::App* app) {
            auto g = std::make_shared<Globals>();
            auto values = std::make_shared<std::vector<std::string>>(spec.size());
            for (size_t i = 0; i < spec.size(); ++i) {
              CLI::Option* o = app->add_option(spec[i].name, (*values)[i], spec[i].help);
              if (spec[i].name[0] != '-') o->required();
              if (!spec[i].allowed.empty()) o->check(CLI::IsMember(spec[i].allowed));
            }
            AddGlobals(app, g.get());
            return std::function<int()>([g, values, what, read, people]() -> int {
              std::unique_ptr<engine::Store> store = OpenStoreToRead(*g);
              engine::Catalog catalog(store.get());
              std::string body = read(catalog, *values);
              if (body.empty()) {
                std::fprintf(stderr, "sellerflow: ResourceNotFoundException: no %s %s\n", what,
                             Visible(values->front()).c_str());
                return kExitNotFound;
              }
              if (people && g->output != "json") {
                std::fputs(people(catalog, *values, body).c_str(), stdout);
                return kExitOk;
              }
              Emit(*g, body);
              return kExitOk;
            });
          }};
}

}  // namespace

void AddEngineCommands(std::vector<Command>* commands) {
  commands->push_back(
      {"start-change-set", "start a change set from a StartChangeSet body (a file or -)",
       [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto file = std::make_shared<std::string>();
         app->add_option("--change-set", *file,
                         "the StartChangeSet body, a JSON file or - for stdin")
             ->required();
         AddGlobals(app, g.get());
         return std::function<int()>([g, file]() -> int {
           bool too_long = false;
           std::string text = ReadInput(*file, engine::kMaxCommandBytes, &too_long);
           engine::Command c;
           std::vector<engine::Violation> violations;
           if (too_long) {
             PrintViolations({{"", engine::TooLongMessage(engine::kMaxCommandBytes)}}, *file);
             return kExitRefused;
           }
           if (!engine::ParseCommand(text, engine::Op::kStartChangeSet, &c, &violations) &&
               c.op == engine::Op::kStartChangeSet && violations.empty())
             return kExitUsage;
           if (!violations.empty()) {
             // The body is refused; the store is not touched.
             PrintViolations(violations, *file);
             return kExitRefused;
           }
           return RunCommand(*g, c);
         });
       }});
  commands->push_back(Reader("describe-change-set",
                             "show a change set, shaped like DescribeChangeSet",
                             {{"ID", "the ChangeSetId"}}, "change set",
                             [](engine::Catalog& e, const std::vector<std::string>& a) {
                               return e.DescribeChangeSet(a[0]);
                             }));
  commands->push_back(Reader(
      "list-change-sets", "list change sets, oldest first",
      {{"--status",
        "PREPARING, APPLYING, SUCCEEDED, FAILED or CANCELLED",
        {"PREPARING", "APPLYING", "SUCCEEDED", "FAILED", "CANCELLED"}},
       {"--entity", "an entity identifier"},
       {"--type", "a change type"},
       {"--fields",
        "document fields of each change's entity to show as columns (tables only), e.g. "
        "ProductTitle"}},
      "change sets",
      [](engine::Catalog& e, const std::vector<std::string>& a) {
        return e.ListChangeSets(a[0], a[1], a[2]);
      },
      ChangeSetsForPeople));
  commands->push_back(
      {"cancel-change-set", "cancel a change set that is still PREPARING", [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto id = std::make_shared<std::string>();
         app->add_option("ID", *id, "the ChangeSetId")->required();
         AddGlobals(app, g.get());
         return std::function<int()>([g, id]() -> int {
           engine::Command c;
           c.op = engine::Op::kCancelChangeSet;
           c.change_set_id = *id;
           return RunCommand(*g, c);
         });
       }});
  commands->push_back(
      {"review", "approve or reject a change set waiting for Seller Operations", [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto args = std::make_shared<std::array<std::string, 3>>();
         app->add_option("ID", (*args)[0], "the ChangeSetId")->required();
         app->add_option("DECISION", (*args)[1], "approve or reject")
             ->required()
             ->check(CLI::IsMember(engine::ReviewDecisions()));
         app->add_option("--reason", (*args)[2], "why, when rejecting");
         AddGlobals(app, g.get());
         return std::function<int()>([g, args]() -> int {
           engine::Command c;
           c.op = engine::Op::kReview;
           c.change_set_id = (*args)[0];
           c.decision = (*args)[1];
           c.reason = (*args)[2];
           if (g->actor.empty()) g->actor = "operations";
           return RunCommand(*g, c);
         });
       }});
  commands->push_back(Reader("describe-entity", "show an entity, shaped like DescribeEntity",
                             {{"ID", "the entity identifier"}}, "entity",
                             [](engine::Catalog& e, const std::vector<std::string>& a) {
                               return e.DescribeEntity(a[0]);
                             }));
  commands->push_back(Reader(
      "list-entities", "list entities by type and state",
      {{"--type", "an entity type, e.g. ProfessionalServicesProduct@1.0"},
       {"--state", "a state of its machine"},
       {"--fields", "document fields to show as columns (tables only), e.g. ProductTitle,Sku"}},
      "entities",
      [](engine::Catalog& e, const std::vector<std::string>& a) {
        return e.ListEntities(a[0], a[1]);
      },
      EntitiesForPeople));
  commands->push_back(Reader(
      "history", "the events of a change set or an entity, in order",
      {{"ID", "a ChangeSetId or an entity identifier"}}, "history",
      [](engine::Catalog& e, const std::vector<std::string>& a) { return e.History(a[0]); }));
  commands->push_back({"tick", "advance the clock, firing every timer due", [](CLI::App* app) {
                         auto g = std::make_shared<Globals>();
                         auto to = std::make_shared<std::string>();
                         app->add_option("--to", *to, "the new time, RFC 3339")->required();
                         AddGlobals(app, g.get());
                         return std::function<int()>([g, to]() -> int {
                           engine::Command c;
                           c.op = engine::Op::kTick;
                           g->at = *to;
                           return RunCommand(*g, c);
                         });
                       }});
  commands->push_back(
      {"import", "add existing entities, one JSON object per line", [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto file = std::make_shared<std::string>();
         app->add_option("FILE", *file,
                         "JSON Lines: EntityType, EntityIdentifier, State, Owner, DetailsDocument, "
                         "and optionally Actor and At (default: --actor, the store's clock)")
             ->required();
         AddGlobals(app, g.get());
         return std::function<int()>([g, file]() -> int {
           Session s;
           if (int rc = OpenSession(*g, &s)) return rc;
           engine::ReplayOptions options;
           options.default_op = engine::Op::kImport;
           return ReplayLines(*g, s, *file, options, {});
         });
       }});
  commands->push_back(
      {"log", "the command log: `log export` writes it as a replayable log", [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto what = std::make_shared<std::string>();
         app->add_option("ACTION", *what, "export")->required()->check(CLI::IsMember({"export"}));
         AddGlobals(app, g.get());
         return std::function<int()>([g, what]() -> int {
           std::unique_ptr<engine::Store> store = OpenStoreToRead(*g);
           int64_t after = 0;
           for (;;) {
             auto rows = store->Commands(after, 1000);
             if (rows.empty()) break;
             for (const auto& r : rows) std::printf("%s\n", r.command.c_str());
             after = rows.back().seq;
           }
           return kExitOk;
         });
       }});
  commands->push_back(
      {"replay", "run a command log; prints a summary and the state digest", [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto file = std::make_shared<std::string>();
         auto commit = std::make_shared<std::string>("each");
         auto options = std::make_shared<engine::ReplayOptions>();
         auto flags = std::make_shared<ReplayFlags>();
         app->add_option("FILE", *file, "JSON Lines in the replay format (or -)")->required();
         app->add_option("--commit", *commit, "each: a transaction per command; batch: one for all")
             ->check(CLI::IsMember({"each", "batch"}));
         app->add_flag("--resume", options->resume,
                       "skip the commands already in the store's command log (after a crash), "
                       "checking that they are this file's first ones");
         app->add_flag("--ack", flags->ack,
                       "print {\"Ack\":LINE} as each command is committed (--commit each)");
         AddGlobals(app, g.get());
         return std::function<int()>([g, file, commit, options, flags]() -> int {
           options->batch = *commit == "batch";
           if (options->batch && flags->ack)
             throw UsageError("--ack needs --commit each: a batch commits only at its end");
           Session s;
           if (int rc = OpenSession(*g, &s)) return rc;
           return ReplayLines(*g, s, *file, *options, *flags);
         });
       }});
  commands->push_back(
      {"digest", "a hash of every entity, change set and history row", [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         AddGlobals(app, g.get());
         return std::function<int()>([g]() -> int {
           std::unique_ptr<engine::Store> store = OpenStoreToRead(*g);
           std::printf("%s\n", store->Digest().c_str());
           return kExitOk;
         });
       }});
}

}  // namespace sellerflow
