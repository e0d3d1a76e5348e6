// Commands read from JSON (the StartChangeSet envelope, checked as the Catalog API does) and
// DetailsDocument shapes.
#include "engine/read/command.h"

#include <re2/re2.h>
#include <simdjson.h>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <unordered_map>
#include <utility>

#include "dsl/diagnostics.h"
#include "dsl/json.h"
#include "dsl/limits.h"
#include "dsl/time.h"
#include "dsl/utf8.h"
#include "engine/base/limits.h"
#include "engine/base/sha256.h"
#include "engine/model/load.h"

namespace sellerflow::engine {

namespace {

namespace od = simdjson::ondemand;

// Values quoted in messages are shortened past this many bytes.
constexpr size_t kMaxQuotedBytes = 40;

constexpr std::string_view kReferencePrefix = "$";
constexpr std::string_view kReferenceSuffix = ".Entity.Identifier";

// ---- Text helpers ------------------------------------------------------------------------

bool IsAsciiWord(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

using Path = dsl::JsonPath;
using dsl::FieldPath;
using dsl::IndexPath;

// 'text' for a message, cut at a code point boundary when long.
// Control characters are written as \xNN: a quoted value must not move a terminal's cursor or
// colour what follows.
void AppendVisible(std::string_view text, std::string* out) {
  for (char ch : text) {
    auto u = static_cast<unsigned char>(ch);
    if (u < 0x20 || u == 0x7f) {
      static constexpr char kHex[] = "0123456789abcdef";
      out->append("\\x");
      out->push_back(kHex[u >> 4]);
      out->push_back(kHex[u & 15]);
    } else {
      out->push_back(ch);
    }
  }
}

std::string Quote(std::string_view text) {
  std::string out = "'";
  if (text.size() <= kMaxQuotedBytes) {
    AppendVisible(text, &out);
    out.push_back('\'');
    return out;
  }
  size_t cut = kMaxQuotedBytes;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  AppendVisible(text.substr(0, cut), &out);
  out.append("...' (" + std::to_string(text.size()) + " bytes)");
  return out;
}

std::string Count(size_t n, const char* singular, const char* plural) {
  return std::to_string(n) + " " + (n == 1 ? singular : plural);
}

// "has 80 characters; at most 72 are allowed", the Catalog API's wording.
std::string TooMany(size_t n, size_t max, const char* singular, const char* plural) {
  return "has " + Count(n, singular, plural) + "; at most " + std::to_string(max) +
         (max == 1 ? " is allowed" : " are allowed");
}

std::string TooFew(size_t n, size_t min, const char* singular, const char* plural) {
  return "has " + Count(n, singular, plural) + "; at least " + std::to_string(min) +
         (min == 1 ? " is required" : " are required");
}

std::string_view TrimJsonSpace(std::string_view s) {
  auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// Whether any of 8 bytes is a control character, '"' or '\\' (bit tricks on a 64-bit word).
inline bool NeedsEscape8(uint64_t w) {
  constexpr uint64_t kOnes = 0x0101010101010101ULL;
  constexpr uint64_t kHigh = 0x8080808080808080ULL;
  uint64_t quote = w ^ (kOnes * '"');
  uint64_t backslash = w ^ (kOnes * '\\');
  uint64_t control = (w - kOnes * 0x20) & ~w;  // High bit set where a byte is below 0x20.
  return (((quote - kOnes) & ~quote) | ((backslash - kOnes) & ~backslash) | control) & kHigh;
}

// JSON string literal, escaping only what JSON requires and copying clean runs whole (eight bytes
// are tested at a time): the canonical form is built per request, so this is on the hot path.
void AppendCanonicalString(std::string_view s, std::string* out) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->push_back('"');
  size_t run = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (i + 8 <= s.size()) {
      uint64_t w;
      std::memcpy(&w, s.data() + i, 8);
      if (!NeedsEscape8(w)) {
        i += 8;
        continue;
      }
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') {
      ++i;
      continue;
    }
    out->append(s.data() + run, i - run);
    run = ++i;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\r':
        out->append("\\r");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\f':
        out->append("\\f");
        break;
      default:
        out->append("\\u00");
        out->push_back(kHex[c >> 4]);
        out->push_back(kHex[c & 0xF]);
    }
  }
  out->append(s.data() + run, s.size() - run);
  out->push_back('"');
}

const char* JsonKindWithArticle(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "an array";
    case od::json_type::object:
      return "an object";
    case od::json_type::number:
      return "a number";
    case od::json_type::string:
      return "a string";
    case od::json_type::boolean:
      return "a boolean";
    case od::json_type::null:
      return "null";
  }
  return "a value";
}

// ---- Violations ----------------------------------------------------------------------------

class Sink {
 public:
  explicit Sink(std::vector<Violation>* out) : out_(out), first_(out->size()) {}

  void Add(std::string path, std::string message) {
    if (full_) return;
    if (out_->size() - first_ >= kMaxViolations) {
      out_->push_back({"", "too many violations; stopped after " + std::to_string(kMaxViolations)});
      full_ = true;
      return;
    }
    out_->push_back({std::move(path), std::move(message)});
  }
  void Add(const Path& path, std::string message) { Add(path.str(), std::move(message)); }
  size_t count() const { return out_->size() - first_; }
  bool HasAt(const std::string& path) const {
    for (size_t i = first_; i < out_->size(); ++i)
      if ((*out_)[i].path == path) return true;
    return false;
  }

  // Malformed JSON: what was found before it is noise next to it.
  void Syntax(std::string message) {
    out_->resize(first_);
    full_ = false;
    Add("", std::move(message));
    full_ = true;
  }

  bool any() const { return out_->size() > first_; }

 private:
  std::vector<Violation>* out_;
  size_t first_;
  bool full_ = false;
};

// ---- JSON input ----------------------------------------------------------------------------

// A parser and a padded copy of the text, kept across calls: allocating either per call would
// cost more than parsing a 2 KB line.
class JsonInput {
 public:
  simdjson::error_code Iterate(std::string_view text, od::document* doc) {
    buffer_.resize(text.size() + simdjson::SIMDJSON_PADDING);
    if (!text.empty()) std::memcpy(buffer_.data(), text.data(), text.size());
    std::memset(buffer_.data() + text.size(), ' ', simdjson::SIMDJSON_PADDING);
    text_ = text;
    return parser_
        .iterate(simdjson::padded_string_view(buffer_.data(), text.size(), buffer_.size()))
        .get(*doc);
  }

  // Byte offset of a pointer into the parsed copy, in the caller's text.
  size_t Offset(const char* p) const {
    if (p == nullptr || p < buffer_.data()) return text_.size();
    return std::min(static_cast<size_t>(p - buffer_.data()), text_.size());
  }

  // The caller's text between two pointers into the copy.
  std::string_view Slice(const char* begin, const char* end) const {
    size_t b = Offset(begin);
    size_t e = Offset(end);
    return e > b ? text_.substr(b, e - b) : std::string_view();
  }

  std::string_view text() const { return text_; }

  // Scratch space the walker reuses across calls.
  struct Member {
    std::string_view key;
    size_t begin, end;  // "key":value in the output
  };
  std::vector<Member> members;
  std::string scratch;
  std::string canonical;  // The details of a command's changes, one after another.
  std::string body;       // The canonical body that is hashed.

 private:
  od::parser parser_;
  std::string buffer_;
  std::string_view text_;
};

JsonInput& CommandInput() {
  thread_local JsonInput input;
  return input;
}

// For documents read while a command's own document is still open (legacy Details), and for
// ValidateShape.
JsonInput& InnerInput() {
  thread_local JsonInput input;
  return input;
}

// Walks JSON values in full, which is what makes simdjson's lazy reading check every byte, and
// writes them canonically: keys sorted by their bytes, no whitespace, strings re-escaped
// minimally, numbers as their exact text. Bounded by dsl::kMaxJsonDepth levels.
class Walker {
 public:
  enum class Status { kOk, kSyntax, kTooDeep };

  Walker(JsonInput& input, od::document& doc)
      : input_(input), doc_(doc), members_(input.members), scratch_(input.scratch) {
    members_.clear();
  }

  // Appends v's canonical form to *out (when out is non-null).
  Status Write(od::value& v, std::string* out) { return WriteValue(v, 0, out); }
  // Checks v, which stands `depth` levels deep, without writing it.
  Status Check(od::value& v, size_t depth = 0) { return WriteValue(v, depth, nullptr); }

  Status SyntaxAt(const char* at, std::string what) {
    if (error_.empty()) {
      error_ = "invalid JSON at byte " + std::to_string(input_.Offset(at)) + ": " + std::move(what);
    }
    return Status::kSyntax;
  }
  Status Syntax(simdjson::error_code err, const char* at = nullptr) {
    if (at == nullptr) at = Location();
    return SyntaxAt(at, simdjson::error_message(err));
  }

  const std::string& error() const { return error_; }

  // Byte offset of a pointer into the parsed copy, in the caller's text.
  size_t Offset(const char* p) const { return input_.Offset(p); }

  // Where the iterator stands: the next token's first byte, or nullptr at the end.
  const char* Location() {
    const char* at = nullptr;
    if (doc_.current_location().get(at)) return nullptr;
    return at;
  }

  // A misspelled true/false/null passes type() on its first byte; this checks the rest.
  Status Literal(od::value& v, bool* value) {
    std::string_view raw = TrimJsonSpace(v.raw_json_token());
    if (raw == "true" || raw == "false" || raw == "null") {
      if (value != nullptr) *value = raw == "true";
      return Status::kOk;
    }
    return SyntaxAt(raw.data(), "invalid literal " + Quote(raw));
  }

  // The number's exact text, grammar-checked (simdjson has not looked past its first byte).
  Status Number(od::value& v, std::string_view* raw, dsl::JsonNumber* parts) {
    *raw = TrimJsonSpace(v.raw_json_token());
    if (!dsl::SplitJsonNumber(*raw, parts))
      return SyntaxAt(raw->data(), "invalid number " + Quote(*raw));
    return Status::kOk;
  }

  Status String(od::value& v, std::string_view* s) {
    const char* at = v.raw_json_token().data();
    if (auto err = v.get_string().get(*s)) return Syntax(err, at);
    return Status::kOk;
  }

  Status Kind(od::value& v, od::json_type* t) {
    if (auto err = v.type().get(*t)) return Syntax(err, v.raw_json_token().data());
    return Status::kOk;
  }

 private:
  using Member = JsonInput::Member;

  Status WriteValue(od::value& v, size_t depth, std::string* out) {
    od::json_type t = od::json_type::null;
    if (Status s = Kind(v, &t); s != Status::kOk) return s;
    switch (t) {
      case od::json_type::object:
        if (depth >= dsl::kMaxJsonDepth) return Status::kTooDeep;
        return WriteObject(v, depth, out);
      case od::json_type::array:
        if (depth >= dsl::kMaxJsonDepth) return Status::kTooDeep;
        return WriteArray(v, depth, out);
      case od::json_type::string: {
        if (out != nullptr) {
          // Text without escapes is already canonical (stage 1 refused bad UTF-8 and raw control
          // characters), and copying it skips unescaping: most of a request is such text.
          std::string_view raw = TrimJsonSpace(v.raw_json_token());
          if (raw.size() >= 2 && raw.back() == '"' && raw.find('\\') == std::string_view::npos) {
            out->append(raw);
            return Status::kOk;
          }
        }
        std::string_view s;
        if (Status st = String(v, &s); st != Status::kOk) return st;
        if (out != nullptr) AppendCanonicalString(s, out);
        return Status::kOk;
      }
      case od::json_type::number: {
        std::string_view raw;
        dsl::JsonNumber parts;
        if (Status st = Number(v, &raw, &parts); st != Status::kOk) return st;
        if (out != nullptr) out->append(raw);
        return Status::kOk;
      }
      case od::json_type::boolean:
      case od::json_type::null: {
        if (Status st = Literal(v, nullptr); st != Status::kOk) return st;
        if (out != nullptr) out->append(TrimJsonSpace(v.raw_json_token()));
        return Status::kOk;
      }
    }
    return SyntaxAt(v.raw_json_token().data(), "unexpected value");
  }

