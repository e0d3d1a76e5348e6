// The operator's commands, modelled on `aws marketplace-catalog`: each opens the store, loads the
// policy and runs the engine.
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <cctype>
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
#include <utility>

#include "dsl/diagnostics.h"
#include "dsl/time.h"
#include "dsl/utf8.h"
#include "engine/base/limits.h"
#include "engine/base/log.h"
#include "engine/check/check_policy.h"
#include "engine/run/describe.h"
#include "engine/run/engine.h"
#include "engine/run/replay.h"
#include "engine/run/scenario.h"
#include "engine/run/upgrade.h"
#include "engine/run/what_if.h"
#include "engine/store/store.h"
#include "src/commands.h"
#include "src/lsp/lsp_server.h"
#include "src/serve/server.h"

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
  std::string at_flag = "--at";  // How the command names its time in errors (tick: --to).
  std::string catalog;           // --catalog, as the AWS CLI takes it: AWSMarketplace only.
  bool now = false;              // --now: the wall clock, however far past the store's clock.
  // Tables for a person at a terminal, JSON for scripts and pipes.
  std::string output = isatty(STDOUT_FILENO) ? "table" : "json";
};

void AddGlobals(CLI::App* app, Globals* g) {
  g->db_option =
      app->add_option("--db", g->db,
                      "the store: a file, or a postgresql:// URI (default: $SELLERFLOW_DB, else "
                      "./sellerflow.db)");
  Repeatable(app->add_option("--workflows", g->workflows,
                             "a workflow folder (repeatable; default: $SELLERFLOW_WORKFLOWS, else "
                             "sellerflow.yaml, else the shipped workflows/)"));
  Repeatable(app->add_option("--rules", g->rules,
                             "a rules folder (repeatable; default: $SELLERFLOW_RULES, else "
                             "sellerflow.yaml, else the shipped rules/)"));
  app->add_option("--catalog", g->catalog, "the catalog, as the AWS CLI names it: AWSMarketplace")
      ->check(CLI::Validator(
          [](std::string& v) {
            return v == "AWSMarketplace" ? std::string()
                                         : "the only catalog is AWSMarketplace, not '" + v + "'";
          },
          "AWSMarketplace"));
  app->add_option("--actor", g->actor, "who acts: seller:<account>, buyer:<account> or operations");
  app->add_option("--at", g->at, "the command's time, RFC 3339, kept in UTC (default: now)");
  app->add_option("--output", g->output,
                  "json, table or text (default: table on a terminal, else json)")
      ->check(CLI::IsMember({"json", "table", "text"}));
  app->add_option("--log-level", g->log_level,
                  "trace, debug (every transition), info (every command), warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}));
  app->add_option("--log-format", g->log_format, "text, or json for log collectors")
      ->check(CLI::IsMember({"text", "json"}));
}

// --now, for a command that writes at the wall clock by default (CheckDefaultTime).
void AddNowFlag(CLI::App* app, Globals* g) {
  app->add_flag("--now", g->now,
                "run at the wall clock even when it is over a day past the store's clock");
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

// The policy of the folders the globals name (the store's folder may hold the project file that
// names them), checked. Exits 3 on definition errors, after printing them.
int LoadCheckedPolicy(const Globals& g, std::unique_ptr<engine::Policy>* policy) {
  dsl::Diagnostics diags;
  const char* env_db = std::getenv("SELLERFLOW_DB");
  DefinitionFolders folders = ResolveFolders(g.workflows, g.rules,
                                             !g.db.empty()       ? g.db
                                             : env_db && *env_db ? env_db
                                                                 : "sellerflow.db");
  *policy = engine::LoadPolicy(folders.workflows, folders.rules, &diags);
  engine::CheckPolicy(**policy, &diags);
  if (diags.has_errors()) {
    std::fputs(diags.ToText().c_str(), stderr);
    std::fprintf(stderr, "sellerflow: the definitions have errors; run `sellerflow check`\n");
    return kExitDefinitions;
  }
  return kExitOk;
}

// `before_engine`, when given, sees the store before the engine writes anything to it (its
// definitions), and may throw to leave it as it was.
int OpenSession(const Globals& g, Session* s,
                const std::function<void(engine::Store&)>& before_engine = {}) {
  engine::ConfigureLog(
      g.log_level, g.log_format == "json" ? engine::LogFormat::kJson : engine::LogFormat::kText);
  if (int rc = LoadCheckedPolicy(g, &s->policy)) return rc;
  s->store = OpenStore(g, engine::StoreOptions());
  if (before_engine) before_engine(*s->store);
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

// Lines of text for a terminal: each made Visible, the line breaks kept.
std::string VisibleLines(std::string_view text) {
  std::string out;
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    out += Visible(text.substr(at, end - at));
    if (end < text.size()) out += '\n';
    at = end + 1;
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

// The line under a listing's table that says how to ask for the next page, when there is one.
std::string NextPage(const nlohmann::json& j) {
  std::string token = Str(j, "NextToken");
  return token.empty() ? "" : "more: --next-token " + token + "\n";
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
    std::vector<std::vector<std::string>> rows = {
        {"#", "ChangeType", "Entity", "Status", "State", "Effect"}};
    int i = 0;
    for (const auto& c : j["ChangeSet"]) {
      const auto applied = c.find("Applied");
      const bool decided = applied != c.end() && applied->is_boolean();
      rows.push_back({std::to_string(i++), Str(c, "ChangeType"), Str(c["Entity"], "Identifier"),
                      Str(c, "Status"), Str(c, "State"),
                      decided ? (applied->get<bool>() ? "applied" : "not applied") : ""});
    }
    out += Table(rows);
    i = 0;
    for (const auto& c : j["ChangeSet"]) {
      for (const auto& e : c["ErrorDetailList"])
        out +=
            "  change " + std::to_string(i) + ": " + Str(e, "ErrorCode") + ": " +
            Str(e, "ErrorMessage") +
            (Str(e, "Rule").empty() ? ""
                                    : " (rule " + Str(e, "Rule") + ", " + Str(e, "Source") + ")") +
            "\n";
      ++i;
    }
    if (j.contains("WaitingFor") && j["WaitingFor"].is_object()) {
      const nlohmann::json& w = j["WaitingFor"];
      for (const auto& e : w.value("Events", nlohmann::json::array())) {
        std::string actors, changes;
        for (const auto& a : e.value("Actors", nlohmann::json::array()))
          if (a.is_string()) actors += (actors.empty() ? "" : ", ") + Visible(a.get<std::string>());
        for (const auto& c : e.value("Changes", nlohmann::json::array()))
          changes += (changes.empty() ? "" : ", ") + c.dump();
        out += "  waits for " + Str(e, "Event") + " from " + (actors.empty() ? "anyone" : actors) +
               " (change " + changes + ")\n";
      }
      for (const auto& t : w.value("Timers", nlohmann::json::array()))
        out += "  timer due " + Str(t, "Deadline") + ": change " +
               t.value("Change", nlohmann::json()).dump() + " moves from " + Str(t, "From") +
               " to " + Str(t, "To") + "\n";
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
    return Table(rows) + NextPage(j);
  }
  if (j.contains("EntitySummaryList")) {
    std::vector<std::vector<std::string>> rows = {
        {"EntityId", "Type", "State", "Revision", "Owner"}};
    for (const auto& e : j["EntitySummaryList"])
      rows.push_back({Str(e, "EntityId"), Str(e, "EntityType"), Str(e, "State"),
                      std::to_string(e.value("Revision", 0)), Str(e, "Owner")});
    return Table(rows) + NextPage(j);
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
  if (j.contains("Clock") && j.contains("TimersFired")) {
    // A tick: the clock, then the timers it fired (the answer lists the first of them).
    const int64_t count = j.value("TimersFired", int64_t{0});
    out += "clock " + Str(j, "Clock") + ": " + std::to_string(count) + " timer" +
           (count == 1 ? "" : "s") + " fired";
    if (j.contains("TimersDeferred"))
      out += ", " + j["TimersDeferred"].dump() + " left for the next command";
    out += "\n";
    if (count == 0) return out;
    std::vector<std::vector<std::string>> rows = {
        {"At", "ChangeSetId", "Change", "Entity", "From", "To"}};
    for (const auto& t : j["Timers"]) {
      const int change = t.value("Change", -1);
      rows.push_back({Str(t, "At"), Str(t, "ChangeSetId"), change < 0 ? "" : std::to_string(change),
                      Str(t, "Entity"), Str(t, "From"), Str(t, "To")});
    }
    out += Table(rows);
    const int64_t listed = static_cast<int64_t>(j["Timers"].size());
    if (listed < count) out += "... and " + std::to_string(count - listed) + " more\n";
    return out;
  }
  if (j.contains("ResourceArn") && j.contains("Tags")) {
    // ListTagsForResource: the resource, then its tags by key.
    out += Str(j, "ResourceArn") + "\n";
    if (j["Tags"].empty()) return out + "no tags\n";
    std::vector<std::vector<std::string>> rows = {{"Key", "Value"}};
    for (const auto& t : j["Tags"]) rows.push_back({Str(t, "Key"), Str(t, "Value")});
    return out + Table(rows);
  }
  if (j.size() == 1 && j.contains("Policy")) {
    // GetResourcePolicy: the policy's own JSON, indented, its keys in the order they were put.
    const std::string text = j["Policy"].is_string() ? j["Policy"].get<std::string>() : "";
    nlohmann::ordered_json policy = nlohmann::ordered_json::parse(text, nullptr, false);
    return VisibleLines(policy.is_discarded() ? text : policy.dump(2)) + "\n";
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
  // A command with a report of its own (upgrade) reads better as that report than as its body.
  if (!o.report.empty() && g.output != "json") {
    std::fputs(VisibleLines(o.report).c_str(), stdout);
    return;
  }
  Emit(g, o.body);
}

// The stream to read `path` from: standard input for "-", else the file (`file://path` too, as the
// AWS CLI writes it), opened into *file.
// Throws UsageError naming the path when it cannot be read or is a directory.
std::istream* OpenInput(std::string path, std::ifstream* file) {
  if (path == "-") return &std::cin;
  // The AWS CLI's way of naming a file, relative to the working directory.
  if (path.starts_with("file://")) path.erase(0, 7);
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
  // Editors on some systems start a UTF-8 file with a byte-order mark; it is not part of the
  // text (replay's and import's line readers drop it too).
  if (text.starts_with("\xEF\xBB\xBF")) text.erase(0, 3);
  *too_long = text.size() > max;
  return text;
}

// Fills in the actor and time a command did not carry, from --actor/--at or the wall clock.
bool Complete(const Globals& g, engine::Command* c, std::string* error) {
  if (!g.actor.empty()) c->actor = g.actor;
  if (!g.at.empty()) c->at = g.at;
  if (c->at.empty()) c->at = Now();
  if (!engine::ParseAt(c->at, &c->at_us)) {
    *error = g.at_flag + " ";
    dsl::AppendJsonString(c->at, error);
    *error += " is not an RFC 3339 time (e.g. 2026-03-01T00:00:00Z)";
    return false;
  }
  // One form in the log and on screen, whatever offset the operator typed.
  c->at = dsl::FormatTimestamp(c->at_us);
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

// How far the wall clock may be past the store's clock before a command that defaults to it asks
// to be told: a store replaying March must not jump to December because --at was forgotten (every
// timer in between would fire).
constexpr int64_t kMaxDefaultLeapUs = 24 * 3600 * dsl::kMicrosPerSecond;

// Refuses (exit 2) a command whose time is the wall clock's default and far past the store's.
bool CheckDefaultTime(const Globals& g, const engine::Command& c, engine::Store& store,
                      std::string* error) {
  if (!g.at.empty() || g.now) return true;
  std::string clock = store.Clock();
  int64_t clock_us = 0;
  // The epoch is the clock of a store that only imported, without times: it has no time yet.
  if (clock.empty() || !engine::ParseAt(clock, &clock_us) || clock_us <= 0) return true;
  if (c.at_us - clock_us <= kMaxDefaultLeapUs) return true;
  const int64_t days = (c.at_us - clock_us) / (24 * 3600 * dsl::kMicrosPerSecond);
  *error = "the store's clock is at " + clock + " and now is " + c.at + ", " +
           std::to_string(days) + (days == 1 ? " day" : " days") +
           " later (every timer due in between would fire): give the command's time with --at, "
           "or --now to run it now";
  return false;
}

// Runs `c` and prints its answer. `done`, when given, stands for an empty answer ({}): JSON prints
// nothing, as the AWS CLI prints an empty answer, and people read what was done instead.
int RunCommand(const Globals& g, engine::Command c, const std::string& done = "") {
  std::string error;
  if (!Complete(g, &c, &error)) {
    std::fprintf(stderr, "sellerflow: %s\n", error.c_str());
    return kExitUsage;
  }
  Session s;
  if (int rc = OpenSession(g, &s)) return rc;
  if (!CheckDefaultTime(g, c, *s.store, &error)) {
    std::fprintf(stderr, "sellerflow: %s\n", error.c_str());
    return kExitUsage;
  }
  engine::Outcome o = s.engine->Execute(c);
  if (o.result == Result::kOk && !done.empty()) {
    if (g.output != "json") std::printf("%s\n", Visible(done).c_str());
  } else {
    Print(g, o);
  }
  return ExitFor(o);
}

void PrintViolations(const std::vector<engine::Violation>& violations, const std::string& where) {
  std::fprintf(stderr, "sellerflow: ValidationException: %s has %zu problem%s\n", where.c_str(),
               violations.size(), violations.size() == 1 ? "" : "s");
  for (const auto& v : violations)
    std::fprintf(stderr, "  %s: %s\n", v.path.empty() ? "(body)" : Visible(v.path).c_str(),
                 Visible(v.message).c_str());
}

// A request refused before it reached the engine (its body's envelope or shape): named on stderr
// as PrintViolations does, and with --output json the same ValidationException document on stdout
// that a refusal by the engine prints, so that a script reads every refusal one way.
int RefuseRequest(const Globals& g, const std::vector<engine::Violation>& violations,
                  const std::string& where) {
  PrintViolations(violations, where);
  if (g.output == "json") {
    std::string body = "{\"__type\":\"ValidationException\",\"Message\":";
    dsl::AppendJsonString(std::to_string(violations.size()) + " problem" +
                              (violations.size() == 1 ? "" : "s") + " with the request",
                          &body);
    body += ",\"Violations\":[";
    for (size_t i = 0; i < violations.size(); ++i) {
      body += i ? ",{\"Path\":" : "{\"Path\":";
      dsl::AppendJsonString(violations[i].path, &body);
      body += ",\"Message\":";
      dsl::AppendJsonString(violations[i].message, &body);
      body += "}";
    }
    std::printf("%s]}\n", body.c_str());
  }
  return kExitRefused;
}

// How `replay` and `import` report as they go.
struct ReplayFlags {
  bool ack = false;           // Print {"Ack":LINE} once each command is committed.
  std::string expect_digest;  // Compare the store's digest with it at the end ("": do not).
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
  // An import line the engine refused (a state its machine lacks, an entity that exists) would
  // otherwise pass unseen: each is named with its reason, counted, and makes the import exit 1. A
  // replay's refusals are not: a log replays the commands that were refused when they came.
  const bool importing = options.default_op == engine::Op::kImport;
  int64_t refused = 0;
  hooks.ran = [&](int64_t line, const engine::Outcome& o) {
    if (importing && o.result != Result::kOk) {
      ++refused;
      std::fprintf(stderr, "%s:%lld: %s: %s\n", Visible(path).c_str(), static_cast<long long>(line),
                   o.error_type.c_str(), Visible(o.message).c_str());
    }
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
  } catch (const engine::ReplayStopped& e) {
    if (progress) std::fprintf(stderr, "\r");  // Over the progress count, if one was shown.
    std::fprintf(stderr, "sellerflow: %s\n", Visible(e.what()).c_str());
    return kExitRefused;
  } catch (const engine::ReplayError& e) {
    throw UsageError(e.what());
  }
  if (progress && r.lines >= 1000) std::fprintf(stderr, "\r");
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::string out = "{\"Lines\":" + std::to_string(r.lines);
  for (const auto& [k, v] : r.counts) out += ",\"" + k + "\":" + std::to_string(v);
  if (r.malformed) out += ",\"Malformed\":" + std::to_string(r.malformed);
  if (refused) out += ",\"RefusedLines\":" + std::to_string(refused);
  if (options.resume) out += ",\"Skipped\":" + std::to_string(r.skipped);
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.3f", seconds);
  const std::string digest = s.store->Digest();
  out += std::string(",\"Seconds\":") + secs + ",\"Digest\":\"" + digest + "\"}";
  std::printf("%s\n", out.c_str());
  if (!flags.expect_digest.empty() && digest != flags.expect_digest) {
    std::fprintf(
        stderr, "sellerflow: the store's digest after the replay is %s, not %s (--expect-digest)\n",
        digest.c_str(), flags.expect_digest.c_str());
    return kExitRefused;
  }
  return r.malformed || refused ? kExitRefused : kExitOk;
}

// An argument of a read command: positional when its name has no leading "--" (it may carry aliases
// after a comma, "ID,--change-set-id", as the AWS CLI names it); `allowed`, when not empty, lists
// its only values (a misspelt filter would otherwise match nothing, silently).
struct Arg {
  const char* name;
  const char* help;
  std::vector<std::string> allowed = {};
};

using ReadFn = std::function<std::string(engine::Catalog&, const std::vector<std::string>&,
                                         const engine::ListQuery&)>;
// How a read command's answer is shown to people, when the generic table is not enough.
using PeopleFn = std::function<std::string(engine::Catalog&, const std::vector<std::string>&,
                                           const std::string& body)>;
// Checks a read command's values against the policy's names (throws UsageError), and may complete
// them (an entity type written without its version).
using CheckFn = std::function<void(const Globals&, std::vector<std::string>*)>;

// The list options of ListChangeSets and ListEntities, as given on the command line.
struct ListArgs {
  std::vector<std::string> filters;
  std::string sort, next_token;
  int max_results = 0;
  CLI::Option* max_results_option = nullptr;
};

// The text of an argument that may be `file://path`.
std::string ArgText(const std::string& option, const std::string& arg) {
  if (!arg.starts_with("file://")) return arg;
  bool too_long = false;
  std::string text = ReadInput(arg, engine::kMaxCommandBytes, &too_long);
  if (too_long) throw UsageError(option + ": " + arg.substr(7) + " is too long");
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  return text;
}

// AWS CLI shorthand, `Key=value,Key=[a,b]` or `Key=a,b` (a bare item continues the list of the key
// before it): the keys in order with their values.
std::vector<std::pair<std::string, std::vector<std::string>>> Shorthand(const std::string& option,
                                                                        const std::string& text) {
  std::vector<std::string> items;
  std::string item;
  int depth = 0;
  for (char ch : text) {
    if (ch == '[') ++depth;
    if (ch == ']') --depth;
    if (ch == ',' && depth == 0) {
      items.push_back(item);
      item.clear();
    } else {
      item.push_back(ch);
    }
  }
  items.push_back(item);
  std::vector<std::pair<std::string, std::vector<std::string>>> out;
  for (const std::string& it : items) {
    size_t eq = it.find('=');
    std::string value = it;
    if (eq != std::string::npos && eq > 0 && it[0] != '[') {
      out.push_back({it.substr(0, eq), {}});
      value = it.substr(eq + 1);
    } else if (out.empty()) {
      throw UsageError(option + ": expected Key=Value pairs, not '" + text + "'");
    }
    if (value.starts_with("[") && value.ends_with("]")) {
      std::string list = value.substr(1, value.size() - 2), v;
      std::stringstream in(list);
      while (std::getline(in, v, ',')) out.back().second.push_back(v);
    } else {
      out.back().second.push_back(value);
    }
  }
  return out;
}

// A JSON value from an option, or UsageError naming the option.
nlohmann::json OptionJson(const std::string& option, const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) throw UsageError(option + ": invalid JSON: " + text);
  return j;
}

std::string JsonString(const std::string& option, const nlohmann::json& j, const char* key) {
  if (!j.contains(key)) return "";
  if (!j[key].is_string()) throw UsageError(option + ": " + key + " must be a string");
  return j[key].get<std::string>();
}

// --filter-list and --sort as the AWS CLI takes them: JSON, shorthand, or file://.
engine::ListQuery ReadListArgs(const ListArgs& a) {
  engine::ListQuery q;
  const std::string filter_option = "--filter-list", sort_option = "--sort";
  for (const std::string& arg : a.filters) {
    std::string text = ArgText(filter_option, arg);
    if (text.starts_with("[") || text.starts_with("{")) {
      nlohmann::json j = OptionJson(filter_option, text);
      if (j.is_object()) j = nlohmann::json::array({j});
      for (const auto& f : j) {
        if (!f.is_object())
          throw UsageError(filter_option + ": expected [{\"Name\": ..., \"ValueList\": [...]}]");
        for (const auto& [key, value] : f.items())
          if (key != "Name" && key != "ValueList")
            throw UsageError(filter_option + ": unknown key '" + key +
                             "'; a filter has Name and ValueList");
        engine::ListFilter filter{JsonString(filter_option, f, "Name"), {}};
        if (f.contains("ValueList")) {
          if (!f["ValueList"].is_array())
            throw UsageError(filter_option + ": ValueList must be a list of strings");
          for (const auto& v : f["ValueList"]) {
            if (!v.is_string())
              throw UsageError(filter_option + ": ValueList must be a list of strings");
            filter.values.push_back(v.get<std::string>());
          }
        }
        if (filter.name.empty()) throw UsageError(filter_option + ": a filter needs a Name");
        q.filters.push_back(std::move(filter));
      }
      continue;
    }
    engine::ListFilter filter;
    for (auto& [key, values] : Shorthand(filter_option, text)) {
      if (key == "Name" && values.size() == 1) {
        filter.name = values[0];
      } else if (key == "ValueList") {
        filter.values = values;
      } else {
        throw UsageError(filter_option + ": unknown key '" + key +
                         "'; write Name=NAME,ValueList=VALUE,...");
      }
    }
    if (filter.name.empty()) throw UsageError(filter_option + ": a filter needs Name=NAME");
    q.filters.push_back(std::move(filter));
  }
  if (!a.sort.empty()) {
    std::string text = ArgText(sort_option, a.sort);
    if (text.starts_with("{")) {
      nlohmann::json j = OptionJson(sort_option, text);
      for (const auto& [key, value] : j.items())
        if (key != "SortBy" && key != "SortOrder")
          throw UsageError(sort_option + ": unknown key '" + key +
                           "'; a sort has SortBy and SortOrder");
      q.sort_by = JsonString(sort_option, j, "SortBy");
      q.sort_order = JsonString(sort_option, j, "SortOrder");
    } else {
      for (auto& [key, values] : Shorthand(sort_option, text)) {
        if (values.size() != 1 || (key != "SortBy" && key != "SortOrder"))
          throw UsageError(sort_option + ": write SortBy=FIELD,SortOrder=ASCENDING|DESCENDING");
        (key == "SortBy" ? q.sort_by : q.sort_order) = values[0];
      }
    }
    if (q.sort_by.empty() && q.sort_order.empty())
      throw UsageError(sort_option + ": write SortBy=FIELD,SortOrder=ASCENDING|DESCENDING");
  }
  if (a.max_results_option != nullptr && a.max_results_option->count() > 0 && a.max_results < 1)
    throw UsageError("--max-results must be at least 1, not " + std::to_string(a.max_results));
  q.max_results = a.max_results;
  q.next_token = a.next_token;
  return q;
}

// The CLI's name of a list request's member.
std::string OptionOf(const std::string& member) {
  if (member == "FilterList") return "--filter-list";
  if (member == "Sort") return "--sort";
  if (member == "MaxResults") return "--max-results";
  if (member == "NextToken") return "--next-token";
  return member;
}

// The policy's machines, to check a read command's names. A read does not need the policy, so one
// that does not load checks nothing.
std::unique_ptr<engine::Policy> PolicyForNames(const Globals& g) {
  try {
    DefinitionFolders folders = ResolveFolders(g.workflows, g.rules, g.db);
    dsl::Diagnostics diags;
    auto policy = engine::LoadPolicy(folders.workflows, folders.rules, &diags);
    if (policy && !policy->machines.empty()) return policy;
  } catch (const std::exception&) {
  }
  return nullptr;
}

// Throws a UsageError for a value of `option` that is none of `names`.
void CheckName(const std::string& option, const std::string& what, const std::string& value,
               std::vector<std::string> names) {
  if (value.empty() || std::find(names.begin(), names.end(), value) != names.end()) return;
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::string message = option + ": unknown " + what + " ";
  dsl::AppendJsonString(value, &message);
  std::string known;
  for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
  message += "; allowed: " + known;
  std::string near = dsl::NearestName(value, names);
  if (!near.empty()) message += " (did you mean " + near + "?)";
  throw UsageError(message);
}

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
  return Table(rows) + NextPage(j);
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
  return Table(rows) + NextPage(j);
}

// A command that only reads: it opens the store, asks the engine, and prints the answer (an
// empty answer means there was nothing by that name: exit 5, saying `what` was not found). A
// listing takes --filter-list, --sort, --max-results and --next-token as well.
Command Reader(const char* name, const char* summary, std::vector<Arg> spec, const char* what,
               ReadFn read, PeopleFn people = nullptr, bool listing = false,
               CheckFn check = nullptr) {
  return {name, summary, [spec, what, read, people, listing, check](CLI::App* app) {
            auto g = std::make_shared<Globals>();
            auto values = std::make_shared<std::vector<std::string>>(spec.size());
            auto list = std::make_shared<ListArgs>();
            for (size_t i = 0; i < spec.size(); ++i) {
              CLI::Option* o = app->add_option(spec[i].name, (*values)[i], spec[i].help);
              if (spec[i].name[0] != '-') o->required();
              if (!spec[i].allowed.empty()) o->check(CLI::IsMember(spec[i].allowed));
            }
            if (listing) {
              // Each argument whole: CLI11 would split a JSON list at its commas.
              app->add_option("--filter-list", list->filters,
                              "filters as the AWS CLI writes them: Name=Status,ValueList=APPLYING "
                              "or JSON [{\"Name\":...,\"ValueList\":[...]}] or file://")
                  ->expected(1, 8)
                  ->allow_extra_args(false)
                  ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
              app->add_option("--sort", list->sort,
                              "SortBy=FIELD,SortOrder=ASCENDING|DESCENDING, or JSON, or file://");
              list->max_results_option = app->add_option(
                  "--max-results", list->max_results,
                  "at most this many per page; NextToken in the answer when more remain");
              app->add_option("--next-token", list->next_token,
                              "the NextToken of the previous page");
            }
            AddGlobals(app, g.get());
            return std::function<int()>([g, values, list, what, read, people, check]() -> int {
              engine::ListQuery query = ReadListArgs(*list);
              if (check) check(*g, values.get());
              std::unique_ptr<engine::Store> store = OpenStoreToRead(*g);
              engine::Catalog catalog(store.get());
              std::string body;
              try {
                body = read(catalog, *values, query);
              } catch (const engine::ListError& e) {
                throw UsageError(OptionOf(e.member) + ": " + e.what());
              }
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

// --tags as the AWS CLI takes them: shorthand, one tag an argument (`Key=team,Value=alpha`), or
// JSON (`[{"Key":"team","Value":"alpha"}]`, or one such object), or file:// holding either. The
// list as JSON text; what a tag may hold is the command parser's to judge, so that the CLI and
// the API refuse alike.
std::string TagsJsonArgument(const std::vector<std::string>& args) {
  const std::string option = "--tags";
  std::string out = "[";
  auto add = [&](const std::string& item) { out += (out.size() > 1 ? "," : "") + item; };
  for (const std::string& arg : args) {
    std::string text = ArgText(option, arg);
    if (text.starts_with("[") || text.starts_with("{")) {
      nlohmann::json j = OptionJson(option, text);
      if (j.is_object()) j = nlohmann::json::array({j});
      for (const auto& tag : j) add(tag.dump());  // Valid UTF-8: the parser read it.
      continue;
    }
    std::string tag = "{";
    for (auto& [key, values] : Shorthand(option, text)) {
      // `Key=a,b` would make a list of the value, which no tag holds (nor a comma).
      if ((key != "Key" && key != "Value") || values.size() != 1)
        throw UsageError(option + ": write Key=KEY,Value=VALUE, one tag an argument, not '" +
                         Visible(text) + "'");
      if (tag.size() > 1) tag += ",";
      dsl::AppendJsonString(key, &tag);
      tag += ":";
      dsl::AppendJsonString(values[0], &tag);
    }
    add(tag + "}");
  }
  return out + "]";
}

// --tag-keys: one key an argument, or a JSON list of them, or file:// holding either.
std::string TagKeysJsonArgument(const std::vector<std::string>& args) {
  const std::string option = "--tag-keys";
  std::string out = "[";
  auto add = [&](const std::string& item) { out += (out.size() > 1 ? "," : "") + item; };
  for (const std::string& arg : args) {
    std::string text = ArgText(option, arg);
    if (text.starts_with("[")) {
      for (const auto& key : OptionJson(option, text)) add(key.dump());
    } else {
      add(dsl::JsonString(text));
    }
  }
  return out + "]";
}

// A tag or resource-policy write: the command's line read by the engine's own parser (as a log
// line and the API's body are), then run as a logged command, so that a replay repeats it.
// `members` are the line's fields but op, as JSON text after their keys.
int RunResourceWrite(const Globals& g, engine::Op op,
                     const std::vector<std::pair<const char*, std::string>>& members,
                     const std::string& done) {
  std::string line = "{\"op\":";
  dsl::AppendJsonString(engine::OpName(op), &line);
  for (const auto& [key, value] : members) line += std::string(",\"") + key + "\":" + value;
  line += "}";
  engine::Command c;
  std::vector<engine::Violation> violations;
  if (!engine::ParseCommand(line, std::nullopt, &c, &violations)) {
    return RefuseRequest(g, violations, "the request");
  }
  return RunCommand(g, c, done);
}

// Adds --resource-arn (required) and the globals to a tag or policy command.
void AddResourceOptions(CLI::App* app, Globals* g, std::string* arn) {
  app->add_option("--resource-arn", *arn, "the change set's or entity's ARN")->required();
  AddGlobals(app, g);
}

// list-tags-for-resource and get-resource-policy: reads of the store, opened read-only, answered as
// the API answers them to the same actor (engine::ListTagsForResource, GetResourcePolicy).
Command ResourceReader(const char* name, const char* summary,
                       engine::ResourceRead (*read)(engine::Store&, const std::string&,
                                                    const std::string&)) {
  return {name, summary, [name, read](CLI::App* app) {
            auto g = std::make_shared<Globals>();
            auto arn = std::make_shared<std::string>();
            AddResourceOptions(app, g.get(), arn.get());
            return std::function<int()>([g, arn, name, read]() -> int {
              // Who reads decides what is found (a seller, its own account's resources): the CLI
              // picks no actor (README, "Trust").
              if (g->actor.empty())
                throw UsageError(std::string(name) +
                                 " needs --actor: who reads (a seller sees its own account's "
                                 "resources, --actor operations every one)");
              if (!engine::ValidActor(g->actor))
                throw UsageError(
                    "--actor must be seller:<12 digits>, buyer:<12 digits> or operations, not " +
                    dsl::JsonString(g->actor));
              std::unique_ptr<engine::Store> store = OpenStoreToRead(*g);
              const engine::ResourceRead answer = read(*store, *arn, g->actor);
              if (answer.body.empty()) {
                std::fprintf(stderr, "sellerflow: ResourceNotFoundException: %s\n",
                             Visible(answer.not_found).c_str());
                return kExitNotFound;
              }
              Emit(*g, answer.body);
              return kExitOk;
            });
          }};
}

// The tag and resource-policy commands, named and shaped as `aws marketplace-catalog`'s.
void AddResourceCommands(std::vector<Command>* commands) {
  commands->push_back(
      {"tag-resource", "tag a change set or an entity (a key given again takes the new value)",
       [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto arn = std::make_shared<std::string>();
         auto tags = std::make_shared<std::vector<std::string>>();
         // Each argument whole: CLI11 would split a JSON list at its commas.
         app->add_option("--tags", *tags,
                         "Key=KEY,Value=VALUE, one tag an argument, or JSON "
                         "[{\"Key\":...,\"Value\":...}], or file://")
             ->required()
             ->expected(1, 1000)
             ->allow_extra_args(false)
             ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
         AddResourceOptions(app, g.get(), arn.get());
         AddNowFlag(app, g.get());
         return std::function<int()>([g, arn, tags]() -> int {
           const std::string list = TagsJsonArgument(*tags);
           return RunResourceWrite(*g, engine::Op::kTagResource,
                                   {{"ResourceArn", dsl::JsonString(*arn)}, {"Tags", list}},
                                   "tagged " + *arn);
         });
       }});
  commands->push_back(
      {"untag-resource", "remove tags by key (a key the resource does not have is no error)",
       [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto arn = std::make_shared<std::string>();
         auto keys = std::make_shared<std::vector<std::string>>();
         app->add_option("--tag-keys", *keys, "the keys to remove, or a JSON list of them")
             ->required()
             ->expected(1, 1000)
             ->allow_extra_args(false)
             ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
         AddResourceOptions(app, g.get(), arn.get());
         AddNowFlag(app, g.get());
         return std::function<int()>([g, arn, keys]() -> int {
           const std::string list = TagKeysJsonArgument(*keys);
           return RunResourceWrite(*g, engine::Op::kUntagResource,
                                   {{"ResourceArn", dsl::JsonString(*arn)}, {"TagKeys", list}},
                                   "untagged " + *arn);
         });
       }});
  commands->push_back(ResourceReader("list-tags-for-resource",
                                     "the tags of a change set or an entity, by key",
                                     engine::ListTagsForResource));
  commands->push_back(
      {"put-resource-policy", "put an entity's resource policy (replacing the one it has)",
       [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto arn = std::make_shared<std::string>();
         auto policy = std::make_shared<std::string>();
         app->add_option("--policy", *policy, "the policy: a JSON object's text, or file://")
             ->required();
         AddResourceOptions(app, g.get(), arn.get());
         AddNowFlag(app, g.get());
         return std::function<int()>([g, arn, policy]() -> int {
           const std::string text = ArgText("--policy", *policy);
           return RunResourceWrite(
               *g, engine::Op::kPutResourcePolicy,
               {{"ResourceArn", dsl::JsonString(*arn)}, {"Policy", dsl::JsonString(text)}},
               "put the resource policy of " + *arn);
         });
       }});
  commands->push_back(ResourceReader("get-resource-policy", "an entity's resource policy",
                                     engine::GetResourcePolicy));
  commands->push_back(
      {"delete-resource-policy", "delete an entity's resource policy", [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto arn = std::make_shared<std::string>();
         AddResourceOptions(app, g.get(), arn.get());
         AddNowFlag(app, g.get());
         return std::function<int()>([g, arn]() -> int {
           return RunResourceWrite(*g, engine::Op::kDeleteResourcePolicy,
                                   {{"ResourceArn", dsl::JsonString(*arn)}},
                                   "deleted the resource policy of " + *arn);
         });
       }});
}

}  // namespace

CLI::Option* Repeatable(CLI::Option* o) {
  return o->expected(1)->allow_extra_args(false)->multi_option_policy(
      CLI::MultiOptionPolicy::TakeAll);
}

namespace {

// A scenario's report, indented under its name; a failure quoting diagnostics spans lines, each
// shown as it is (a caret stays under its column).
void PrintIndented(const std::vector<std::string>& lines) {
  for (const auto& text : lines) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) std::printf("     %s\n", Visible(line).c_str());
  }
}

}  // namespace

engine::ScenarioSetup ScenarioSetupFor(const DefinitionFolders& folders) {
  engine::ScenarioSetup setup;
  setup.workflows = folders.workflows;
  setup.rules = folders.rules;
  setup.exit_code = ExitFor;
  setup.usage_exit = kExitUsage;
  return setup;
}

int RunScenarioFiles(engine::ScenarioRunner& runner, const std::vector<std::string>& paths,
                     bool verbose) {
  std::vector<std::string> roots = paths;
  if (roots.empty()) roots.push_back("tests/scenarios");
  for (const auto& root : roots) {
    std::error_code ec;
    if (!std::filesystem::exists(root, ec)) {
      std::fprintf(stderr, "sellerflow: no such scenario file or folder: %s\n", Visible(root).c_str());
      return -1;
    }
  }
  std::vector<std::string> files = engine::FindScenarios(roots);
  if (files.empty()) {
    std::fprintf(stderr, "sellerflow: no scenarios (*.yaml) under %s\n",
                 Visible(roots.front()).c_str());
    return -1;
  }
  // Names relative to the folder they were found under read better than long paths.
  auto name_of = [&](const std::string& file) {
    for (const auto& root : roots) {
      std::error_code ec;
      if (!std::filesystem::is_directory(root, ec)) continue;
      std::string prefix = root.back() == '/' ? root : root + "/";
      if (file.rfind(prefix, 0) == 0) return file.substr(prefix.size());
    }
    return file;
  };
  int failed = 0;
  for (const auto& file : files) {
    engine::ScenarioResult r = runner.Run(file);
    const std::string name = name_of(file);
    std::printf("%s %s\n", r.ok ? "ok  " : "FAIL", Visible(name).c_str());
    if (!r.ok || verbose) PrintIndented(r.lines);
    failed += !r.ok;
  }
  std::printf("%zu of %zu scenarios passed\n", files.size() - failed, files.size());
  std::fflush(stdout);
  return failed;
}

namespace {

// `test --export-log` and `--check-log`: one scenario's command log, written or compared.
int ScenarioLog(engine::ScenarioRunner& runner, const std::vector<std::string>& paths,
                const std::string& export_to, const std::string& check_against) {
  std::vector<std::string> files = engine::FindScenarios(paths);
  if (files.size() != 1)
    throw UsageError("--export-log and --check-log take exactly one scenario, not " +
                     std::to_string(files.size()));
  engine::ScenarioResult r = runner.Run(files.front(), /*want_log=*/true);
  std::printf("%s %s\n", r.ok ? "ok  " : "FAIL", Visible(files.front()).c_str());
  PrintIndented(r.lines);
  if (!r.ok) return kExitRefused;
  if (!export_to.empty()) {
    std::ofstream out(export_to, std::ios::binary | std::ios::trunc);
    out << r.log;
    out.close();
    if (!out) throw UsageError("cannot write " + export_to + ": " + std::strerror(errno));
  }
  if (!check_against.empty()) {
    std::ifstream in(check_against, std::ios::binary);
    if (!in) throw UsageError("cannot read " + check_against + ": " + std::strerror(errno));
    std::string kept((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (kept != r.log) {
      // The first line that differs, with its number: enough to see what moved.
      std::istringstream a(kept), b(r.log);
      std::string la, lb;
      int n = 1;
      for (;; ++n) {
        bool ga = static_cast<bool>(std::getline(a, la)), gb = static_cast<bool>(std::getline(b, lb));
        if (!ga || !gb || la != lb) {
          if (!ga) la = "(end of file)";
          if (!gb) lb = "(end of log)";
          break;
        }
      }
      std::printf("%s is not this scenario's command log (refresh it with --export-log); line %d:\n"
                  "  kept:     %s\n  scenario: %s\n",
                  Visible(check_against).c_str(), n, Visible(la.substr(0, 300)).c_str(),
                  Visible(lb.substr(0, 300)).c_str());
      return kExitRefused;
    }
  }
  return kExitOk;
}

}  // namespace

void AddEngineCommands(std::vector<Command>* commands) {
  commands->push_back(
      {"start-change-set",
       "start a change set from a StartChangeSet body, or a list of changes as the AWS CLI takes "
       "it",
       [](CLI::App* app) {
         struct Options {
           std::string change_set, name, token, intent;
         };
         auto g = std::make_shared<Globals>();
         auto o = std::make_shared<Options>();
         app->add_option("--change-set", o->change_set,
                         "a StartChangeSet body, or the list of changes (as the AWS CLI's "
                         "--change-set): inline JSON, a file, file://FILE, or - for stdin")
             ->required();
         app->add_option("--change-set-name", o->name, "ChangeSetName (with a list of changes)");
         app->add_option("--client-request-token", o->token,
                         "ClientRequestToken (with a list of changes)");
         app->add_option("--intent", o->intent, "APPLY or VALIDATE (with a list of changes)")
             ->check(CLI::IsMember({"APPLY", "VALIDATE"}));
         AddGlobals(app, g.get());
         AddNowFlag(app, g.get());
         return std::function<int()>([g, o]() -> int {
           const std::string& arg = o->change_set;
           const bool inline_json = arg.starts_with("[") || arg.starts_with("{");
           const std::string where = inline_json ? "--change-set" : arg;
           bool too_long = false;
           std::string text =
               inline_json ? arg : ReadInput(arg, engine::kMaxCommandBytes, &too_long);
           engine::Command c;
           std::vector<engine::Violation> violations;
           if (too_long || text.size() > engine::kMaxCommandBytes) {
             return RefuseRequest(*g, {{"", engine::TooLongMessage(engine::kMaxCommandBytes)}},
                                  where);
           }
           const size_t first = text.find_first_not_of(" \t\r\n");
           if (first != std::string::npos && text[first] == '[') {
             // The changes alone, as `aws marketplace-catalog start-change-set` takes them: the
             // envelope from the flags, the list kept as written (its numbers untouched).
             std::string body = "{\"Catalog\":";
             dsl::AppendJsonString(g->catalog.empty() ? "AWSMarketplace" : g->catalog, &body);
             for (const auto& [key, value] :
                  {std::pair<const char*, const std::string*>{"ChangeSetName", &o->name},
                   {"ClientRequestToken", &o->token},
                   {"Intent", &o->intent}}) {
               if (value->empty()) continue;
               body += std::string(",\"") + key + "\":";
               dsl::AppendJsonString(*value, &body);
             }
             text = body + ",\"ChangeSet\":" + text + "}";
           } else if (!o->name.empty() || !o->token.empty() || !o->intent.empty()) {
             throw UsageError(
                 "--change-set-name, --client-request-token and --intent go with a --change-set "
                 "that is a list of changes; a whole body carries its own");
           }
           // A body is only ever a StartChangeSet: the actor and the time are the flags'.
           if (!engine::ParseStartChangeSetBody(text, &c, &violations) && violations.empty())
             return kExitUsage;
           if (!violations.empty()) {
             // The body is refused; the store is not touched.
             return RefuseRequest(*g, violations, where);
           }
           return RunCommand(*g, c);
         });
       }});
  commands->push_back(Reader("describe-change-set",
                             "show a change set, shaped like DescribeChangeSet",
                             {{"ID,--change-set-id", "the ChangeSetId"}}, "change set",
                             [](engine::Catalog& e, const std::vector<std::string>& a,
                                const engine::ListQuery&) { return e.DescribeChangeSet(a[0]); }));
  commands->push_back(Reader(
      "list-change-sets", "list change sets, oldest first",
      {{"--status",
        "PREPARING, APPLYING, SUCCEEDED, FAILED or CANCELLED",
        {"PREPARING", "APPLYING", "SUCCEEDED", "FAILED", "CANCELLED"}},
       {"--entity,--entity-id", "an entity identifier"},
       {"--type", "a change type"},
       {"--fields",
        "document fields of each change's entity to show as columns (tables only), e.g. "
        "ProductTitle"}},
      "change sets",
      [](engine::Catalog& e, const std::vector<std::string>& a, const engine::ListQuery& q) {
        return e.ListChangeSets(a[0], a[1], a[2], q);
      },
      ChangeSetsForPeople, true,
      [](const Globals& g, std::vector<std::string>* a) {
        if ((*a)[2].empty()) return;
        auto policy = PolicyForNames(g);
        if (!policy) return;
        std::vector<std::string> types;
        for (const auto& m : policy->machines)
          if (m->kind == engine::MachineKind::kRequest) types.push_back(m->change_type);
        CheckName("--type", "change type", (*a)[2], types);
      }));
  commands->push_back(
      {"cancel-change-set", "cancel a change set that is still PREPARING", [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto id = std::make_shared<std::string>();
         app->add_option("ID,--change-set-id", *id, "the ChangeSetId")->required();
         AddGlobals(app, g.get());
         AddNowFlag(app, g.get());
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
         app->add_option("ID,--change-set-id", (*args)[0], "the ChangeSetId")->required();
         app->add_option("DECISION", (*args)[1], "approve or reject")
             ->required()
             ->check(CLI::IsMember(engine::ReviewDecisions()));
         app->add_option("--reason", (*args)[2], "why (required to reject: the seller reads it)");
         AddGlobals(app, g.get());
         AddNowFlag(app, g.get());
         return std::function<int()>([g, args]() -> int {
           engine::Command c;
           c.op = engine::Op::kReview;
           c.change_set_id = (*args)[0];
           c.decision = (*args)[1];
           c.reason = (*args)[2];
           // Whoever runs the CLI may act as anyone (README, "Trust"): a review says who it is.
           if (g->actor.empty())
             throw UsageError(
                 "review needs --actor: who decides (Seller Operations review as "
                 "--actor operations)");
           if (c.decision == "reject" && c.reason.find_first_not_of(" \t\r\n") == std::string::npos)
             throw UsageError("reject needs --reason: the seller is told why");
           return RunCommand(*g, c);
         });
       }});
  commands->push_back(Reader("describe-entity", "show an entity, shaped like DescribeEntity",
                             {{"ID,--entity-id", "the entity identifier"}}, "entity",
                             [](engine::Catalog& e, const std::vector<std::string>& a,
                                const engine::ListQuery&) { return e.DescribeEntity(a[0]); }));
  commands->push_back(Reader(
      "list-entities", "list entities by type and state",
      {{"--type,--entity-type",
        "an entity type, e.g. ProfessionalServicesProduct@1.0 (the version may be left out)"},
       {"--state", "a state of its machine"},
       {"--fields", "document fields to show as columns (tables only), e.g. ProductTitle,Sku"}},
      "entities",
      [](engine::Catalog& e, const std::vector<std::string>& a, const engine::ListQuery& q) {
        return e.ListEntities(a[0], a[1], q);
      },
      EntitiesForPeople, true,
      [](const Globals& g, std::vector<std::string>* a) {
        std::string& type = (*a)[0];
        const std::string& state = (*a)[1];
        if (type.empty() && state.empty()) return;
        auto policy = PolicyForNames(g);
        if (!policy) return;
        std::vector<std::string> types, states;
        for (const auto& m : policy->machines)
          if (m->kind == engine::MachineKind::kEntity) types.push_back(m->entity_type);
        // The AWS CLI names an entity type without its version: the one version the policy has.
        if (!type.empty() && type.find('@') == std::string::npos) {
          std::vector<std::string> versions;
          for (const auto& t : types)
            if (t.starts_with(type + "@")) versions.push_back(t);
          if (versions.size() == 1) type = versions[0];
        }
        CheckName("--type", "entity type", type, types);
        for (const auto& m : policy->machines)
          if (m->kind == engine::MachineKind::kEntity && (type.empty() || m->entity_type == type))
            for (const auto& st : m->states) states.push_back(st.name);
        CheckName("--state", type.empty() ? "state" : "state of " + type, state, states);
      }));
  commands->push_back(Reader("history", "the events of a change set or an entity, in order",
                             {{"ID", "a ChangeSetId or an entity identifier"}}, "history",
                             [](engine::Catalog& e, const std::vector<std::string>& a,
                                const engine::ListQuery&) { return e.History(a[0]); }));
  AddResourceCommands(commands);
  commands->push_back({"tick", "advance the clock, firing every timer due", [](CLI::App* app) {
                         auto g = std::make_shared<Globals>();
                         auto to = std::make_shared<std::string>();
                         app->add_option("--to", *to, "the new time, RFC 3339")->required();
                         AddGlobals(app, g.get());
                         return std::function<int()>([g, to]() -> int {
                           engine::Command c;
                           c.op = engine::Op::kTick;
                           g->at = *to;
                           g->at_flag = "--to";
                           return RunCommand(*g, c);
                         });
                       }});
  commands->push_back(
      {"import", "add existing entities, one JSON object per line", [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto file = std::make_shared<std::string>();
         app->add_option(
                "FILE", *file,
                "JSON Lines: EntityType, EntityIdentifier, State, Owner, DetailsDocument, "
                "and optionally Actor and At (default: --actor, --at, else the store's clock)")
             ->required();
         AddGlobals(app, g.get());
         return std::function<int()>([g, file]() -> int {
           Session s;
           if (int rc = OpenSession(*g, &s)) return rc;
           engine::ReplayOptions options;
           options.default_op = engine::Op::kImport;
           options.append = true;  // Entities join whatever the store holds.
           // --at times the lines that carry no At of their own (it used to be taken and ignored).
           if (!g->at.empty()) {
             int64_t us = 0;
             if (!engine::ParseAt(g->at, &us))
               throw UsageError("--at '" + Visible(g->at) +
                                "' is not an RFC 3339 time (e.g. 2026-03-01T00:00:00Z)");
             options.default_at = dsl::FormatTimestamp(us);
           }
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
             for (const auto& r : rows) std::printf("%s\n", engine::ExportLine(r).c_str());
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
         app->add_flag("--append", options->append,
                       "run the file after the commands the store already holds (without it, a "
                       "store that holds commands is refused)");
         app->add_flag("--ack", flags->ack,
                       "print {\"Ack\":LINE} as each command is committed (--commit each)");
         app->add_option("--expect-digest", flags->expect_digest,
                         "exit 1 unless the store's digest after the replay is this one");
         AddGlobals(app, g.get());
         return std::function<int()>([g, file, commit, options, flags]() -> int {
           options->batch = *commit == "batch";
           if (options->batch && flags->ack)
             throw UsageError("--ack needs --commit each: a batch commits only at its end");
           if (options->resume && options->append)
             throw UsageError(
                 "--resume and --append exclude each other: --resume continues the "
                 "log the store holds, --append adds to it");
           const std::string& want = flags->expect_digest;
           if (!want.empty() && (want.size() != 64 ||
                                 want.find_first_not_of("0123456789abcdef") != std::string::npos))
             throw UsageError(
                 "--expect-digest must be a digest as `sellerflow digest` prints it "
                 "(64 lowercase hex digits), not '" +
                 Visible(want) + "'");
           Session s;
           auto check = [&](engine::Store& store) {
             try {
               engine::CheckReplayTarget(store, *file, *options);
             } catch (const engine::ReplayError& e) {
               throw UsageError(e.what());
             }
           };
           if (int rc = OpenSession(*g, &s, check)) return rc;
           return ReplayLines(*g, s, *file, *options, *flags);
         });
       }});
  commands->push_back(
      {"what-if",
       "replay the store's command log under other definitions and say what would differ",
       [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         AddGlobals(app, g.get());
         return std::function<int()>([g]() -> int {
           // The store is opened to read only: a what-if never writes it, not even a migration.
           std::unique_ptr<engine::Store> store = OpenStoreToRead(*g);
           std::unique_ptr<engine::Policy> policy;
           if (int rc = LoadCheckedPolicy(*g, &policy)) return rc;
           const char* tmp = std::getenv("TMPDIR");
           engine::WhatIfReport r = engine::WhatIf(*store, *policy, tmp && *tmp ? tmp : "/tmp");
           if (g->output == "json") {
             std::printf("%s\n", r.ToJson().c_str());
           } else if (g->output == "table") {
             std::vector<std::vector<std::string>> rows = {{"Subject", "Field", "Now", "Would"}};
             auto cell = [](const std::string& v) { return v.empty() ? "-" : Visible(v); };
             for (const auto& d : r.change_sets_differing)
               for (const auto& f : d.fields)
                 rows.push_back({cell(d.change_set.empty() ? "command " + std::to_string(d.command)
                                                           : d.change_set),
                                 f.field, cell(f.now), cell(f.would)});
             for (const auto& d : r.entities_differing)
               for (const auto& f : d.fields)
                 rows.push_back({Visible(d.id), f.field, cell(f.now), cell(f.would)});
             std::string text = r.ToText();
             std::printf("%s", text.substr(0, text.find('\n') + 1).c_str());
             if (rows.size() > 1) std::printf("%s", Table(rows).c_str());
           } else {
             std::fputs(VisibleLines(r.ToText()).c_str(), stdout);
           }
           return r.differs() ? kExitRefused : kExitOk;
         });
       }});
  // upgrade-plan and upgrade: one plan, read or carried out.
  const auto upgrade = [](const char* name, const char* help, bool may_apply) {
    return Command{name, help, [may_apply](CLI::App* app) {
                     auto g = std::make_shared<Globals>();
                     auto apply = std::make_shared<bool>(false);
                     if (may_apply)
                       app->add_flag("--apply", *apply,
                                     "move the change sets that can, in one transaction (without "
                                     "it: print the plan, as upgrade-plan does)");
                     AddGlobals(app, g.get());
                     return std::function<int()>([g, apply]() -> int {
                       if (*apply) {
                         engine::Command c;
                         c.op = engine::Op::kUpgrade;
                         return RunCommand(*g, c);
                       }
                       // A plan only reads: the store is opened read-only, and no engine is made
                       // (an engine records the definitions it runs).
                       std::unique_ptr<engine::Store> store = OpenStoreToRead(*g);
                       std::unique_ptr<engine::Policy> policy;
                       if (int rc = LoadCheckedPolicy(*g, &policy)) return rc;
                       engine::UpgradePlan plan = engine::PlanUpgrade(*store, *policy);
                       if (g->output == "json")
                         std::printf("%s\n", plan.ToJson(false).c_str());
                       else
                         std::fputs(VisibleLines(plan.ToText(false)).c_str(), stdout);
                       return plan.blocked() > 0 ? kExitRefused : kExitOk;
                     });
                   }};
  };
  commands->push_back(upgrade("upgrade-plan",
                              "which open change sets run on older definitions, and whether each "
                              "can move to these",
                              false));
  commands->push_back(upgrade("upgrade",
                              "move the open change sets that can to these definitions (--apply), "
                              "recording it in their history",
                              true));
  commands->push_back(
      {"test",
       "run policy scenarios (YAML stories with expectations), each on a fresh in-memory store",
       [](CLI::App* app) {
         struct Options {
           std::vector<std::string> paths, workflows, rules;
           bool coverage = false, verbose = false;
           std::string coverage_json, export_log, check_log;
         };
         auto o = std::make_shared<Options>();
         app->add_option("PATHS", o->paths,
                         "scenario files, or folders searched for *.yaml (default: tests/scenarios)");
         Repeatable(app->add_option("--workflows", o->workflows,
                                    "a workflow folder (repeatable; default as in the other "
                                    "commands); a scenario's `policy:` adds its own"));
         Repeatable(app->add_option("--rules", o->rules, "a rules folder (repeatable)"));
         app->add_flag("--coverage", o->coverage,
                       "then list every state, transition and rule the scenarios never exercised");
         app->add_option("--coverage-json", o->coverage_json,
                         "write the coverage counts and gaps to this file as JSON (for CI)");
         app->add_flag("-v,--verbose", o->verbose, "print what passing scenarios report too");
         app->add_option("--export-log", o->export_log,
                         "with one scenario: write its command log (as `log export` does) here");
         app->add_option("--check-log", o->check_log,
                         "with one scenario: fail unless its command log equals this file");
         return std::function<int()>([o]() -> int {
           engine::ScenarioSetup setup = ScenarioSetupFor(ResolveFolders(o->workflows, o->rules, ""));
           engine::Coverage coverage;
           if (o->coverage || !o->coverage_json.empty()) setup.coverage = &coverage;
           engine::ScenarioRunner runner(setup);
           if (!o->export_log.empty() || !o->check_log.empty())
             return ScenarioLog(runner, o->paths, o->export_log, o->check_log);
           int failed = RunScenarioFiles(runner, o->paths, o->verbose);
           if (failed < 0) return kExitUsage;
           if (o->coverage) {
             std::printf("coverage: %s\n", coverage.SummaryText().c_str());
             std::fputs(coverage.GapsText().c_str(), stdout);
           }
           if (!o->coverage_json.empty()) {
             std::ofstream out(o->coverage_json, std::ios::binary | std::ios::trunc);
             out << coverage.ToJson() << "\n";
             out.close();
             if (!out)
               throw UsageError("cannot write " + o->coverage_json + ": " + std::strerror(errno));
           }
           return failed ? kExitRefused : kExitOk;
         });
       }});
  commands->push_back(
      {"digest", "a hash of every entity, change set and history row", [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto outcomes = std::make_shared<bool>(false);
         app->add_flag("--outcomes", *outcomes,
                       "leave out the definitions each change ran under: two policies that decide "
                       "alike give the same digest");
         AddGlobals(app, g.get());
         return std::function<int()>([g, outcomes]() -> int {
           std::unique_ptr<engine::Store> store = OpenStoreToRead(*g);
           std::printf("%s\n", (*outcomes ? store->OutcomeDigest() : store->Digest()).c_str());
           return kExitOk;
         });
       }});
  commands->push_back(
      {"copy-store",
       "copy every table of one store into another, empty one (SQLite and PostgreSQL either way)",
       [](CLI::App* app) {
         auto from = std::make_shared<std::string>();
         auto to = std::make_shared<std::string>();
         auto g = std::make_shared<Globals>();
         app->add_option("FROM", *from, "the store to copy: a file, or a postgresql:// URI")
             ->required();
         app->add_option("TO", *to,
                         "the empty store to copy into: a file (created), or a postgresql:// URI "
                         "of an empty database")
             ->required();
         app->add_option("--output", g->output, "json, table or text (default: json)")
             ->check(CLI::IsMember({"json", "table", "text"}));
         return std::function<int()>([from, to]() -> int {
           if (*from == *to) throw UsageError("FROM and TO are the same store");
           engine::StoreOptions read;
           read.create = false;
           read.read_only = true;
           std::unique_ptr<engine::Store> source = engine::Store::Open(*from, read);
           std::unique_ptr<engine::Store> target = engine::Store::Open(*to, engine::StoreOptions());
           // Rows, not commands: a copy keeps ids, seqs and the command log as they are, so that
           // its digest is the source's and its log replays as the source's does.
           int64_t present = 0;
           target->ExportRows([&](const engine::CopyTable&, const std::vector<engine::CopyValue>&) {
             ++present;
           });
           if (present > 0) {
             throw UsageError(*to + " is not empty (" + std::to_string(present) +
                              " rows); copy-store copies only into an empty store");
           }
           int64_t rows = 0;
           target->Write([&] {
             rows = 0;
             source->ExportRows(
                 [&](const engine::CopyTable& table, const std::vector<engine::CopyValue>& row) {
                   target->ImportRow(table, row);
                   ++rows;
                 });
           });
           const std::string digest = source->Digest();
           const std::string copied = target->Digest();
           if (digest != copied) {
             std::fprintf(stderr,
                          "sellerflow: the copy's digest %s differs from the source's %s\n",
                          copied.c_str(), digest.c_str());
             return kExitStoreIo;
           }
           std::printf("{\"Rows\":%lld,\"Digest\":\"%s\"}\n", static_cast<long long>(rows),
                       digest.c_str());
           return kExitOk;
         });
       }});
  commands->push_back(
      {"serve", "serve the Catalog API over HTTP, for the AWS CLI and the SDKs", [](CLI::App* app) {
         auto g = std::make_shared<Globals>();
         auto o = std::make_shared<serve::ServeOptions>();
         auto listen = std::make_shared<std::string>("127.0.0.1:8080");
         auto credentials = std::make_shared<std::string>();
         auto clock = std::make_shared<std::string>("wall");
         g->log_level = "info";  // A server logs each request it answers.
         app->add_option("--listen", *listen,
                         "HOST:PORT to listen on (default 127.0.0.1:8080; "
                         "port 0 picks a free one)");
         app->add_option("--credentials", *credentials,
                         "JSON file of access keys: {\"Keys\": [{\"AccessKeyId\", "
                         "\"SecretAccessKey\", \"Actor\"}]}")
             ->required();
         app->add_option("--read-timeout", o->read_timeout_seconds,
                         "seconds a client may stay silent mid-request or idle between requests "
                         "before its connection is closed (default 10)")
             ->check(CLI::Range(1, 3600));
         app->add_option("--threads", o->threads,
                         "connections served at once (default 64); more wait to be accepted")
             ->check(CLI::Range(1, 4096));
         app->add_option("--tls-cert", o->tls_cert, "PEM certificate: serve HTTPS");
         app->add_option("--tls-key", o->tls_key, "PEM private key of --tls-cert");
         app->add_option("--clock", *clock,
                         "wall (commands run at the wall clock, timers fire on time) or manual "
                         "(time moves only through /sellerflow/Tick, for tests)")
             ->check(CLI::IsMember({"wall", "manual"}));
         AddGlobals(app, g.get());
         return std::function<int()>([g, o, listen, credentials, clock]() -> int {
           const size_t colon = listen->rfind(':');
           int port = -1;
           if (colon != std::string::npos) {
             try {
               port = std::stoi(listen->substr(colon + 1));
             } catch (const std::exception&) {
             }
           }
           if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535)
             throw UsageError("--listen must be HOST:PORT, not '" + *listen + "'");
           o->host = listen->substr(0, colon);
           o->port = port;
           if (o->tls_cert.empty() != o->tls_key.empty())
             throw UsageError("--tls-cert and --tls-key go together");
           o->manual_clock = *clock == "manual";
           std::vector<serve::AccessKey> keys;
           try {
             keys = serve::LoadCredentials(*credentials);
           } catch (const std::invalid_argument& e) {
             throw UsageError(std::string("--credentials: ") + e.what());
           }
           Session s;
           if (int rc = OpenSession(*g, &s)) return rc;
           const std::string scheme = o->tls_cert.empty() ? "http" : "https";
           // Captures the host, not `o`: the options would then own themselves and never be freed.
           o->on_listening = [host = o->host, scheme](int bound) {
             std::fprintf(stderr, "sellerflow: serving the Catalog API on %s://%s:%d\n",
                          scheme.c_str(), host.c_str(), bound);
             std::fflush(stderr);
           };
           o->policy = s.policy.get();
           return serve::Serve(*o, s.engine.get(), std::move(keys));
         });
       }});
  commands->push_back(
      {"lsp",
       "a language server for rules files and workflow YAML over stdio (JSON-RPC), for editors",
       [](CLI::App*) {
         // The folders come from the editor's workspace (initialize's rootUri), not from flags.
         return std::function<int()>([]() -> int { return lsp::RunLanguageServer(stdin, stdout); });
       }});
}

}  // namespace sellerflow
