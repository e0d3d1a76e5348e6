// The type checker: names, operand types, and presence of optional fields, all before anything
// runs.
#include "dsl/check.h"

#include <algorithm>
#include <cctype>

namespace sellerflow::dsl {
namespace {

bool IsDyn(const TypePtr& t) { return t->kind() == TypeKind::kDyn; }

bool Contains(const Facts& facts, const std::string& key) {
  return std::find(facts.begin(), facts.end(), key) != facts.end();
}

Facts Union(Facts a, const Facts& b) {
  for (const auto& f : b)
    if (!Contains(a, f)) a.push_back(f);
  return a;
}

Facts Intersect(const Facts& a, const Facts& b) {
  Facts out;
  for (const auto& f : a)
    if (Contains(b, f)) out.push_back(f);
  return out;
}

std::string Quote(const std::string& s) { return "'" + s + "'"; }

}  // namespace

TypePtr Unify(const TypePtr& a, const TypePtr& b) {
  if (!a || !b) return nullptr;
  if (Type::Equal(*a, *b)) return a;
  if (IsDyn(a) || IsDyn(b)) return Type::Dyn();
  if (a->IsNumeric() && b->IsNumeric()) return Type::Decimal();
  if (a->kind() == TypeKind::kNull) return b;
  if (b->kind() == TypeKind::kNull) return a;
  if (a->kind() == b->kind() && (a->kind() == TypeKind::kList || a->kind() == TypeKind::kMap)) {
    TypePtr e = Unify(a->elem(), b->elem());
    if (!e) return nullptr;
    return a->kind() == TypeKind::kList ? Type::List(e) : Type::Map(e);
  }
  return nullptr;
}

bool Comparable(const Type& a, const Type& b) {
  if (a.kind() == TypeKind::kDyn || b.kind() == TypeKind::kDyn) return true;
  if (a.IsNumeric() && b.IsNumeric()) return true;
  if (a.kind() == TypeKind::kNull || b.kind() == TypeKind::kNull) return a.kind() == b.kind();
  if (a.kind() != b.kind()) return false;
  if (a.kind() == TypeKind::kList || a.kind() == TypeKind::kMap)
    return Comparable(*a.elem(), *b.elem());
  return true;
}

Checker::Checker(const Source& source, const TypeEnv& env, std::vector<ConstantInfo>* constants,
                 std::function<bool(size_t)> ensure_constant, Diagnostics* diags)
    : source_(source),
      env_(env),
      constants_(constants),
      ensure_constant_(std::move(ensure_constant)),
      diags_(diags) {
  for (const auto& [name, type] : env_) var_names_.push_back(name);
}

void Checker::Error(const Expr& at, std::string message, std::string hint) {
  Error(at.begin, std::move(message), std::move(hint));
}

void Checker::Error(uint32_t offset, std::string message, std::string hint) {
  diags_->Add(Severity::kError, source_, offset, std::move(message), std::move(hint));
}

bool Checker::CheckCondition(Expr& e, const Facts& facts, const char* what) {
  TypePtr t = Check(e, facts);
  if (!t) return false;
  if (t->kind() != TypeKind::kBool && !IsDyn(t)) {
    Error(e, std::string(what) + " must be a bool, not " + t->ToString());
    return false;
  }
  return true;
}

TypePtr Checker::CheckTolerant(Expr& e, const Facts& facts) {
  ++tolerant_;
  TypePtr t = Check(e, facts);
  --tolerant_;
  return t;
}

TypePtr Checker::Check(Expr& e, const Facts& facts) {
  TypePtr t;
  switch (e.kind) {
    case ExprKind::kNull:
      t = Type::Null();
      break;
    case ExprKind::kBool:
      t = Type::Bool();
      break;
    case ExprKind::kInt:
      t = Type::Int();
      break;
    case ExprKind::kDecimal:
      t = Type::Decimal();
      break;
    case ExprKind::kString:
      t = Type::String();
      break;
    case ExprKind::kList:
      t = CheckList(e, facts);
      break;
    case ExprKind::kMap:
      t = CheckMap(e, facts);
      break;
    case ExprKind::kName:
      t = CheckName(e);
      break;
    case ExprKind::kField:
      t = CheckField(e, facts);
      break;
    case ExprKind::kIndex:
      t = CheckIndex(e, facts);
      break;
    case ExprKind::kCall:
      t = CheckCall(*this, e, facts);
      break;
    case ExprKind::kLambda:
      Error(e, "'" + e.text +
                   " => ...' is only allowed as the last argument of all, any, "
                   "filter, map or count");
      return nullptr;
    case ExprKind::kUnary:
      t = CheckUnary(e, facts);
      break;
    case ExprKind::kBinary:
      t = CheckBinary(e, facts);
      break;
    case ExprKind::kConditional:
      t = CheckConditional(e, facts);
      break;
  }
  e.type = t;
  return t;
}

const ConstantInfo* Checker::ConstantOf(const Expr& name) const {
  if (name.kind != ExprKind::kName || name.resolution != Resolution::kConstant) return nullptr;
  return &(*constants_)[static_cast<size_t>(name.slot)];
}

TypePtr Checker::CheckName(Expr& e) {
  for (size_t i = locals_.size(); i-- > 0;) {
    if (locals_[i].name == e.text) {
      e.resolution = Resolution::kLocal;
      e.slot = static_cast<int32_t>(i);
      return locals_[i].type;
    }
  }
  for (size_t i = 0; i < constants_->size(); ++i) {
    if ((*constants_)[i].name == e.text) {
      if (!ensure_constant_(i)) return nullptr;  // Its own error was reported where it stands.
      e.resolution = Resolution::kConstant;
      e.slot = static_cast<int32_t>(i);
      (*constants_)[i].used = true;
      return (*constants_)[i].type;
    }
  }
  auto it = env_.find(e.text);
  if (it != env_.end()) {
    e.resolution = Resolution::kVariable;
    e.slot = static_cast<int32_t>(std::distance(env_.begin(), it));
    return it->second;
  }
  std::vector<std::string> candidates;
  for (const auto& l : locals_) candidates.push_back(l.name);
  for (const auto& c : *constants_) candidates.push_back(c.name);
  candidates.insert(candidates.end(), var_names_.begin(), var_names_.end());
  std::string near = NearestName(e.text, candidates);
  std::string hint;
  if (!near.empty()) {
    hint = "did you mean " + Quote(near) + "?";
  } else if (var_names_.empty()) {
    hint = "no variables are declared here; give their types (--types) or data (--data)";
  } else {
    std::string names;
    for (const auto& n : var_names_) names += (names.empty() ? "" : ", ") + n;
    hint = "variables here: " + names;
  }
  Error(e, "unknown name " + Quote(e.text), hint);
  return nullptr;
}

std::string Checker::PathKey(const Expr& e) const {
  switch (e.kind) {
    case ExprKind::kName:
      return e.text;
    case ExprKind::kField: {
      std::string base = PathKey(*e.args[0]);
      return base.empty() ? "" : base + "." + e.text;
    }
    case ExprKind::kIndex: {
      std::string base = PathKey(*e.args[0]);
      const Expr& i = *e.args[1];
      if (base.empty()) return "";
      if (i.kind == ExprKind::kInt) return base + "[" + std::to_string(i.int_value) + "]";
      if (i.kind == ExprKind::kString) return base + "[\"" + i.text + "\"]";
      return "";
    }
    default:
      return "";
  }
}

TypePtr Checker::CheckField(Expr& e, const Facts& facts) {
  TypePtr target = Check(*e.args[0], facts);
  if (!target) return nullptr;
  switch (target->kind()) {
    case TypeKind::kDyn:
      return Type::Dyn();
    case TypeKind::kMap:
      return target->elem();
    case TypeKind::kObject: {
      int i = target->FieldIndex(e.text);
      if (i < 0) {
        std::vector<std::string> names;
        for (const auto& f : target->fields()) names.push_back(f.name);
        std::string near = NearestName(e.text, names);
        std::string all;
        for (const auto& n : names) all += (all.empty() ? "" : ", ") + n;
        Error(e.end - static_cast<uint32_t>(e.text.size()),
              ExprText(source_, *e.args[0]).empty()
                  ? "unknown field " + Quote(e.text)
                  : std::string(ExprText(source_, *e.args[0])) + " has no field " + Quote(e.text),
              near.empty() ? (all.empty() ? "it has no fields" : "its fields: " + all)
                           : "did you mean " + Quote(near) + "?");
        return nullptr;
      }
      e.slot = i;
      const Field& f = target->fields()[static_cast<size_t>(i)];
      if (f.optional && tolerant_ == 0) {
        std::string key = PathKey(e);
        if (key.empty() || !Contains(facts, key)) {
          std::string text(ExprText(source_, e));
          Error(e.end - static_cast<uint32_t>(e.text.size()), text + " may be absent",
                "guard it with has(" + text + ") or give a default with " + text + " ?? ...");
          // Its type is known all the same: what the expression does with it is checked too, so
          // a type mistake beside the absence is reported in the same run.
        }
      }
      return f.type;
    }
    default:
      Error(e.end - static_cast<uint32_t>(e.text.size()),
            WithArticle(target->ToString()) + " has no fields (reading " + Quote(e.text) + ")");
      return nullptr;
  }
}

TypePtr Checker::CheckIndex(Expr& e, const Facts& facts) {
  TypePtr target = Check(*e.args[0], facts);
  TypePtr index = Check(*e.args[1], facts);
  if (!target || !index) return nullptr;
  switch (target->kind()) {
    case TypeKind::kDyn:
      return Type::Dyn();
    case TypeKind::kList:
      if (index->kind() != TypeKind::kInt && !IsDyn(index)) {
        Error(*e.args[1], "a list index must be an int, not " + index->ToString());
        return nullptr;
      }
      return target->elem();
    case TypeKind::kMap:
      if (index->kind() != TypeKind::kString && !IsDyn(index)) {
        Error(*e.args[1], "a map key must be a string, not " + index->ToString());
        return nullptr;
      }
      return target->elem();
    case TypeKind::kString:
      Error(e, "strings cannot be indexed", "use starts_with, ends_with, contains or matches");
      return nullptr;
    default:
      Error(e, WithArticle(target->ToString()) + " cannot be indexed");
      return nullptr;
  }
}

TypePtr Checker::CheckList(Expr& e, const Facts& facts) {
  TypePtr elem;
  bool ok = true;
  for (auto& a : e.args) {
    TypePtr t = Check(*a, facts);
    if (!t) {
      ok = false;
      continue;
    }
    if (!elem) {
      elem = t;
      continue;
    }
    TypePtr u = Unify(elem, t);
    elem = u ? u : Type::Dyn();
  }
  if (!ok) return nullptr;
  return Type::List(elem ? elem : Type::Dyn());
}

TypePtr Checker::CheckMap(Expr& e, const Facts& facts) {
  TypePtr value;
  bool ok = true;
  for (size_t i = 0; i < e.args.size(); i += 2) {
    Check(*e.args[i], facts);
    for (size_t j = 0; j < i; j += 2) {
      if (e.args[j]->text == e.args[i]->text) {
        Error(*e.args[i], "key \"" + e.args[i]->text + "\" appears twice in this map");
        ok = false;
      }
    }
    TypePtr t = Check(*e.args[i + 1], facts);
    if (!t) {
      ok = false;
      continue;
    }
    TypePtr u = value ? Unify(value, t) : t;
    value = u ? u : Type::Dyn();
  }
  if (!ok) return nullptr;
  return Type::Map(value ? value : Type::Dyn());
}

TypePtr Checker::CheckUnary(Expr& e, const Facts& facts) {
  if (e.op == Op::kNot) {
    if (!CheckCondition(*e.args[0], facts, "the operand of 'not'")) return nullptr;
    return Type::Bool();
  }
  TypePtr t = Check(*e.args[0], facts);
  if (!t) return nullptr;
  if (t->IsNumeric() || t->kind() == TypeKind::kDuration || IsDyn(t)) return t;
  Error(e, "cannot negate " + WithArticle(t->ToString()));
  return nullptr;
}

TypePtr Checker::CheckConditional(Expr& e, const Facts& facts) {
  bool ok = CheckCondition(*e.args[0], facts, "the condition of '?'");
  TypePtr a = Check(*e.args[1], Union(facts, WhenTrue(*e.args[0])));
  TypePtr b = Check(*e.args[2], Union(facts, WhenFalse(*e.args[0])));
  if (!ok || !a || !b) return nullptr;
  TypePtr u = Unify(a, b);
  if (!u) {
    Error(e,
          "the branches of '?' have different types: " + a->ToString() + " and " + b->ToString());
  }
  return u;
}

TypePtr Checker::CheckBinary(Expr& e, const Facts& facts) {
  Expr& l = *e.args[0];
  Expr& r = *e.args[1];
  const std::string op = OpText(e.op);
  // Point at the operator itself: the first non-blank character after the left operand.
  uint32_t op_at = e.args[0]->end;
  while (op_at < source_.text.size() &&
         std::isspace(static_cast<unsigned char>(source_.text[op_at])))
    ++op_at;
  auto mismatch = [&](const TypePtr& a, const TypePtr& b, std::string hint = {}) -> TypePtr {
    Error(op_at, "'" + op + "' cannot take " + a->ToString() + " and " + b->ToString(),
          std::move(hint));
    return nullptr;
  };
  switch (e.op) {
    case Op::kAnd:
    case Op::kOr: {
      bool a = CheckCondition(l, facts, ("the left side of '" + op + "'").c_str());
      Facts right = Union(facts, e.op == Op::kAnd ? WhenTrue(l) : WhenFalse(l));
      bool b = CheckCondition(r, right, ("the right side of '" + op + "'").c_str());
      return a && b ? Type::Bool() : nullptr;
    }
    case Op::kCoalesce: {
      TypePtr a = CheckTolerant(l, facts);
      TypePtr b = Check(r, facts);
      if (!a || !b) return nullptr;
      TypePtr u = Unify(a, b);
      if (!u) return mismatch(a, b, "the default must have the type of the value it replaces");
      return u;
    }
    default:
      break;
  }
  TypePtr a = Check(l, facts);
  TypePtr b = Check(r, facts);
  if (!a || !b) return nullptr;
  const TypeKind ak = a->kind(), bk = b->kind();
  const bool dyn = IsDyn(a) || IsDyn(b);
  switch (e.op) {
    case Op::kEq:
    case Op::kNe:
      if (!Comparable(*a, *b)) {
        return mismatch(a, b,
                        bk == TypeKind::kNull || ak == TypeKind::kNull
                            ? "to test whether a field is there, use has(...)"
                            : "both sides must have the same type");
      }
      return Type::Bool();
    case Op::kLt:
    case Op::kLe:
    case Op::kGt:
    case Op::kGe: {
      bool ordered = dyn || (a->IsNumeric() && b->IsNumeric()) ||
                     (ak == bk && (ak == TypeKind::kString || ak == TypeKind::kDate ||
                                   ak == TypeKind::kTimestamp || ak == TypeKind::kDuration));
      if (!ordered)
        return mismatch(a, b,
                        "only numbers, strings, dates, timestamps and "
                        "durations of the same kind are ordered");
      return Type::Bool();
    }
    case Op::kIn:
    case Op::kNotIn:
      if (IsDyn(b)) return Type::Bool();
      if (bk == TypeKind::kList) {
        if (!Comparable(*a, *b->elem()))
          return mismatch(a, b, "the value must have the list's element type");
        return Type::Bool();
      }
      if (bk == TypeKind::kMap || bk == TypeKind::kObject) {
        if (ak != TypeKind::kString && !IsDyn(a))
          return mismatch(a, b, "'in' on a map tests a key, which is a string");
        return Type::Bool();
      }
      return mismatch(a, b,
                      bk == TypeKind::kString ? "use contains(text, part) for substrings"
                                              : "'in' needs a list or a map on its right");
    case Op::kAdd:
      if (dyn) return Type::Dyn();
      if (ak == TypeKind::kInt && bk == TypeKind::kInt) return Type::Int();
      if (a->IsNumeric() && b->IsNumeric()) return Type::Decimal();
      if (ak == TypeKind::kString && bk == TypeKind::kString) return Type::String();
      if (ak == TypeKind::kList && bk == TypeKind::kList) {
        TypePtr u = Unify(a, b);
        if (u) return u;
      }
      if ((ak == TypeKind::kDate || ak == TypeKind::kTimestamp) && bk == TypeKind::kDuration)
        return a;
      if (ak == TypeKind::kDuration && (bk == TypeKind::kDate || bk == TypeKind::kTimestamp))
        return b;
      if (ak == TypeKind::kDuration && bk == TypeKind::kDuration) return a;
      return mismatch(a, b);
    case Op::kSub:
      if (dyn) return Type::Dyn();
      if (ak == TypeKind::kInt && bk == TypeKind::kInt) return Type::Int();
      if (a->IsNumeric() && b->IsNumeric()) return Type::Decimal();
      if ((ak == TypeKind::kDate || ak == TypeKind::kTimestamp) && bk == TypeKind::kDuration)
        return a;
      if ((ak == TypeKind::kDate || ak == TypeKind::kTimestamp) && ak == bk)
        return Type::Duration();
      if (ak == TypeKind::kDuration && bk == TypeKind::kDuration) return a;
      return mismatch(a, b);
    case Op::kMul:
    case Op::kDiv:
      if (dyn) return Type::Dyn();
      if (ak == TypeKind::kInt && bk == TypeKind::kInt) return Type::Int();
      if (a->IsNumeric() && b->IsNumeric()) return Type::Decimal();
      return mismatch(a, b);
    case Op::kMod:
      if (dyn) return Type::Dyn();
      if (ak == TypeKind::kInt && bk == TypeKind::kInt) return Type::Int();
      return mismatch(a, b, "'%' takes two ints");
    default:
      Error(e, "unexpected operator '" + op + "'");
      return nullptr;
  }
}

TypePtr Checker::CheckLambda(Expr& lambda, const TypePtr& elem, const Facts& facts) {
  const std::string& name = lambda.text;
  bool clash = env_.count(name) > 0;
  for (const auto& c : *constants_) clash = clash || c.name == name;
  for (const auto& l : locals_) clash = clash || l.name == name;
  if (clash) {
    Error(lambda, "'" + name +
                      "' already names something here; pick another name for the "
                      "element");
    return nullptr;
  }
  lambda.slot = static_cast<int32_t>(locals_.size());
  locals_.push_back({name, elem});
  max_locals_ = std::max(max_locals_, locals_.size());
  TypePtr t = Check(*lambda.args[0], facts);
  locals_.pop_back();
  lambda.type = t;
  return t;
}

Facts Checker::WhenTrue(const Expr& e) const {
  switch (e.kind) {
    case ExprKind::kCall:
      if (e.text == "has" && e.args.size() == 1) {
        Facts f;
        // has(a.b.c) proves a.b and a.b.c.
        for (const Expr* p = e.args[0].get();
             p && (p->kind == ExprKind::kField || p->kind == ExprKind::kIndex);
             p = p->args[0].get()) {
          std::string k = PathKey(*p);
          if (!k.empty()) f.push_back(k);
        }
        return f;
      }
      return {};
    case ExprKind::kUnary:
      return e.op == Op::kNot ? WhenFalse(*e.args[0]) : Facts{};
    case ExprKind::kBinary:
      if (e.op == Op::kAnd) return Union(WhenTrue(*e.args[0]), WhenTrue(*e.args[1]));
      if (e.op == Op::kOr) return Intersect(WhenTrue(*e.args[0]), WhenTrue(*e.args[1]));
      return {};
    default:
      return {};
  }
}

Facts Checker::WhenFalse(const Expr& e) const {
  switch (e.kind) {
    case ExprKind::kUnary:
      return e.op == Op::kNot ? WhenTrue(*e.args[0]) : Facts{};
    case ExprKind::kBinary:
      if (e.op == Op::kAnd) return Intersect(WhenFalse(*e.args[0]), WhenFalse(*e.args[1]));
      if (e.op == Op::kOr) return Union(WhenFalse(*e.args[0]), WhenFalse(*e.args[1]));
      return {};
    default:
      return {};
  }
}

}  // namespace sellerflow::dsl
