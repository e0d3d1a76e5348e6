// Reads YAML through yaml-cpp's event parser into YamlNode trees, with every position and problem
// kept.
#include "engine/model/yaml_doc.h"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/exceptions.h>
#include <yaml-cpp/mark.h>
#include <yaml-cpp/parser.h>

#include <sstream>

#include "dsl/utf8.h"
#include "engine/base/limits.h"

namespace sellerflow::engine {

YamlNode::YamlNode() = default;
YamlNode::YamlNode(const YamlNode&) = default;
YamlNode::YamlNode(YamlNode&&) noexcept = default;
YamlNode& YamlNode::operator=(const YamlNode&) = default;
YamlNode& YamlNode::operator=(YamlNode&&) noexcept = default;
YamlNode::~YamlNode() = default;

namespace {

using dsl::Severity;

class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(const dsl::Source& source, dsl::Diagnostics* diags)
      : source_(source), diags_(diags) {}

  YamlNode root;
  bool ok = true;
  bool unclosed_quote = false;  // Reported already; yaml-cpp may fail on it too.
  int documents = 0;

  void OnDocumentStart(const YAML::Mark&) override { ++documents; }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t) override {
    YamlNode n;
    Place(&n, mark);
    Add(std::move(n));
  }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t) override {
    Error(mark, "aliases (*name) are not supported in workflow files; write the value out");
    OnNull(mark, 0);
  }
  void OnAnchor(const YAML::Mark& mark, const std::string&) override {
    Error(mark, "anchors (&name) are not supported in workflow files; write the value out");
  }
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                const std::string& value) override {
    YamlNode n;
    n.kind = YamlNode::Kind::kScalar;
    Place(&n, mark);
    n.text = value;
    n.plain = tag == "?";
    if (tag != "?" && tag != "!") Tagged(mark, tag);
    if (!n.plain) CheckQuoteClosed(mark);
    Add(std::move(n));
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    if (tag != "?" && tag != "!") Tagged(mark, tag);
    YamlNode n;
    n.kind = YamlNode::Kind::kSequence;
    Place(&n, mark);
    stack_.push_back(std::move(n));
    pending_key_.push_back(false);
  }
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    if (tag != "?" && tag != "!") Tagged(mark, tag);
    YamlNode n;
    n.kind = YamlNode::Kind::kMap;
    Place(&n, mark);
    stack_.push_back(std::move(n));
    pending_key_.push_back(false);
  }
  void OnMapEnd() override { Close(); }

 private:
  void Place(YamlNode* n, const YAML::Mark& mark) {
    n->line = static_cast<uint32_t>(mark.line + 1);
    n->column = static_cast<uint32_t>(mark.column + 1);
  }
  void Error(const YAML::Mark& mark, std::string message, std::string hint = {}) {
    diags_->AddAt(Severity::kError, source_, static_cast<uint32_t>(mark.line + 1),
                  static_cast<uint32_t>(mark.column + 1), std::move(message), std::move(hint));
    ok = false;
  }
  // An unquoted value that starts with '!' (`if: !has(details.X)`) is a tag to YAML, which drops
  // it from the value: say so where it stands rather than report the value it leaves.
  void Tagged(const YAML::Mark& mark, const std::string& tag) {
    Error(mark, "YAML reads '" + tag + "' as a tag, not as part of the value",
          "tags are not supported in workflow files; quote a value that starts with '!' (in the "
          "rule language, write 'not' for '!')");
  }
  // yaml-cpp 0.7 ends a quoted scalar that is never closed at the end of the text, without an
  // error, taking the rest of the file into it.
  void CheckQuoteClosed(const YAML::Mark& mark) {
    const std::string& text = source_.text;
    size_t pos = static_cast<size_t>(mark.pos);
    if (mark.pos < 0 || pos >= text.size() || (text[pos] != '"' && text[pos] != '\'')) return;
    const char quote = text[pos];
    for (size_t i = pos + 1; i < text.size(); ++i) {
      if (quote == '"' && text[i] == '\\') {
        ++i;
      } else if (text[i] == quote) {
        if (quote == '\'' && i + 1 < text.size() && text[i + 1] == '\'') {
          ++i;  // '' stands for one quote inside single quotes.
          continue;
        }
        return;
      }
    }
    size_t last = text.find_last_not_of("\r\n");
    diags_->Add(Severity::kError, source_, last == std::string::npos ? 0 : last + 1,
                "YAML syntax error: end of string not found");
    diags_->AddAt(
        Severity::kNote, source_, static_cast<uint32_t>(mark.line + 1),
        static_cast<uint32_t>(mark.column + 1),
        std::string("the ") + (quote == '"' ? "'\"'" : "\"'\"") + " opened here is never closed");
    ok = false;
    unclosed_quote = true;
  }
  void Close() {
    YamlNode n = std::move(stack_.back());
    stack_.pop_back();
    pending_key_.pop_back();
    Add(std::move(n));
  }
  void Add(YamlNode n) {
    if (stack_.empty()) {
      if (documents <= 1) root = std::move(n);
      return;
    }
    YamlNode& top = stack_.back();
    if (top.kind == YamlNode::Kind::kSequence) {
      top.items.push_back(std::move(n));
    } else if (!pending_key_.back()) {
      top.entries.push_back({std::move(n), YamlNode()});
      pending_key_.back() = true;
    } else {
      top.entries.back().second = std::move(n);
      pending_key_.back() = false;
    }
  }

  const dsl::Source& source_;
  dsl::Diagnostics* diags_;
  std::vector<YamlNode> stack_;
  std::vector<bool> pending_key_;
};

