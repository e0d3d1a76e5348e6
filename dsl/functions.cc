// The built-in functions and macros: how each is typed, and the node that evaluates it.
#include <re2/re2.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "dsl/check.h"
#include "dsl/eval.h"
#include "dsl/limits.h"
#include "dsl/utf8.h"

namespace sellerflow::dsl {
namespace {

bool IsDyn(const TypePtr& t) { return t && t->kind() == TypeKind::kDyn; }
bool Is(const TypePtr& t, TypeKind k) { return t && (t->kind() == k || IsDyn(t)); }

struct Builtin {
  const char* name;
  const char* signature;  // For messages: "len(string | list | map)".
  bool macro;             // Takes `x => expr` as its last argument.
};

constexpr Builtin kBuiltins[] = {
    {"has", "has(a.field)", false},
    {"len", "len(string | list | map | object)", false},
    {"matches", "matches(string, pattern)", false},
    {"starts_with", "starts_with(string, prefix)", false},
    {"ends_with", "ends_with(string, suffix)", false},
    {"contains", "contains(string, part) or contains(list, value)", false},
    {"lower", "lower(string)", false},
    {"upper", "upper(string)", false},
    {"trim", "trim(string)", false},
    {"replace", "replace(string, old, new)", false},
    {"join", "join(list<string>[, separator])", false},
    {"sum", "sum(list<int | decimal>)", false},
    {"count", "count(list, x => condition)", true},
    {"unique", "unique(list)", false},
    {"distinct", "distinct(list)", false},
    {"min", "min(list) or min(a, b, ...)", false},
    {"max", "max(list) or max(a, b, ...)", false},
    {"date", "date(string | timestamp)", false},
    {"timestamp", "timestamp(string | date)", false},
    {"duration", "duration(string)", false},
    {"all", "all(list, x => condition)", true},
    {"any", "any(list, x => condition)", true},
    {"filter", "filter(list, x => condition)", true},
    {"map", "map(list, x => value)", true},
    {"string", "string(value)", false},
    {"int", "int(string | decimal)", false},
    {"decimal", "decimal(string | int)", false},
    {"places", "places(decimal)", false},
    {"keys", "keys(map)", false},
    {"merge", "merge(object, changes)", false},
};

const Builtin* FindBuiltin(std::string_view name) {
  for (const auto& b : kBuiltins)
    if (name == b.name) return &b;
  return nullptr;
}

// The constant string an argument stands for (a literal or a named constant), if any.
const std::string* ConstantString(const Checker& checker, const Expr& e, std::string* storage) {
  if (e.kind == ExprKind::kString) return &e.text;
  const ConstantInfo* c = checker.ConstantOf(e);
  if (c && c->value.kind == ValueKind::kString) {
    *storage = std::string(c->value.str());
    return storage;
  }
  return nullptr;
}

std::unique_ptr<RE2> CompileRegex(const std::string& pattern, std::string* error) {
  RE2::Options options;
  options.set_log_errors(false);
  options.set_max_mem(kMaxRegexProgramBytes);
  auto re = std::make_unique<RE2>(pattern, options);
  if (!re->ok()) {
    *error = re->error();
    return nullptr;
  }
  return re;
}

}  // namespace

std::vector<BuiltinFunction> BuiltinFunctions() {
  std::vector<BuiltinFunction> out;
  for (const auto& b : kBuiltins) out.push_back({b.name, b.signature});
  return out;
}

TypePtr CheckCall(Checker& checker, Expr& call, const Facts& facts) {
  // After a mistake in the call itself, the arguments are still checked for their own.
  auto check_args_alone = [&]() {
    for (auto& a : call.args)
      if (a->kind != ExprKind::kLambda) checker.Check(*a, facts);
  };
  const Builtin* b = FindBuiltin(call.text);
  if (!b) {
    std::vector<std::string> names;
    for (const auto& x : kBuiltins) names.push_back(x.name);
    std::string near = NearestName(call.text, names);
    checker.Error(call, "unknown function '" + call.text + "'",
                  near.empty() ? "there are no user-defined functions; built-ins are len, has, "
                                 "matches, all, any, ..."
                               : "did you mean '" + near + "'?");
    check_args_alone();
    return nullptr;
  }
  const std::string name = call.text;
  auto& args = call.args;
  auto arity = [&](size_t lo, size_t hi) {
    if (args.size() >= lo && args.size() <= hi) return true;
    checker.Error(
        call,
        name + "() takes " +
            (lo == hi ? std::to_string(lo) : std::to_string(lo) + " to " + std::to_string(hi)) +
            (hi == 1 ? " argument" : " arguments") + ", not " + std::to_string(args.size()),
        std::string("write ") + b->signature);
    return false;
  };
  auto wrong = [&](size_t i, const TypePtr& t) -> TypePtr {
    checker.Error(*args[i], name + "() cannot take " + WithArticle(t->ToString()) + " here",
                  std::string("write ") + b->signature);
    return nullptr;
  };
  if (b->macro) {
    if (!arity(2, 2)) return nullptr;
    if (args[1]->kind != ExprKind::kLambda) {
      checker.Error(*args[1], name + "() needs 'x => ...' as its second argument",
                    std::string("write ") + b->signature);
      return nullptr;
    }
    TypePtr list = checker.Check(*args[0], facts);
    if (!list) return nullptr;
    if (!Is(list, TypeKind::kList)) return wrong(0, list);
    TypePtr elem = IsDyn(list) ? Type::Dyn() : list->elem();
    TypePtr body = checker.CheckLambda(*args[1], elem, facts);
    if (!body) return nullptr;
    if (name == "map") return Type::List(body);
    if (!Is(body, TypeKind::kBool)) {
      checker.Error(*args[1]->args[0],
                    "the condition of " + name + "() must be a bool, not " + body->ToString());
      return nullptr;
    }
    if (name == "filter") return list;
    if (name == "count") return Type::Int();
    return Type::Bool();
  }
  for (const auto& a : args) {
    if (a->kind == ExprKind::kLambda) {
      checker.Error(*a, name + "() takes no 'x => ...' argument");
      return nullptr;
    }
  }
  if (name == "has") {
    if (!arity(1, 1)) return nullptr;
    Expr& a = *args[0];
    if (a.kind != ExprKind::kField && a.kind != ExprKind::kIndex) {
      checker.Error(a, "has() tests a field: write has(" +
                           std::string(ExprText(checker.source(), a)) + ".Field)");
      return nullptr;
    }
    if (!checker.CheckTolerant(a, facts)) return nullptr;
    return Type::Bool();
  }
  std::vector<TypePtr> t;
  bool ok = true;
  for (auto& a : args) {
    t.push_back(checker.Check(*a, facts));
    ok = ok && t.back();
  }
  if (!ok) return nullptr;

  if (name == "len") {
    if (!arity(1, 1)) return nullptr;
    TypeKind k = t[0]->kind();
    if (k == TypeKind::kString || k == TypeKind::kList || k == TypeKind::kMap ||
        k == TypeKind::kObject || k == TypeKind::kDyn)
      return Type::Int();
    return wrong(0, t[0]);
  }
  if (name == "matches") {
    if (!arity(2, 2)) return nullptr;
    if (!Is(t[0], TypeKind::kString)) return wrong(0, t[0]);
    std::string storage;
    const std::string* pattern = ConstantString(checker, *args[1], &storage);
    if (!pattern) {
      checker.Error(*args[1], "the pattern of matches() must be a string literal or constant",
                    "patterns are compiled once, when the rules are loaded");
      return nullptr;
    }
    std::string error;
    if (!CompileRegex(*pattern, &error)) {
      checker.Error(*args[1], "invalid regular expression: " + error,
                    "patterns use RE2 syntax (no backreferences or lookaround)");
      return nullptr;
    }
    return Type::Bool();
  }
  if (name == "starts_with" || name == "ends_with") {
    if (!arity(2, 2)) return nullptr;
    for (size_t i = 0; i < 2; ++i)
      if (!Is(t[i], TypeKind::kString)) return wrong(i, t[i]);
    return Type::Bool();
  }
  if (name == "contains") {
    if (!arity(2, 2)) return nullptr;
    if (t[0]->kind() == TypeKind::kList) {
      if (!Comparable(*t[0]->elem(), *t[1])) return wrong(1, t[1]);
      return Type::Bool();
    }
    if (!Is(t[0], TypeKind::kString)) return wrong(0, t[0]);
    if (!Is(t[1], TypeKind::kString)) return wrong(1, t[1]);
    return Type::Bool();
  }
  if (name == "replace") {
    if (!arity(3, 3)) return nullptr;
    for (size_t i = 0; i < 3; ++i)
      if (!Is(t[i], TypeKind::kString)) return wrong(i, t[i]);
    return Type::String();
  }
  if (name == "lower" || name == "upper" || name == "trim") {
    if (!arity(1, 1)) return nullptr;
    if (!Is(t[0], TypeKind::kString)) return wrong(0, t[0]);
    return Type::String();
  }
  if (name == "join") {
    if (!arity(1, 2)) return nullptr;
    if (!Is(t[0], TypeKind::kList) || (!IsDyn(t[0]) && !Is(t[0]->elem(), TypeKind::kString)))
      return wrong(0, t[0]);
    if (t.size() == 2 && !Is(t[1], TypeKind::kString)) return wrong(1, t[1]);
    return Type::String();
  }
  if (name == "sum") {
    if (!arity(1, 1)) return nullptr;
    if (IsDyn(t[0])) return Type::Dyn();
    if (t[0]->kind() != TypeKind::kList) return wrong(0, t[0]);
    const TypePtr& e = t[0]->elem();
    if (e->kind() == TypeKind::kInt || e->kind() == TypeKind::kDecimal || IsDyn(e)) return e;
    if (e->kind() == TypeKind::kDuration) return e;
    return wrong(0, t[0]);
  }
  if (name == "unique") {
    if (!arity(1, 1)) return nullptr;
    if (!Is(t[0], TypeKind::kList)) return wrong(0, t[0]);
    return Type::Bool();
  }
  if (name == "distinct") {
    if (!arity(1, 1)) return nullptr;
    if (!Is(t[0], TypeKind::kList)) return wrong(0, t[0]);
    return t[0];
  }
  if (name == "min" || name == "max") {
    if (args.empty()) return arity(1, 64), nullptr;
    TypePtr elem;
    if (args.size() == 1) {
      if (IsDyn(t[0])) return Type::Dyn();
      if (t[0]->kind() != TypeKind::kList) return wrong(0, t[0]);
      elem = t[0]->elem();
    } else {
      elem = t[0];
      for (size_t i = 1; i < t.size(); ++i) {
        TypePtr u = Unify(elem, t[i]);
        if (!u) return wrong(i, t[i]);
        elem = u;
      }
    }
    TypeKind k = elem->kind();
    if (elem->IsNumeric() || k == TypeKind::kString || k == TypeKind::kDate ||
        k == TypeKind::kTimestamp || k == TypeKind::kDuration || k == TypeKind::kDyn)
      return elem;
    return wrong(0, t[0]);
  }
  if (name == "date") {
    if (!arity(1, 1)) return nullptr;
    if (Is(t[0], TypeKind::kString) || t[0]->kind() == TypeKind::kTimestamp ||
        t[0]->kind() == TypeKind::kDate)
      return Type::Date();
    return wrong(0, t[0]);
  }
  if (name == "timestamp") {
    if (!arity(1, 1)) return nullptr;
    if (Is(t[0], TypeKind::kString) || t[0]->kind() == TypeKind::kDate ||
        t[0]->kind() == TypeKind::kTimestamp)
      return Type::Timestamp();
    return wrong(0, t[0]);
  }
  if (name == "duration") {
    if (!arity(1, 1)) return nullptr;
    if (!Is(t[0], TypeKind::kString)) return wrong(0, t[0]);
    return Type::Duration();
  }
  if (name == "string") {
    if (!arity(1, 1)) return nullptr;
    return Type::String();
  }
  if (name == "int") {
    if (!arity(1, 1)) return nullptr;
    if (Is(t[0], TypeKind::kString) || t[0]->IsNumeric()) return Type::Int();
    return wrong(0, t[0]);
  }
  if (name == "decimal") {
    if (!arity(1, 1)) return nullptr;
    if (Is(t[0], TypeKind::kString) || t[0]->IsNumeric()) return Type::Decimal();
    return wrong(0, t[0]);
  }
  if (name == "places") {
    if (!arity(1, 1)) return nullptr;
    if (t[0]->IsNumeric() || IsDyn(t[0])) return Type::Int();
    return wrong(0, t[0]);
  }
  if (name == "keys") {
    if (!arity(1, 1)) return nullptr;
    if (Is(t[0], TypeKind::kMap) || t[0]->kind() == TypeKind::kObject)
      return Type::List(Type::String());
    return wrong(0, t[0]);
  }
  if (name == "merge") {
    // The first object with each field the second one has; the second's fields must all be the
    // first's, of types that fit, so the result keeps the first object's type.
    if (!arity(2, 2)) return nullptr;
    if (IsDyn(t[0])) return Type::Dyn();
    if (t[0]->kind() != TypeKind::kObject) return wrong(0, t[0]);
    if (IsDyn(t[1])) return t[0];
    if (t[1]->kind() != TypeKind::kObject) return wrong(1, t[1]);
    for (const Field& f : t[1]->fields()) {
      int i = t[0]->FieldIndex(f.name);
      if (i < 0 || !Unify(t[0]->fields()[static_cast<size_t>(i)].type, f.type)) {
        checker.Error(*args[1],
                      "merge() cannot put field '" + f.name + "' (" + f.type->ToString() +
                          ") into " + WithArticle(t[0]->ToString()),
                      "the changes may only hold fields of the first object, of the same types");
        return nullptr;
      }
    }
    return t[0];
  }
  checker.Error(call, "function '" + name + "' has no checker");
  return nullptr;
}

// ---- Run time ---------------------------------------------------------------------------------
namespace {

using Args = std::vector<NodePtr>;

// A function of already-evaluated arguments; errors in arguments propagate before it runs.
class FunctionNode : public Node {
 public:
  using Fn = Value (*)(const FunctionNode& self, const Value* args, EvalContext& ctx);
  FunctionNode(const Expr& e, SourcePos p, Args args, Fn fn) : Node(e, p), fn_(fn) {
    n_ = std::min<size_t>(args.size(), kMaxArgs);
    for (size_t i = 0; i < n_; ++i) args_[i] = Operand(std::move(args[i]));
  }
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value values[kMaxArgs];
    for (size_t i = 0; i < n_; ++i) {
      values[i] = args_[i].Get(vars, ctx);
      if (values[i].is_error()) return values[i];
    }
    return fn_(*this, values, ctx);
  }
  Value Error(EvalContext& ctx, ErrorKind k, std::string_view m) const { return Fail(ctx, k, m); }
  Value TypeError(EvalContext& ctx, const Value& v) const {
    return Fail(ctx, ErrorKind::kType, expr().text + "() cannot take " + KindOf(v));
  }

