// Run-time values of the rule language: a small trivially-copyable handle onto arena-owned data.
#ifndef SELLERFLOW_DSL_VALUE_H_
#define SELLERFLOW_DSL_VALUE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/decimal.h"
#include "dsl/time.h"
#include "dsl/types.h"

namespace sellerflow::dsl {

// Thrown by an Arena asked for more than its limit: the evaluator's entry points catch it and end
// the evaluation in a limit error (evaluation never throws to its callers).
struct ArenaLimitReached {
  size_t limit;
};

// A bump allocator. Values never own memory: whatever they point at lives in an Arena (or in a
// structure that outlives them). Reset() keeps the first block, so an evaluation that reuses an
// arena allocates nothing from the heap once warm.
class Arena {
 public:
  explicit Arena(size_t block_size = 4096);
  ~Arena();
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;

  void* Allocate(size_t bytes, size_t align = alignof(std::max_align_t));
  template <typename T>
  T* AllocateArray(size_t n) {
    return static_cast<T*>(Allocate(sizeof(T) * n, alignof(T)));
  }
  // Frees everything allocated since construction; keeps the first block for reuse.
  void Reset();
  size_t bytes_used() const { return used_; }
  // Allocate throws ArenaLimitReached rather than let bytes_used() pass `bytes`.
  void set_limit(size_t bytes) { limit_ = bytes; }
  size_t limit() const { return limit_; }

 private:
  struct Block;
  Block* head_ = nullptr;
  Block* first_ = nullptr;
  size_t block_size_;
  size_t used_ = 0;
  size_t limit_ = SIZE_MAX;
};

enum class ValueKind : uint8_t {
  kNull,
  kBool,
  kInt,
  kDecimal,
  kString,
  kDate,
  kTimestamp,
  kDuration,
  kList,
  kMap,
  kObject,
  kError,  // Evaluation failed: an error is a value, carrying its message and source position.
};

// Where in a rules file an expression starts; errors carry it.
struct SourcePos {
  uint32_t line = 0;  // 1-based; 0 = unknown.
  uint32_t column = 0;
};

struct Value;

struct StringRep {
  uint32_t bytes;
  uint32_t code_points;  // Counted once when the string is made, so len() is O(1).
  char data[];           // UTF-8, not NUL-terminated.
};

struct ListRep {
  uint32_t size;
  Value* items;
};

struct MapEntry;
struct MapRep {
  uint32_t size;
  MapEntry* entries;  // Sorted by key bytes, unique keys.
};

struct ObjectRep {
  const Type* type;  // kObject; slot i holds field i. A missing optional field is kAbsent error.
  Value* slots;
};

enum class ErrorKind : uint8_t {
  kAbsent,    // A field, key or index that is not there; `??` and has() deal with these.
  kType,      // An operation on a dyn value of the wrong kind.
  kOverflow,  // Integer or decimal overflow.
  kDivision,  // Division by zero.
  kRange,     // A bad date, an out-of-range conversion, min() of nothing.
  kLimit,     // An evaluation limit was reached.
  kInvalid,   // Anything else: a malformed argument.
};

struct ErrorRep {
  ErrorKind kind;
  SourcePos pos;
  uint32_t message_bytes;
  char message[];
};

// 16 bytes, so that a Value is returned in registers: every node of the evaluator returns one.
struct Value {
  ValueKind kind = ValueKind::kNull;
  uint8_t scale_ = 0;   // kDecimal: the decimal's scale.
  int32_t months_ = 0;  // kDuration: the calendar part.
  union {
    bool b;
    int64_t i;     // kInt; kDecimal: the coefficient; kDuration: the micros.
    int32_t date;  // kDate: days since 1970-01-01.
    int64_t ts;    // kTimestamp: microseconds since 1970-01-01T00:00:00Z.
    const StringRep* s;
    const ListRep* list;
    const MapRep* map;
    const ObjectRep* obj;
    const ErrorRep* err;
  };

