// The static types of the rule language: singletons for scalars, structural equality and
// assignability.
#include "dsl/types.h"

#include <utility>

namespace sellerflow::dsl {

Type::Type(TypeKind kind, TypePtr elem, std::vector<Field> fields)
    : kind_(kind), elem_(std::move(elem)), fields_(std::move(fields)) {
  for (size_t i = 0; i < fields_.size(); ++i) {
    // The first declaration of a name keeps its slot; the checker reports duplicates itself.
    index_.emplace(fields_[i].name, static_cast<int>(i));
  }
}

namespace {

TypePtr MakeScalar(TypeKind kind) {
  return std::make_shared<const Type>(kind, nullptr, std::vector<Field>{});
}

}  // namespace

TypePtr Type::Dyn() {
  static const TypePtr t = MakeScalar(TypeKind::kDyn);
  return t;
}
TypePtr Type::Null() {
  static const TypePtr t = MakeScalar(TypeKind::kNull);
  return t;
}
TypePtr Type::Bool() {
  static const TypePtr t = MakeScalar(TypeKind::kBool);
  return t;
}
TypePtr Type::Int() {
  static const TypePtr t = MakeScalar(TypeKind::kInt);
  return t;
}
TypePtr Type::Decimal() {
  static const TypePtr t = MakeScalar(TypeKind::kDecimal);
  return t;
}
TypePtr Type::String() {
  static const TypePtr t = MakeScalar(TypeKind::kString);
  return t;
}
TypePtr Type::Date() {
  static const TypePtr t = MakeScalar(TypeKind::kDate);
  return t;
}
TypePtr Type::Timestamp() {
  static const TypePtr t = MakeScalar(TypeKind::kTimestamp);
  return t;
}
TypePtr Type::Duration() {
  static const TypePtr t = MakeScalar(TypeKind::kDuration);
  return t;
}

TypePtr Type::Scalar(TypeKind kind) {
  switch (kind) {
    case TypeKind::kDyn:
      return Dyn();
    case TypeKind::kNull:
      return Null();
    case TypeKind::kBool:
      return Bool();
    case TypeKind::kInt:
      return Int();
    case TypeKind::kDecimal:
      return Decimal();
    case TypeKind::kString:
      return String();
    case TypeKind::kDate:
      return Date();
    case TypeKind::kTimestamp:
      return Timestamp();
    case TypeKind::kDuration:
      return Duration();
    case TypeKind::kList:
    case TypeKind::kMap:
    case TypeKind::kObject:
      break;
  }
  // Composite kinds are not scalars; dyn is the safe answer for a caller's mistake.
  return Dyn();
}

TypePtr Type::List(TypePtr elem) {
  return std::make_shared<const Type>(TypeKind::kList, elem ? std::move(elem) : Dyn(),
                                      std::vector<Field>{});
}

TypePtr Type::Map(TypePtr value) {
  return std::make_shared<const Type>(TypeKind::kMap, value ? std::move(value) : Dyn(),
                                      std::vector<Field>{});
}

TypePtr Type::Object(std::vector<Field> fields) {
  for (Field& f : fields) {
    if (!f.type) f.type = Dyn();
  }
  return std::make_shared<const Type>(TypeKind::kObject, nullptr, std::move(fields));
}

int Type::FieldIndex(std::string_view name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

std::string Type::ToString() const {
  switch (kind_) {
    case TypeKind::kList:
      return "list<" + elem_->ToString() + ">";
    case TypeKind::kMap:
      return "map<" + elem_->ToString() + ">";
    case TypeKind::kObject: {
      std::string out = "{";
      for (size_t i = 0; i < fields_.size(); ++i) {
        if (i > 0) out += ", ";
        out += fields_[i].name;
        if (fields_[i].optional) out += "?";
        out += ": ";
        out += fields_[i].type->ToString();
      }
      out += "}";
      return out;
    }
    default:
      return TypeKindName(kind_);
  }
}

bool Type::Assignable(const Type& from, const Type& to) {
  if (from.kind_ == TypeKind::kDyn || to.kind_ == TypeKind::kDyn) return true;
  if (from.kind_ != to.kind_) return false;
  switch (from.kind_) {
    case TypeKind::kList:
    case TypeKind::kMap:
      return Assignable(*from.elem_, *to.elem_);
    case TypeKind::kObject: {
      // Object values are read by slot, so the layouts must line up field for field. A field that
      // is always present may stand where one that may be absent is expected, not the reverse.
      if (from.fields_.size() != to.fields_.size()) return false;
      for (size_t i = 0; i < from.fields_.size(); ++i) {
        const Field& f = from.fields_[i];
        const Field& t = to.fields_[i];
        if (f.name != t.name) return false;
        if (f.optional && !t.optional) return false;
        if (!Assignable(*f.type, *t.type)) return false;
      }
      return true;
    }
    default:
      return true;
  }
}

bool Type::Equal(const Type& a, const Type& b) {
  if (&a == &b) return true;
  if (a.kind_ != b.kind_) return false;
  switch (a.kind_) {
    case TypeKind::kList:
    case TypeKind::kMap:
      return Equal(*a.elem_, *b.elem_);
    case TypeKind::kObject:
      if (a.fields_.size() != b.fields_.size()) return false;
      for (size_t i = 0; i < a.fields_.size(); ++i) {
        if (a.fields_[i].name != b.fields_[i].name ||
            a.fields_[i].optional != b.fields_[i].optional ||
            !Equal(*a.fields_[i].type, *b.fields_[i].type)) {
          return false;
        }
      }
      return true;
    default:
      return true;
  }
}

const char* TypeKindName(TypeKind kind) {
  switch (kind) {
    case TypeKind::kDyn:
      return "dyn";
    case TypeKind::kNull:
      return "null";
    case TypeKind::kBool:
      return "bool";
    case TypeKind::kInt:
      return "int";
    case TypeKind::kDecimal:
      return "decimal";
    case TypeKind::kString:
      return "string";
    case TypeKind::kDate:
      return "date";
    case TypeKind::kTimestamp:
      return "timestamp";
    case TypeKind::kDuration:
      return "duration";
    case TypeKind::kList:
      return "list";
    case TypeKind::kMap:
      return "map";
    case TypeKind::kObject:
      return "object";
  }
  return "?";
}

std::string WithArticle(std::string_view noun) {
  if (!noun.empty() && noun[0] == '{') return "an object " + std::string(noun);
  bool vowel =
      !noun.empty() && std::string_view("aeiouAEIOU").find(noun[0]) != std::string_view::npos;
  return std::string(vowel ? "an " : "a ") + std::string(noun);
}

}  // namespace sellerflow::dsl