 private:
  static constexpr size_t kMaxArgs = 4;  // replace() takes the most: three.
  Operand args_[kMaxArgs];
  size_t n_ = 0;
  Fn fn_;
};

// min and max over any number of arguments, or over one list.
class ExtremeNode : public Node {
 public:
  ExtremeNode(const Expr& e, SourcePos p, Args args, bool max)
      : Node(e, p), args_(std::move(args)), max_(max) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value first = args_[0]->Eval(vars, ctx);
    if (first.is_error()) return first;
    const Value* items;
    size_t n;
    std::vector<Value> values;
    if (args_.size() == 1) {
      if (first.kind != ValueKind::kList)
        return Fail(ctx, ErrorKind::kType, expr().text + "() needs a list");
      items = first.list->items;
      n = first.list->size;
    } else {
      values.push_back(first);
      for (size_t i = 1; i < args_.size(); ++i) {
        values.push_back(args_[i]->Eval(vars, ctx));
        if (values.back().is_error()) return values.back();
      }
      items = values.data();
      n = values.size();
    }
    if (n == 0) return Fail(ctx, ErrorKind::kRange, expr().text + "() of an empty list");
    Value best = items[0];
    for (size_t i = 1; i < n; ++i) {
      int c = 0;
      if (best.kind == ValueKind::kDuration && items[i].kind == ValueKind::kDuration) {
        if (!CompareDurations(items[i].dur(), best.dur(), &c))
          return Fail(ctx, ErrorKind::kInvalid, "cannot order durations in months and in time");
      } else {
        bool comparable = false;
        c = CompareValues(items[i], best, &comparable);
        if (!comparable)
          return Fail(ctx, ErrorKind::kType,
                      std::string("cannot order ") + KindOf(items[i]) + " and " + KindOf(best));
      }
      if (max_ ? c > 0 : c < 0) best = items[i];
    }
    return best;
  }