  Value() : i(0) {}
  Decimal dec() const { return Decimal{i, scale_}; }
  Duration dur() const { return Duration{months_, i}; }
  static Value Null() { return Value(); }
  static Value Bool(bool v) {
    Value r;
    r.kind = ValueKind::kBool;
    r.b = v;
    return r;
  }
  static Value Int(int64_t v) {
    Value r;
    r.kind = ValueKind::kInt;
    r.i = v;
    return r;
  }
  static Value Dec(Decimal v) {
    Value r;
    r.kind = ValueKind::kDecimal;
    r.i = v.coefficient;
    r.scale_ = static_cast<uint8_t>(v.scale);
    return r;
  }
  static Value Date(int32_t days) {
    Value r;
    r.kind = ValueKind::kDate;
    r.date = days;
    return r;
  }
  static Value Timestamp(int64_t micros) {
    Value r;
    r.kind = ValueKind::kTimestamp;
    r.ts = micros;
    return r;
  }
  static Value Dur(Duration d) {
    Value r;
    r.kind = ValueKind::kDuration;
    r.months_ = d.months;
    r.i = d.micros;
    return r;
  }
  static Value Str(const StringRep* s) {
    Value r;
    r.kind = ValueKind::kString;
    r.s = s;
    return r;
  }
  static Value List(const ListRep* l) {
    Value r;
    r.kind = ValueKind::kList;
    r.list = l;
    return r;
  }
  static Value MapOf(const MapRep* m) {
    Value r;
    r.kind = ValueKind::kMap;
    r.map = m;
    return r;
  }
  static Value Obj(const ObjectRep* o) {
    Value r;
    r.kind = ValueKind::kObject;
    r.obj = o;
    return r;
  }
  static Value Err(const ErrorRep* e) {
    Value r;
    r.kind = ValueKind::kError;
    r.err = e;
    return r;
  }

  bool is_error() const { return kind == ValueKind::kError; }
  bool is_absent() const { return kind == ValueKind::kError && err->kind == ErrorKind::kAbsent; }
  std::string_view str() const { return {s->data, s->bytes}; }
  std::string_view error_message() const { return {err->message, err->message_bytes}; }
};

static_assert(sizeof(Value) == 16, "a Value must fit two registers");

struct MapEntry {
  Value key;  // kString
  Value value;
};

// Builders: all memory comes from the arena.
const StringRep* MakeString(Arena& arena, std::string_view utf8);  // Counts code points.
Value StringValue(Arena& arena, std::string_view utf8);
Value ErrorValue(Arena& arena, ErrorKind kind, SourcePos pos, std::string_view message);
ListRep* MakeList(Arena& arena, uint32_t size);                // Items default to null; fill them.
MapRep* MakeMap(Arena& arena, std::vector<MapEntry> entries);  // Sorts; last duplicate wins.
ObjectRep* MakeObject(Arena& arena, const Type* type);         // Every slot starts absent.
// The shared "absent" value for object slots that have no data (no position, no allocation).
Value AbsentSlot();

// Lookup helpers; both return nullptr when the key is missing.
const Value* MapFind(const MapRep& map, std::string_view key);

// Deep equality as the language defines `==`: numbers compare across int and decimal, lists
// element-wise, maps and objects key by key. Errors are never equal to anything.
bool ValuesEqual(const Value& a, const Value& b);
// Ordering for sort/min/max and <: -1, 0, 1; `comparable` is set false for mismatched kinds.
int CompareValues(const Value& a, const Value& b, bool* comparable);

// JSON text of a value, with keys in order: strings quoted and escaped, decimals exact
// ("250000.00"), dates "2026-01-01", timestamps RFC 3339, durations ISO 8601 ("PT24H").
// Errors print as {"error": "...", "line": L, "column": C}.
std::string ToJson(const Value& v);
// The text a message template shows for a value: strings bare, everything else as ToJson.
std::string ToDisplay(const Value& v);
void AppendDisplay(const Value& v, std::string* out);
void AppendJson(const Value& v, std::string* out);

const char* ValueKindName(ValueKind kind);

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_VALUE_H_
