// Policy tests: a scenario file read with positions, each step run through an engine on a fresh
// in-memory store, each expectation compared and every failure reported at its line.
#include "engine/run/scenario.h"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "dsl/diagnostics.h"
#include "dsl/time.h"
#include "engine/check/check_policy.h"
#include "engine/model/yaml_doc.h"
#include "engine/read/command.h"
#include "engine/run/describe.h"
#include "engine/run/replay.h"
#include "engine/store/store.h"

namespace sellerflow::engine {
namespace {

using Json = nlohmann::json;

// A member of an object, or `fallback` when `j` is not an object or lacks it: responses and
// scenario values may be anything, and a wrong shape is a failed expectation, not an exception.
Json Get(const Json& j, const char* key, const Json& fallback) {
  if (!j.is_object()) return fallback;
  auto it = j.find(key);
  return it == j.end() ? fallback : *it;
}

constexpr char kStartTime[] = "2026-01-01T00:00:00Z";
constexpr size_t kMaxShownOutput = 2000;  // Bytes of a command's output a failure quotes.
constexpr int64_t kMaxGeneratedItems = 100000;  // {$items: N}: a typo cannot exhaust memory.
constexpr int64_t kMaxRepeatedBytes = 1 << 20;  // ${N*TEXT}.

const std::set<std::string> kScenarioKeys = {"description", "steps", "policy", "driver_must_fail"};
const std::set<std::string> kStepKeys = {"id", "do", "expect", "note"};
const std::set<std::string> kExpectKeys = {"exit",      "Status",   "FailureCode", "Errors",
                                           "Exception", "Message",  "NotMessage",  "Entities",
                                           "ChangeSets"};
const std::set<std::string> kEntityKeys = {"State",    "Owner",   "Revision", "Type",
                                           "Document", "Missing", "Exists"};
const std::set<std::string> kChangeSetKeys = {"Status", "FailureCode", "Errors", "Message"};
const std::set<std::string> kOps = {"start-change-set", "review", "cancel-change-set", "tick",
                                    "import"};

// The exit code each refusal gives (README.md, "Exit codes"), for a step that names only the
// exception it expects.
int ExceptionExit(const std::string& type) {
  if (type == "ConflictException" || type == "ResourceInUseException") return 4;
  if (type == "ResourceNotFoundException") return 5;
  if (type == "AccessDeniedException") return 6;
  return 1;
}

// A mistake in the scenario file itself, not a failed expectation: it ends the scenario.
struct ScenarioError {
  std::string message;
};

std::string Joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// A value as failures print it: JSON with ", " and ": " between items and keys sorted, as people
// read it (the self-tests pin this form).
std::string Show(const Json& v) {
  if (v.is_object()) {
    std::string out = "{";
    bool first = true;
    for (auto it = v.begin(); it != v.end(); ++it) {
      out += (first ? "" : ", ") + Json(it.key()).dump(-1, ' ', false) + ": " + Show(it.value());
      first = false;
    }
    return out + "}";
  }
  if (v.is_array()) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) out += (i ? ", " : "") + Show(v[i]);
    return out + "]";
  }
  return v.dump(-1, ' ', false, Json::error_handler_t::replace);
}

bool IsDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A YAML scalar as the YAML 1.2 core schema reads it: unquoted null, booleans and numbers are
// those; everything else (and anything quoted) is a string. (Not YAML 1.1: `no` stays a string.)
Json Scalar(const YamlNode& n) {
  if (!n.plain) return n.text;
  const std::string& t = n.text;
  if (t.empty() || t == "~" || t == "null" || t == "Null" || t == "NULL") return nullptr;
  if (t == "true" || t == "True" || t == "TRUE") return true;
  if (t == "false" || t == "False" || t == "FALSE") return false;
  std::string_view digits = t;
  if (digits[0] == '-' || digits[0] == '+') digits.remove_prefix(1);
  if (IsDigits(digits) && digits.size() <= 18) return std::stoll(t);
  const size_t dot = digits.find('.');
  if (dot != std::string_view::npos && IsDigits(digits.substr(0, dot)) &&
      IsDigits(digits.substr(dot + 1)))
    return std::stod(t);
  return t;
}

Json ToJson(const YamlNode& n) {
  switch (n.kind) {
    case YamlNode::Kind::kNull:
      return nullptr;
    case YamlNode::Kind::kScalar:
      return Scalar(n);
    case YamlNode::Kind::kSequence: {
      Json out = Json::array();
      for (const auto& item : n.items) out.push_back(ToJson(item));
      return out;
    }
    case YamlNode::Kind::kMap: {
      Json out = Json::object();
      for (const auto& [k, v] : n.entries) out[k.text] = ToJson(v);
      return out;
    }
  }
  return nullptr;
}

