// The static types of the rule language: what the checker knows about data before it runs.
#ifndef SELLERFLOW_DSL_TYPES_H_
#define SELLERFLOW_DSL_TYPES_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sellerflow::dsl {

enum class TypeKind {
  kDyn,  // Unknown until run time: every operation is checked when it runs.
  kNull,
  kBool,
  kInt,
  kDecimal,
  kString,
  kDate,
  kTimestamp,
  kDuration,
  kList,    // elem() is the element type.
  kMap,     // String keys; elem() is the value type.
  kObject,  // Declared fields, each at a fixed slot.
};

class Type;
// Types are immutable once built and shared; a Type outlives every value that points at it.
using TypePtr = std::shared_ptr<const Type>;

struct Field {
  std::string name;
  TypePtr type;
  bool optional = false;  // May be absent: reading it needs has() or ??.
};

class Type {
 public:
  // Scalars are singletons.
  static TypePtr Dyn();
  static TypePtr Null();
  static TypePtr Bool();
  static TypePtr Int();
  static TypePtr Decimal();
  static TypePtr String();
  static TypePtr Date();
  static TypePtr Timestamp();
  static TypePtr Duration();
  static TypePtr Scalar(TypeKind kind);
  static TypePtr List(TypePtr elem);
  static TypePtr Map(TypePtr value);
  // Fields keep the given order; that order is the slot order of object values.
  static TypePtr Object(std::vector<Field> fields);

  TypeKind kind() const { return kind_; }
  const TypePtr& elem() const { return elem_; }
  const std::vector<Field>& fields() const { return fields_; }
  // Slot of the named field, or -1.
  int FieldIndex(std::string_view name) const;

  // "list<string>", "{ProductTitle?: string}", as the type syntax writes it.
  std::string ToString() const;

  bool IsNumeric() const { return kind_ == TypeKind::kInt || kind_ == TypeKind::kDecimal; }

  // Whether a value of type `from` may stand where `to` is expected (dyn fits both ways).
  static bool Assignable(const Type& from, const Type& to);
  static bool Equal(const Type& a, const Type& b);

  Type(TypeKind kind, TypePtr elem, std::vector<Field> fields);

 private:
  TypeKind kind_;
  TypePtr elem_;
  std::vector<Field> fields_;
  std::map<std::string, int, std::less<>> index_;
};

const char* TypeKindName(TypeKind kind);
// "an int", "a string", "an object {A: int}": a type or kind name with its article, for messages.
std::string WithArticle(std::string_view noun);

// The declared variables a rule may read, by name (e.g. "details", "entity").
using TypeEnv = std::map<std::string, TypePtr, std::less<>>;

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_TYPES_H_