  Status WriteArray(od::value& v, size_t depth, std::string* out) {
    od::array array;
    if (auto err = v.get_array().get(array)) return Syntax(err);
    if (out != nullptr) out->push_back('[');
    bool first = true;
    for (auto element : array) {
      od::value item;
      if (auto err = element.get(item)) return Syntax(err);
      if (out != nullptr && !first) out->push_back(',');
      first = false;
      if (Status s = WriteValue(item, depth + 1, out); s != Status::kOk) return s;
    }
    if (out != nullptr) out->push_back(']');
    return Status::kOk;
  }

  Status WriteObject(od::value& v, size_t depth, std::string* out) {
    od::object object;
    if (auto err = v.get_object().get(object)) return Syntax(err);
    size_t base = members_.size();
    size_t start = out != nullptr ? out->size() : 0;
    if (out != nullptr) out->push_back('{');
    bool sorted = true;
    for (auto member : object) {
      od::field field;
      if (auto err = std::move(member).get(field)) return Syntax(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return Syntax(err);
      if (out == nullptr) {
        if (Status s = WriteValue(field.value(), depth + 1, nullptr); s != Status::kOk) return s;
        continue;
      }
      if (members_.size() > base) {
        out->push_back(',');
        if (key < members_.back().key) sorted = false;
      }
      size_t begin = out->size();
      AppendCanonicalString(key, out);
      out->push_back(':');
      if (Status s = WriteValue(field.value(), depth + 1, out); s != Status::kOk) return s;
      members_.push_back({key, begin, out->size()});
    }
    if (out == nullptr) return Status::kOk;
    out->push_back('}');
    if (!sorted) {
      // Keys are views into the parser's string buffer, valid for the whole document.
      std::stable_sort(members_.begin() + static_cast<ptrdiff_t>(base), members_.end(),
                       [](const Member& a, const Member& b) { return a.key < b.key; });
      scratch_.assign(1, '{');
      for (size_t i = base; i < members_.size(); ++i) {
        if (i > base) scratch_.push_back(',');
        scratch_.append(*out, members_[i].begin, members_[i].end - members_[i].begin);
      }
      scratch_.push_back('}');
      out->resize(start);
      out->append(scratch_);
    }
    members_.resize(base);
    return Status::kOk;
  }

  JsonInput& input_;
  od::document& doc_;
  std::string error_;
  std::vector<Member>& members_;
  std::string& scratch_;
};

// Raw JSON to keep as a command's text: as given, unless it spans lines (a pretty-printed
// --change-set file), which a one-line replay log cannot hold; then whitespace is dropped.
std::string KeepRaw(std::string_view raw) {
  raw = TrimJsonSpace(raw);
  if (raw.find('\n') == std::string_view::npos && raw.find('\r') == std::string_view::npos) {
    return std::string(raw);
  }
  std::string out(raw.size(), '\0');
  size_t length = 0;
  if (simdjson::minify(raw.data(), raw.size(), out.data(), length) != simdjson::SUCCESS) {
    return std::string(
        raw);  // Unreachable for text the walker accepted; keep it rather than lose it.
  }
  out.resize(length);
  return out;
}

// ---- Envelope checks -----------------------------------------------------------------------

}  // namespace

bool ValidActor(std::string_view a) {
  if (a == "operations") return true;
  std::string_view digits;
  if (a.substr(0, 7) == "seller:") {
    digits = a.substr(7);
  } else if (a.substr(0, 6) == "buyer:") {
    digits = a.substr(6);
  } else {
    return false;
  }
  return digits.size() == 12 && std::all_of(digits.begin(), digits.end(), IsDigit);
}

