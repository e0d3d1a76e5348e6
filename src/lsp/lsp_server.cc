// The language server: the protocol's lifecycle, the workspace of open documents over the policy
// folders, and the answers (diagnostics, hover, completion, definition) drawn from a loaded policy.
#include "src/lsp/lsp_server.h"

#include <algorithm>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsl/ast.h"
#include "dsl/check.h"
#include "dsl/diagnostics.h"
#include "dsl/types.h"
#include "engine/base/limits.h"
#include "engine/check/check_policy.h"
#include "engine/model/folders.h"
#include "engine/model/load.h"
#include "src/lsp/json_rpc.h"
#include "src/lsp/text.h"

namespace sellerflow::lsp {
namespace {

using nlohmann::json;

// LSP's enumerations, as far as the server uses them.
constexpr int kSyncFull = 1;
constexpr int kSeverityError = 1, kSeverityWarning = 2, kSeverityInformation = 3;
constexpr int kKindFunction = 3, kKindField = 5, kKindVariable = 6, kKindEnumMember = 20,
              kKindConstant = 21, kKindReference = 18, kKindEvent = 23;
constexpr int kLogWarning = 2;

// A request whose params are not what the method takes: answered as InvalidParams.
struct BadParams : std::runtime_error {
  using std::runtime_error::runtime_error;
};

const json& Member(const json& object, const char* name) {
  static const json kNull;
  if (!object.is_object()) return kNull;
  auto it = object.find(name);
  return it == object.end() ? kNull : *it;
}

std::string StringMember(const json& object, const char* name) {
  const json& v = Member(object, name);
  if (!v.is_string()) throw BadParams(std::string("'") + name + "' must be a string");
  return v.get<std::string>();
}

uint32_t IndexMember(const json& object, const char* name) {
  const json& v = Member(object, name);
  if (!v.is_number_integer() || v.get<int64_t>() < 0 || v.get<int64_t>() > UINT32_MAX)
    throw BadParams(std::string("'") + name + "' must be an unsigned integer");
  return static_cast<uint32_t>(v.get<int64_t>());
}

bool IsWordChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsRulesPath(const std::string& path) {
  return std::filesystem::path(path).extension() == ".rules";
}

std::string Normal(const std::string& path) {
  std::error_code ec;
  std::filesystem::path p = std::filesystem::absolute(path, ec);
  if (ec) p = path;
  std::string s = p.lexically_normal().string();
  while (s.size() > 1 && s.back() == '/') s.pop_back();
  return s;
}

json Position(uint32_t line, uint32_t character) {
  return {{"line", line}, {"character", character}};
}

json Range(uint32_t line, uint32_t begin, uint32_t end) {
  return {{"start", Position(line, begin)}, {"end", Position(line, end)}};
}

// The range of the name that starts at 1-based `line`, `column` (code points) of `text`: the
// identifier there, or one character when none starts there.
json NameRange(std::string_view text, uint32_t line, uint32_t column) {
  if (line == 0) return Range(0, 0, 0);
  const std::string_view l = LineText(text, line - 1);
  const size_t begin = ByteOfCodePoint(l, column > 0 ? column - 1 : 0);
  size_t end = begin;
  while (end < l.size() && IsWordChar(l[end])) ++end;
  if (end == begin && end < l.size()) end = ByteOfCodePoint(l, column);
  return Range(line - 1, Utf16Units(l, begin), Utf16Units(l, end));
}

// What a rules file declares, with where (1-based line and code-point column of the name).
struct Declaration {
  std::string path;
  uint32_t line = 0, column = 0;
  std::string code;     // Rules.
  std::string message;  // Rules: the message as written, quotes and all.
  std::string value;    // Constants: the value as written.
};

// The word under a position, and the dotted path that ends with it ("details.ProductTitle").
struct Token {
  std::string word, path;
  uint32_t line = 0;
  size_t word_begin = 0, word_end = 0, path_begin = 0;  // Bytes of the line.
};

class Server {
 public:
  explicit Server(std::FILE* out) : out_(out) {}