 private:
  Args args_;
  bool max_;
};

class HasNode : public Node {
 public:
  // For has(x.f): `target` is x (or `var` >= 0 when x is a variable, read directly); `expected`
  // and `slot` are where f sits in values of x's checked type. For has(x[i]): `index` is i.
  HasNode(const Expr& e, SourcePos p, NodePtr target, int var, const Type* expected, int slot,
          NodePtr index)
      : Node(e, p),
        target_(std::move(target)),
        var_(var),
        expected_(expected),
        slot_(slot),
        index_(std::move(index)) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value t = var_ >= 0 ? vars[var_] : target_->Eval(vars, ctx);
    if (!index_ && t.kind == ValueKind::kObject && t.obj->type == expected_)
      return Value::Bool(!t.obj->slots[slot_].is_absent());
    if (t.is_absent()) return Value::Bool(false);
    if (t.is_error()) return t;
    const std::string& field = expr().args[0]->text;
    if (!index_) {
      if (t.kind == ValueKind::kObject) {
        int i = t.obj->type->FieldIndex(field);
        return Value::Bool(i >= 0 && !t.obj->slots[i].is_absent());
      }
      if (t.kind == ValueKind::kMap) return Value::Bool(MapFind(*t.map, field) != nullptr);
      return Value::Bool(false);
    }
    Value k = index_->Eval(vars, ctx);
    if (k.is_error()) return k;
    if (t.kind == ValueKind::kList && k.kind == ValueKind::kInt)
      return Value::Bool(k.i >= 0 && k.i < t.list->size);
    if (t.kind == ValueKind::kMap && k.kind == ValueKind::kString)
      return Value::Bool(MapFind(*t.map, k.str()) != nullptr);
    if (t.kind == ValueKind::kObject && k.kind == ValueKind::kString) {
      int i = t.obj->type->FieldIndex(k.str());
      return Value::Bool(i >= 0 && !t.obj->slots[i].is_absent());
    }
    return Value::Bool(false);
  }

 private:
  NodePtr target_;
  int var_;
  const Type* expected_;
  int slot_;
  NodePtr index_;
};