namespace {

bool AllOf(std::string_view s, bool (*ok)(char)) { return std::all_of(s.begin(), s.end(), ok); }

bool CatalogChar(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IdentifierChar(char c) { return IsAsciiWord(c) || c == '-' || c == '@'; }
bool ChangeSetIdChar(char c) { return IsAsciiWord(c) || c == '-'; }
bool TokenChar(char c) { return c >= '!' && c <= '~'; }
// \w\s+=.:@- with RE2's ASCII \s (tab, newline, form feed, carriage return, space).
bool ChangeSetNameChar(char c) {
  return IsAsciiWord(c) || c == '\t' || c == '\n' || c == '\f' || c == '\r' || c == ' ' ||
         c == '+' || c == '=' || c == '.' || c == ':' || c == '@' || c == '-';
}

// Length in code points within [min, max], then the pattern (checked by `ok` on each byte):
// one violation, for the first that fails.
void CheckText(Sink& sink, const Path& path, std::string_view s, size_t min, size_t max,
               bool (*ok)(char), const char* pattern) {
  size_t n = dsl::CountCodePoints(s);
  if (n < min) {
    sink.Add(path, TooFew(n, min, "character", "characters"));
  } else if (n > max) {
    sink.Add(path, TooMany(n, max, "character", "characters"));
  } else if (ok != nullptr && !AllOf(s, ok)) {
    sink.Add(path, std::string("must match ") + pattern);
  }
}

// Keys the reader knows at the top of a command, across all operations.
enum Key {
  kOpKey,
  kActor,
  kAt,
  kTo,
  kCatalog,
  kChangeSetName,
  kClientRequestToken,
  kIntent,
  kChangeSet,
  kChangeSetId,
  kDecision,
  kReason,
  kEntityType,
  kEntityIdentifier,
  kState,
  kOwner,
  kDetailsDocument,
  kChangeSetTags,
  kResourceArn,
  kTags,
  kTagKeys,
  kPolicy,
  kOutcome,
  kKeyCount,
};

constexpr std::string_view kKeyNames[kKeyCount] = {"op",
                                                   "Actor",
                                                   "At",
                                                   "To",
                                                   "Catalog",
                                                   "ChangeSetName",
                                                   "ClientRequestToken",
                                                   "Intent",
                                                   "ChangeSet",
                                                   "ChangeSetId",
                                                   "Decision",
                                                   "Reason",
                                                   "EntityType",
                                                   "EntityIdentifier",
                                                   "State",
                                                   "Owner",
                                                   "DetailsDocument",
                                                   "ChangeSetTags",
                                                   "ResourceArn",
                                                   "Tags",
                                                   "TagKeys",
                                                   "Policy",
                                                   "Outcome"};

int KeyOf(std::string_view key) {
  for (int k = 0; k < kKeyCount; ++k) {
    if (key == kKeyNames[k]) return k;
  }
  return -1;
}

// Each operation's keys, in the order ToJsonLine writes them.
const std::vector<Key>& KeysOf(Op op) {
  static const std::vector<Key> kStart = {kOpKey,   kActor,    kAt,          kCatalog,
                                          kChangeSetName,     kClientRequestToken,
                                          kIntent,  kChangeSet, kChangeSetTags};
  static const std::vector<Key> kReview = {kOpKey, kActor, kAt, kChangeSetId, kDecision, kReason};
  static const std::vector<Key> kCancel = {kOpKey, kActor, kAt, kChangeSetId};
  static const std::vector<Key> kTick = {kOpKey, kActor, kTo};
  static const std::vector<Key> kImport = {
      kOpKey, kActor, kAt, kEntityType, kEntityIdentifier, kState, kOwner, kDetailsDocument};
  static const std::vector<Key> kTag = {kOpKey, kActor, kAt, kResourceArn, kTags};
  static const std::vector<Key> kUntag = {kOpKey, kActor, kAt, kResourceArn, kTagKeys};
  static const std::vector<Key> kPutPolicy = {kOpKey, kActor, kAt, kResourceArn, kPolicy};
  static const std::vector<Key> kDeletePolicy = {kOpKey, kActor, kAt, kResourceArn};
  static const std::vector<Key> kUpgradeKeys = {kOpKey, kActor, kAt};
  switch (op) {
    case Op::kStartChangeSet:
      return kStart;
    case Op::kReview:
      return kReview;
    case Op::kCancelChangeSet:
      return kCancel;
    case Op::kTick:
      return kTick;
    case Op::kImport:
      return kImport;
    case Op::kTagResource:
      return kTag;
    case Op::kUntagResource:
      return kUntag;
    case Op::kPutResourcePolicy:
      return kPutPolicy;
    case Op::kDeleteResourcePolicy:
      return kDeletePolicy;
    case Op::kUpgrade:
      return kUpgradeKeys;
  }
  return kStart;
}

const Op kAllOps[] = {Op::kStartChangeSet,
                      Op::kReview,
                      Op::kCancelChangeSet,
                      Op::kTick,
                      Op::kImport,
                      Op::kTagResource,
                      Op::kUntagResource,
                      Op::kPutResourcePolicy,
                      Op::kDeleteResourcePolicy,
                      Op::kUpgrade};

// A tag's Key or Value: the model's ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$, which the clients do not
// check. RE2 matches it on UTF-8, so letters of any script pass.
bool TagTextOk(std::string_view s) {
  static const RE2 kTagText("[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]*");
  return RE2::FullMatch(s, kTagText);
}

std::string UnknownField(std::string_view key, const std::vector<std::string>& allowed) {
  std::string message = "unknown field " + Quote(key) + "; allowed: " + dsl::JoinNames(allowed);
  std::string near = dsl::NearestName(key, allowed);
  if (!near.empty()) message += " (did you mean " + Quote(near) + "?)";
  return message;
}

// What ParseCommand learns about one change beyond the ChangeRequest itself.
struct ChangeExtra {
  size_t begin = 0, end = 0;  // The details' canonical form in JsonInput::canonical; "{}" if empty.
  bool has_details = false;
  bool has_document = false;
};

// Reads one command document into a Command, collecting violations.
class CommandReader {
 public:
  CommandReader(JsonInput& input, od::document& doc, Sink& sink, Command* out)
      : input_(input), walker_(input, doc), sink_(sink), out_(out) {
    input_.canonical.clear();
  }

  // False when the JSON itself was broken (already reported).
  bool Read(od::object& root) {
    for (auto member : root) {
      od::field field;
      if (auto err = std::move(member).get(field)) return Syntax(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return Syntax(err);
      int k = KeyOf(key);
      Path root;
      Path key_path(root, key);
      if (k < 0) {
        unknown_.emplace_back(key);
        if (!CheckOnly(field.value(), key_path)) return false;
        continue;
      }
      if (seen_ & (1u << k)) {
        sink_.Add(key_path, "duplicate field " + Quote(key));
        if (!CheckOnly(field.value(), key_path)) return false;
        continue;
      }
      seen_ |= 1u << k;
      order_.push_back(static_cast<Key>(k));
      if (!ReadKey(static_cast<Key>(k), field.value())) return false;
    }
    return true;
  }

  // After the document is read: the operation's keys, the cross-field rules, the body hash.
  // `body_only`: the text is a StartChangeSet body as a client sends it, which names no operation,
  // actor or time (those come from the caller: the CLI's flags, later a verified signature).
  void Finish(std::optional<Op> default_op, bool body_only = false) {
    Op op;
    if (body_only) {
      op = Op::kStartChangeSet;
      for (Key k : {kOpKey, kActor, kAt}) {
        if (!(seen_ & (1u << k))) continue;
        static constexpr std::string_view kWhere[] = {
            "a body only starts a change set; run other operations with their own commands",
            "the actor is not part of the body; give it with --actor",
            "the time is not part of the body; give it with --at"};
        sink_.Add(std::string(kKeyNames[k]),
                  "is not a StartChangeSet field: " + std::string(kWhere[k]));
      }
      out_->actor.clear();  // Refused above: not checked again as values.
      out_->at.clear();
      present_ &= ~(1u << kActor | 1u << kAt);
    } else if (present_ & (1u << kOpKey)) {
      bool found = false;
      std::vector<std::string> names;
      for (Op o : kAllOps) {
        names.emplace_back(OpName(o));
        if (op_text_ == OpName(o)) {
          op = o;
          found = true;
        }
      }
      if (!found) {
        std::string message =
            "unknown op " + Quote(op_text_) + "; allowed: " + dsl::JoinNames(names);
        std::string near = dsl::NearestName(op_text_, names);
        if (!near.empty()) message += " (did you mean " + Quote(near) + "?)";
        sink_.Add("op", message);
        return;
      }
    } else if (default_op) {
      op = *default_op;
    } else {
      sink_.Add("op", "is required");
      return;
    }
    out_->op = op;
    std::vector<Key> keys = KeysOf(op);
    if (body_only)
      std::erase_if(keys, [](Key k) { return k == kOpKey || k == kActor || k == kAt; });
    std::vector<std::string> allowed;
    for (Key k : keys) allowed.emplace_back(kKeyNames[k]);
    uint32_t allowed_mask = 0;
    for (Key k : keys) allowed_mask |= 1u << k;
    if (body_only) allowed_mask |= 1u << kOpKey | 1u << kActor | 1u << kAt;  // Reported above.
    // A recorded outcome belongs to a replay line, never to a StartChangeSet body.
    else if (present_ & (1u << kOpKey)) {
      allowed.emplace_back(kKeyNames[kOutcome]);
      allowed_mask |= 1u << kOutcome;
    }
    for (Key k : order_) {
      if (!(allowed_mask & (1u << k))) {
        sink_.Add(std::string(kKeyNames[k]), UnknownField(kKeyNames[k], allowed));
      }
    }
    for (const std::string& key : unknown_)
      sink_.Add(FieldPath("", key), UnknownField(key, allowed));

    if (op == Op::kTick) {
      out_->at = std::move(to_);
      Require(kTo);
      CheckTime("To", out_->at);
    } else {
      CheckTime("At", out_->at);
    }
    if ((present_ & (1u << kActor)) && !ValidActor(out_->actor)) {
      sink_.Add("Actor", "must be seller:<12 digits>, buyer:<12 digits> or operations, not " +
                             Quote(out_->actor));
    }
    switch (op) {
      case Op::kStartChangeSet:
        Require(kCatalog);
        Require(kChangeSet);
        CheckChangeLinks();
        if (!sink_.any()) out_->body_hash = Sha256Hex(CanonicalBody());
        break;
      case Op::kReview:
        Require(kChangeSetId);
        Require(kDecision);
        if ((present_ & (1u << kDecision)) &&
            std::find(ReviewDecisions().begin(), ReviewDecisions().end(), out_->decision) ==
                ReviewDecisions().end()) {
          std::string names;
          for (const auto& d : ReviewDecisions()) names += (names.empty() ? "" : ", ") + d;
          sink_.Add("Decision", "must be one of " + names);
        }
        break;
      case Op::kCancelChangeSet:
        Require(kChangeSetId);
        break;
      case Op::kTick:
        break;
      case Op::kImport:
        Require(kEntityType);
        Require(kEntityIdentifier);
        Require(kState);
        Require(kOwner);
        Require(kDetailsDocument);
        break;
      case Op::kTagResource:
        Require(kResourceArn);
        Require(kTags);
        break;
      case Op::kUntagResource:
        Require(kResourceArn);
        Require(kTagKeys);
        break;
      case Op::kPutResourcePolicy:
        Require(kResourceArn);
        Require(kPolicy);
        break;
      case Op::kDeleteResourcePolicy:
        Require(kResourceArn);
        break;
      case Op::kUpgrade:
        break;
    }
  }

  const std::string& syntax_error() const { return walker_.error(); }

 private:
  bool Syntax(simdjson::error_code err) {
    walker_.Syntax(err);
    return false;
  }

  // Handles a walker status: true to go on. A value nested too deep is a violation at `path`
  // and ends the read, as malformed JSON does (the rest cannot be trusted to be bounded).
  bool Go(Walker::Status s, const Path& path) {
    if (s == Walker::Status::kOk) return true;
    if (s == Walker::Status::kTooDeep) {
      sink_.Add(path, "is nested deeper than " + std::to_string(dsl::kMaxJsonDepth) + " levels");
      too_deep_ = true;
    }
    return false;
  }

  // Checks a value that is not used (an unknown key's, a mistyped one's) for well-formedness.
  bool CheckOnly(od::value& v, const Path& path) { return Go(walker_.Check(v), path); }

  void Require(Key k) {
    if (!(given_ & (1u << k))) sink_.Add(std::string(kKeyNames[k]), "is required");
  }

  void CheckTime(const char* key, const std::string& text) {
    if (text.empty() && !(present_ & (1u << KeyOf(key)))) return;
    if (!ParseAt(text, &out_->at_us)) {
      sink_.Add(key,
                "must be an RFC 3339 timestamp such as 2026-01-01T00:00:00Z, not " + Quote(text));
    }
  }

  // Reads a string value; false on broken JSON. *present is false for null (an optional field
  // given as null is absent) and after a violation; *given is true for any value but null, so a
  // mistyped field is not also reported missing.
  bool ReadString(od::value& v, const Path& path, std::string* out, bool* present,
                  bool* given = nullptr) {
    *present = false;
    od::json_type t = od::json_type::null;
    if (!Go(walker_.Kind(v, &t), path)) return false;
    if (given != nullptr) *given = t != od::json_type::null;
    if (t == od::json_type::string) {
      std::string_view s;
      if (!Go(walker_.String(v, &s), path)) return false;
      out->assign(s);
      *present = true;
      return true;
    }
    if (!CheckOnly(v, path)) return false;
    if (t != od::json_type::null) {
      sink_.Add(path, std::string("must be a string, not ") + JsonKindWithArticle(t));
    }
    return true;
  }

  bool ReadKey(Key k, od::value& v) {
    Path root;
    Path path(root, kKeyNames[k]);
    std::string* target = nullptr;
    switch (k) {
      case kOpKey:
        target = &op_text_;
        break;
      case kActor:
        target = &out_->actor;
        break;
      case kAt:
        target = &out_->at;
        break;
      case kTo:
        target = &to_;
        break;
      case kCatalog:
        target = &out_->catalog;
        break;
      case kChangeSetName:
        target = &out_->change_set_name;
        break;
      case kClientRequestToken:
        target = &out_->client_request_token;
        break;
      case kIntent:
        target = &out_->intent;
        break;
      case kChangeSetId:
        target = &out_->change_set_id;
        break;
      case kDecision:
        target = &out_->decision;
        break;
      case kReason:
        target = &out_->reason;
        break;
      case kEntityType:
        target = &out_->entity_type;
        break;
      case kEntityIdentifier:
        target = &out_->entity_id;
        break;
      case kState:
        target = &out_->state;
        break;
      case kOwner:
        target = &out_->owner;
        break;
      case kResourceArn:
        target = &out_->resource_arn;
        break;
      case kPolicy:
        target = &out_->policy;
        break;
      case kChangeSetTags:
      case kTags:
        return ReadTopTags(k, v);
      case kTagKeys:
        return ReadTagKeys(v);
      case kChangeSet:
        return ReadChangeSet(v);
      case kDetailsDocument:
        return ReadDocument(v);
      case kOutcome:
        return ReadOutcome(v);
      case kKeyCount:
        return true;
    }
    bool present = false;
    bool given = false;
    if (!ReadString(v, path, target, &present, &given)) return false;
    if (given) given_ |= 1u << k;
    if (!present) return true;
    present_ |= 1u << k;
    const std::string& s = *target;
    switch (k) {
      case kCatalog:
        CheckText(sink_, path, s, 1, kMaxCatalog, CatalogChar, "^[a-zA-Z]+$");
        break;
      case kChangeSetName:
        CheckText(sink_, path, s, 1, kMaxChangeSetName, ChangeSetNameChar, "^[\\w\\s+=.:@-]+$");
        break;
      case kClientRequestToken:
        CheckText(sink_, path, s, 1, kMaxToken, TokenChar, "^[!-~]+$");
        break;
      case kIntent:
        if (s != "APPLY" && s != "VALIDATE") sink_.Add(path, "must be one of APPLY, VALIDATE");
        break;
      case kChangeSetId:
        CheckText(sink_, path, s, 1, kMaxChangeSetId, ChangeSetIdChar, "^[\\w\\-]+$");
        break;
      case kEntityType:
        CheckText(sink_, path, s, 1, kMaxEntityType, nullptr, nullptr);
        break;
      case kEntityIdentifier:
        CheckText(sink_, path, s, 1, kMaxIdentifier, IdentifierChar, "^[\\w\\-@]+$");
        break;
      case kState:
      case kOwner:
        CheckText(sink_, path, s, 1, std::numeric_limits<size_t>::max(), nullptr, nullptr);
        break;
      case kResourceArn:
        // Its form is the server's to judge (an ARN it does not make is not found).
        CheckText(sink_, path, s, 1, kMaxResourceArn, nullptr, nullptr);
        break;
      case kPolicy:
        CheckPolicy(s, path);
        break;
      default:
        break;
    }
    return true;
  }

  // How a top-level member turned out: broken JSON (reported), not of the kind wanted (reported
  // unless null, which counts as absent, and skipped), or of the kind wanted, to be read.
  enum class Member { kBroken, kSkipped, kWanted };
  Member MemberOfKind(od::value& v, Key key, const Path& path, od::json_type want,
                      const char* want_name) {
    od::json_type t = od::json_type::null;
    if (!Go(walker_.Kind(v, &t), path)) return Member::kBroken;
    if (t != od::json_type::null) given_ |= 1u << key;
    if (t == want) return Member::kWanted;
    if (!CheckOnly(v, path)) return Member::kBroken;
    if (t != od::json_type::null)
      sink_.Add(path, std::string("must be ") + want_name + ", not " + JsonKindWithArticle(t));
    return Member::kSkipped;
  }

  // ChangeSetTags or Tags, at the top of the command.
  bool ReadTopTags(Key k, od::value& v) {
    Path root;
    Path path(root, kKeyNames[k]);
    bool given = false, present = false;
    if (!ReadTagList(v, path, &out_->tags, &given, &present)) return false;
    if (given) given_ |= 1u << k;
    if (present) present_ |= 1u << k;
    return true;
  }

  // 1-200 {Key, Value}, no key twice. *given: any value but null; *present: an array.
  bool ReadTagList(od::value& v, const Path& path, std::vector<Tag>* out, bool* given,
                   bool* present) {
    od::json_type t = od::json_type::null;
    if (!Go(walker_.Kind(v, &t), path)) return false;
    *given = t != od::json_type::null;
    *present = t == od::json_type::array;
    if (t != od::json_type::array) {
      if (!CheckOnly(v, path)) return false;
      if (t != od::json_type::null)
        sink_.Add(path, std::string("must be an array, not ") + JsonKindWithArticle(t));
      return true;
    }
    od::array array;
    if (auto err = v.get_array().get(array)) return Syntax(err);
    size_t index = 0;
    for (auto element : array) {
      od::value item;
      if (auto err = element.get(item)) return Syntax(err);
      Path item_path(path, index);
      ++index;
      if (!ReadTag(item, item_path, out)) return false;
    }
    if (index < 1) sink_.Add(path, TooFew(index, 1, "item", "items"));
    if (index > kMaxTags) sink_.Add(path, TooMany(index, kMaxTags, "item", "items"));
    return true;
  }

  bool ReadTag(od::value& v, const Path& path, std::vector<Tag>* out) {
    od::json_type t = od::json_type::null;
    if (!Go(walker_.Kind(v, &t), path)) return false;
    if (t != od::json_type::object) {
      if (!CheckOnly(v, path)) return false;
      sink_.Add(path, std::string("must be an object, not ") + JsonKindWithArticle(t));
      return true;
    }
    od::object object;
    if (auto err = v.get_object().get(object)) return Syntax(err);
    static const std::vector<std::string> kTagKeyNames = {"Key", "Value"};
    Tag tag;
    bool seen[2] = {false, false};
    bool ok[2] = {false, false};
    for (auto member : object) {
      od::field field;
      if (auto err = std::move(member).get(field)) return Syntax(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return Syntax(err);
      Path key_path(path, key);
      const size_t k = key == "Key" ? 0 : key == "Value" ? 1 : 2;
      if (k == 2 || seen[k]) {
        sink_.Add(key_path,
                  k == 2 ? UnknownField(key, kTagKeyNames) : "duplicate field " + Quote(key));
        if (!CheckOnly(field.value(), key_path)) return false;
        continue;
      }
      seen[k] = true;
      std::string* target = k == 0 ? &tag.key : &tag.value;
      bool present = false, given = false;
      if (!ReadString(field.value(), key_path, target, &present, &given)) return false;
      if (!given) seen[k] = false;  // null: reported as missing below.
      if (!present) continue;
      ok[k] = CheckTagText(*target, key_path, k == 0 ? 1 : 0, k == 0 ? kMaxTagKey : kMaxTagValue);
    }
    if (!seen[0]) sink_.Add(Path(path, "Key"), "is required");
    if (!seen[1]) sink_.Add(Path(path, "Value"), "is required");
    if (!ok[0] || !ok[1]) return true;
    for (const Tag& other : *out) {
      if (other.key == tag.key) {
        sink_.Add(Path(path, "Key"), "is " + Quote(tag.key) + " again; each key may be given once");
        return true;
      }
    }
    out->push_back(std::move(tag));
    return true;
  }

  // A tag key or value: its length, then the model's pattern. True when it passes.
  bool CheckTagText(const std::string& s, const Path& path, size_t min, size_t max) {
    const size_t before = sink_count();
    CheckText(sink_, path, s, min, max, nullptr, nullptr);
    if (sink_count() != before) return false;
    if (!TagTextOk(s)) {
      sink_.Add(path, "must hold only letters, numbers, spaces and _.:/=+-@");
      return false;
    }
    return true;
  }
  size_t sink_count() const { return sink_.count(); }

  // untag-resource: 1-200 keys.
  bool ReadTagKeys(od::value& v) {
    Path root;
    Path path(root, "TagKeys");
    Member m = MemberOfKind(v, kTagKeys, path, od::json_type::array, "an array");
    if (m != Member::kWanted) return m == Member::kSkipped;
    present_ |= 1u << kTagKeys;
    od::array array;
    if (auto err = v.get_array().get(array)) return Syntax(err);
    size_t index = 0;
    for (auto element : array) {
      od::value item;
      if (auto err = element.get(item)) return Syntax(err);
      Path item_path(path, index);
      ++index;
      std::string key;
      bool present = false;
      if (!ReadString(item, item_path, &key, &present)) return false;
      if (!present) {
        if (!HasViolationAt(item_path)) sink_.Add(item_path, "must be a string, not null");
        continue;
      }
      if (CheckTagText(key, item_path, 1, kMaxTagKey)) out_->tag_keys.push_back(std::move(key));
    }
    if (index < 1) sink_.Add(path, TooFew(index, 1, "item", "items"));
    if (index > kMaxTags) sink_.Add(path, TooMany(index, kMaxTags, "item", "items"));
    return true;
  }
  bool HasViolationAt(const Path& path) const { return sink_.HasAt(path.str()); }

  // put-resource-policy: a JSON object's text, 1-10240 characters.
  void CheckPolicy(const std::string& s, const Path& path) {
    const size_t before = sink_count();
    CheckText(sink_, path, s, 1, kMaxPolicy, nullptr, nullptr);
    if (sink_count() != before) return;
    std::string canonical;
    if (!CanonicalJson(s, &canonical)) {
      sink_.Add(path, "must be a JSON object's text, but it is not valid JSON");
    } else if (canonical.empty() || canonical.front() != '{') {
      sink_.Add(path, "must be a JSON object's text, not another JSON value");
    }
  }

  // import: the entity's document, an object, kept as its JSON text.
  bool ReadDocument(od::value& v) {
    Path root;
    Path path(root, "DetailsDocument");
    Member m = MemberOfKind(v, kDetailsDocument, path, od::json_type::object, "an object");
    if (m != Member::kWanted) return m == Member::kSkipped;
    const char* begin = v.raw_json_token().data();
    if (!CheckOnly(v, path)) return false;
    out_->document = KeepRaw(input_.Slice(begin, walker_.Location()));
    present_ |= 1u << kDetailsDocument;
    return true;
  }

  // A replay line's recorded outcome, read from its canonical text.
  bool ReadOutcome(od::value& v) {
    Path root;
    Path path(root, "Outcome");
    Member m = MemberOfKind(v, kOutcome, path, od::json_type::object, "an object");
    if (m != Member::kWanted) return m == Member::kSkipped;
    std::string text;
    if (!Go(walker_.Write(v, &text), path)) return false;
    RecordedOutcome outcome;
    std::vector<Violation> problems;
    if (ParseOutcome(text, "Outcome", &outcome, &problems)) out_->outcome = std::move(outcome);
    for (Violation& p : problems) sink_.Add(std::move(p.path), std::move(p.message));
    present_ |= 1u << kOutcome;
    return true;
  }

  bool ReadChangeSet(od::value& v) {
    Path root;
    Path path(root, "ChangeSet");
    Member m = MemberOfKind(v, kChangeSet, path, od::json_type::array, "an array");
    if (m != Member::kWanted) return m == Member::kSkipped;
    present_ |= 1u << kChangeSet;
    od::array array;
    if (auto err = v.get_array().get(array)) return Syntax(err);
    size_t index = 0;
    for (auto element : array) {
      od::value item;
      if (auto err = element.get(item)) return Syntax(err);
      out_->changes.emplace_back();
      extras_.emplace_back();
      if (!ReadChange(item, index)) return false;
      ++index;
    }
    if (index < kMinChanges) sink_.Add(path, TooFew(index, kMinChanges, "item", "items"));
    if (index > kMaxChanges) sink_.Add(path, TooMany(index, kMaxChanges, "item", "items"));
    return true;
  }

  bool ReadChange(od::value& v, size_t index) {
    Path root;
    Path change_set(root, "ChangeSet");
    Path path(change_set, index);
    ChangeRequest& change = out_->changes.back();
    ChangeExtra& extra = extras_.back();
    od::json_type t = od::json_type::null;
    if (!Go(walker_.Kind(v, &t), path)) return false;
    if (t != od::json_type::object) {
      if (!CheckOnly(v, path)) return false;
      sink_.Add(path, std::string("must be an object, not ") + JsonKindWithArticle(t));
      return true;
    }
    od::object object;
    if (auto err = v.get_object().get(object)) return Syntax(err);
    static const std::vector<std::string> kChangeKeys = {
        "ChangeType", "Entity", "ChangeName", "Details", "DetailsDocument", "EntityTags"};
    bool met[6] = {false, false, false, false, false, false};    // Keys met, to find duplicates.
    bool given[6] = {false, false, false, false, false, false};  // Keys with a non-null value.
    for (auto member : object) {
      od::field field;
      if (auto err = std::move(member).get(field)) return Syntax(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return Syntax(err);
      Path key_path(path, key);
      size_t k = std::find(kChangeKeys.begin(), kChangeKeys.end(), key) - kChangeKeys.begin();
      if (k == kChangeKeys.size() || met[k]) {
        sink_.Add(key_path, k == kChangeKeys.size() ? UnknownField(key, kChangeKeys)
                                                    : "duplicate field " + Quote(key));
        if (!CheckOnly(field.value(), key_path)) return false;
        continue;
      }
      met[k] = true;
      od::value& fv = field.value();
      bool present = false;
      switch (k) {
        case 0:
          if (!ReadString(fv, key_path, &change.change_type, &present, &given[k])) return false;
          if (present) CheckChangeType(change.change_type, key_path);
          break;
        case 1:
          if (!ReadEntity(fv, key_path, &change, &given[k])) return false;
          break;
        case 2:
          if (!ReadString(fv, key_path, &change.change_name, &present)) return false;
          if (present)
            CheckText(sink_, key_path, change.change_name, 1, kMaxChangeName, nullptr, nullptr);
          break;
        case 3:
          if (!ReadLegacyDetails(fv, key_path, &change, &extra)) return false;
          break;
        case 4:
          if (!ReadDetailsDocument(fv, key_path, &change, &extra)) return false;
          break;
        case 5:
          if (!ReadTagList(fv, key_path, &change.entity_tags, &given[k], &present)) return false;
          break;
      }
    }
    if (!extra.has_details && !extra.has_document) change.details = "{}";
    if (!given[0]) sink_.Add(Path(path, "ChangeType"), "is required");
    if (!given[1]) sink_.Add(Path(path, "Entity"), "is required");
    if (extra.has_details && extra.has_document) {
      sink_.Add(path, "has both Details and DetailsDocument; give only one of them");
    }
    return true;
  }

  // ^[A-Z]\w*$, 1-255.
  void CheckChangeType(const std::string& s, const Path& path) {
    size_t n = dsl::CountCodePoints(s);
    if (n < 1 || n > kMaxChangeType) {
      CheckText(sink_, path, s, 1, kMaxChangeType, nullptr, nullptr);
    } else if (!(s[0] >= 'A' && s[0] <= 'Z') || !AllOf(s, IsAsciiWord)) {
      sink_.Add(path, "must match ^[A-Z]\\w*$");
    }
  }

  bool ReadEntity(od::value& v, const Path& path, ChangeRequest* change, bool* present) {
    od::json_type t = od::json_type::null;
    if (!Go(walker_.Kind(v, &t), path)) return false;
    *present = t != od::json_type::null;  // A mistyped Entity is not also missing.
    if (t != od::json_type::object) {
      if (!CheckOnly(v, path)) return false;
      if (t != od::json_type::null) {
        sink_.Add(path, std::string("must be an object, not ") + JsonKindWithArticle(t));
      }
      return true;
    }
    od::object object;
    if (auto err = v.get_object().get(object)) return Syntax(err);
    static const std::vector<std::string> kEntityKeys = {"Type", "Identifier"};
    bool seen[2] = {false, false};
    for (auto member : object) {
      od::field field;
      if (auto err = std::move(member).get(field)) return Syntax(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return Syntax(err);
      Path key_path(path, key);
      size_t k = key == "Type" ? 0 : key == "Identifier" ? 1 : 2;
      if (k == 2 || seen[k]) {
        sink_.Add(key_path,
                  k == 2 ? UnknownField(key, kEntityKeys) : "duplicate field " + Quote(key));
        if (!CheckOnly(field.value(), key_path)) return false;
        continue;
      }
      bool present = false;
      bool given = false;
      if (k == 0) {
        if (!ReadString(field.value(), key_path, &change->entity_type, &present, &given))
          return false;
        if (present)
          CheckText(sink_, key_path, change->entity_type, 1, kMaxEntityType, nullptr, nullptr);
      } else {
        std::string id;
        if (!ReadString(field.value(), key_path, &id, &present)) return false;
        if (present) ReadIdentifier(id, key_path, change);
      }
      seen[k] = given || k == 1;
    }
    if (!seen[0]) sink_.Add(Path(path, "Type"), "is required");
    return true;
  }

  // "prod-abc", "prod-abc@3", or "$Name.Entity.Identifier" (resolved once every change is read).
  void ReadIdentifier(const std::string& id, const Path& path, ChangeRequest* change) {
    std::string_view s = id;
    if (s.substr(0, kReferencePrefix.size()) == kReferencePrefix) {
      if (s.size() > kReferencePrefix.size() + kReferenceSuffix.size() &&
          s.substr(s.size() - kReferenceSuffix.size()) == kReferenceSuffix) {
        change->reference = std::string(s.substr(
            kReferencePrefix.size(), s.size() - kReferencePrefix.size() - kReferenceSuffix.size()));
      } else {
        sink_.Add(
            path,
            "must be an identifier matching ^[\\w\\-@]+$ or $ChangeName.Entity.Identifier, not " +
                Quote(s));
      }
      return;
    }
    size_t n = dsl::CountCodePoints(s);
    if (n < 1 || n > kMaxIdentifier || !AllOf(s, IdentifierChar)) {
      CheckText(sink_, path, s, 1, kMaxIdentifier, IdentifierChar, "^[\\w\\-@]+$");
      return;
    }
    size_t at = s.find('@');
    if (at == std::string_view::npos) {
      change->entity_id = id;
      return;
    }
    std::string_view name = s.substr(0, at);
    std::string_view revision = s.substr(at + 1);
    if (name.empty()) {
      sink_.Add(path, "has no identifier before '@'");
      return;
    }
    if (revision.empty() || revision.size() > 18 || !AllOf(revision, IsDigit)) {
      sink_.Add(path, "has revision " + Quote(revision) +
                          " after '@'; a revision is a whole number (Identifier@Revision)");
      return;
    }
    int64_t r = 0;
    for (char c : revision) r = r * 10 + (c - '0');
    change->entity_id = std::string(name);
    change->revision = r;
  }

  // Legacy Details: a JSON string holding an object.
  bool ReadLegacyDetails(od::value& v, const Path& path, ChangeRequest* change,
                         ChangeExtra* extra) {
    od::json_type t = od::json_type::null;
    if (!Go(walker_.Kind(v, &t), path)) return false;
    if (t == od::json_type::null) return CheckOnly(v, path);
    extra->has_details = true;
    if (t != od::json_type::string) {
      if (!CheckOnly(v, path)) return false;
      sink_.Add(
          path,
          std::string("must be a string holding a JSON object, not ") + JsonKindWithArticle(t) +
              (t == od::json_type::object ? " (DetailsDocument takes the object itself)" : ""));
      return true;
    }
    std::string_view text;
    if (!Go(walker_.String(v, &text), path)) return false;
    size_t n = dsl::CountCodePoints(text);
    if (n < kMinDetails) {
      sink_.Add(path, TooFew(n, kMinDetails, "character", "characters"));
      return true;
    }
    if (n > kMaxDetails) {
      sink_.Add(path, TooMany(n, kMaxDetails, "character", "characters"));
      return true;
    }
    // The inner parser overwrites nothing the outer document still needs: `text` is copied first.
    std::string content(text);
    JsonInput& inner = InnerInput();
    od::document doc;
    if (auto err = inner.Iterate(content, &doc)) {
      sink_.Add(path, std::string("must hold a JSON object, but its text is not valid JSON: ") +
                          simdjson::error_message(err));
      return true;
    }
    od::json_type kind = od::json_type::null;
    if (auto err = doc.type().get(kind)) {
      sink_.Add(path, std::string("must hold a JSON object, but its text is not valid JSON: ") +
                          simdjson::error_message(err));
      return true;
    }
    if (kind != od::json_type::object) {
      // The kind comes from the first byte only ("nope" would be null, "tru" a boolean): read the
      // whole text before naming its kind, as a command line's own is read.
      std::vector<dsl::JsonIssue> issues;
      if (!dsl::InferJsonType(content, &issues) && !issues.empty()) {
        sink_.Add(path, "must hold a JSON object, but its text is not valid JSON: " +
                            issues.front().message);
        return true;
      }
      sink_.Add(path, std::string("must hold a JSON object, not ") + JsonKindWithArticle(kind));
      return true;
    }
    od::value root;
    if (auto err = doc.get_value().get(root)) {
      sink_.Add(path, std::string("must hold a JSON object, but its text is not valid JSON: ") +
                          simdjson::error_message(err));
      return true;
    }
    Walker walker(inner, doc);
    std::string& canonical = input_.canonical;
    size_t start = canonical.size();
    Walker::Status s = walker.Write(root, &canonical);
    if (s == Walker::Status::kOk && walker.Location() != nullptr) {
      s = walker.SyntaxAt(walker.Location(), "unexpected text after the JSON object");
    }
    if (s == Walker::Status::kTooDeep) {
      sink_.Add(path, "is nested deeper than " + std::to_string(dsl::kMaxJsonDepth) + " levels");
      return true;
    }
    if (s == Walker::Status::kSyntax) {
      sink_.Add(path, "must hold a JSON object, but its text is not: " + walker.error());
      return true;
    }
    extra->begin = start;
    extra->end = canonical.size();
    change->details = KeepRaw(content);
    return true;
  }

  bool ReadDetailsDocument(od::value& v, const Path& path, ChangeRequest* change,
                           ChangeExtra* extra) {
    od::json_type t = od::json_type::null;
    if (!Go(walker_.Kind(v, &t), path)) return false;
    if (t == od::json_type::null) return CheckOnly(v, path);
    extra->has_document = true;
    const char* begin = v.raw_json_token().data();
    size_t start = input_.canonical.size();
    if (!Go(walker_.Write(v, &input_.canonical), path)) return false;
    extra->begin = start;
    extra->end = input_.canonical.size();
    if (t == od::json_type::object || t == od::json_type::array) {
      // The value ends where the next token (a ',' or '}' of the change) begins.
      change->details = KeepRaw(input_.Slice(begin, walker_.Location()));
    } else {
      change->details = std::string(TrimJsonSpace(v.raw_json_token()));
    }
    return true;
  }

  // ChangeNames unique; each $Name reference names another change of the set.
  void CheckChangeLinks() {
    const std::vector<ChangeRequest>& changes = out_->changes;
    std::unordered_map<std::string_view, size_t> names;
    for (size_t i = 0; i < changes.size(); ++i) {
      const std::string& name = changes[i].change_name;
      if (name.empty()) continue;
      auto [it, inserted] = names.emplace(name, i);
      if (!inserted) {
        sink_.Add(IndexPath("ChangeSet", i) + ".ChangeName",
                  Quote(name) + " is already the ChangeName of " +
                      IndexPath("ChangeSet", it->second) +
                      "; ChangeNames must be unique in a change set");
      }
    }
    for (size_t i = 0; i < changes.size(); ++i) {
      const std::string& ref = changes[i].reference;
      if (ref.empty()) continue;
      std::string path = IndexPath("ChangeSet", i) + ".Entity.Identifier";
      auto it = names.find(ref);
      if (it == names.end()) {
        sink_.Add(path, "refers to ChangeName " + Quote(ref) +
                            ", which no change in this change set has");
      } else if (it->second == i) {
        sink_.Add(path, "refers to its own ChangeName " + Quote(ref));
      }
      // A reference to a later change is fine: the engine runs changes in the order their
      // references need (and refuses a cycle).
    }
    CheckRepeatedChangeTypes(names);
  }

  // The Catalog API refuses a change set that runs one change type twice on one entity
  // (marketplace-spec.md §1.1). An entity is known by its Identifier, by the change a
  // $Name.Entity.Identifier leads to (followed to its end), or, for a change that names none, as
  // the new entity that change creates: two creates never clash, two changes on one create do.
  void CheckRepeatedChangeTypes(const std::unordered_map<std::string_view, size_t>& names) {
    const std::vector<ChangeRequest>& changes = out_->changes;
    // "id:<Identifier>" or "new:<index>"; "" when a reference leads nowhere or round in a circle
    // (reported above, or refused by the engine's ordering).
    auto entity_of = [&](size_t i) -> std::string {
      for (size_t steps = 0; steps <= changes.size(); ++steps) {
        const ChangeRequest& c = changes[i];
        if (c.reference.empty()) {
          return c.entity_id.empty() ? "new:" + std::to_string(i) : "id:" + c.entity_id;
        }
        auto it = names.find(c.reference);
        if (it == names.end() || it->second == i) return "";
        i = it->second;
      }
      return "";
    };
    auto describe = [&](size_t i) {
      std::string out = IndexPath("ChangeSet", i);
      if (!changes[i].change_name.empty())
        out += " (ChangeName " + Quote(changes[i].change_name) + ")";
      return out;
    };
    std::unordered_map<std::string, size_t> first;  // change type + entity -> the first change
    for (size_t i = 0; i < changes.size(); ++i) {
      if (changes[i].change_type.empty()) continue;
      std::string entity = entity_of(i);
      if (entity.empty()) continue;
      auto [it, inserted] = first.emplace(changes[i].change_type + "\n" + entity, i);
      if (inserted) continue;
      std::string target =
          entity.rfind("id:", 0) == 0
              ? entity.substr(3)
              : "the entity " + describe(std::stoul(entity.substr(4))) + " creates";
      sink_.Add(IndexPath("ChangeSet", i) + ".ChangeType",
                describe(i) + " and " + describe(it->second) + " both run " +
                    changes[i].change_type + " on " + target +
                    "; a change set may run a change type only once per entity");
    }
  }

  // The body without Actor, At and op, normalized so that equal requests hash equal however they
  // were written: keys sorted, no whitespace, Intent always present, legacy Details as the
  // DetailsDocument it holds, numbers as their exact text.
  static void AppendCanonicalTags(const std::vector<Tag>& tags, std::string* out) {
    out->push_back('[');
    for (size_t i = 0; i < tags.size(); ++i) {
      if (i > 0) out->push_back(',');
      out->append("{\"Key\":");
      AppendCanonicalString(tags[i].key, out);
      out->append(",\"Value\":");
      AppendCanonicalString(tags[i].value, out);
      out->push_back('}');
    }
    out->push_back(']');
  }

  std::string_view CanonicalBody() const {
    std::string& out = input_.body;
    out.clear();
    out.append("{\"Catalog\":");
    AppendCanonicalString(out_->catalog, &out);
    out.append(",\"ChangeSet\":[");
    for (size_t i = 0; i < out_->changes.size(); ++i) {
      const ChangeRequest& c = out_->changes[i];
      if (i > 0) out.push_back(',');
      out.push_back('{');
      if (!c.change_name.empty()) {
        out.append("\"ChangeName\":");
        AppendCanonicalString(c.change_name, &out);
        out.push_back(',');
      }
      out.append("\"ChangeType\":");
      AppendCanonicalString(c.change_type, &out);
      out.append(",\"DetailsDocument\":");
      const ChangeExtra& e = extras_[i];
      if (e.end > e.begin) {
        out.append(input_.canonical, e.begin, e.end - e.begin);
      } else {
        out.append("{}");
      }
      out.append(",\"Entity\":{");
      if (!c.reference.empty() || !c.entity_id.empty()) {
        out.append("\"Identifier\":");
        AppendCanonicalString(IdentifierText(c), &out);
        out.push_back(',');
      }
      out.append("\"Type\":");
      AppendCanonicalString(c.entity_type, &out);
      out.push_back('}');
      // Only when given: a body without tags hashes as it did before tags were read.
      if (!c.entity_tags.empty()) {
        out.append(",\"EntityTags\":");
        AppendCanonicalTags(c.entity_tags, &out);
      }
      out.push_back('}');
    }
    out.push_back(']');
    if (!out_->change_set_name.empty()) {
      out.append(",\"ChangeSetName\":");
      AppendCanonicalString(out_->change_set_name, &out);
    }
    if (!out_->tags.empty()) {
      out.append(",\"ChangeSetTags\":");
      AppendCanonicalTags(out_->tags, &out);
    }
    if (!out_->client_request_token.empty()) {
      out.append(",\"ClientRequestToken\":");
      AppendCanonicalString(out_->client_request_token, &out);
    }
    out.append(",\"Intent\":");
    AppendCanonicalString(out_->intent, &out);
    out.push_back('}');
    return std::string_view(out);
  }

 public:
  static std::string IdentifierText(const ChangeRequest& c) {
    if (!c.reference.empty()) {
      return std::string(kReferencePrefix) + c.reference + std::string(kReferenceSuffix);
    }
    if (c.revision) return c.entity_id + "@" + std::to_string(*c.revision);
    return c.entity_id;
  }

  bool too_deep() const { return too_deep_; }

 private:
  JsonInput& input_;
  Walker walker_;
  Sink& sink_;
  Command* out_;
  uint32_t seen_ = 0;     // Keys met, to find duplicates.
  uint32_t given_ = 0;    // Keys given a non-null value.
  uint32_t present_ = 0;  // Keys given a value of the right kind.
  std::vector<Key> order_;
  std::vector<std::string> unknown_;
  std::vector<ChangeExtra> extras_;
  std::string op_text_;
  std::string to_;
  bool too_deep_ = false;
};

// ---- Shapes --------------------------------------------------------------------------------

// Compiled patterns by their text: a policy has a handful, each compiled once per thread.
class PatternCache {
 public:
  const RE2* Get(const std::string& pattern) {
    auto it = cache_.find(pattern);
    if (it == cache_.end()) {
      RE2::Options options;
      options.set_log_errors(false);
      options.set_max_mem(dsl::kMaxRegexProgramBytes);
      it = cache_.emplace(pattern, std::make_unique<RE2>(pattern, options)).first;
    }
    return it->second->ok() ? it->second.get() : nullptr;
  }

 private:
  std::unordered_map<std::string, std::unique_ptr<RE2>> cache_;
};

PatternCache& Patterns() {
  thread_local PatternCache cache;
  return cache;
}

// A declared field, whether it comes with constraints (FieldSpec) or from a type alone
// (dsl::Field).
struct FieldView {
  std::string_view name;
  bool optional;
  const dsl::Type* type;
  const FieldSpec* spec;
};

const char* ExpectedKind(dsl::TypeKind kind) {
  switch (kind) {
    case dsl::TypeKind::kNull:
      return "null";
    case dsl::TypeKind::kBool:
      return "a boolean";
    case dsl::TypeKind::kInt:
      return "an integer";
    case dsl::TypeKind::kDecimal:
      return "a number";
    case dsl::TypeKind::kString:
      return "a string";
    case dsl::TypeKind::kDate:
      return "a date string";
    case dsl::TypeKind::kTimestamp:
      return "a timestamp string";
    case dsl::TypeKind::kDuration:
      return "a duration string";
    case dsl::TypeKind::kList:
      return "an array";
    case dsl::TypeKind::kMap:
    case dsl::TypeKind::kObject:
      return "an object";
    case dsl::TypeKind::kDyn:
      return "a value";
  }
  return "a value";
}

class ShapeChecker {
 public:
  ShapeChecker(Walker& walker, Sink& sink, std::vector<DetailsReference>* references)
      : w_(walker), sink_(sink), references_(references) {}

  // False once the JSON turned out broken or too deep (reported; the walk stops).
  bool Object(od::value& v, const std::vector<FieldView>& fields, const Path& path, size_t depth) {
    od::object object;
    if (auto err = v.get_object().get(object)) return Syntax(err);
    std::vector<bool> seen(fields.size(), false);
    for (auto member : object) {
      od::field field;
      if (auto err = std::move(member).get(field)) return Syntax(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return Syntax(err);
      Path key_path(path, key);
      size_t slot = 0;
      while (slot < fields.size() && fields[slot].name != key) ++slot;
      if (slot == fields.size()) {
        std::vector<std::string> names;
        for (const FieldView& f : fields) names.emplace_back(f.name);
        sink_.Add(key_path, names.empty()
                                ? "unknown field " + Quote(key) + "; no fields are allowed here"
                                : UnknownField(key, names));
        if (!Skip(field.value(), key_path, depth + 1)) return false;
        continue;
      }
      if (seen[slot]) {
        sink_.Add(key_path, "duplicate field " + Quote(key));
        if (!Skip(field.value(), key_path, depth + 1)) return false;
        continue;
      }
      seen[slot] = true;
      const FieldView& f = fields[slot];
      od::value& fv = field.value();
      od::json_type t = od::json_type::null;
      if (!Ok(w_.Kind(fv, &t), key_path)) return false;
      if (t == od::json_type::null && f.type->kind() != dsl::TypeKind::kNull &&
          f.type->kind() != dsl::TypeKind::kDyn) {
        if (!Skip(fv, key_path, depth + 1)) return false;
        if (f.optional) continue;  // Null and absent mean the same for an optional field.
        sink_.Add(key_path, "is required");
        continue;
      }
      if (!Value(fv, *f.type, f.spec, key_path, depth + 1)) return false;
    }
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!seen[i] && !fields[i].optional) sink_.Add(Path(path, fields[i].name), "is required");
    }
    return true;
  }

  static std::vector<FieldView> Views(const std::vector<FieldSpec>& specs) {
    std::vector<FieldView> out;
    out.reserve(specs.size());
    for (const FieldSpec& f : specs) {
      out.push_back({f.name, f.optional, f.type ? f.type.get() : dsl::Type::Dyn().get(), &f});
    }
    return out;
  }

  static std::vector<FieldView> Views(const std::vector<dsl::Field>& fields) {
    std::vector<FieldView> out;
    out.reserve(fields.size());
    for (const dsl::Field& f : fields) {
      out.push_back({f.name, f.optional, f.type ? f.type.get() : dsl::Type::Dyn().get(), nullptr});
    }
    return out;
  }

  bool Ok(Walker::Status s, const Path& path) {
    if (s == Walker::Status::kOk) return true;
    if (s == Walker::Status::kTooDeep) {
      sink_.Add(path, "is nested deeper than " + std::to_string(dsl::kMaxJsonDepth) + " levels");
    } else {
      sink_.Syntax(w_.error());
    }
    return false;
  }

  // The document's root, nested one level below the caller's path.
  bool Value(od::value& v, const dsl::Type& type, const FieldSpec* spec, const Path& path,
             size_t depth) {
    if (depth > dsl::kMaxJsonDepth) return Ok(Walker::Status::kTooDeep, path);
    od::json_type t = od::json_type::null;
    if (!Ok(w_.Kind(v, &t), path)) return false;
    switch (type.kind()) {
      case dsl::TypeKind::kDyn:
        return Skip(v, path, depth);
      case dsl::TypeKind::kNull:
        if (t != od::json_type::null) break;
        return Ok(w_.Literal(v, nullptr), path);
      case dsl::TypeKind::kBool:
        if (t != od::json_type::boolean) break;
        return Ok(w_.Literal(v, nullptr), path);
      case dsl::TypeKind::kInt:
        if (t != od::json_type::number) break;
        return Int(v, spec, path);
      case dsl::TypeKind::kDecimal:
        if (t == od::json_type::number) return DecimalNumber(v, spec, path);
        if (t == od::json_type::string) return DecimalString(v, spec, path);
        break;
      case dsl::TypeKind::kString:
        if (t != od::json_type::string) break;
        return String(v, spec, path);
      case dsl::TypeKind::kDate:
      case dsl::TypeKind::kTimestamp:
      case dsl::TypeKind::kDuration:
        if (t != od::json_type::string) break;
        return Time(v, type.kind(), spec, path);
      case dsl::TypeKind::kList:
        if (t != od::json_type::array) break;
        return List(v, type, spec, path, depth);
      case dsl::TypeKind::kMap:
        if (t != od::json_type::object) break;
        return Map(v, *type.elem(), path, depth);
      case dsl::TypeKind::kObject:
        if (t != od::json_type::object) break;
        if (spec != nullptr && !spec->fields.empty())
          return Object(v, Views(spec->fields), path, depth);
        return Object(v, Views(type.fields()), path, depth);
    }
    if (!Skip(v, path, depth)) return false;
    std::string message = std::string("must be ") + ExpectedKind(type.kind());
    if (type.kind() == dsl::TypeKind::kDecimal) message += " or a numeric string";
    sink_.Add(path, message + ", not " + JsonKindWithArticle(t));
    return true;
  }

 private:
  bool Syntax(simdjson::error_code err) { return Ok(w_.Syntax(err), Path()); }

  // Checks the JSON of a value whose content no schema constrains.
  bool Skip(od::value& v, const Path& path, size_t depth) { return Ok(w_.Check(v, depth), path); }

  bool Int(od::value& v, const FieldSpec* spec, const Path& path) {
    std::string_view raw;
    dsl::JsonNumber parts;
    if (!Ok(w_.Number(v, &raw, &parts), path)) return false;
    if (!parts.frac_digits.empty() || parts.has_exponent) {
      sink_.Add(path, "must be an integer, not " + std::string(raw.substr(0, kMaxQuotedBytes)));
      return true;
    }
    std::optional<int64_t> i = dsl::JsonNumberToInt(parts);
    if (!i) {
      sink_.Add(path, "must be an integer within 64 bits, not " + Quote(raw));
      return true;
    }
    Bounds(dsl::DecimalFromInt(*i), raw, spec, path);
    return true;
  }

  bool DecimalNumber(od::value& v, const FieldSpec* spec, const Path& path) {
    std::string_view raw;
    dsl::JsonNumber parts;
    if (!Ok(w_.Number(v, &raw, &parts), path)) return false;
    dsl::Decimal d{0, 0};
    std::string why;
    if (!dsl::JsonNumberToDecimal(raw, parts, &d, &why)) {
      sink_.Add(path, "must be a number of at most " + std::to_string(dsl::kMaxDecimalDigits) +
                          " significant digits and " + std::to_string(dsl::kMaxDecimalScale) +
                          " decimal places, not " + Quote(raw));
      return true;
    }
    Bounds(d, raw, spec, path);
    return true;
  }

  bool DecimalString(od::value& v, const FieldSpec* spec, const Path& path) {
    std::string_view s;
    if (!Ok(w_.String(v, &s), path)) return false;
    dsl::Decimal d{0, 0};
    dsl::DecimalStatus st = dsl::ParseDecimal(s, &d);
    if (st == dsl::DecimalStatus::kSyntax) {
      sink_.Add(path, "must be a number or a numeric string, not " + Quote(s));
      return true;
    }
    if (st != dsl::DecimalStatus::kOk) {
      sink_.Add(path, "must be a number of at most " + std::to_string(dsl::kMaxDecimalDigits) +
                          " significant digits and " + std::to_string(dsl::kMaxDecimalScale) +
                          " decimal places, not " + Quote(s));
      return true;
    }
    Bounds(d, s, spec, path);
    return true;
  }

  void Bounds(dsl::Decimal d, std::string_view written, const FieldSpec* spec, const Path& path) {
    if (spec == nullptr) return;
    if (spec->minimum && dsl::DecimalCompare(d, *spec->minimum) < 0) {
      sink_.Add(path, "must be at least " + dsl::DecimalToString(*spec->minimum) + ", not " +
                          std::string(written.substr(0, kMaxQuotedBytes)));
    }
    if (spec->maximum && dsl::DecimalCompare(d, *spec->maximum) > 0) {
      sink_.Add(path, "must be at most " + dsl::DecimalToString(*spec->maximum) + ", not " +
                          std::string(written.substr(0, kMaxQuotedBytes)));
    }
  }

  bool String(od::value& v, const FieldSpec* spec, const Path& path) {
    const std::string_view raw = TrimJsonSpace(v.raw_json_token());
    std::string_view s;
    if (!Ok(w_.String(v, &s), path)) return false;
    if (spec == nullptr) return true;
    if (!spec->refers_to.empty()) {
      std::string name;
      if (ReferenceName(s, &name)) {
        // The constraints are the identifier's, which the reference stands for: the engine
        // puts it in before anything reads the field.
        if (references_ != nullptr) {
          size_t begin = w_.Offset(raw.data());
          references_->push_back(
              {path.str(), std::move(name), spec->refers_to, begin, begin + raw.size()});
        }
        return true;
      }
    }
    if (spec->min_length || spec->max_length) {
      int64_t n = static_cast<int64_t>(dsl::CountCodePoints(s));
      if (spec->min_length && n < *spec->min_length) {
        sink_.Add(path, TooFew(static_cast<size_t>(n), static_cast<size_t>(*spec->min_length),
                               "character", "characters"));
      }
      if (spec->max_length && n > *spec->max_length) {
        sink_.Add(path, TooMany(static_cast<size_t>(n), static_cast<size_t>(*spec->max_length),
                                "character", "characters"));
      }
    }
    bool matched = true;
    if (!spec->pattern.empty()) {
      const RE2* re = Patterns().Get(spec->pattern);
      if (re == nullptr) {
        sink_.Add(path, "cannot be checked: its pattern " + spec->pattern +
                            " is not a valid RE2 expression");
      } else if (!RE2::FullMatch(s, *re)) {
        sink_.Add(path, "must match " + spec->pattern);
        matched = false;
      }
    }
    // A text that breaks its pattern is not read as its format too: one problem, one message.
    if (matched && spec->format == dsl::TypeKind::kDecimal) {
      dsl::Decimal d{0, 0};
      dsl::DecimalStatus st = dsl::ParseDecimal(s, &d);
      if (st == dsl::DecimalStatus::kSyntax) {
        sink_.Add(path, "must be a decimal number such as 1000.00, not " + Quote(s));
      } else if (st != dsl::DecimalStatus::kOk) {
        sink_.Add(path, "must be a number of at most " + std::to_string(dsl::kMaxDecimalDigits) +
                            " significant digits and " + std::to_string(dsl::kMaxDecimalScale) +
                            " decimal places, not " + Quote(s));
      } else {
        Bounds(d, s, spec, path);
      }
    } else if (matched && spec->format != dsl::TypeKind::kDyn) {
      TimeText(s, spec->format, spec, path);
    }
    if (!spec->one_of.empty() &&
        std::find(spec->one_of.begin(), spec->one_of.end(), s) == spec->one_of.end()) {
      sink_.Add(path, "must be one of " + dsl::JoinNames(spec->one_of));
    }
    return true;
  }

  bool Time(od::value& v, dsl::TypeKind kind, const FieldSpec* spec, const Path& path) {
    std::string_view s;
    if (!Ok(w_.String(v, &s), path)) return false;
    TimeText(s, kind, spec, path);
    return true;
  }

  // A date, timestamp or duration as the rule language reads one: a real calendar date, and a
  // duration that is not negative, within kMaxDataDuration* and the field's minimum and maximum.
  void TimeText(std::string_view s, dsl::TypeKind kind, const FieldSpec* spec, const Path& path) {
    if (kind == dsl::TypeKind::kDate) {
      int32_t days = 0;
      if (!dsl::ParseDate(s, &days))
        sink_.Add(path, "must be a date such as 2026-01-31, not " + Quote(s));
    } else if (kind == dsl::TypeKind::kTimestamp) {
      int64_t us = 0;
      if (!dsl::ParseTimestamp(s, &us)) {
        sink_.Add(path,
                  "must be an RFC 3339 timestamp such as 2026-01-31T12:00:00Z, not " + Quote(s));
      }
    } else {
      dsl::Duration d{0, 0};
      if (!dsl::ParseDuration(s, &d)) {
        sink_.Add(path, "must be an ISO 8601 duration such as P30D or PT24H, not " + Quote(s));
      } else if (d.months < 0 || d.micros < 0) {
        sink_.Add(path, "must not be a negative duration, not " + Quote(s));
      } else if (d.months > dsl::kMaxDataDurationMonths ||
                 d.micros > dsl::kMaxDataDurationDays * dsl::kMicrosPerDay) {
        sink_.Add(path, "must be at most " + std::to_string(dsl::kMaxDataDurationMonths / 12) +
                            " years (P" + std::to_string(dsl::kMaxDataDurationMonths) + "M or P" +
                            std::to_string(dsl::kMaxDataDurationDays) + "D), not " + Quote(s));
      } else if (spec != nullptr) {
        if (spec->shortest && !AtLeast(d, spec->shortest->value))
          sink_.Add(path, "must be at least " + spec->shortest->text + ", not " + Quote(s));
        if (spec->longest && !AtLeast(spec->longest->value, d))
          sink_.Add(path, "must be at most " + spec->longest->text + ", not " + Quote(s));
      }
    }
  }

  // Whether `a` is at least `b` from any start: months (whose length varies) count as 28 days
  // where `a` has more of them than `b`, and as 31 where it has fewer.
  static bool AtLeast(dsl::Duration a, dsl::Duration b) {
    const __int128 months = static_cast<__int128>(a.months) - b.months;
    const __int128 days_per_month = months >= 0 ? 28 : 31;
    return months * days_per_month * dsl::kMicrosPerDay +
               (static_cast<__int128>(a.micros) - b.micros) >=
           0;
  }

  bool List(od::value& v, const dsl::Type& type, const FieldSpec* spec, const Path& path,
            size_t depth) {
    od::array array;
    if (auto err = v.get_array().get(array)) return Syntax(err);
    const FieldSpec* items = spec != nullptr ? spec->items.get() : nullptr;
    const dsl::Type* elem = items != nullptr && items->type ? items->type.get()
                            : type.elem()                   ? type.elem().get()
                                                            : dsl::Type::Dyn().get();
    size_t count = 0;
    for (auto element : array) {
      od::value item;
      if (auto err = element.get(item)) return Syntax(err);
      if (!Value(item, *elem, items, Path(path, count), depth + 1)) return false;
      ++count;
    }
    if (spec != nullptr) {
      if (spec->min_items && static_cast<int64_t>(count) < *spec->min_items) {
        sink_.Add(path, TooFew(count, static_cast<size_t>(*spec->min_items), "item", "items"));
      }
      if (spec->max_items && static_cast<int64_t>(count) > *spec->max_items) {
        sink_.Add(path, TooMany(count, static_cast<size_t>(*spec->max_items), "item", "items"));
      }
    }
    return true;
  }

  bool Map(od::value& v, const dsl::Type& elem, const Path& path, size_t depth) {
    od::object object;
    if (auto err = v.get_object().get(object)) return Syntax(err);
    std::vector<std::string> keys;
    for (auto member : object) {
      od::field field;
      if (auto err = std::move(member).get(field)) return Syntax(err);
      std::string_view key;
      if (auto err = field.unescaped_key().get(key)) return Syntax(err);
      Path key_path(path, key);
      if (std::find(keys.begin(), keys.end(), key) != keys.end()) {
        sink_.Add(key_path, "duplicate key " + Quote(key));
        if (!Skip(field.value(), key_path, depth + 1)) return false;
        continue;
      }
      keys.emplace_back(key);
      if (!Value(field.value(), elem, nullptr, key_path, depth + 1)) return false;
    }
    return true;
  }

  Walker& w_;
  Sink& sink_;
  std::vector<DetailsReference>* references_;
};

}  // namespace

bool ReferenceName(std::string_view text, std::string* name) {
  if (text.size() <= kReferencePrefix.size() + kReferenceSuffix.size() ||
      text.substr(0, kReferencePrefix.size()) != kReferencePrefix ||
      text.substr(text.size() - kReferenceSuffix.size()) != kReferenceSuffix) {
    return false;
  }
  name->assign(text.substr(kReferencePrefix.size(),
                           text.size() - kReferencePrefix.size() - kReferenceSuffix.size()));
  return true;
}

std::string ReplaceReferences(std::string_view details,
                              const std::vector<DetailsReference>& references,
                              const std::vector<std::string>& identifiers) {
  std::string out;
  size_t at = 0;
  for (size_t i = 0; i < references.size(); ++i) {
    const DetailsReference& r = references[i];
    out.append(details.substr(at, r.begin - at));
    dsl::AppendJsonString(identifiers[i], &out);
    at = r.end;
  }
  out.append(details.substr(at));
  return out;
}

const char* OpName(Op op) {
  switch (op) {
    case Op::kStartChangeSet:
      return "start-change-set";
    case Op::kReview:
      return "review";
    case Op::kCancelChangeSet:
      return "cancel-change-set";
    case Op::kTick:
      return "tick";
    case Op::kImport:
      return "import";
    case Op::kTagResource:
      return "tag-resource";
    case Op::kUntagResource:
      return "untag-resource";
    case Op::kPutResourcePolicy:
      return "put-resource-policy";
    case Op::kDeleteResourcePolicy:
      return "delete-resource-policy";
    case Op::kUpgrade:
      return "upgrade";
  }
  return "start-change-set";
}

std::string UnknownChangeType(const Policy& policy, const std::string& change_type,
                              const std::string& entity_type) {
  std::vector<std::string> types, entity_types;
  for (const auto& m : policy.machines) {
    if (m->kind == MachineKind::kEntity) entity_types.push_back(m->entity_type);
    if (m->kind == MachineKind::kRequest && m->entity_type == entity_type)
      types.push_back(m->change_type);
  }
  std::string message = "unknown change type " + change_type + " for " + entity_type;
  if (types.empty()) {
    std::string near = dsl::NearestName(entity_type, entity_types);
    message += "; no change type runs on " + entity_type +
               " (entity types: " + dsl::JoinNames(entity_types);
    return message + (near.empty() ? ")" : "; did you mean " + near + "?)");
  }
  std::sort(types.begin(), types.end());
  std::string near = dsl::NearestName(change_type, types);
  if (!near.empty()) return message + "; did you mean " + near + "?";
  return message + "; its change types: " + dsl::JoinNames(types);
}

bool ParseAt(std::string_view at, int64_t* us) { return dsl::ParseTimestamp(at, us); }

namespace {

bool Parse(std::string_view json, std::optional<Op> default_op, bool body_only, Command* out,
           std::vector<Violation>* violations) {
  *out = Command();
  Sink sink(violations);
  // A bare body is bounded as sent; a replay or import line has room for what a log adds.
  const size_t max = default_op == Op::kStartChangeSet ? kMaxCommandBytes : kMaxReplayLineBytes;
  if (json.size() > max) {
    sink.Add("", "has " + std::to_string(json.size()) + " bytes; at most " + std::to_string(max) +
                     " are allowed");
    return false;
  }
  if (TrimJsonSpace(json).empty()) {
    sink.Add("", "is empty; expected a JSON object");
    return false;
  }
  JsonInput& input = CommandInput();
  od::document doc;
  if (auto err = input.Iterate(json, &doc)) {
    size_t bad = 0;
    // simdjson reports bad UTF-8 inside a string as a string error: name the real fault.
    if (!dsl::ValidUtf8(json, &bad)) {
      sink.Syntax("invalid UTF-8 at byte " + std::to_string(bad));
    } else {
      sink.Syntax("invalid JSON: " + std::string(simdjson::error_message(err)));
    }
    return false;
  }
  CommandReader reader(input, doc, sink, out);
  od::json_type t = od::json_type::null;
  if (auto err = doc.type().get(t)) {
    sink.Syntax("invalid JSON: " + std::string(simdjson::error_message(err)));
    return false;
  }
  if (t != od::json_type::object) {
    // The kind comes from the first byte only: "not json" would be "null". Read the whole text
    // before naming its kind.
    std::vector<dsl::JsonIssue> issues;
    if (!dsl::InferJsonType(json, &issues) && !issues.empty()) {
      sink.Syntax(issues.front().message);
      return false;
    }
    sink.Add("", std::string("must be a JSON object, not ") + JsonKindWithArticle(t));
    return false;
  }
  od::object root;
  if (auto err = doc.get_object().get(root)) {
    sink.Syntax("invalid JSON: " + std::string(simdjson::error_message(err)));
    return false;
  }
  if (!reader.Read(root)) {
    if (!reader.too_deep()) {
      sink.Syntax(reader.syntax_error().empty() ? "invalid JSON" : reader.syntax_error());
    }
    return false;
  }
  // simdjson stops at the object's end; anything after it is an error it would not report.
  const char* rest = nullptr;
  if (!doc.current_location().get(rest)) {
    sink.Syntax("invalid JSON at byte " + std::to_string(input.Offset(rest)) +
                ": unexpected text after the JSON object");
    return false;
  }
  reader.Finish(default_op, body_only);
  return !sink.any();
}

}  // namespace

bool ParseCommand(std::string_view json, std::optional<Op> default_op, Command* out,
                  std::vector<Violation>* violations) {
  return Parse(json, default_op, false, out, violations);
}

bool ParseStartChangeSetBody(std::string_view json, Command* out,
                             std::vector<Violation>* violations) {
  return Parse(json, Op::kStartChangeSet, true, out, violations);
}

void ValidateShape(std::string_view details, const Schema& schema, const std::string& path,
                   std::vector<Violation>* violations, std::vector<DetailsReference>* references) {
  Sink sink(violations);
  JsonInput& input = InnerInput();
  od::document doc;
  auto syntax = [&](simdjson::error_code err) {
    sink.Syntax("invalid JSON: " + std::string(simdjson::error_message(err)));
  };
  if (TrimJsonSpace(details).empty()) {
    sink.Add(path, "is empty; expected a JSON object");
    return;
  }
  if (auto err = input.Iterate(details, &doc)) return syntax(err);
  od::json_type t = od::json_type::null;
  if (auto err = doc.type().get(t)) return syntax(err);
  const od::json_type want = schema.list ? od::json_type::array : od::json_type::object;
  if (t != want) {
    sink.Add(path, std::string(schema.list ? "must be an array, not " : "must be an object, not ") +
                       JsonKindWithArticle(t));
    return;
  }
  od::value root;
  if (auto err = doc.get_value().get(root)) return syntax(err);
  Walker walker(input, doc);
  ShapeChecker checker(walker, sink, references);
  size_t first = violations->size();
  bool ok;
  const Path root_path(path);
  if (schema.list) {
    ok = checker.Value(root, *schema.list->type, schema.list.get(), root_path, 0);
  } else if (!schema.fields.empty()) {
    ok = checker.Object(root, ShapeChecker::Views(schema.fields), root_path, 0);
  } else if (schema.type) {
    ok = checker.Value(root, *schema.type, nullptr, root_path, 0);
  } else {
    // No declared input: any object passes, checked for well-formedness only.
    ok = checker.Value(root, *dsl::Type::Dyn(), nullptr, root_path, 0);
  }
  if (ok) {
    const char* rest = nullptr;
    if (!doc.current_location().get(rest)) {
      sink.Syntax("invalid JSON at byte " + std::to_string(input.Offset(rest)) +
                  ": unexpected text after the JSON object");
    }
  }
  // Malformed JSON is reported at the document's own path.
  for (size_t i = first; i < violations->size(); ++i) {
    if ((*violations)[i].path.empty()) (*violations)[i].path = path;
  }
}

std::string RecordedOutcome::ToJson() const {
  std::string out = "{\"Result\":";
  dsl::AppendJsonString(result, &out);
  for (const auto& [key, value] : {std::pair<const char*, const std::string*>{"Error", &error},
                                   {"ChangeSetId", &change_set_id},
                                   {"Status", &status}}) {
    if (value->empty()) continue;
    out += ",\"";
    out += key;
    out += "\":";
    dsl::AppendJsonString(*value, &out);
  }
  if (timers_deferred > 0) out += ",\"TimersDeferred\":" + std::to_string(timers_deferred);
  return out + "}";
}

bool ParseOutcome(std::string_view json, const std::string& path, RecordedOutcome* out,
                  std::vector<Violation>* violations, bool log_spelling) {
  *out = RecordedOutcome();
  Sink sink(violations);
  thread_local simdjson::dom::parser parser;
  simdjson::dom::object object;
  if (parser.parse(json.data(), json.size()).get(object) != simdjson::SUCCESS) {
    sink.Add(path, "must be a JSON object");
    return false;
  }
  static const std::vector<std::string> kKeys = {"Result", "Error", "ChangeSetId", "Status",
                                                 "TimersDeferred"};
  static const std::vector<std::string> kResults = {"Ok", "Refused", "Conflict", "NotFound",
                                                    "AccessDenied"};
  // The command log's spelling of the same results, in the same order (its log lines' "result").
  static const std::vector<std::string> kLogResults = {"ok", "refused", "conflict", "not found",
                                                       "access denied"};
  const std::vector<std::string>& names = log_spelling ? kLogResults : kResults;
  bool result_given = false;
  std::string message;  // The command log's, for people: not compared.
  for (auto [key, value] : object) {
    const std::string field = FieldPath(path, key);
    if (key == "TimersDeferred") {
      int64_t n = 0;
      if (value.get(n) != simdjson::SUCCESS || n < 0) {
        sink.Add(field, "must be a whole number, 0 or more");
      } else {
        out->timers_deferred = n;
      }
      continue;
    }
    std::string* target = key == "Result"                    ? &out->result
                          : key == "Error"                   ? &out->error
                          : key == "ChangeSetId"             ? &out->change_set_id
                          : key == "Status"                  ? &out->status
                          : key == "Message" && log_spelling ? &message
                                                             : nullptr;
    if (target == nullptr) {
      sink.Add(field, UnknownField(key, kKeys));
      continue;
    }
    if (key == "Result") result_given = true;
    std::string_view text;
    if (value.get(text) != simdjson::SUCCESS) {
      sink.Add(field, "must be a string");
      continue;
    }
    target->assign(text);
    if (key == "Result") {
      auto it = std::find(names.begin(), names.end(), out->result);
      if (it == names.end()) {
        sink.Add(field, "must be one of " + dsl::JoinNames(names));
      } else {
        out->result = kResults[static_cast<size_t>(it - names.begin())];
      }
    }
  }
  if (!result_given) sink.Add(FieldPath(path, "Result"), "is required");
  return !sink.any();
}

bool CanonicalJson(std::string_view json, std::string* out) {
  out->clear();
  thread_local JsonInput input;
  od::document doc;
  if (input.Iterate(json, &doc)) return false;
  od::value root;
  if (doc.get_value().get(root)) return false;
  Walker walker(input, doc);
  if (walker.Write(root, out) != Walker::Status::kOk) return false;
  const char* rest = nullptr;
  return doc.current_location().get(rest) != simdjson::SUCCESS;  // Nothing after the value.
}

std::string Command::ToJsonLine() const {
  std::string out;
  size_t size = 128 + document.size();
  for (const ChangeRequest& c : changes) size += c.details.size() + 160;
  out.reserve(size);
  auto key = [&](const char* name) {
    out.append(out.size() > 1 ? ",\"" : "\"");
    out.append(name);
    out.append("\":");
  };
  auto str = [&](const char* name, const std::string& value) {
    key(name);
    dsl::AppendJsonString(value, &out);
  };
  auto opt = [&](const char* name, const std::string& value) {
    if (!value.empty()) str(name, value);
  };
  auto tag_list = [&](const std::vector<Tag>& list) {
    out.push_back('[');
    for (size_t i = 0; i < list.size(); ++i) {
      if (i > 0) out.push_back(',');
      out.append("{\"Key\":");
      dsl::AppendJsonString(list[i].key, &out);
      out.append(",\"Value\":");
      dsl::AppendJsonString(list[i].value, &out);
      out.push_back('}');
    }
    out.push_back(']');
  };
  out.push_back('{');
  str("op", OpName(op));
  switch (op) {
    case Op::kStartChangeSet:
      opt("Actor", actor);
      opt("At", at);
      str("Catalog", catalog);
      opt("ChangeSetName", change_set_name);
      opt("ClientRequestToken", client_request_token);
      if (intent != "APPLY") str("Intent", intent);
      key("ChangeSet");
      out.push_back('[');
      for (size_t i = 0; i < changes.size(); ++i) {
        const ChangeRequest& c = changes[i];
        if (i > 0) out.push_back(',');
        out.append("{\"ChangeType\":");
        dsl::AppendJsonString(c.change_type, &out);
        out.append(",\"Entity\":{\"Type\":");
        dsl::AppendJsonString(c.entity_type, &out);
        std::string id = CommandReader::IdentifierText(c);
        if (!id.empty()) {
          out.append(",\"Identifier\":");
          dsl::AppendJsonString(id, &out);
        }
        out.push_back('}');
        if (!c.change_name.empty()) {
          out.append(",\"ChangeName\":");
          dsl::AppendJsonString(c.change_name, &out);
        }
        out.append(",\"DetailsDocument\":");
        out.append(c.details.empty() ? "{}" : c.details);
        if (!c.entity_tags.empty()) {
          out.append(",\"EntityTags\":");
          tag_list(c.entity_tags);
        }
        out.push_back('}');
      }
      out.push_back(']');
      if (!tags.empty()) {
        key("ChangeSetTags");
        tag_list(tags);
      }
      break;
    case Op::kReview:
      opt("Actor", actor);
      opt("At", at);
      str("ChangeSetId", change_set_id);
      str("Decision", decision);
      opt("Reason", reason);
      break;
    case Op::kCancelChangeSet:
      opt("Actor", actor);
      opt("At", at);
      str("ChangeSetId", change_set_id);
      break;
    case Op::kTick:
      opt("Actor", actor);
      str("To", at);
      break;
    case Op::kImport:
      opt("Actor", actor);
      opt("At", at);
      str("EntityType", entity_type);
      str("EntityIdentifier", entity_id);
      str("State", state);
      str("Owner", owner);
      key("DetailsDocument");
      out.append(document.empty() ? "{}" : document);
      break;
    case Op::kTagResource:
      opt("Actor", actor);
      opt("At", at);
      str("ResourceArn", resource_arn);
      key("Tags");
      tag_list(tags);
      break;
    case Op::kUntagResource:
      opt("Actor", actor);
      opt("At", at);
      str("ResourceArn", resource_arn);
      key("TagKeys");
      out.push_back('[');
      for (size_t i = 0; i < tag_keys.size(); ++i) {
        if (i > 0) out.push_back(',');
        dsl::AppendJsonString(tag_keys[i], &out);
      }
      out.push_back(']');
      break;
    case Op::kPutResourcePolicy:
      opt("Actor", actor);
      opt("At", at);
      str("ResourceArn", resource_arn);
      str("Policy", policy);
      break;
    case Op::kDeleteResourcePolicy:
      opt("Actor", actor);
      opt("At", at);
      str("ResourceArn", resource_arn);
      break;
    case Op::kUpgrade:
      opt("Actor", actor);
      opt("At", at);
      break;
  }
  out.push_back('}');
  return out;
}

}  // namespace sellerflow::engine
