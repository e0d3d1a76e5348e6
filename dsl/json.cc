// JSON documents read into rule-language values against a declared type, or typed by inference.
#include "dsl/json.h"

#include <simdjson.h>

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <utility>

#include "dsl/decimal.h"
#include "dsl/diagnostics.h"
#include "dsl/limits.h"
#include "dsl/time.h"
#include "dsl/utf8.h"

namespace sellerflow::dsl {

namespace {

namespace od = simdjson::ondemand;

// Past this many issues a document is hopeless; more would only bury the first ones.
constexpr size_t kMaxIssues = 100;
// Long numbers and strings are shortened in messages.
constexpr size_t kMaxQuotedChars = 24;

// ---- Text helpers ------------------------------------------------------------------------

bool IsIdentifier(std::string_view s) {
  if (s.empty()) return false;
  auto alpha = [](char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; };
  if (!alpha(s[0])) return false;
  for (char c : s) {
    if (!alpha(c) && !(c >= '0' && c <= '9')) return false;
  }
  return true;
}

}  // namespace

std::string FieldPath(std::string_view base, std::string_view key) {
  std::string out(base);
  if (IsIdentifier(key)) {
    if (!out.empty()) out.push_back('.');
    out.append(key);
  } else {
    out.push_back('[');
    AppendJsonString(key, &out);
    out.push_back(']');
  }
  return out;
}

std::string IndexPath(std::string_view base, size_t index) {
  std::string out(base);
  out.push_back('[');
  out.append(std::to_string(index));
  out.push_back(']');
  return out;
}

std::string JsonPath::str() const {
  if (parent_ == nullptr) return std::string(key_);
  std::string base = parent_->str();
  return is_index_ ? IndexPath(base, index_) : FieldPath(base, key_);
}

namespace {

// A number's text for a message, shortened when long: "123456789012345678901234... (400
// characters)".
std::string ShortText(std::string_view text) {
  if (text.size() <= kMaxQuotedChars) return std::string(text);
  size_t cut = kMaxQuotedChars;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return std::string(text.substr(0, cut)) + "... (" + std::to_string(text.size()) + " characters)";
}

std::string Quoted(std::string_view text) {
  std::string out;
  AppendJsonString(ShortText(text), &out);
  return out;
}

// How a type is named in messages: objects by kind alone, since their full text can be long.
std::string TypeLabel(const Type& type) {
  switch (type.kind()) {
    case TypeKind::kObject:
      return "object";
    case TypeKind::kList:
      return "list<" + TypeLabel(*type.elem()) + ">";
    case TypeKind::kMap:
      return "map<" + TypeLabel(*type.elem()) + ">";
    default:
      return TypeKindName(type.kind());
  }
}

const char* JsonKindName(od::json_type t) {
  switch (t) {
    case od::json_type::array:
      return "array";
    case od::json_type::object:
      return "object";
    case od::json_type::number:
      return "number";
    case od::json_type::string:
      return "string";
    case od::json_type::boolean:
      return "boolean";
    case od::json_type::null:
      return "null";
  }
  return "value";
}

std::string_view TrimJsonSpace(std::string_view s) {
  while (!s.empty() &&
         (s.back() == ' ' || s.back() == '\t' || s.back() == '\n' || s.back() == '\r')) {
    s.remove_suffix(1);
  }
  return s;
}

// ---- Checks before simdjson sees the text --------------------------------------------------

bool Precheck(std::string_view json, std::vector<JsonIssue>* issues, bool full = false) {
  // UTF-8 is left to simdjson, which checks it at its own speed (see Walker::Syntax).
  // simdjson would accept 1024 levels; our bound is lower and checked here, strings respected.
  // Most documents open fewer brackets than the bound in all: then none can be too deep, and a
  // branch-free count (which the compiler vectorizes) is all it takes.
  size_t opens = 0;
  for (char c : json) opens += static_cast<size_t>((c == '[') | (c == '{'));
  if (opens <= kMaxJsonDepth && !full) return true;
  size_t depth = 0;
  bool in_string = false;
  for (size_t i = 0; i < json.size(); ++i) {
    char c = json[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      } else if (static_cast<unsigned char>(c) < 0x20) {
        // simdjson rejects these too, but cannot say where.
        issues->push_back({"", "invalid JSON at byte " + std::to_string(i) +
                                   ": unescaped control character in a string"});
        return false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) {
        issues->push_back({"", "JSON nested deeper than " + std::to_string(kMaxJsonDepth) +
                                   " levels at byte " + std::to_string(i)});
        return false;
      }
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return true;
}

// The document wrapped in one array, so that scalar and composite roots are read alike; byte
// offsets in it are one past those of the caller's text.
simdjson::padded_string Wrap(std::string_view json) {
  std::string text;
  text.reserve(json.size() + 2);
  text.push_back('[');
  text.append(json);
  text.push_back(']');
  return simdjson::padded_string(text);
}

// ---- The walk shared by conversion and inference -------------------------------------------

class Walker {
 public:
  Walker(std::string_view json, std::vector<JsonIssue>* issues)
      : json_(json), issues_(issues), first_issue_(issues->size()) {}

  bool failed() const { return failed_; }

  // Parses the wrapped document and calls visit(value) on the root.
  template <typename Visit>
  void Run(Visit visit) {
    padded_ = Wrap(json_);
    base_ = padded_.data();
    od::document doc;
    // One parser per thread, kept: its buffers are allocated once, not per document. Its depth
    // limit is ours (plus the wrapping array), so deep input stops inside simdjson.
    static thread_local od::parser parser;
    static thread_local bool allocated = false;
    if (!allocated) {
      allocated = parser.allocate(4096, kMaxJsonDepth + 1) == simdjson::SUCCESS;
    }
    if (auto err = parser.iterate(padded_).get(doc)) {
      Syntax(err, nullptr);
      return;
    }
    doc_ = &doc;
    od::array root;
    if (auto err = doc.get_array().get(root)) {
      Syntax(err, nullptr);
      return;
    }
    size_t count = 0;
    for (auto element : root) {
      od::value v;
      if (auto err = element.get(v)) {
        Syntax(err, nullptr);
        return;
      }
      if (count++ > 0) {
        SyntaxAt(LocationOf(v), "unexpected text after the JSON value");
        return;
      }
      visit(v);
      if (stopped_) return;
    }
    if (count == 0) {
      Fail("", "empty JSON document");
      return;
    }
    // current_location() fails only once the iterator has passed the last token.
    const char* rest = nullptr;
    if (!doc.current_location().get(rest)) SyntaxAt(rest, "unexpected text after the JSON value");
  }

  // Records an issue with the data (the JSON itself is fine).
  void Fail(std::string path, std::string message) {
    failed_ = true;
    if (stopped_) return;
    if (issues_->size() - first_issue_ >= kMaxIssues) {
      issues_->push_back({"", "too many issues; stopped after " + std::to_string(kMaxIssues)});
      stopped_ = true;
      return;
    }
    issues_->push_back({std::move(path), std::move(message)});
  }

  // Records malformed JSON and stops the walk: the iterator cannot be trusted past it.
  void Syntax(simdjson::error_code err, const char* at) {
    // simdjson knows that something is wrong but not always where: our own scan says where.
    if (err == simdjson::DEPTH_ERROR || err == simdjson::UNESCAPED_CHARS) {
      std::vector<JsonIssue> precise;
      if (!Precheck(json_, &precise, /*full=*/true) && !precise.empty()) {
        Fail(precise[0].path, precise[0].message);
        stopped_ = true;
        return;
      }
    }
    if (err == simdjson::UTF8_ERROR) {
      // simdjson checks the encoding but cannot say where it broke.
      size_t bad = 0;
      ValidUtf8(json_, &bad);
      Fail("", "invalid UTF-8 at byte " + std::to_string(bad));
      return;
    }
    SyntaxAt(at != nullptr ? at : Location(), simdjson::error_message(err));
  }

  void SyntaxAt(const char* at, std::string_view what) {
    if (stopped_) return;
    failed_ = true;
    stopped_ = true;
    // simdjson reads lazily, so data issues may come before the syntax error; in a malformed
    // document they are noise next to it.
    issues_->resize(first_issue_);
    size_t offset = json_.size();
    if (at != nullptr && at >= base_) {
      size_t o = static_cast<size_t>(at - base_);
      offset = o == 0 ? 0 : o - 1;
      if (offset > json_.size()) offset = json_.size();
    }
    issues_->push_back(
        {"", "invalid JSON at byte " + std::to_string(offset) + ": " + std::string(what)});
  }

  bool stopped() const { return stopped_; }

  const char* Location() {
    const char* at = nullptr;
    if (doc_ == nullptr || doc_->current_location().get(at)) return nullptr;
    return at;
  }

  static const char* LocationOf(od::value& v) { return v.raw_json_token().data(); }

  // The kind of a value, or nullopt after recording a syntax issue.
  std::optional<od::json_type> KindOf(od::value& v) {
    od::json_type t;
    if (auto err = v.type().get(t)) {
      Syntax(err, LocationOf(v));
      return std::nullopt;
    }
    return t;
  }

  // Checks that a true/false/null token is spelled right; simdjson only looked at its first byte.
  bool Literal(od::value& v, std::string_view expected) {
    std::string_view raw = TrimJsonSpace(v.raw_json_token());
    if (raw == expected) return true;
    SyntaxAt(raw.data(), "invalid literal " + ShortText(raw));
    return false;
  }

  std::optional<bool> Boolean(od::value& v) {
    std::string_view raw = TrimJsonSpace(v.raw_json_token());
    if (raw == "true") return true;
    if (raw == "false") return false;
    SyntaxAt(raw.data(), "invalid literal " + ShortText(raw));
    return std::nullopt;
  }

  // The number's raw text and its parts, or nullopt after a syntax issue.
  std::optional<std::pair<std::string_view, JsonNumber>> Number(od::value& v) {
    std::string_view raw = TrimJsonSpace(v.raw_json_token());
    JsonNumber n;
    if (!SplitJsonNumber(raw, &n)) {
      SyntaxAt(raw.data(), "invalid number " + ShortText(raw));
      return std::nullopt;
    }
    return std::make_pair(raw, n);
  }

  std::optional<std::string_view> String(od::value& v) {
    const char* at = LocationOf(v);
    std::string_view s;
    if (auto err = v.get_string().get(s)) {
      Syntax(err, at);
      return std::nullopt;
    }
    return s;
  }

 private:
  std::string_view json_;
  std::vector<JsonIssue>* issues_;
  size_t first_issue_;
  simdjson::padded_string padded_;
  const char* base_ = nullptr;
  od::document* doc_ = nullptr;
  bool failed_ = false;
  bool stopped_ = false;
};

// ---- Typed conversion ----------------------------------------------------------------------

class Converter {
 public:
  Converter(Walker& walker, Arena& arena) : w_(walker), arena_(arena) {}

  // Converts v as `type`; *out is set only when v converted cleanly.
  void Convert(od::value& v, const Type& type, const JsonPath& path, Value* out) {
    std::optional<od::json_type> kind = w_.KindOf(v);
    if (!kind) return;
    od::json_type jt = *kind;
    if (type.kind() == TypeKind::kDyn) {
      ConvertDyn(v, jt, path, out);
      return;
    }
    switch (type.kind()) {
      case TypeKind::kNull:
        if (jt != od::json_type::null) break;
        if (w_.Literal(v, "null")) *out = Value::Null();
        return;
      case TypeKind::kBool:
        if (jt != od::json_type::boolean) break;
        if (auto b = w_.Boolean(v)) *out = Value::Bool(*b);
        return;
      case TypeKind::kInt:
        if (jt != od::json_type::number) break;
        ConvertInt(v, path, out);
        return;
      case TypeKind::kDecimal:
        if (jt == od::json_type::number) {
          ConvertDecimalNumber(v, path, out);
          return;
        }
        if (jt == od::json_type::string) {
          ConvertDecimalString(v, path, out);
          return;
        }
        break;
      case TypeKind::kString:
        if (jt != od::json_type::string) break;
        if (auto s = w_.String(v)) *out = StringValue(arena_, *s);
        return;
      case TypeKind::kDate:
      case TypeKind::kTimestamp:
      case TypeKind::kDuration:
        if (jt != od::json_type::string) break;
        ConvertTime(v, type.kind(), path, out);
        return;
      case TypeKind::kList:
        if (jt != od::json_type::array) break;
        ConvertList(v, *type.elem(), path, out);
        return;
      case TypeKind::kMap:
        if (jt != od::json_type::object) break;
        ConvertMap(v, *type.elem(), path, out);
        return;
      case TypeKind::kObject:
        if (jt != od::json_type::object) break;
        ConvertObject(v, type, path, out);
        return;
      case TypeKind::kDyn:
        return;
    }
    Mismatch(v, jt, type, path);
  }

 private:
  void Mismatch(od::value& v, od::json_type jt, const Type& type, const JsonPath& path) {
    // A misspelled literal is a syntax error, not a type mismatch.
    if (jt == od::json_type::null && !w_.Literal(v, "null")) return;
    if (jt == od::json_type::boolean && !w_.Boolean(v)) return;
    if (jt == od::json_type::number && !w_.Number(v)) return;
    w_.Fail(path.str(), "expected " + TypeLabel(type) + ", found " + JsonKindName(jt));
  }

  void ConvertInt(od::value& v, const JsonPath& path, Value* out) {
    auto number = w_.Number(v);
    if (!number) return;
    const auto& [raw, n] = *number;
    if (n.has_fraction || n.has_exponent) {
      w_.Fail(path.str(), "expected int, found number " + ShortText(raw));
      return;
    }
    std::optional<int64_t> i = JsonNumberToInt(n);
    if (!i) {
      w_.Fail(path.str(), "integer " + ShortText(raw) + " is outside the 64-bit range");
      return;
    }
    *out = Value::Int(*i);
  }

  void ConvertDecimalNumber(od::value& v, const JsonPath& path, Value* out) {
    auto number = w_.Number(v);
    if (!number) return;
    const auto& [raw, n] = *number;
    Decimal d{0, 0};
    std::string why;
    if (!JsonNumberToDecimal(raw, n, &d, &why)) {
      w_.Fail(path.str(), why);
      return;
    }
    *out = Value::Dec(d);
  }

  void ConvertDecimalString(od::value& v, const JsonPath& path, Value* out) {
    auto s = w_.String(v);
    if (!s) return;
    Decimal d{0, 0};
    switch (ParseDecimal(*s, &d)) {
      case DecimalStatus::kOk:
        *out = Value::Dec(d);
        return;
      case DecimalStatus::kTooManyDigits:
      case DecimalStatus::kOverflow:
        w_.Fail(path.str(), "decimal " + Quoted(*s) + " has more than " +
                                std::to_string(kMaxDecimalDigits) + " significant digits or " +
                                std::to_string(kMaxDecimalScale) + " decimal places");
        return;
      default:
        w_.Fail(path.str(), "expected decimal, found string " + Quoted(*s));
        return;
    }
  }

  void ConvertTime(od::value& v, TypeKind kind, const JsonPath& path, Value* out) {
    auto s = w_.String(v);
    if (!s) return;
    if (kind == TypeKind::kDate) {
      int32_t days = 0;
      if (ParseDate(*s, &days)) {
        *out = Value::Date(days);
      } else {
        w_.Fail(path.str(), "invalid date " + Quoted(*s) + " (expected YYYY-MM-DD)");
      }
    } else if (kind == TypeKind::kTimestamp) {
      int64_t micros = 0;
      if (ParseTimestamp(*s, &micros)) {
        *out = Value::Timestamp(micros);
      } else {
        w_.Fail(path.str(), "invalid timestamp " + Quoted(*s) +
                                " (expected RFC 3339, e.g. 2026-01-31T12:00:00Z)");
      }
    } else {
      Duration d{0, 0};
      if (ParseDuration(*s, &d)) {
        *out = Value::Dur(d);
      } else {
        w_.Fail(path.str(),
                "invalid duration " + Quoted(*s) + " (expected ISO 8601 such as PT24H, or 24h)");
      }
    }
  }

  void ConvertList(od::value& v, const Type& elem, const JsonPath& path, Value* out) {
    od::array array;
    if (auto err = v.get_array().get(array)) {
      w_.Syntax(err, nullptr);
      return;
    }
    // Items gather on one stack shared by every list of the document (a nested list's items sit
    // above its parent's and are gone before the parent's next item), not a vector per list.
    const size_t base = items_.size();
    struct Unwind {
      std::vector<Value>& items;
      size_t base;
      ~Unwind() { items.resize(base); }
    } unwind{items_, base};
    bool ok = true;
    size_t index = 0;
    for (auto element : array) {
      od::value item;
      if (auto err = element.get(item)) {
        w_.Syntax(err, nullptr);
        return;
      }
      Value converted;
      bool set = Produce(item, elem, JsonPath(path, index), &converted);
      if (w_.stopped()) return;
      ok = ok && set;
      items_.push_back(converted);
      ++index;
    }
    if (!ok) return;
    const size_t n = items_.size() - base;
    ListRep* list = MakeList(arena_, static_cast<uint32_t>(n));
    for (size_t i = 0; i < n; ++i) list->items[i] = items_[base + i];
    *out = Value::List(list);
  }

  // How reading one object member went: fine, wrong (reading goes on, to find every issue), or
  // stopped (a syntax error, already reported).
  enum class Step { kOk, kBad, kStop };

  // Calls visit(key, key_path, value) for each member of the object `v`, in order: kBad when
  // any member was wrong, kStop when the object could not be read.
  template <typename Visit>
  Step EachMember(od::value& v, const JsonPath& path, Visit visit) {
    od::object object;
    if (auto err = v.get_object().get(object)) {
      w_.Syntax(err, nullptr);
      return Step::kStop;
    }
    Step result = Step::kOk;
    for (auto member : object) {
      od::field field;
      if (auto err = std::move(member).get(field)) {
        w_.Syntax(err, nullptr);
        return Step::kStop;
      }
      std::string_view key_view;
      if (auto err = field.unescaped_key().get(key_view)) {
        w_.Syntax(err, nullptr);
        return Step::kStop;
      }
      std::string key(key_view);
      Step step = visit(key, JsonPath(path, key), field.value());
      if (step == Step::kStop) return step;
      if (step == Step::kBad) result = Step::kBad;
    }
    return result;
  }

  void ConvertMap(od::value& v, const Type& elem, const JsonPath& path, Value* out) {
    std::vector<MapEntry> entries;
    std::vector<std::string> keys;
    Step read = EachMember(v, path,
                           [&](const std::string& key, const JsonPath& key_path, od::value& value) {
                             for (const std::string& k : keys) {
                               if (k == key) {
                                 w_.Fail(key_path.str(), "duplicate key " + Quoted(key));
                                 return Step::kBad;
                               }
                             }
                             keys.push_back(key);
                             Value converted;
                             bool set = Produce(value, elem, key_path, &converted);
                             if (w_.stopped()) return Step::kStop;
                             entries.push_back({StringValue(arena_, key), converted});
                             return set ? Step::kOk : Step::kBad;
                           });
    if (read != Step::kOk) return;
    *out = Value::MapOf(MakeMap(arena_, std::move(entries)));
  }

  void ConvertObject(od::value& v, const Type& type, const JsonPath& path, Value* out) {
    const std::vector<Field>& fields = type.fields();
    ObjectRep* rep = MakeObject(arena_, &type);
    std::vector<bool> seen(fields.size(), false);
    Step read =
        EachMember(v, path, [&](const std::string& key, const JsonPath& key_path, od::value& fv) {
          int slot = type.FieldIndex(key);
          if (slot < 0) {
            w_.Fail(key_path.str(), UnknownField(key, fields));
            return Step::kBad;
          }
          if (seen[slot]) {
            w_.Fail(key_path.str(), "duplicate field " + Quoted(key));
            return Step::kBad;
          }
          seen[slot] = true;
          const Field& f = fields[slot];
          std::optional<od::json_type> kind = w_.KindOf(fv);
          if (!kind) return Step::kStop;
          if (*kind == od::json_type::null) {
            if (!w_.Literal(fv, "null")) return Step::kStop;
            if (f.optional)
              return Step::kOk;  // Null and missing mean the same for an optional field.
            if (f.type->kind() == TypeKind::kNull || f.type->kind() == TypeKind::kDyn) {
              rep->slots[slot] = Value::Null();
              return Step::kOk;
            }
            w_.Fail(key_path.str(), "required field " + Quoted(key) + " is null (expected " +
                                        TypeLabel(*f.type) + ")");
            return Step::kBad;
          }
          bool set = Produce(fv, *f.type, key_path, &rep->slots[slot]);
          if (w_.stopped()) return Step::kStop;
          return set ? Step::kOk : Step::kBad;
        });
    if (read == Step::kStop) return;
    bool ok = read == Step::kOk;
    for (size_t i = 0; i < fields.size(); ++i) {
      if (!seen[i] && !fields[i].optional) {
        w_.Fail(FieldPath(path.str(), fields[i].name),
                "required field " + Quoted(fields[i].name) + " is missing");
        ok = false;
      }
    }
    if (ok) *out = Value::Obj(rep);
  }

  std::string UnknownField(const std::string& key, const std::vector<Field>& fields) {
    std::vector<std::string> names;
    names.reserve(fields.size());
    for (const Field& f : fields) names.push_back(f.name);
    std::string message = "unknown field " + Quoted(key) + "; allowed: ";
    if (names.empty()) message += "(none)";
    for (size_t i = 0; i < names.size(); ++i) {
      if (i > 0) message += ", ";
      message += names[i];
    }
    std::string near = NearestName(key, names);
    if (!near.empty()) message += " (did you mean " + Quoted(near) + "?)";
    return message;
  }

  // dyn: the JSON's own shape. Objects become maps, because an inferred object type would have to
  // outlive the arena's values and nothing here could own it.
  void ConvertDyn(od::value& v, od::json_type jt, const JsonPath& path, Value* out) {
    switch (jt) {
      case od::json_type::null:
        if (w_.Literal(v, "null")) *out = Value::Null();
        return;
      case od::json_type::boolean:
        if (auto b = w_.Boolean(v)) *out = Value::Bool(*b);
        return;
      case od::json_type::string:
        if (auto s = w_.String(v)) *out = StringValue(arena_, *s);
        return;
      case od::json_type::number: {
        auto number = w_.Number(v);
        if (!number) return;
        const auto& [raw, n] = *number;
        if (!n.has_fraction && !n.has_exponent) {
          if (std::optional<int64_t> i = JsonNumberToInt(n)) {
            *out = Value::Int(*i);
            return;
          }
        }
        Decimal d{0, 0};
        std::string why;
        if (!JsonNumberToDecimal(raw, n, &d, &why)) {
          w_.Fail(path.str(), why);
          return;
        }
        *out = Value::Dec(d);
        return;
      }
      case od::json_type::array:
        ConvertList(v, *Type::Dyn(), path, out);
        return;
      case od::json_type::object:
        ConvertMap(v, *Type::Dyn(), path, out);
        return;
    }
  }

  // Converts and reports whether a value came out.
  bool Produce(od::value& v, const Type& type, const JsonPath& path, Value* out) {
    Value result = AbsentSlot();
    Convert(v, type, path, &result);
    if (result.is_absent()) return false;
    *out = result;
    return true;
  }

  Walker& w_;
  Arena& arena_;
  std::vector<Value> items_;  // ConvertList's stack.
};

// ---- Inference ---------------------------------------------------------------------------

struct Inferred;
using InferredPtr = std::shared_ptr<const Inferred>;

struct InferredField {
  std::string name;
  bool required;
  InferredPtr type;
};

struct Inferred {
  enum class Kind { kNone, kNull, kBool, kInt, kDecimal, kString, kList, kObject, kDyn };
  Kind kind = Kind::kNone;  // kNone: nothing seen yet (the elements of an empty list).
  InferredPtr elem;
  std::vector<InferredField> fields;
};

InferredPtr MakeInferred(Inferred::Kind kind) {
  auto p = std::make_shared<Inferred>();
  p->kind = kind;
  return p;
}

InferredPtr Merge(const InferredPtr& a, const InferredPtr& b);

// A field's types merge like values, except that null next to a real type only makes the field
// optional (null reads as absent there).
InferredPtr MergeFieldType(const InferredPtr& a, const InferredPtr& b, bool* nullable) {
  if (a->kind == Inferred::Kind::kNull && b->kind != Inferred::Kind::kNull) {
    *nullable = true;
    return b;
  }
  if (b->kind == Inferred::Kind::kNull && a->kind != Inferred::Kind::kNull) {
    *nullable = true;
    return a;
  }
  return Merge(a, b);
}

InferredPtr MergeObjects(const Inferred& a, const Inferred& b) {
  auto r = std::make_shared<Inferred>();
  r->kind = Inferred::Kind::kObject;
  for (const InferredField& fa : a.fields) {
    const InferredField* fb = nullptr;
    for (const InferredField& f : b.fields) {
      if (f.name == fa.name) fb = &f;
    }
    if (fb == nullptr) {
      r->fields.push_back({fa.name, false, fa.type});
      continue;
    }
    bool nullable = false;
    InferredPtr t = MergeFieldType(fa.type, fb->type, &nullable);
    r->fields.push_back({fa.name, fa.required && fb->required && !nullable, t});
  }
  for (const InferredField& fb : b.fields) {
    bool in_a = false;
    for (const InferredField& f : a.fields) in_a = in_a || f.name == fb.name;
    if (!in_a) r->fields.push_back({fb.name, false, fb.type});
  }
  return r;
}

InferredPtr Merge(const InferredPtr& a, const InferredPtr& b) {
  using K = Inferred::Kind;
  if (a->kind == K::kNone) return b;
  if (b->kind == K::kNone) return a;
  if (a->kind == K::kDyn || b->kind == K::kDyn) return MakeInferred(K::kDyn);
  if (a->kind != b->kind) {
    bool numbers = (a->kind == K::kInt || a->kind == K::kDecimal) &&
                   (b->kind == K::kInt || b->kind == K::kDecimal);
    return MakeInferred(numbers ? K::kDecimal : K::kDyn);
  }
  if (a->kind == K::kList) {
    auto r = std::make_shared<Inferred>();
    r->kind = K::kList;
    r->elem = Merge(a->elem, b->elem);
    return r;
  }
  if (a->kind == K::kObject) return MergeObjects(*a, *b);
  return a;
}

TypePtr ToType(const Inferred& t) {
  using K = Inferred::Kind;
  switch (t.kind) {
    case K::kNone:
    case K::kDyn:
      return Type::Dyn();
    case K::kNull:
      return Type::Null();
    case K::kBool:
      return Type::Bool();
    case K::kInt:
      return Type::Int();
    case K::kDecimal:
      return Type::Decimal();
    case K::kString:
      return Type::String();
    case K::kList:
      return Type::List(ToType(*t.elem));
    case K::kObject: {
      std::vector<Field> fields;
      for (const InferredField& f : t.fields)
        fields.push_back({f.name, ToType(*f.type), !f.required});
      return Type::Object(std::move(fields));
    }
  }
  return Type::Dyn();
}

class Inferrer {
 public:
  explicit Inferrer(Walker& walker) : w_(walker) {}

  InferredPtr Infer(od::value& v) {
    using K = Inferred::Kind;
    std::optional<od::json_type> kind = w_.KindOf(v);
    if (!kind) return nullptr;
    switch (*kind) {
      case od::json_type::null:
        return w_.Literal(v, "null") ? MakeInferred(K::kNull) : nullptr;
      case od::json_type::boolean:
        return w_.Boolean(v) ? MakeInferred(K::kBool) : nullptr;
      case od::json_type::string:
        return w_.String(v) ? MakeInferred(K::kString) : nullptr;
      case od::json_type::number: {
        auto number = w_.Number(v);
        if (!number) return nullptr;
        return MakeInferred(JsonNumberToInt(number->second) ? K::kInt : K::kDecimal);
      }
      case od::json_type::array: {
        od::array array;
        if (auto err = v.get_array().get(array)) {
          w_.Syntax(err, nullptr);
          return nullptr;
        }
        InferredPtr elem = MakeInferred(K::kNone);
        for (auto element : array) {
          od::value item;
          if (auto err = element.get(item)) {
            w_.Syntax(err, nullptr);
            return nullptr;
          }
          InferredPtr t = Infer(item);
          if (t == nullptr) return nullptr;
          elem = Merge(elem, t);
        }
        auto r = std::make_shared<Inferred>();
        r->kind = K::kList;
        r->elem = elem;
        return r;
      }
      case od::json_type::object: {
        od::object object;
        if (auto err = v.get_object().get(object)) {
          w_.Syntax(err, nullptr);
          return nullptr;
        }
        auto r = std::make_shared<Inferred>();
        r->kind = K::kObject;
        for (auto member : object) {
          od::field field;
          if (auto err = std::move(member).get(field)) {
            w_.Syntax(err, nullptr);
            return nullptr;
          }
          std::string_view key;
          if (auto err = field.unescaped_key().get(key)) {
            w_.Syntax(err, nullptr);
            return nullptr;
          }
          std::string name(key);
          InferredPtr t = Infer(field.value());
          if (t == nullptr) return nullptr;
          InferredField* existing = nullptr;
          for (InferredField& f : r->fields) {
            if (f.name == name) existing = &f;
          }
          if (existing != nullptr) {
            // A repeated key: both values describe the one field.
            bool nullable = false;
            existing->type = MergeFieldType(existing->type, t, &nullable);
          } else {
            r->fields.push_back({std::move(name), true, t});
          }
        }
        return r;
      }
    }
    return nullptr;
  }

 private:
  Walker& w_;
};

}  // namespace

// ---- Numbers, read from their text so nothing passes through binary floating point ----------

// JSON number grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?
bool SplitJsonNumber(std::string_view s, JsonNumber* n) {
  size_t i = 0;
  auto digit = [&](size_t k) { return k < s.size() && s[k] >= '0' && s[k] <= '9'; };
  if (i < s.size() && s[i] == '-') {
    n->negative = true;
    ++i;
  }
  size_t start = i;
  if (!digit(i)) return false;
  if (s[i] == '0') {
    ++i;
  } else {
    while (digit(i)) ++i;
  }
  n->int_digits = s.substr(start, i - start);
  if (i < s.size() && s[i] == '.') {
    ++i;
    start = i;
    if (!digit(i)) return false;
    while (digit(i)) ++i;
    n->frac_digits = s.substr(start, i - start);
    n->has_fraction = true;
  }
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    ++i;
    bool negative_exp = false;
    if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
      negative_exp = s[i] == '-';
      ++i;
    }
    if (!digit(i)) return false;
    int64_t e = 0;
    while (digit(i)) {
      if (e < 1000000000) e = e * 10 + (s[i] - '0');
      ++i;
    }
    n->exponent = negative_exp ? -e : e;
    n->has_exponent = true;
  }
  return i == s.size();
}