class LenStringNode : public Node {
 public:
  LenStringNode(const Expr& e, SourcePos p, NodePtr a) : Node(e, p), a_(std::move(a)) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value v = a_.Get(vars, ctx);
    if (v.kind == ValueKind::kString) return Value::Int(v.s->code_points);
    return Len(v, ctx);
  }
  Value Len(const Value& v, EvalContext& ctx) const {
    switch (v.kind) {
      case ValueKind::kString:
        return Value::Int(v.s->code_points);
      case ValueKind::kList:
        return Value::Int(v.list->size);
      case ValueKind::kMap:
        return Value::Int(v.map->size);
      case ValueKind::kObject: {
        int64_t n = 0;
        for (size_t i = 0; i < v.obj->type->fields().size(); ++i) n += !v.obj->slots[i].is_absent();
        return Value::Int(n);
      }
      case ValueKind::kError:
        return v;
      default:
        return Fail(ctx, ErrorKind::kType, std::string("len() cannot take ") + KindOf(v));
    }
  }

 private:
  Operand a_;
};

// len(join(list, sep)) without building the joined string.
class LenJoinNode : public Node {
 public:
  LenJoinNode(const Expr& e, SourcePos p, NodePtr list, NodePtr sep)
      : Node(e, p), list_(std::move(list)), sep_(std::move(sep)) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value l = list_->Eval(vars, ctx);
    if (l.is_error()) return l;
    int64_t sep = 0;
    if (sep_) {
      Value s = sep_->Eval(vars, ctx);
      if (s.is_error()) return s;
      if (s.kind != ValueKind::kString)
        return Fail(ctx, ErrorKind::kType, "join() needs a string separator");
      sep = s.s->code_points;
    }
    if (l.kind != ValueKind::kList) return Fail(ctx, ErrorKind::kType, "join() needs a list");
    int64_t n = 0;
    for (uint32_t i = 0; i < l.list->size; ++i) {
      const Value& x = l.list->items[i];
      if (x.kind != ValueKind::kString)
        return Fail(ctx, ErrorKind::kType, std::string("join() needs strings, not ") + KindOf(x));
      n += x.s->code_points;
    }
    if (l.list->size > 1) n += sep * (l.list->size - 1);
    return Value::Int(n);
  }

 private:
  NodePtr list_, sep_;
};