  // One message's content; false once the client has sent `exit`.
  bool Handle(const std::string& content);
  void Reply(const json& id, json result) {
    WriteMessage(out_, {{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}});
  }
  void Fail(const json& id, int code, const std::string& message) {
    WriteMessage(
        out_, {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}});
  }
  void Notify(const char* method, json params) {
    WriteMessage(out_, {{"jsonrpc", "2.0"}, {"method", method}, {"params", std::move(params)}});
  }
  int exit_code() const { return shutdown_ ? 0 : 1; }

 private:
  json Dispatch(const std::string& method, const json& params, bool* handled);
  json Initialize(const json& params);
  void DidOpen(const json& params);
  void DidChange(const json& params);
  void DidClose(const json& params);

  // Loads and checks the policy with the open documents' texts, rebuilds the index and publishes
  // every file's diagnostics.
  void Reload();
  void Publish(const dsl::Diagnostics& diags);
  void IndexRules();

  json Hover(const json& params);
  json Completion(const json& params);
  json Definition(const json& params);

  // The text of a document: open, else on disk, else from the policy's sources.
  std::string TextOf(const std::string& path) const;
  std::string UriOf(const std::string& path) const {
    auto it = uris_.find(path);
    return it != uris_.end() ? it->second : PathToUri(path);
  }
  // The document and position of a TextDocumentPositionParams.
  std::optional<Token> TokenAt(const json& params, std::string* path, std::string* text) const;

  const engine::Machine* MachineOfFile(const std::string& path) const;
  // The machines whose variables the expressions of the file at `path` read: the workflow's own
  // machine, else those that name the rules file's rules, most first; then every other, so that a
  // field unknown to them is still found. *users counts the first kind.
  std::vector<const engine::Machine*> MachinesFor(const std::string& path, size_t* users) const;
  // The type at a dotted path in a machine's variables (null when there is none), and whether
  // the last step is optional.
  dsl::TypePtr TypeAt(const engine::Machine& m, const std::vector<std::string>& steps,
                      bool* optional) const;
  json Location(const std::string& path, uint32_t line, uint32_t column) const;