// The integer value of a number written without fraction or exponent, when it fits 64 bits.
std::optional<int64_t> JsonNumberToInt(const JsonNumber& n) {
  if (n.has_fraction || n.has_exponent) return std::nullopt;
  uint64_t magnitude = 0;
  for (char c : n.int_digits) {
    if (__builtin_mul_overflow(magnitude, uint64_t{10}, &magnitude) ||
        __builtin_add_overflow(magnitude, static_cast<uint64_t>(c - '0'), &magnitude)) {
      return std::nullopt;
    }
  }
  uint64_t limit =
      static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) + (n.negative ? 1 : 0);
  if (magnitude > limit) return std::nullopt;
  return n.negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

// The exact decimal of a number; on failure *why says what is wrong with it.
bool JsonNumberToDecimal(std::string_view raw, const JsonNumber& n, Decimal* out,
                         std::string* why) {
  if (!n.has_exponent) {
    // Without an exponent JSON's number syntax is the decimal syntax, scale as written.
    DecimalStatus st = ParseDecimal(raw, out);
    if (st == DecimalStatus::kOk) return true;
    if (n.frac_digits.size() > static_cast<size_t>(kMaxDecimalScale)) {
      *why = "number " + ShortText(raw) + " has more than " + std::to_string(kMaxDecimalScale) +
             " decimal places";
    } else {
      *why = "number " + ShortText(raw) + " has more than " + std::to_string(kMaxDecimalDigits) +
             " significant digits";
    }
    return false;
  }
  // value = digits * 10^(exponent - fraction length); an exponent fixes no written scale, so the
  // smallest scale that holds the value exactly is used.
  std::string digits(n.int_digits);
  digits.append(n.frac_digits);
  size_t lead = digits.find_first_not_of('0');
  digits = lead == std::string::npos ? std::string() : digits.substr(lead);
  int64_t e = n.exponent - static_cast<int64_t>(n.frac_digits.size());
  while (!digits.empty() && digits.back() == '0' && e < 0) {
    digits.pop_back();
    ++e;
  }
  if (digits.empty()) {
    *out = Decimal{0, 0};
    return true;
  }
  if (e < -static_cast<int64_t>(kMaxDecimalScale)) {
    *why = "number " + ShortText(raw) + " has more than " + std::to_string(kMaxDecimalScale) +
           " decimal places";
    return false;
  }
  int64_t total_digits = static_cast<int64_t>(digits.size()) + (e > 0 ? e : 0);
  if (total_digits > kMaxDecimalDigits) {
    *why = "number " + ShortText(raw) + " is too large for a decimal (more than " +
           std::to_string(kMaxDecimalDigits) + " digits)";
    return false;
  }
  int64_t coefficient = 0;
  for (char c : digits) coefficient = coefficient * 10 + (c - '0');
  for (int64_t k = 0; k < e; ++k) coefficient *= 10;
  out->coefficient = n.negative ? -coefficient : coefficient;
  out->scale = e < 0 ? static_cast<int32_t>(-e) : 0;
  return true;
}