class MatchesNode : public Node {
 public:
  MatchesNode(const Expr& e, SourcePos p, NodePtr a, std::unique_ptr<RE2> re)
      : Node(e, p), a_(std::move(a)), re_(std::move(re)) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value v = a_->Eval(vars, ctx);
    if (v.is_error()) return v;
    if (v.kind != ValueKind::kString)
      return Fail(ctx, ErrorKind::kType, std::string("matches() cannot take ") + KindOf(v));
    return Value::Bool(RE2::PartialMatch(re2::StringPiece(v.s->data, v.s->bytes), *re_));
  }

 private:
  NodePtr a_;
  std::unique_ptr<RE2> re_;
};

enum class MacroKind { kAll, kAny, kFilter, kMap, kCount };

class MacroNode : public Node {
 public:
  MacroNode(const Expr& e, SourcePos p, MacroKind kind, NodePtr list, NodePtr body, int slot)
      : Node(e, p),
        kind_(kind),
        list_(std::move(list)),
        body_(std::move(body)),
        slot_(static_cast<size_t>(slot)) {}

  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value l = list_->Eval(vars, ctx);
    if (l.is_error()) return l;
    if (l.kind != ValueKind::kList)
      return Fail(ctx, ErrorKind::kType, expr().text + "() needs a list, not " + KindOf(l));
    const uint32_t n = l.list->size;
    if (ctx.steps_left < n)
      return Fail(ctx, ErrorKind::kLimit,
                  "evaluation limit reached: macros may visit at most " +
                      std::to_string(kMaxMacroSteps) + " elements per evaluation");
    ctx.steps_left -= n;
    Value& local = ctx.locals[slot_];
    switch (kind_) {
      case MacroKind::kAll:
      case MacroKind::kAny: {
        // Like `and`/`or` chains: an error is absorbed when another element decides.
        const bool decisive = kind_ == MacroKind::kAny;
        Value error;
        bool have_error = false;
        for (uint32_t i = 0; i < n; ++i) {
          local = l.list->items[i];
          Value r = body_->Eval(vars, ctx);
          if (r.kind == ValueKind::kBool) {
            if (r.b == decisive) return r;
          } else if (r.is_error() && r.err->kind == ErrorKind::kLimit) {
            return r;  // A spent budget is never absorbed.
          } else if (!have_error) {
            error = r.is_error() ? r : Fail(ctx, ErrorKind::kType, "condition is not a bool");
            have_error = true;
          }
        }
        return have_error ? error : Value::Bool(!decisive);
      }
      case MacroKind::kCount: {
        int64_t count = 0;
        for (uint32_t i = 0; i < n; ++i) {
          local = l.list->items[i];
          Value r = body_->Eval(vars, ctx);
          if (r.is_error()) return r;
          count += r.kind == ValueKind::kBool && r.b;
        }
        return Value::Int(count);
      }
      case MacroKind::kFilter: {
        ListRep* out = MakeList(ctx.arena(), n);
        uint32_t k = 0;
        for (uint32_t i = 0; i < n; ++i) {
          local = l.list->items[i];
          Value r = body_->Eval(vars, ctx);
          if (r.is_error()) return r;
          if (r.kind == ValueKind::kBool && r.b) out->items[k++] = l.list->items[i];
        }
        out->size = k;
        return Value::List(out);
      }
      case MacroKind::kMap: {
        ListRep* out = MakeList(ctx.arena(), n);
        for (uint32_t i = 0; i < n; ++i) {
          local = l.list->items[i];
          Value r = body_->Eval(vars, ctx);
          if (r.is_error()) return r;
          out->items[i] = r;
        }
        return Value::List(out);
      }
    }
    return Value();
  }

 private:
  MacroKind kind_;
  NodePtr list_, body_;
  size_t slot_;
};

// ---- Plain functions on evaluated arguments ---
using Self = FunctionNode;