  std::FILE* out_;
  bool initialized_ = false, shutdown_ = false;
  std::vector<std::string> workflow_dirs_, rule_dirs_;
  std::string project_file_;
  dsl::Diagnostics folder_diags_;  // A broken project file's, shown with every load's.
  engine::SourceOverrides open_;   // Path to text.
  std::map<std::string, int64_t> versions_;
  std::map<std::string, std::string> uris_;  // Path to the URI as the client spelled it.
  std::set<std::string> published_;          // URIs last given diagnostics.
  std::unique_ptr<engine::Policy> policy_;
  std::map<std::string, Declaration> rules_, constants_;
  std::map<std::string, std::set<std::string>> rules_of_file_;
};

bool Server::Handle(const std::string& content) {
  json message = json::parse(content, nullptr, /*allow_exceptions=*/false);
  if (message.is_discarded()) {
    Fail(nullptr, kParseError, "the message is not JSON");
    return true;
  }
  if (!message.is_object()) {
    Fail(nullptr, kInvalidRequest, "a message must be a JSON object (batches are not taken)");
    return true;
  }
  const json& id = Member(message, "id");
  const bool is_request = message.contains("id");
  if (is_request && !id.is_string() && !id.is_number_integer() && !id.is_null()) {
    Fail(nullptr, kInvalidRequest, "an id must be a string or an integer");
    return true;
  }
  const json& method_json = Member(message, "method");
  if (method_json.is_null()) return true;  // A client's answer to a request we never make.
  if (!method_json.is_string()) {
    if (is_request) Fail(id, kInvalidRequest, "'method' must be a string");
    return true;
  }
  const std::string method = method_json.get<std::string>();
  if (method == "exit") return false;
  if (shutdown_) {
    if (is_request) Fail(id, kInvalidRequest, "the server is shut down: only 'exit' is taken");
    return true;
  }
  if (!initialized_ && method != "initialize") {
    if (is_request) Fail(id, kServerNotInitialized, "send 'initialize' first");
    return true;
  }
  const json& params = Member(message, "params");
  try {
    bool handled = true;
    json result = Dispatch(method, params, &handled);
    if (!is_request) return true;
    if (!handled)
      Fail(id, kMethodNotFound, "unknown method '" + method + "'");
    else
      Reply(id, std::move(result));
  } catch (const BadParams& e) {
    if (is_request) Fail(id, kInvalidParams, e.what());
  } catch (const std::exception& e) {
    if (is_request) Fail(id, kInternalError, std::string("internal error: ") + e.what());
  }
  return true;
}

json Server::Dispatch(const std::string& method, const json& params, bool* handled) {
  if (method == "initialize") {
    if (initialized_) throw BadParams("already initialized");
    return Initialize(params);
  }
  if (method == "initialized") return nullptr;
  if (method == "shutdown") {
    shutdown_ = true;
    return nullptr;
  }
  if (method == "textDocument/didOpen") {
    DidOpen(params);
    return nullptr;
  }
  if (method == "textDocument/didChange") {
    DidChange(params);
    return nullptr;
  }
  if (method == "textDocument/didSave") {
    const std::string path = UriToPath(StringMember(Member(params, "textDocument"), "uri"));
    const json& text = Member(params, "text");
    if (open_.count(path) && text.is_string()) open_[path] = text.get<std::string>();
    Reload();
    return nullptr;
  }
  if (method == "textDocument/didClose") {
    DidClose(params);
    return nullptr;
  }
  if (method == "textDocument/hover") return Hover(params);
  if (method == "textDocument/completion") return Completion(params);
  if (method == "textDocument/definition") return Definition(params);
  *handled = false;
  return nullptr;
}

json Server::Initialize(const json& params) {
  std::string root;
  const json& folders = Member(params, "workspaceFolders");
  if (Member(params, "rootUri").is_string())
    root = UriToPath(Member(params, "rootUri").get<std::string>());
  else if (folders.is_array() && !folders.empty() && Member(folders[0], "uri").is_string())
    root = UriToPath(Member(folders[0], "uri").get<std::string>());
  else if (Member(params, "rootPath").is_string())
    root = Member(params, "rootPath").get<std::string>();
  if (root.empty()) root = ".";
  root = Normal(root);
  // The workspace decides, not the server's environment: an editor starts one server for many
  // folders, and each is read as `sellerflow check` run inside it would read it without flags.
  engine::FolderInputs in;
  in.project_dirs.push_back(root);
  in.default_workflows = root + "/workflows";
  in.default_rules = root + "/rules";
  engine::PolicyFolders chosen = engine::ResolvePolicyFolders(in, &folder_diags_);
  for (const auto& d : chosen.workflows.folders) workflow_dirs_.push_back(Normal(d));
  for (const auto& d : chosen.rules.folders) rule_dirs_.push_back(Normal(d));
  project_file_ = chosen.project_file;
  initialized_ = true;
  Reload();
  return {{"capabilities",
           {{"textDocumentSync",
             {{"openClose", true}, {"change", kSyncFull}, {"save", {{"includeText", false}}}}},
            {"hoverProvider", true},
            {"completionProvider", {{"triggerCharacters", {"."}}, {"resolveProvider", false}}},
            {"definitionProvider", true}}},
          {"serverInfo", {{"name", "sellerflow"}}}};
}

void Server::DidOpen(const json& params) {
  const json& doc = Member(params, "textDocument");
  const std::string uri = StringMember(doc, "uri");
  const std::string path = UriToPath(uri);
  if (path.empty()) throw BadParams("only file:// documents are served");
  const std::string key = Normal(path);
  open_[key] = StringMember(doc, "text");
  uris_[key] = uri;
  if (Member(doc, "version").is_number_integer()) versions_[key] = Member(doc, "version");
  Reload();
}

void Server::DidChange(const json& params) {
  const json& doc = Member(params, "textDocument");
  const std::string key = Normal(UriToPath(StringMember(doc, "uri")));
  auto it = open_.find(key);
  if (it == open_.end()) throw BadParams("the document is not open");
  const json& changes = Member(params, "contentChanges");
  if (!changes.is_array()) throw BadParams("'contentChanges' must be a list");
  for (const json& change : changes) {
    std::string text = StringMember(change, "text");
    const json& range = Member(change, "range");
    if (range.is_null()) {
      it->second = std::move(text);
      continue;
    }
    // A client that sends ranges although full sync was asked for still gets them applied.
    auto offset = [&](const json& pos) {
      const uint32_t line = IndexMember(pos, "line");
      const size_t start = LineStart(it->second, line);
      return start + ByteOfUtf16(LineText(it->second, line), IndexMember(pos, "character"));
    };
    const size_t begin = offset(Member(range, "start"));
    const size_t end = std::max(begin, offset(Member(range, "end")));
    it->second.replace(begin, end - begin, text);
  }
  if (Member(doc, "version").is_number_integer()) versions_[key] = Member(doc, "version");
  Reload();
}

void Server::DidClose(const json& params) {
  const std::string key = Normal(UriToPath(StringMember(Member(params, "textDocument"), "uri")));
  open_.erase(key);
  versions_.erase(key);
  Reload();
}

void Server::Reload() {
  dsl::Diagnostics diags = folder_diags_;
  policy_ = engine::LoadPolicy(workflow_dirs_, rule_dirs_, open_, &diags);
  engine::CheckPolicy(*policy_, &diags);
  IndexRules();
  Publish(diags);
}

void Server::IndexRules() {
  rules_.clear();
  constants_.clear();
  rules_of_file_.clear();
  for (const dsl::Source* s : policy_->rule_sources) {
    dsl::Diagnostics ignored;  // The checker has reported them already.
    dsl::FileAst ast = dsl::ParseRulesFile(*s, &ignored);
    auto locate = [&](uint32_t offset, Declaration* d) {
      std::string_view line_text;
      d->path = s->name;
      dsl::LocateOffset(s->text, offset, &d->line, &d->column, &line_text);
    };
    for (const dsl::RuleAst& r : ast.rules) {
      if (rules_.count(r.name)) continue;  // A duplicate: the first is the definition.
      Declaration d;
      locate(r.name_offset, &d);
      d.code = r.code;
      if (r.has_message) {
        const std::string_view rest = std::string_view(s->text).substr(r.message_offset);
        d.message = std::string(rest.substr(0, rest.find('\n')));
      }
      rules_of_file_[s->name].insert(r.name);
      rules_.emplace(r.name, std::move(d));
    }
    for (const dsl::ConstAst& c : ast.constants) {
      if (constants_.count(c.name)) continue;
      Declaration d;
      locate(c.name_offset, &d);
      if (c.value) d.value = std::string(dsl::ExprText(*s, *c.value));
      constants_.emplace(c.name, std::move(d));
    }
  }
}

void Server::Publish(const dsl::Diagnostics& diags) {
  std::map<std::string, json> by_uri;  // Every file of the policy, clean ones with [].
  for (const dsl::Source& s : policy_->sources) by_uri[UriOf(s.name)] = json::array();
  if (!project_file_.empty()) by_uri[UriOf(Normal(project_file_))] = json::array();
  for (const std::string& uri : published_) by_uri.emplace(uri, json::array());
  for (const auto& [path, text] : open_) by_uri.emplace(UriOf(path), json::array());
  std::map<std::string, const dsl::Source*> sources;
  for (const dsl::Source& s : policy_->sources) sources[s.name] = &s;
  for (const dsl::Diagnostic& d : diags.items()) {
    const std::string ext = std::filesystem::path(d.file).extension().string();
    const bool is_file = ext == ".rules" || ext == ".yaml" || ext == ".yml";
    if (!is_file) {
      // A folder that is missing or cannot be listed has no document to show it in.
      Notify("window/logMessage", {{"type", kLogWarning}, {"message", d.file + ": " + d.message}});
      continue;
    }
    const std::string path = Normal(d.file);
    std::string text;
    if (auto it = sources.find(d.file); it != sources.end())
      text = it->second->text;
    else if (d.line > 0)
      text = std::string(d.line - 1, '\n') + d.source_line;
    json item = {{"range", NameRange(text, d.line, d.column)},
                 {"severity", d.severity == dsl::Severity::kError     ? kSeverityError
                              : d.severity == dsl::Severity::kWarning ? kSeverityWarning
                                                                      : kSeverityInformation},
                 {"source", "sellerflow"},
                 {"message", d.hint.empty() ? d.message : d.message + "\nhint: " + d.hint}};
    by_uri[UriOf(path)].push_back(std::move(item));
  }
  published_.clear();
  for (auto& [uri, list] : by_uri) {
    if (!list.empty()) published_.insert(uri);
    json params = {{"uri", uri}, {"diagnostics", std::move(list)}};
    const std::string path = Normal(UriToPath(uri));
    if (auto v = versions_.find(path); v != versions_.end()) params["version"] = v->second;
    Notify("textDocument/publishDiagnostics", std::move(params));
  }
}

std::string Server::TextOf(const std::string& path) const {
  if (auto it = open_.find(path); it != open_.end()) return it->second;
  if (policy_)
    for (const dsl::Source& s : policy_->sources)
      if (s.name == path) return s.text;
  return "";
}

std::optional<Token> Server::TokenAt(const json& params, std::string* path,
                                     std::string* text) const {
  *path = Normal(UriToPath(StringMember(Member(params, "textDocument"), "uri")));
  const json& position = Member(params, "position");
  *text = TextOf(*path);
  Token t;
  t.line = IndexMember(position, "line");
  const std::string_view line = LineText(*text, t.line);
  const size_t at = ByteOfUtf16(line, IndexMember(position, "character"));
  t.word_begin = at;
  while (t.word_begin > 0 && IsWordChar(line[t.word_begin - 1])) --t.word_begin;
  t.word_end = at;
  while (t.word_end < line.size() && IsWordChar(line[t.word_end])) ++t.word_end;
  t.path_begin = t.word_begin;
  while (t.path_begin > 0 && (IsWordChar(line[t.path_begin - 1]) || line[t.path_begin - 1] == '.'))
    --t.path_begin;
  t.word = std::string(line.substr(t.word_begin, t.word_end - t.word_begin));
  t.path = std::string(line.substr(t.path_begin, t.word_end - t.path_begin));
  return t;
}

const engine::Machine* Server::MachineOfFile(const std::string& path) const {
  for (const auto& m : policy_->machines)
    if (m->source && m->source->name == path) return m.get();
  return nullptr;
}

std::vector<const engine::Machine*> Server::MachinesFor(const std::string& path,
                                                        size_t* users) const {
  std::vector<std::pair<size_t, const engine::Machine*>> ranked;
  const engine::Machine* own = MachineOfFile(path);
  auto it = rules_of_file_.find(path);
  for (const auto& m : policy_->machines) {
    size_t uses = 0;
    if (m.get() == own) {
      uses = SIZE_MAX;
    } else if (it != rules_of_file_.end()) {
      auto count = [&](const std::vector<std::string>& names) {
        for (const auto& n : names) uses += it->second.count(n);
      };
      count(m->access);
      for (const auto& t : m->transitions) count(t.rules);
      for (const auto& s : m->states)
        if (s.validate) count(s.validate->rules);
    }
    ranked.push_back({uses, m.get()});
  }
  // Most rules of the file first; machines keep their file order among equals.
  std::stable_sort(ranked.begin(), ranked.end(),
                   [](const auto& a, const auto& b) { return a.first > b.first; });
  std::vector<const engine::Machine*> out;
  *users = 0;
  for (const auto& [uses, m] : ranked) {
    out.push_back(m);
    *users += uses > 0;
  }
  return out;
}

dsl::TypePtr Server::TypeAt(const engine::Machine& m, const std::vector<std::string>& steps,
                            bool* optional) const {
  *optional = false;
  if (steps.empty()) return nullptr;
  dsl::TypeEnv env = engine::MachineEnv(*policy_, m);
  auto it = env.find(steps[0]);
  if (it == env.end()) return nullptr;
  dsl::TypePtr t = it->second;
  for (size_t i = 1; i < steps.size(); ++i) {
    if (!t || t->kind() != dsl::TypeKind::kObject) return nullptr;
    const int index = t->FieldIndex(steps[i]);
    if (index < 0) return nullptr;
    const dsl::Field& f = t->fields()[static_cast<size_t>(index)];
    *optional = f.optional;
    t = f.type;
  }
  return t;
}

json Server::Location(const std::string& path, uint32_t line, uint32_t column) const {
  return {{"uri", UriOf(path)}, {"range", NameRange(TextOf(path), line, column)}};
}

std::vector<std::string> Split(const std::string& path) {
  std::vector<std::string> steps;
  size_t start = 0;
  for (;;) {
    const size_t dot = path.find('.', start);
    steps.push_back(path.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return steps;
}

json Server::Hover(const json& params) {
  std::string path, text;
  std::optional<Token> t = TokenAt(params, &path, &text);
  if (!t || t->word.empty()) return nullptr;
  const std::string_view line = LineText(text, t->line);
  auto answer = [&](const std::string& markdown, size_t begin) {
    return json{{"contents", {{"kind", "markdown"}, {"value", markdown}}},
                {"range", Range(t->line, Utf16Units(line, begin), Utf16Units(line, t->word_end))}};
  };
  if (t->path.find('.') != std::string::npos && t->path.front() != '.') {
    const std::vector<std::string> steps = Split(t->path);
    size_t users = 0;
    for (const engine::Machine* m : MachinesFor(path, &users)) {
      bool optional = false;
      dsl::TypePtr type = TypeAt(*m, steps, &optional);
      if (!type) continue;
      return answer("`" + t->path + "`: `" + type->ToString() + "`" +
                        (optional ? " (optional: read it under `has()` or with `??`)" : "") +
                        "\n\nin " + m->Key(),
                    t->path_begin);
    }
  }
  if (auto r = rules_.find(t->word); r != rules_.end()) {
    std::string md = "rule `" + t->word + "`: code `" + r->second.code + "`";
    if (!r->second.message.empty()) md += "\n\nmessage " + r->second.message;
    return answer(md, t->word_begin);
  }
  if (auto c = constants_.find(t->word); c != constants_.end())
    return answer("const `" + t->word + "` = `" + c->second.value + "`", t->word_begin);
  if (!IsRulesPath(path)) {
    if (const engine::Machine* m = MachineOfFile(path)) {
      if (const engine::State* s = m->FindState(t->word)) {
        std::string md = "state `" + s->name + "` of " + m->Key();
        std::vector<std::string> traits;
        if (s->status != engine::RequestStatus::kNone)
          traits.push_back(std::string("status ") + engine::RequestStatusName(s->status));
        if (s->initial) traits.push_back("initial");
        if (s->final) traits.push_back("final");
        if (s->validate) traits.push_back("validates");
        for (size_t i = 0; i < traits.size(); ++i) md += (i ? ", " : ": ") + traits[i];
        if (!s->description.empty()) md += "\n\n" + s->description;
        return answer(md, t->word_begin);
      }
    }
  }
  const bool is_call = t->word_end < line.size() && line[t->word_end] == '(';
  if (is_call || IsRulesPath(path))
    for (const auto& b : dsl::BuiltinFunctions())
      if (t->word == b.name) return answer(std::string("`") + b.signature + "`", t->word_begin);
  return nullptr;
}

json Server::Completion(const json& params) {
  std::string path, text;
  std::optional<Token> t = TokenAt(params, &path, &text);
  json items = json::array();
  if (!t) return items;
  const std::string_view line = LineText(text, t->line);
  const size_t cursor = ByteOfUtf16(line, IndexMember(Member(params, "position"), "character"));
  // What is typed before the cursor: "details.Pro" completes the fields of details.
  size_t begin = cursor;
  while (begin > 0 && (IsWordChar(line[begin - 1]) || line[begin - 1] == '.')) --begin;
  const std::string typed(line.substr(begin, cursor - begin));
  const size_t dot = typed.rfind('.');
  auto add = [&](const std::string& label, int kind, const std::string& detail) {
    items.push_back({{"label", label}, {"kind", kind}, {"detail", detail}});
  };
  if (dot != std::string::npos) {
    if (dot == 0) return items;
    const std::vector<std::string> steps = Split(typed.substr(0, dot));
    // Every machine that uses the file contributes its fields (a rules file serves several request
    // types, each with its own details); with none, the first machine that has the path.
    size_t users = 0;
    const std::vector<const engine::Machine*> machines = MachinesFor(path, &users);
    std::set<std::string> seen;
    for (size_t i = 0; i < machines.size(); ++i) {
      if (i >= users && !seen.empty()) break;
      bool optional = false;
      dsl::TypePtr type = TypeAt(*machines[i], steps, &optional);
      if (!type || type->kind() != dsl::TypeKind::kObject) continue;
      for (const dsl::Field& f : type->fields())
        if (seen.insert(f.name).second)
          add(f.name, kKindField, f.type->ToString() + (f.optional ? " (optional)" : ""));
      if (i >= users) break;
    }
    return items;
  }
  if (!IsRulesPath(path)) {
    if (const engine::Machine* m = MachineOfFile(path)) {
      for (const engine::State& s : m->states) add(s.name, kKindEnumMember, "state");
      for (const engine::EventSpec& e : m->events) add(e.name, kKindEvent, "event");
    }
  }
  for (const auto& [name, d] : rules_) add(name, kKindReference, "rule, code " + d.code);
  for (const auto& [name, d] : constants_) add(name, kKindConstant, "const = " + d.value);
  for (const auto& b : dsl::BuiltinFunctions()) add(b.name, kKindFunction, b.signature);
  if (IsRulesPath(path) || MachineOfFile(path)) {
    size_t users = 0;
    std::vector<const engine::Machine*> machines = MachinesFor(path, &users);
    if (!machines.empty())
      for (const auto& [name, type] : engine::MachineEnv(*policy_, *machines.front()))
        add(name, kKindVariable, type ? type->ToString() : "");
  }
  return items;
}

json Server::Definition(const json& params) {
  std::string path, text;
  std::optional<Token> t = TokenAt(params, &path, &text);
  if (!t || t->word.empty()) return nullptr;
  // A field path's last step is a field, never a rule that happens to share its name.
  if (t->path.size() > t->word.size()) return nullptr;
  if (auto r = rules_.find(t->word); r != rules_.end())
    return Location(r->second.path, r->second.line, r->second.column);
  if (auto c = constants_.find(t->word); c != constants_.end())
    return Location(c->second.path, c->second.line, c->second.column);
  if (!IsRulesPath(path))
    if (const engine::Machine* m = MachineOfFile(path))
      if (const engine::State* s = m->FindState(t->word))
        return Location(path, s->at.line, s->at.column);
  return nullptr;
}

}  // namespace

int RunLanguageServer(std::FILE* in, std::FILE* out) {
  Server server(out);
  MessageReader reader(in, engine::kMaxLspMessageBytes, engine::kMaxLspHeaderBytes);
  std::string content;
  for (;;) {
    MessageReader::Result r = reader.Read(&content);
    if (r == MessageReader::Result::kEnd) return server.exit_code();
    try {
      if (r == MessageReader::Result::kBadHeader) {
        server.Fail(nullptr, kParseError, "a message needs a Content-Length header");
        continue;
      }
      if (r == MessageReader::Result::kTooLarge) {
        server.Fail(
            nullptr, kInvalidRequest,
            "a message may hold at most " + std::to_string(engine::kMaxLspMessageBytes) + " bytes");
        continue;
      }
      if (!server.Handle(content)) return server.exit_code();
    } catch (const std::exception& e) {
      // Nothing a client sends may end the server: a failure is reported and the next message read.
      try {
        server.Notify("window/logMessage",
                      {{"type", 1}, {"message", std::string("sellerflow lsp: ") + e.what()}});
      } catch (...) {
      }
    } catch (...) {
    }
  }
}

}  // namespace sellerflow::lsp