bool JsonToValue(std::string_view json, const TypePtr& type, std::string_view root_path,
                 Arena& arena, Value* out, std::vector<JsonIssue>* issues) {
  *out = Value::Null();
  size_t issues_before = issues->size();
  if (!Precheck(json, issues)) return false;
  const Type& t = type ? *type : *Type::Dyn();
  Walker walker(json, issues);
  Converter converter(walker, arena);
  Value result = AbsentSlot();
  JsonPath path(root_path);
  walker.Run([&](od::value& root) { converter.Convert(root, t, path, &result); });
  if (walker.failed() || issues->size() != issues_before || result.is_absent()) {
    if (issues->size() == issues_before)
      issues->push_back({std::string(root_path), "could not read the JSON value"});
    return false;
  }
  *out = result;
  return true;
}

TypePtr InferJsonType(std::string_view json, std::vector<JsonIssue>* issues) {
  if (!Precheck(json, issues)) return nullptr;
  Walker walker(json, issues);
  Inferrer inferrer(walker);
  InferredPtr inferred;
  walker.Run([&](od::value& root) { inferred = inferrer.Infer(root); });
  if (walker.failed() || inferred == nullptr) {
    if (issues->empty()) issues->push_back({"", "could not read the JSON document"});
    return nullptr;
  }
  return ToType(*inferred);
}

}  // namespace sellerflow::dsl