Value FnLen(const Self& s, const Value* a, EvalContext& ctx) {
  switch (a[0].kind) {
    case ValueKind::kString:
      return Value::Int(a[0].s->code_points);
    case ValueKind::kList:
      return Value::Int(a[0].list->size);
    case ValueKind::kMap:
      return Value::Int(a[0].map->size);
    case ValueKind::kObject: {
      int64_t n = 0;
      for (size_t i = 0; i < a[0].obj->type->fields().size(); ++i)
        n += !a[0].obj->slots[i].is_absent();
      return Value::Int(n);
    }
    default:
      return s.TypeError(ctx, a[0]);
  }
}

Value FnStartsWith(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind != ValueKind::kString) return s.TypeError(ctx, a[0]);
  if (a[1].kind != ValueKind::kString) return s.TypeError(ctx, a[1]);
  return Value::Bool(a[0].str().substr(0, a[1].s->bytes) == a[1].str());
}

Value FnEndsWith(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind != ValueKind::kString) return s.TypeError(ctx, a[0]);
  if (a[1].kind != ValueKind::kString) return s.TypeError(ctx, a[1]);
  std::string_view x = a[0].str(), y = a[1].str();
  return Value::Bool(x.size() >= y.size() && x.substr(x.size() - y.size()) == y);
}

Value FnContains(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind == ValueKind::kList) {
    for (uint32_t i = 0; i < a[0].list->size; ++i)
      if (ValuesEqual(a[0].list->items[i], a[1])) return Value::Bool(true);
    return Value::Bool(false);
  }
  if (a[0].kind != ValueKind::kString) return s.TypeError(ctx, a[0]);
  if (a[1].kind != ValueKind::kString) return s.TypeError(ctx, a[1]);
  return Value::Bool(a[0].str().find(a[1].str()) != std::string_view::npos);
}

Value FnLower(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind != ValueKind::kString) return s.TypeError(ctx, a[0]);
  return StringValue(ctx.arena(), Utf8Lower(a[0].str()));
}
Value FnUpper(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind != ValueKind::kString) return s.TypeError(ctx, a[0]);
  return StringValue(ctx.arena(), Utf8Upper(a[0].str()));
}
Value FnTrim(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind != ValueKind::kString) return s.TypeError(ctx, a[0]);
  return StringValue(ctx.arena(), Utf8Trim(a[0].str()));
}

// Every occurrence of `old` replaced, left to right; an empty `old` changes nothing.
Value FnReplace(const Self& s, const Value* a, EvalContext& ctx) {
  for (int i = 0; i < 3; ++i)
    if (a[i].kind != ValueKind::kString) return s.TypeError(ctx, a[i]);
  std::string_view text = a[0].str(), from = a[1].str(), to = a[2].str();
  if (from.empty()) return a[0];
  std::string out;
  for (size_t at = 0;;) {
    size_t found = text.find(from, at);
    out.append(
        text.substr(at, found == std::string_view::npos ? std::string_view::npos : found - at));
    if (found == std::string_view::npos) break;
    out.append(to);
    at = found + from.size();
    if (out.size() > kMaxBuiltStringBytes)
      return s.Error(ctx, ErrorKind::kLimit, "replace() would build a string over the size limit");
  }
  return StringValue(ctx.arena(), out);
}

Value Join(const Self& s, const Value& list, std::string_view sep, EvalContext& ctx) {
  if (list.kind != ValueKind::kList) return s.TypeError(ctx, list);
  std::string out;
  for (uint32_t i = 0; i < list.list->size; ++i) {
    const Value& x = list.list->items[i];
    if (x.kind != ValueKind::kString) return s.TypeError(ctx, x);
    if (i) out += sep;
    out += x.str();
    if (out.size() > kMaxBuiltStringBytes)
      return s.Error(ctx, ErrorKind::kLimit, "join() would build a string over the size limit");
  }
  return StringValue(ctx.arena(), out);
}
Value FnJoin1(const Self& s, const Value* a, EvalContext& ctx) { return Join(s, a[0], "", ctx); }
Value FnJoin2(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[1].kind != ValueKind::kString) return s.TypeError(ctx, a[1]);
  return Join(s, a[0], a[1].str(), ctx);
}

Value FnSum(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind != ValueKind::kList) return s.TypeError(ctx, a[0]);
  Value total = Value::Int(0);
  for (uint32_t i = 0; i < a[0].list->size; ++i) {
    const Value& x = a[0].list->items[i];
    if (i == 0 && x.kind == ValueKind::kDuration) {
      total = x;
      continue;
    }
    total = Arithmetic(Op::kAdd, total, x, ctx, s.pos());
    if (total.is_error()) return total;
  }
  if (s.expr().type && s.expr().type->kind() == TypeKind::kDecimal && total.kind == ValueKind::kInt)
    return Value::Dec(DecimalFromInt(total.i));
  return total;
}

Value FnUnique(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind != ValueKind::kList) return s.TypeError(ctx, a[0]);
  const ListRep& l = *a[0].list;
  for (uint32_t i = 0; i < l.size; ++i)
    for (uint32_t j = 0; j < i; ++j)
      if (ValuesEqual(l.items[i], l.items[j])) return Value::Bool(false);
  return Value::Bool(true);
}