// Whether the quote at line[i] opens a quoted scalar: one starts a value, so only the line's
// indentation, a flow bracket or comma, ':' or an indicator ("- ", "? ") may come before it. A
// quote inside a plain scalar (rock 'n roll, [a "b, c]) is an ordinary character.
bool OpensQuote(std::string_view line, size_t i) {
  size_t j = i;
  while (j > 0 && (line[j - 1] == ' ' || line[j - 1] == '\t')) --j;
  if (j == 0) return true;
  char prev = line[j - 1];
  if (prev == '[' || prev == '{' || prev == ',' || prev == ':') return true;
  return (prev == '-' || prev == '?') && j < i;
}

// Measures nesting before yaml-cpp does: block levels by indentation (a "- " or "? " counts as one
// more level), flow levels by brackets outside quotes and comments. Returns the first line past the
// limit, or 0.
uint32_t FindTooDeep(std::string_view text, uint32_t* column) {
  std::vector<size_t> indents;
  size_t flow = 0;
  uint32_t line = 0;
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view l = text.substr(pos, end - pos);
    ++line;
    size_t i = 0;
    if (flow == 0) {
      while (i < l.size() && l[i] == ' ') ++i;
      bool blank = i == l.size() || l[i] == '#' || l[i] == '\r';
      if (!blank) {
        size_t indent = i;
        while (!indents.empty() && indents.back() >= indent) indents.pop_back();
        indents.push_back(indent);
        // "- - x", "? ? x": each indicator opens a deeper level.
        while (i + 1 < l.size() && (l[i] == '-' || l[i] == '?') &&
               (l[i + 1] == ' ' || l[i + 1] == '\t')) {
          size_t indicator = i;
          i += 2;
          while (i < l.size() && l[i] == ' ') ++i;
          indents.push_back(i);
          if (indents.size() > kMaxYamlDepth) {
            *column = static_cast<uint32_t>(indicator + 1);
            return line;
          }
        }
      }
    }
    char quote = 0;
    for (; i < l.size(); ++i) {
      char c = l[i];
      if (quote) {
        if (c == quote) quote = 0;
        continue;
      }
      if (c == '#' && (i == 0 || l[i - 1] == ' ')) break;
      if ((c == '"' || c == '\'') && OpensQuote(l, i))
        quote = c;
      else if (c == '[' || c == '{')
        ++flow;
      else if ((c == ']' || c == '}') && flow > 0)
        --flow;
      if (indents.size() + flow > kMaxYamlDepth) {
        *column = static_cast<uint32_t>(i + 1);
        return line;
      }
    }
    if (indents.size() + flow > kMaxYamlDepth) {
      *column = 1;
      return line;
    }
    pos = end + 1;
  }
  return 0;
}