// Text for messages: a JSON string's own text, anything else as JSON.
std::string Text(const Json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

// The messages of a response as plain lines (JSON escapes quotes): a refusal's violations as
// "Path: Message", the message itself, each change's errors as "CODE: message".
std::string Readable(const Json& response) {
  std::string out;
  if (!response.is_object()) return out;
  if (auto v = response.find("Violations"); v != response.end() && v->is_array())
    for (const auto& x : *v)
      if (x.is_object())
        out += "\n" + Text(Get(x, "Path", Json(""))) + ": " + Text(Get(x, "Message", Json("")));
  if (auto m = response.find("Message"); m != response.end() && !m->is_null() && *m != "")
    out += "\n" + Text(*m);
  if (auto cs = response.find("ChangeSet"); cs != response.end() && cs->is_array())
    for (const auto& c : *cs)
      if (c.is_object())
        if (auto el = c.find("ErrorDetailList"); el != c.end() && el->is_array())
          for (const auto& e : *el)
            out += "\n" + Text(Get(e, "ErrorCode", Json(""))) + ": " +
                   Text(Get(e, "ErrorMessage", Json("")));
  return out;
}

std::string Trimmed(const std::string& s) {
  size_t b = s.find_first_not_of(" \t\r\n"), e = s.find_last_not_of(" \t\r\n");
  return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

std::string Shortened(const std::string& s) {
  std::string t = Trimmed(s);
  return t.size() <= kMaxShownOutput ? t : t.substr(0, kMaxShownOutput) + "...";
}

// What a command printed and answered, as the command line would have: its exit code, its output
// (stdout and stderr) and its response.
struct StepOutput {
  int exit = 0;
  std::string text;
  Json response = Json::object();
  std::string exception;
};

// One run of one scenario: its store, engine, names and failures.
class Run {
 public:
  Run(const std::string& path, const ScenarioSetup& setup, const Policy& policy)
      : path_(path), setup_(setup) {
    StoreOptions options;
    options.in_memory = true;
    store_ = Store::Open(path, options);
    engine_ = std::make_unique<Engine>(policy, store_.get());
    if (setup.coverage) engine_->set_coverage(setup.coverage);
  }
  ~Run() {
    if (engine_) engine_->set_coverage(nullptr);
  }

  void Step(size_t index, const YamlNode& step);
  std::vector<std::string>& failures() { return failures_; }
  Store& store() { return *store_; }

 private:
  std::string At(const YamlNode& n) const {
    return path_ + ":" + std::to_string(n.line) + ":" + std::to_string(n.column) + ": ";
  }
  void Fail(const YamlNode& at, const std::string& what) {
    failures_.push_back(At(at) + where_ + ": " + what);
  }
  void Mismatch(const YamlNode& at, const std::string& what, const Json& expected,
                const Json& actual) {
    Fail(at, what + ": expected " + Show(expected) + ", got " + Show(actual));
  }
  [[noreturn]] void Error(const YamlNode& at, const std::string& message) const {
    throw ScenarioError{At(at) + where_ + ": the scenario is wrong: " + message};
  }

  std::string Resolve(const std::string& name, const std::string& part, const YamlNode& at) const;
  std::string SubstString(const std::string& s, const YamlNode& at) const;
  Json Subst(const Json& v, const YamlNode& at) const;
  Json Expand(const Json& spec, const YamlNode& at) const;

  StepOutput Execute(const Json& do_json, const YamlNode& at);
  StepOutput RunCommand(Command c);
  void CheckChangeSet(const YamlNode& expect, const Json& want, const Json& response,
                      const std::string& text, const std::string& label);
  void CheckErrors(const YamlNode& at, const Json& expected, const Json& response,
                   const std::string& label);
  void CheckMessages(const YamlNode& expect, const Json& want, const std::string& text,
                     const std::string& label);
  void Subset(const YamlNode& at, const std::string& path, const Json& expected, const Json& actual);
  void CheckEntities(const YamlNode& at, const Json& entities);
  void CheckOtherChangeSets(const YamlNode& at, const Json& sets);

  const std::string path_;
  const ScenarioSetup& setup_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<Engine> engine_;
  std::map<std::string, Json> names_;  // A step's id: the response of its command.
  std::vector<std::string> failures_;
  std::string clock_ = kStartTime;
  std::string where_;  // "step 3 (create)"
};

// Where a key of a map node stands (the key itself), or the map when it lacks the key.
const YamlNode& KeyAt(const YamlNode& map, std::string_view key) {
  for (const auto& [k, v] : map.entries)
    if (k.text == key) return k;
  return map;
}

std::string Run::Resolve(const std::string& name, const std::string& part,
                         const YamlNode& at) const {
  auto it = names_.find(name);
  if (it == names_.end())
    Error(at, "${" + name + "} names no earlier step with `id: " + name + "`");
  const Json& response = it->second;
  if (part.empty()) {
    const Json cs = Get(response, "ChangeSetId", Json(""));
    if (!cs.is_string() || cs == "")
      Error(at, "step `" + name + "` created no change set, so ${" + name + "} has no value");
    return cs.get<std::string>();
  }
  const Json changes = Get(response, "ChangeSet", Json::array());
  for (size_t i = 0; changes.is_array() && i < changes.size(); ++i) {
    const Json& c = changes[i];
    if (Get(c, "ChangeName", Json("")) == part || std::to_string(i) == part) {
      Json id = Get(Get(c, "Entity", Json::object()), "Identifier", Json(""));
      if (!id.is_string() || id == "")
        Error(at, "change " + part + " of `" + name +
                      "` has no entity identifier (did the change set fail before creating it?)");
      return id.get<std::string>();
    }
  }
  Error(at, "step `" + name + "` has no change named or numbered " + part);
}

bool IsNameChar(char c, bool first) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' ||
         (!first && ((c >= '0' && c <= '9') || c == '-'));
}

// ${N*TEXT} first (TEXT repeated N times), then ${NAME} and ${NAME.CHANGE}; any other ${...} is
// left as written.
std::string Run::SubstString(const std::string& s, const YamlNode& at) const {
  auto pass = [&](const std::string& in, bool repeat) {
    std::string out;
    size_t i = 0;
    while (i < in.size()) {
      size_t open = in.find("${", i);
      size_t close = open == std::string::npos ? open : in.find('}', open + 2);
      if (close == std::string::npos) {
        out += in.substr(i);
        break;
      }
      out += in.substr(i, open - i);
      const std::string inner = in.substr(open + 2, close - open - 2);
      const size_t star = inner.find('*');
      if (repeat && star != std::string::npos && IsDigits(inner.substr(0, star)) && star <= 9) {
        const int64_t n = std::stoll(inner.substr(0, star));
        const std::string text = inner.substr(star + 1);
        if (n * static_cast<int64_t>(text.size()) > kMaxRepeatedBytes)
          Error(at, "${" + inner + "} would be over " + std::to_string(kMaxRepeatedBytes) +
                        " bytes");
        for (int64_t k = 0; k < n; ++k) out += text;
      } else if (!repeat) {
        const size_t dot = inner.find('.');
        const std::string name = inner.substr(0, dot);
        const std::string part = dot == std::string::npos ? "" : inner.substr(dot + 1);
        bool valid = !name.empty() && (dot == std::string::npos || !part.empty());
        for (size_t k = 0; valid && k < name.size(); ++k) valid = IsNameChar(name[k], k == 0);
        for (size_t k = 0; valid && k < part.size(); ++k) valid = IsNameChar(part[k], false);
        out += valid ? Resolve(name, part, at) : "${" + inner + "}";
      } else {
        out += "${" + inner + "}";
      }
      i = close + 1;
    }
    return out;
  };
  if (s.find("${") == std::string::npos) return s;
  return pass(pass(s, true), false);
}

// {$items: N, item: X}: N copies of X, with ${i} in its strings counting from 1.
Json Run::Expand(const Json& spec, const YamlNode& at) const {
  if (spec.size() != 2 || !spec.contains("item") || !spec["$items"].is_number_integer() ||
      spec["$items"].get<int64_t>() < 0)
    Error(at, "write a generated list as {$items: N, item: ...}, with ${i} for 1..N");
  const int64_t n = spec["$items"].get<int64_t>();
  if (n > kMaxGeneratedItems)
    Error(at, "{$items: " + std::to_string(n) + "} is more than " +
                  std::to_string(kMaxGeneratedItems) + " items");
  std::function<Json(const Json&, const std::string&)> fill = [&](const Json& x,
                                                                   const std::string& i) -> Json {
    auto replace = [&](std::string s) {
      for (size_t p = s.find("${i}"); p != std::string::npos; p = s.find("${i}", p + i.size()))
        s.replace(p, 4, i);
      return s;
    };
    if (x.is_string()) return replace(x.get<std::string>());
    if (x.is_array()) {
      Json out = Json::array();
      for (const auto& y : x) out.push_back(fill(y, i));
      return out;
    }
    if (x.is_object()) {
      Json out = Json::object();
      for (auto it = x.begin(); it != x.end(); ++it) out[replace(it.key())] = fill(it.value(), i);
      return out;
    }
    return x;
  };
  Json out = Json::array();
  for (int64_t k = 1; k <= n; ++k) out.push_back(fill(spec["item"], std::to_string(k)));
  return out;
}

Json Run::Subst(const Json& v, const YamlNode& at) const {
  if (v.is_string()) return SubstString(v.get<std::string>(), at);
  if (v.is_array()) {
    Json out = Json::array();
    for (const auto& x : v) {
      if (x.is_object() && x.contains("$items")) {
        for (const auto& y : Expand(x, at)) out.push_back(Subst(y, at));
      } else {
        out.push_back(Subst(x, at));
      }
    }
    return out;
  }
  if (v.is_object() && v.contains("$items")) {
    Json out = Json::array();
    for (const auto& y : Expand(v, at)) out.push_back(Subst(y, at));
    return out;
  }
  if (v.is_object()) {
    Json out = Json::object();
    for (auto it = v.begin(); it != v.end(); ++it) out[SubstString(it.key(), at)] = Subst(it.value(), at);
    return out;
  }
  return v;
}

StepOutput Run::RunCommand(Command c) {
  StepOutput out;
  const Outcome o = engine_->Execute(c);
  out.exit = setup_.exit_code(o);
  out.text = o.body + "\n";
  if (o.result != Result::kOk) out.text += "sellerflow: " + o.error_type + ": " + o.message + "\n";
  Json body = Json::parse(o.body, nullptr, false);
  if (body.is_object()) out.response = std::move(body);
  out.text += Readable(out.response);
  out.exception = o.error_type;
  return out;
}

StepOutput Run::Execute(const Json& d, const YamlNode& at) {
  if (!d.is_object()) Error(at, "`do` must be a map (one replay-log line)");
  const std::string op = Text(Get(d, "op", Json("start-change-set")));
  if (!kOps.count(op)) Error(at, "op " + Show(op) + " is not one of " + Joined(kOps));
  auto usage = [&](const std::string& message) {
    StepOutput out;
    out.exit = setup_.usage_exit;
    out.text = "sellerflow: " + message + "\n";
    return out;
  };
  auto refused = [&](const std::vector<Violation>& violations) {
    Outcome o;
    o.result = Result::kRefused;
    o.error_type = "ValidationException";
    StepOutput out;
    out.exit = setup_.exit_code(o);
    out.exception = o.error_type;
    out.text = "sellerflow: ValidationException: the request has " +
               std::to_string(violations.size()) + " problem" +
               (violations.size() == 1 ? "" : "s") + "\n";
    for (const auto& v : violations)
      out.text += "  " + (v.path.empty() ? std::string("(body)") : v.path) + ": " + v.message + "\n";
    return out;
  };
  Json line = d;
  line["op"] = op;
  if (op == "tick") {
    if (!d.contains("To") || d["To"].is_null()) Error(at, "a tick needs `To`");
    clock_ = Text(d["To"]);
    line["To"] = clock_;
    line["Actor"] = "operations";
  } else if (op == "import") {
    // Without At an import runs at the store's clock, as `sellerflow import` runs it.
  } else {
    clock_ = Text(Get(d, "At", Json(clock_)));
    line["At"] = clock_;
    if (op == "start-change-set") {
      // A body is what a client sends: the actor and the time are the command line's.
      Json body = d;
      body.erase("op");
      body.erase("Actor");
      body.erase("At");
      if (!body.contains("Catalog"))
        body["Catalog"] = "AWSMarketplace";
      else if (body["Catalog"].is_null())
        body.erase("Catalog");
      Command c;
      std::vector<Violation> violations;
      if (!ParseStartChangeSetBody(body.dump(), &c, &violations)) return refused(violations);
      c.actor = d.contains("Actor") ? Text(d["Actor"]) : "";
      c.at = clock_;
      if (!ParseAt(c.at, &c.at_us))
        return usage("--at " + Json(c.at).dump() + " is not an RFC 3339 time");
      c.at = dsl::FormatTimestamp(c.at_us);
      if (c.actor.empty())
        return usage("who acts? give --actor seller:<account>, buyer:<account> or operations");
      if (!ValidActor(c.actor)) return usage("--actor must be seller:<12 digits>, buyer:<12 "
                                             "digits> or operations, not " + Json(c.actor).dump());
      return RunCommand(std::move(c));
    }
    std::set<std::string> extra;
    for (auto it = d.begin(); it != d.end(); ++it)
      if (!std::set<std::string>{"op", "Actor", "At", "ChangeSetId", "Decision", "Reason"}.count(
              it.key()))
        extra.insert(it.key());
    if (!extra.empty()) Error(at, op + " does not take " + Joined(extra));
    if (!d.contains("ChangeSetId") || d["ChangeSetId"] == "")
      Error(at, op + " needs `ChangeSetId` (write ${id} for a named step)");
    if (op == "review" && !d.contains("Decision"))
      Error(at, "a review needs `Decision: approve` or `Decision: reject`");
    if (op == "review" && !d.contains("Actor")) line["Actor"] = "operations";
    if (!line.contains("Actor"))
      return usage("who acts? give --actor seller:<account>, buyer:<account> or operations");
  }
  for (auto it = line.begin(); it != line.end(); ++it)
    if (it.value().is_number() || it.value().is_boolean())
      if (it.key() != "DetailsDocument") it.value() = it.value().dump();
  Command c;
  std::vector<Violation> violations;
  if (!ParseCommand(line.dump(), std::nullopt, &c, &violations)) return refused(violations);
  return RunCommand(std::move(c));
}

void Run::CheckErrors(const YamlNode& at, const Json& expected, const Json& response,
                      const std::string& label) {
  if (!expected.is_object())
    Error(at, "Errors must map a ChangeName or index to a list of error codes");
  const Json changes = Get(response, "ChangeSet", Json::array());
  std::map<std::string, size_t> keys;
  std::set<std::string> names;
  for (size_t i = 0; changes.is_array() && i < changes.size(); ++i) {
    keys[std::to_string(i)] = i;
    names.insert(std::to_string(i));
    Json name = Get(changes[i], "ChangeName", Json(""));
    if (name.is_string() && name != "") {
      keys[name.get<std::string>()] = i;
      names.insert(name.get<std::string>());
    }
  }
  std::map<size_t, std::vector<std::string>> wanted;
  for (auto it = expected.begin(); it != expected.end(); ++it) {
    auto k = keys.find(it.key());
    if (k == keys.end()) {
      Fail(at, label + "Errors: the change set has no change named or numbered " + it.key() +
                   " (changes: " + Joined(names) + ")");
      continue;
    }
    std::vector<std::string> codes;
    if (it.value().is_string()) codes.push_back(it.value().get<std::string>());
    if (it.value().is_array())
      for (const auto& c : it.value()) codes.push_back(Text(c));
    std::sort(codes.begin(), codes.end());
    wanted[k->second] = codes;
  }
  for (size_t i = 0; changes.is_array() && i < changes.size(); ++i) {
    const Json& c = changes[i];
    std::vector<std::string> got;
    std::string messages;
    const Json list = Get(c, "ErrorDetailList", Json::array());
    for (const auto& e : list) {
      got.push_back(Text(Get(e, "ErrorCode", Json(""))));
      messages += (messages.empty() ? "" : " | ") + Text(Get(e, "ErrorCode", Json(""))) + ": " +
                  Text(Get(e, "ErrorMessage", Json("")));
    }
    std::sort(got.begin(), got.end());
    const std::vector<std::string>& want = wanted[i];
    if (got != want) {
      Json name = Get(c, "ChangeName", Json(""));
      const std::string shown = name.is_string() && name != "" ? name.get<std::string>()
                                                                 : std::to_string(i);
      Mismatch(at, label + "Errors of change " + shown + " (" + Text(Get(c, "ChangeType", Json(""))) + ")",
               want, got);
      if (!messages.empty()) Fail(at, "  its messages: " + messages);
    }
  }
}

void Run::CheckMessages(const YamlNode& expect, const Json& want, const std::string& text,
                        const std::string& label) {
  for (const char* key : {"Message", "NotMessage"}) {
    if (!want.contains(key)) continue;
    const bool must = std::string(key) == "Message";
    Json needles = want[key].is_array() ? want[key] : Json::array({want[key]});
    for (const auto& n : needles) {
      const std::string needle = Text(n);
      if ((text.find(needle) != std::string::npos) != must)
        Fail(KeyAt(expect, key), label + key + ": " + Show(needle) +
                                     (must ? " not found in" : " found in") +
                                     " the output: " + Trimmed(text));
    }
  }
}

void Run::CheckChangeSet(const YamlNode& expect, const Json& want, const Json& response,
                         const std::string& text, const std::string& label) {
  for (const char* key : {"Status", "FailureCode"}) {
    if (!want.contains(key)) continue;
    const Json got = response.is_object() && response.contains(key) ? response[key] : Json();
    if (got != want[key]) Mismatch(KeyAt(expect, key), label + key, want[key], got);
  }
  if (want.contains("Errors")) CheckErrors(KeyAt(expect, "Errors"), want["Errors"], response, label);
  CheckMessages(expect, want, text, label);
}

void Run::Subset(const YamlNode& at, const std::string& path, const Json& expected,
                 const Json& actual) {
  if (expected.is_object()) {
    if (!actual.is_object()) {
      Mismatch(at, path, expected, actual);
      return;
    }
    for (auto it = expected.begin(); it != expected.end(); ++it) {
      if (!actual.contains(it.key()))
        Fail(at, path + "." + it.key() + ": expected " + Show(it.value()) +
                     ", but the field is absent");
      else
        Subset(at, path + "." + it.key(), it.value(), actual[it.key()]);
    }
  } else if (expected != actual) {
    Mismatch(at, path, expected, actual);
  }
}

void Run::CheckEntities(const YamlNode& node, const Json& entities) {
  if (!entities.is_object()) Error(node, "Entities must map identifiers to expectations");
  Catalog catalog(store_.get());
  for (auto it = entities.begin(); it != entities.end(); ++it) {
    const std::string id = it.key();
    const YamlNode* at = &node;
    // The entry of this entity in the file (its key may have been a ${name}).
    for (const auto& [k, v] : node.entries)
      if (SubstString(k.text, k) == id) at = &k;
    const Json want = it.value().is_null() ? Json::object() : it.value();
    if (!want.is_object()) Error(*at, "Entities." + id + " must be a map");
    std::set<std::string> unknown;
    for (auto w = want.begin(); w != want.end(); ++w)
      if (!kEntityKeys.count(w.key())) unknown.insert(w.key());
    if (!unknown.empty())
      Error(*at, "Entities." + id + ": unknown keys " + Joined(unknown) + "; allowed: " +
                     Joined(kEntityKeys));
    const std::string label = "entity " + id;
    const std::string body = catalog.DescribeEntity(id);
    const bool exists = Get(want, "Exists", Json(true)) != Json(false);
    if (body.empty()) {
      if (exists) Fail(*at, label + ": not found (ResourceNotFoundException)");
      continue;
    }
    if (!exists) {
      Fail(*at, label + ": expected no such entity, but it exists");
      continue;
    }
    const Json got = Json::parse(body, nullptr, false);
    for (auto [key, field] : {std::pair{"State", "State"}, {"Owner", "Owner"},
                              {"Revision", "Revision"}, {"Type", "EntityType"}}) {
      if (!want.contains(key)) continue;
      const Json value = got.contains(field) ? got[field] : Json();
      if (value != want[key]) Mismatch(*at, label + " " + key, want[key], value);
    }
    const Json doc = Get(got, "DetailsDocument", Json::object());
    if (want.contains("Document")) Subset(*at, label + " Document", want["Document"], doc);
    if (want.contains("Missing") && want["Missing"].is_array())
      for (const auto& f : want["Missing"])
        if (doc.is_object() && doc.contains(Text(f)))
          Mismatch(*at, label + " Document." + Text(f), "(absent)", doc[Text(f)]);
  }
}

void Run::CheckOtherChangeSets(const YamlNode& node, const Json& sets) {
  if (!sets.is_object()) Error(node, "ChangeSets must map change set ids to expectations");
  Catalog catalog(store_.get());
  for (auto it = sets.begin(); it != sets.end(); ++it) {
    const std::string id = it.key();
    const YamlNode* at = &node;
    const YamlNode* entry = &node;
    for (const auto& [k, v] : node.entries)
      if (SubstString(k.text, k) == id) at = &k, entry = &v;
    const Json want = it.value().is_null() ? Json::object() : it.value();
    std::set<std::string> unknown;
    for (auto w = want.begin(); w != want.end(); ++w)
      if (!kChangeSetKeys.count(w.key())) unknown.insert(w.key());
    if (!unknown.empty()) Error(*at, "ChangeSets." + id + ": unknown keys " + Joined(unknown));
    const std::string body = catalog.DescribeChangeSet(id);
    if (body.empty()) {
      Fail(*at, "change set " + id + ": not found (ResourceNotFoundException)");
      continue;
    }
    const Json got = Json::parse(body, nullptr, false);
    CheckChangeSet(entry->is_map() ? *entry : *at, want, got, body + Readable(got),
                   "change set " + id + ": ");
  }
}

void Run::Step(size_t index, const YamlNode& step) {
  where_ = "step " + std::to_string(index);
  if (!step.is_map()) Error(step, "a step must be a map with `do` (and `id`, `expect`)");
  const YamlNode* id_node = step.Find("id");
  const std::string id = id_node ? id_node->text : "";
  if (!id.empty()) where_ += " (" + id + ")";
  std::set<std::string> unknown;
  for (const auto& [k, v] : step.entries)
    if (!kStepKeys.count(k.text)) unknown.insert(k.text);
  if (!unknown.empty())
    Error(step, "unknown keys " + Joined(unknown) + "; allowed: " + Joined(kStepKeys));
  const YamlNode* do_node = step.Find("do");
  if (!do_node) Error(step, "a step needs `do`");
  static const YamlNode kEmpty;
  const YamlNode* expect_node = step.Find("expect");
  if (expect_node && !expect_node->is_map() && !expect_node->is_null())
    Error(*expect_node, "`expect` must be a map");
  const YamlNode& expect = expect_node && expect_node->is_map() ? *expect_node : kEmpty;
  unknown.clear();
  for (const auto& [k, v] : expect.entries)
    if (!kExpectKeys.count(k.text)) unknown.insert(k.text);
  if (!unknown.empty())
    Error(expect, "unknown expectations " + Joined(unknown) + "; allowed: " + Joined(kExpectKeys));

  const Json action = Subst(ToJson(*do_node), *do_node);
  StepOutput out = Execute(action, *do_node);
  if (!id.empty()) names_[id] = out.response;
  const Json want = Subst(ToJson(expect), expect);
  std::string exception = Get(out.response, "__type", Json("")).get<std::string>();
  if (exception.empty()) exception = out.exception;
  // The exit code: as written, else what the expected outcome implies.
  int want_exit = 0;
  if (want.contains("exit"))
    want_exit = want["exit"].is_number_integer() ? want["exit"].get<int>() : -1;
  else if (want.contains("Exception"))
    want_exit = ExceptionExit(Text(want["Exception"]));
  else if (Get(want, "Status", Json("")) == "FAILED" &&
           !(Get(action, "op", Json("")) == "review" &&
             Get(action, "Decision", Json("")) == "reject"))
    want_exit = 1;  // A rejection that fails the set succeeded (exit 0).
  const YamlNode& exit_at = want.contains("exit") ? KeyAt(expect, "exit") : KeyAt(step, "do");
  if (out.exit != want_exit) {
    Mismatch(exit_at, "exit", want_exit, out.exit);
    Fail(exit_at, "  output: " + Shortened(out.text));
  }
  if (want.contains("Exception")) {
    const Json got = exception.empty() ? Json() : Json(exception);
    if (got != want["Exception"])
      Mismatch(KeyAt(expect, "Exception"), "Exception", want["Exception"], got);
  } else if (!exception.empty() && out.exit != 0 && !want.contains("exit")) {
    Fail(KeyAt(step, "do"), "unexpected " + exception + ": " + Shortened(out.text));
  }
  CheckChangeSet(expect, want, out.response, out.text, "");
  if (want.contains("Entities")) {
    const YamlNode* n = expect.Find("Entities");
    CheckEntities(*n, want["Entities"]);
  }
  if (want.contains("ChangeSets")) {
    const YamlNode* n = expect.Find("ChangeSets");
    CheckOtherChangeSets(*n, want["ChangeSets"]);
  }
}

std::string ReadFile(const std::string& path, bool* ok) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  *ok = static_cast<bool>(in) || in.eof();
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) *ok = false;
  return text.str();
}

}  // namespace