// The list without repeats: each element's first occurrence, in order.
Value FnDistinct(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind != ValueKind::kList) return s.TypeError(ctx, a[0]);
  const ListRep& l = *a[0].list;
  std::vector<Value> kept;
  for (uint32_t i = 0; i < l.size; ++i) {
    bool seen = false;
    for (const Value& k : kept) seen = seen || ValuesEqual(k, l.items[i]);
    if (!seen) kept.push_back(l.items[i]);
  }
  if (kept.size() == l.size) return a[0];
  ListRep* out = MakeList(ctx.arena(), static_cast<uint32_t>(kept.size()));
  std::copy(kept.begin(), kept.end(), out->items);
  return Value::List(out);
}

Value FnDate(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind == ValueKind::kDate) return a[0];
  if (a[0].kind == ValueKind::kTimestamp) {
    int64_t days = a[0].ts / kMicrosPerDay;
    if (a[0].ts % kMicrosPerDay < 0) --days;
    return Value::Date(static_cast<int32_t>(days));
  }
  if (a[0].kind != ValueKind::kString) return s.TypeError(ctx, a[0]);
  int32_t d = 0;
  if (!ParseDate(a[0].str(), &d))
    return s.Error(ctx, ErrorKind::kRange,
                   "not a date: \"" + std::string(a[0].str()) + "\" (expected YYYY-MM-DD)");
  return Value::Date(d);
}

Value FnTimestamp(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind == ValueKind::kTimestamp) return a[0];
  if (a[0].kind == ValueKind::kDate) return Value::Timestamp(a[0].date * kMicrosPerDay);
  if (a[0].kind != ValueKind::kString) return s.TypeError(ctx, a[0]);
  int64_t t = 0;
  if (!ParseTimestamp(a[0].str(), &t))
    return s.Error(ctx, ErrorKind::kRange,
                   "not a timestamp: \"" + std::string(a[0].str()) +
                       "\" (expected RFC 3339, such as 2026-01-31T12:00:00Z)");
  return Value::Timestamp(t);
}

Value FnDuration(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind != ValueKind::kString) return s.TypeError(ctx, a[0]);
  Duration d{0, 0};
  if (!ParseDuration(a[0].str(), &d))
    return s.Error(ctx, ErrorKind::kRange,
                   "not a duration: \"" + std::string(a[0].str()) +
                       "\" (expected ISO 8601 such as P12M or PT24H, or 24h, 30d)");
  return Value::Dur(d);
}

Value FnString(const Self&, const Value* a, EvalContext& ctx) {
  return StringValue(ctx.arena(), ToDisplay(a[0]));
}

Value FnInt(const Self& s, const Value* a, EvalContext& ctx) {
  switch (a[0].kind) {
    case ValueKind::kInt:
      return a[0];
    case ValueKind::kDecimal: {
      auto i = DecimalToInt(a[0].dec());
      if (!i)
        return s.Error(ctx, ErrorKind::kRange,
                       "int() needs a whole number, not " + DecimalToString(a[0].dec()));
      return Value::Int(*i);
    }
    case ValueKind::kString: {
      Decimal d{0, 0};
      std::optional<int64_t> i;
      if (ParseDecimal(a[0].str(), &d) == DecimalStatus::kOk) i = DecimalToInt(d);
      if (!i || a[0].str().find('.') != std::string_view::npos)
        return s.Error(ctx, ErrorKind::kRange,
                       "not an integer: \"" + std::string(a[0].str()) + "\"");
      return Value::Int(*i);
    }
    default:
      return s.TypeError(ctx, a[0]);
  }
}

Value FnDecimal(const Self& s, const Value* a, EvalContext& ctx) {
  switch (a[0].kind) {
    case ValueKind::kDecimal:
      return a[0];
    case ValueKind::kInt:
      return Value::Dec(DecimalFromInt(a[0].i));
    case ValueKind::kString: {
      Decimal d{0, 0};
      if (ParseDecimal(a[0].str(), &d) != DecimalStatus::kOk)
        return s.Error(ctx, ErrorKind::kRange,
                       "not a decimal: \"" + std::string(a[0].str()) + "\"");
      return Value::Dec(d);
    }
    default:
      return s.TypeError(ctx, a[0]);
  }
}

Value FnPlaces(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind == ValueKind::kInt) return Value::Int(0);
  if (a[0].kind == ValueKind::kDecimal) return Value::Int(DecimalPlaces(a[0].dec()));
  return s.TypeError(ctx, a[0]);
}

Value FnKeys(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind == ValueKind::kMap) {
    ListRep* l = MakeList(ctx.arena(), a[0].map->size);
    for (uint32_t i = 0; i < a[0].map->size; ++i) l->items[i] = a[0].map->entries[i].key;
    return Value::List(l);
  }
  if (a[0].kind == ValueKind::kObject) {
    const auto& fields = a[0].obj->type->fields();
    std::vector<Value> names;
    for (size_t i = 0; i < fields.size(); ++i)
      if (!a[0].obj->slots[i].is_absent())
        names.push_back(StringValue(ctx.arena(), fields[i].name));
    ListRep* l = MakeList(ctx.arena(), static_cast<uint32_t>(names.size()));
    std::copy(names.begin(), names.end(), l->items);
    return Value::List(l);
  }
  return s.TypeError(ctx, a[0]);
}