// For a syntax error: the last bracket or quote still open at the end of the text, if any.
bool FindUnclosed(std::string_view text, uint32_t* line, uint32_t* column, char* what) {
  struct Open {
    char c;
    uint32_t line, column;
  };
  std::vector<Open> open;
  char quote = 0;
  Open quote_at{0, 0, 0};
  uint32_t ln = 1, col = 0;
  size_t line_start = 0;
  bool comment = false;
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    ++col;
    if (c == '\n') {
      ++ln;
      col = 0;
      line_start = i + 1;
      comment = false;
      continue;
    }
    if (comment) continue;
    if (quote) {
      if (c == '\\' && quote == '"') {
        ++i;
        ++col;
      } else if (c == quote) {
        quote = 0;
      }
      continue;
    }
    char prev = i ? text[i - 1] : ' ';
    if (c == '#' && (prev == ' ' || prev == '\n')) {
      comment = true;
    } else if ((c == '"' || c == '\'') && OpensQuote(text.substr(line_start), i - line_start)) {
      quote = c;
      quote_at = {c, ln, col};
    } else if (c == '[' || c == '{') {
      open.push_back({c, ln, col});
    } else if ((c == ']' || c == '}') && !open.empty()) {
      open.pop_back();
    }
  }
  if (quote) {
    *line = quote_at.line;
    *column = quote_at.column;
    *what = quote;
    return true;
  }
  if (!open.empty()) {
    *line = open.back().line;
    *column = open.back().column;
    *what = open.back().c;
    return true;
  }
  return false;
}

}  // namespace

const YamlNode* YamlNode::Find(std::string_view key) const {
  for (const auto& [k, v] : entries)
    if (k.is_scalar() && k.text == key) return &v;
  return nullptr;
}

const char* YamlNode::KindName() const {
  switch (kind) {
    case Kind::kNull:
      return "nothing";
    case Kind::kScalar:
      return "a scalar";
    case Kind::kSequence:
      return "a list";
    case Kind::kMap:
      return "a map";
  }
  return "?";
}

bool LooksBoolean(std::string_view s) {
  static const char* kWords[] = {"y",  "Y",  "yes",  "Yes",  "YES",  "n",     "N",     "no",
                                 "No", "NO", "true", "True", "TRUE", "false", "False", "FALSE",
                                 "on", "On", "ON",   "off",  "Off",  "OFF"};
  for (const char* w : kWords)
    if (s == w) return true;
  return false;
}

bool ReadYaml(const dsl::Source& source, YamlNode* root, dsl::Diagnostics* diags) {
  const std::string& text = source.text;
  if (text.size() > kMaxWorkflowBytes) {
    diags->AddFile(Severity::kError, source.name,
                   "file is " + std::to_string(text.size()) + " bytes; at most " +
                       std::to_string(kMaxWorkflowBytes) + " are allowed");
    return false;
  }
  size_t bad = 0;
  if (!dsl::ValidUtf8(text, &bad)) {
    diags->Add(Severity::kError, source, bad, "invalid UTF-8 byte; workflow files are UTF-8");
    return false;
  }
  if (size_t nul = text.find('\0'); nul != std::string::npos) {
    diags->Add(Severity::kError, source, nul, "NUL byte in a workflow file");
    return false;
  }
  uint32_t deep_column = 0;
  if (uint32_t deep = FindTooDeep(text, &deep_column)) {
    diags->AddAt(Severity::kError, source, deep, deep_column,
                 "nesting deeper than " + std::to_string(kMaxYamlDepth) + " levels");
    return false;
  }
  std::istringstream in(text);
  TreeBuilder builder(source, diags);
  try {
    YAML::Parser parser(in);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const YAML::ParserException& e) {
    if (builder.unclosed_quote) return false;
    std::string message = e.msg;
    uint32_t line = static_cast<uint32_t>(e.mark.line + 1);
    uint32_t column = static_cast<uint32_t>(e.mark.column + 1);
    uint32_t open_line = 0, open_column = 0;
    char what = 0;
    if (FindUnclosed(text, &open_line, &open_column, &what)) {
      const char* name = what == '[' ? "'['" : what == '{' ? "'{'" : what == '"' ? "'\"'" : "\"'\"";
      diags->AddAt(Severity::kError, source, line, column, "YAML syntax error: " + message);
      diags->AddAt(Severity::kNote, source, open_line, open_column,
                   std::string("the ") + name + " opened here is never closed");
    } else {
      diags->AddAt(Severity::kError, source, line, column, "YAML syntax error: " + message);
    }
    return false;
  }
  if (builder.documents > 1) {
    diags->AddFile(Severity::kError, source.name,
                   "holds " + std::to_string(builder.documents) +
                       " YAML documents; a workflow file is one document");
    return false;
  }
  *root = std::move(builder.root);
  return builder.ok;
}

}  // namespace sellerflow::engine