ScenarioRunner::ScenarioRunner(ScenarioSetup setup) : setup_(std::move(setup)) {}
ScenarioRunner::~ScenarioRunner() = default;

const Policy* ScenarioRunner::PolicyFor(const std::vector<std::string>& workflows,
                                        const std::vector<std::string>& rules,
                                        std::string* error) {
  std::string key;
  for (const auto& w : workflows) key += "w" + w + '\0';
  for (const auto& r : rules) key += "r" + r + '\0';
  if (auto it = policy_errors_.find(key); it != policy_errors_.end()) {
    *error = it->second;
    return nullptr;
  }
  if (auto it = policies_.find(key); it != policies_.end()) return it->second.get();
  dsl::Diagnostics diags;
  std::unique_ptr<Policy> policy = LoadPolicy(workflows, rules, &diags);
  CheckPolicy(*policy, &diags);
  if (diags.has_errors()) {
    policy_errors_[key] = *error = "the definitions have errors:\n" + diags.ToText();
    return nullptr;
  }
  return (policies_[key] = std::move(policy)).get();
}

ScenarioResult ScenarioRunner::Run(const std::string& path, bool want_log) {
  ScenarioResult result;
  std::vector<std::string> failures;
  bool read = false;
  const std::string text = ReadFile(path, &read);
  if (!read) {
    result.lines.push_back(path + ": cannot read the scenario file");
    return result;
  }
  dsl::Source source(path, text);
  dsl::Diagnostics diags;
  YamlNode doc;
  if (!ReadYaml(source, &doc, &diags)) {
    result.lines.push_back(Trimmed(diags.ToText()));
    return result;
  }
  auto at = [&](const YamlNode& n) {
    return path + ":" + std::to_string(n.line) + ":" + std::to_string(n.column) + ": ";
  };
  if (!doc.is_map()) {
    result.lines.push_back(at(doc) + "a scenario file must be a map with `description` and `steps`");
    return result;
  }
  std::set<std::string> unknown;
  for (const auto& [k, v] : doc.entries)
    if (!kScenarioKeys.count(k.text)) unknown.insert(k.text);
  const YamlNode* description = doc.Find("description");
  const YamlNode* steps = doc.Find("steps");
  if (!unknown.empty()) {
    result.lines.push_back(at(doc) + "unknown keys " + Joined(unknown) + "; allowed: " +
                           Joined(kScenarioKeys));
    return result;
  }
  if (!description || !description->is_scalar() || description->text.empty()) {
    result.lines.push_back(at(doc) + "the scenario needs a `description` (a sentence on what it checks)");
    return result;
  }
  if (!steps || !steps->is_sequence() || steps->items.empty()) {
    result.lines.push_back(at(steps ? *steps : doc) + "the scenario needs `steps`, a non-empty list");
    return result;
  }
  std::vector<std::string> workflows = setup_.workflows, rules = setup_.rules;
  if (const YamlNode* policy = doc.Find("policy")) {
    const std::filesystem::path base = std::filesystem::path(path).parent_path();
    for (const auto& [k, v] : policy->entries) {
      if (k.text != "workflows" && k.text != "rules") {
        result.lines.push_back(at(k) + "policy: unknown key " + k.text + "; allowed: rules, workflows");
        return result;
      }
      for (const auto& folder : v.items)
        (k.text == "workflows" ? workflows : rules).push_back((base / folder.text).string());
    }
  }
  std::string error;
  const Policy* policy = PolicyFor(workflows, rules, &error);
  if (!policy) {
    result.lines.push_back(path + ": " + Trimmed(error));
    return result;
  }
  {
    class Run run(path, setup_, *policy);
    try {
      for (size_t i = 0; i < steps->items.size(); ++i) run.Step(i + 1, steps->items[i]);
    } catch (const ScenarioError& e) {
      run.failures().push_back(e.message);
    } catch (const DefinitionsMissing& e) {
      run.failures().push_back(std::string("the definitions are missing: ") + e.what());
    }
    if (want_log)
      for (int64_t after = 0;;) {
        std::vector<CommandRow> rows = run.store().Commands(after, 1000);
        if (rows.empty()) break;
        for (const CommandRow& row : rows) result.log += ExportLine(row) + "\n";
        after = rows.back().seq;
      }
    failures = std::move(run.failures());
  }
  const YamlNode* must_fail = doc.Find("driver_must_fail");
  if (!must_fail) {
    result.ok = failures.empty();
    result.lines = std::move(failures);
    return result;
  }
  // A self-test: the runner must report these failures (each text must appear in them).
  result.self_test = true;
  if (failures.empty()) {
    result.lines.push_back(at(*must_fail) +
                           "driver_must_fail: every expectation passed, but this scenario is "
                           "written to fail");
    return result;
  }
  std::string joined;
  for (const auto& f : failures) joined += f + "\n";
  std::vector<std::string> missing;
  for (const auto& item : must_fail->items)
    if (joined.find(item.text) == std::string::npos)
      missing.push_back(at(item) + "driver_must_fail: the runner did not report " + Show(item.text));
  if (!missing.empty()) {
    result.lines = std::move(missing);
    result.lines.push_back("  it reported:");
    for (const auto& f : failures) result.lines.push_back("    " + f);
    return result;
  }
  result.ok = true;
  result.lines.push_back("(failed as intended: " + std::to_string(failures.size()) +
                         " failure" + (failures.size() == 1 ? "" : "s") + ")");
  for (const auto& f : failures) result.lines.push_back("  " + f);
  return result;
}

std::vector<std::string> FindScenarios(const std::vector<std::string>& paths) {
  std::vector<std::string> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (!std::filesystem::is_directory(p, ec)) {
      out.push_back(p);
      continue;
    }
    std::vector<std::string> found;
    for (auto it = std::filesystem::recursive_directory_iterator(p, ec);
         !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec))
      if (it->is_regular_file(ec) && it->path().extension() == ".yaml")
        found.push_back(it->path().string());
    std::sort(found.begin(), found.end());
    out.insert(out.end(), found.begin(), found.end());
  }
  return out;
}

}  // namespace sellerflow::engine