Value FnMerge(const Self& s, const Value* a, EvalContext& ctx) {
  if (a[0].kind != ValueKind::kObject) return s.TypeError(ctx, a[0]);
  if (a[1].kind != ValueKind::kObject) return s.TypeError(ctx, a[1]);
  const Type* type = a[0].obj->type;
  ObjectRep* o = MakeObject(ctx.arena(), type);
  std::copy(a[0].obj->slots, a[0].obj->slots + type->fields().size(), o->slots);
  const auto& from = a[1].obj->type->fields();
  for (size_t k = 0; k < from.size(); ++k) {
    int slot = type->FieldIndex(from[k].name);
    if (slot >= 0 && !a[1].obj->slots[k].is_absent()) o->slots[slot] = a[1].obj->slots[k];
  }
  return Value::Obj(o);
}

}  // namespace

NodePtr CompileCall(Compiler& compiler, const Expr& call) {
  const SourcePos p = compiler.PosOf(call);
  const std::string& name = call.text;
  const auto& args = call.args;
  if (name == "has") {
    const Expr& a = *args[0];
    const Expr& target = *a.args[0];
    const bool on_variable = !compiler.traced() && target.kind == ExprKind::kName &&
                             target.resolution == Resolution::kVariable;
    const Type* expected =
        target.type && target.type->kind() == TypeKind::kObject ? target.type.get() : nullptr;
    NodePtr index = a.kind == ExprKind::kIndex ? compiler.Compile(*a.args[1]) : nullptr;
    return std::make_unique<HasNode>(call, p, on_variable ? nullptr : compiler.Compile(target),
                                     on_variable ? target.slot : -1, expected,
                                     a.kind == ExprKind::kField ? a.slot : -1, std::move(index));
  }
  static const std::pair<const char*, MacroKind> kMacros[] = {{"all", MacroKind::kAll},
                                                              {"any", MacroKind::kAny},
                                                              {"filter", MacroKind::kFilter},
                                                              {"map", MacroKind::kMap},
                                                              {"count", MacroKind::kCount}};
  for (const auto& [n, k] : kMacros) {
    if (name == n) {
      const Expr& lambda = *args[1];
      return std::make_unique<MacroNode>(call, p, k, compiler.Compile(*args[0]),
                                         compiler.Compile(*lambda.args[0]), lambda.slot);
    }
  }
  if (name == "len" && !compiler.traced() && args[0]->kind == ExprKind::kCall &&
      args[0]->text == "join") {
    const Expr& join = *args[0];
    return std::make_unique<LenJoinNode>(
        call, p, compiler.Compile(*join.args[0]),
        join.args.size() > 1 ? compiler.Compile(*join.args[1]) : nullptr);
  }
  if (name == "len") return std::make_unique<LenStringNode>(call, p, compiler.Compile(*args[0]));
  if (name == "matches") {
    const Expr& pat = *args[1];
    std::string pattern = pat.kind == ExprKind::kString
                              ? pat.text
                              : std::string(compiler.ConstantValue(pat.slot).str());
    std::string error;
    auto re = CompileRegex(pattern, &error);  // The checker proved it compiles.
    return std::make_unique<MatchesNode>(call, p, compiler.Compile(*args[0]), std::move(re));
  }
  Args compiled;
  for (const auto& a : args) compiled.push_back(compiler.Compile(*a));
  if (name == "min" || name == "max")
    return std::make_unique<ExtremeNode>(call, p, std::move(compiled), name == "max");
  static const std::pair<const char*, FunctionNode::Fn> kFunctions[] = {
      {"starts_with", FnStartsWith},
      {"ends_with", FnEndsWith},
      {"contains", FnContains},
      {"lower", FnLower},
      {"upper", FnUpper},
      {"trim", FnTrim},
      {"replace", FnReplace},
      {"sum", FnSum},
      {"unique", FnUnique},
      {"date", FnDate},
      {"distinct", FnDistinct},
      {"timestamp", FnTimestamp},
      {"duration", FnDuration},
      {"string", FnString},
      {"int", FnInt},
      {"decimal", FnDecimal},
      {"places", FnPlaces},
      {"keys", FnKeys},
      {"len", FnLen},
      {"merge", FnMerge}};
  FunctionNode::Fn fn = nullptr;
  if (name == "join") fn = args.size() == 1 ? FnJoin1 : FnJoin2;
  for (const auto& [n, f] : kFunctions)
    if (name == n) fn = f;
  if (!fn) {
    return std::make_unique<FunctionNode>(
        call, p, std::move(compiled), [](const Self& s, const Value*, EvalContext& ctx) {
          return s.Error(ctx, ErrorKind::kInvalid, "unknown function");
        });
  }
  return std::make_unique<FunctionNode>(call, p, std::move(compiled), fn);
}

}  // namespace sellerflow::dsl
