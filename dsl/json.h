// JSON in and out of rule-language values: typed by a declared schema, or typed by inference.
#ifndef SELLERFLOW_DSL_JSON_H_
#define SELLERFLOW_DSL_JSON_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/types.h"
#include "dsl/value.h"

namespace sellerflow::dsl {

// One problem with a JSON document, at a field path such as "details.Highlights[2]".
struct JsonIssue {
  std::string path;
  std::string message;  // "expected string, found number"
};

// A place in a JSON document, as messages spell it: "a.b[2]", or a["odd key"] for a key that does
// not read as a name. Built as a chain of steps on the stack and spelled out only when a message
// needs it: most documents have no problem, and spelling every field's path costs more than
// reading the field. A step holds views: its key, and its parent, must outlive it.
class JsonPath {
 public:
  explicit JsonPath(std::string_view root = {}) : key_(root) {}
  JsonPath(const JsonPath& parent, std::string_view key) : parent_(&parent), key_(key) {}
  JsonPath(const JsonPath& parent, size_t index)
      : parent_(&parent), index_(index), is_index_(true) {}

  std::string str() const;

 private:
  const JsonPath* parent_ = nullptr;  // nullptr: the root, whose text is key_.
  std::string_view key_;
  size_t index_ = 0;
  bool is_index_ = false;
};

// The path one step below `base`: FieldPath("a", "b") is "a.b", IndexPath("a", 2) is "a[2]".
std::string FieldPath(std::string_view base, std::string_view key);
std::string IndexPath(std::string_view base, size_t index);

// Reads `json` as a value of `type` into `arena`. Every mismatch is collected into *issues (not
// just the first), with its path under `root_path`; on any issue *out is left null and false is
// returned. Rules of the conversion:
// - object: declared fields go to their slots; an unknown key is an issue naming the allowed ones;
//   a missing or null optional field is absent; a missing or null required field is an issue.
// - int: a JSON integer within 64 bits. decimal: a JSON number or a numeric string, read from its
//   text exactly. date/timestamp/duration: a string in the format time.h accepts.
// - map: an object whose values are of the value type. dyn: whatever the JSON is, typed by
//   inference (below).
// Syntax errors, invalid UTF-8, and nesting past kMaxJsonDepth are issues at path "" with the
// byte offset in the message.
bool JsonToValue(std::string_view json, const TypePtr& type, std::string_view root_path,
                 Arena& arena, Value* out, std::vector<JsonIssue>* issues);

// Infers the type of a JSON document: objects become object types whose fields are required
// when present in every instance seen (lists of objects merge their fields), integers int, other
// numbers decimal, strings string, empty or mixed lists list<dyn>, null null.
// Returns nullptr and fills *issues on malformed JSON.
TypePtr InferJsonType(std::string_view json, std::vector<JsonIssue>* issues);

// A JSON number's text, split by JSON's grammar. Its value is read from the digits, never through
// binary floating point, so "0.1" is exactly one tenth.
struct JsonNumber {
  bool negative = false;
  std::string_view int_digits;
  std::string_view frac_digits;
  bool has_fraction = false;
  bool has_exponent = false;
  int64_t exponent = 0;  // Saturated far beyond any representable decimal.
};
// -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? ; false when `text` is not one.
bool SplitJsonNumber(std::string_view text, JsonNumber* out);
// The integer, when the number has no fraction or exponent and fits 64 bits.
std::optional<int64_t> JsonNumberToInt(const JsonNumber& n);
// The exact decimal (scale as written when there is no exponent); on failure *why says why.
bool JsonNumberToDecimal(std::string_view text, const JsonNumber& n, Decimal* out,
                         std::string* why);

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_JSON_H_
