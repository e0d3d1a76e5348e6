// The compiler: turns checked expressions into closure-tree nodes, with operators specialised and
// constants folded.
#include <algorithm>
#include <cstring>

#include "dsl/eval.h"
#include "dsl/limits.h"
#include "dsl/utf8.h"

namespace sellerflow::dsl {

Value ErrorAt(EvalContext& ctx, SourcePos pos, ErrorKind kind, std::string_view message) {
  return ErrorValue(ctx.arena(), kind, pos, message);
}

Value Node::Fail(EvalContext& ctx, ErrorKind kind, std::string_view message) const {
  return ErrorAt(ctx, pos_, kind, message);
}

std::string KindOf(const Value& v) { return WithArticle(ValueKindName(v.kind)); }

Value Arithmetic(Op op, const Value& a, const Value& b, EvalContext& ctx, SourcePos pos) {
  if (a.is_error()) return a;
  if (b.is_error()) return b;
  auto fail = [&](ErrorKind k, std::string m) { return ErrorAt(ctx, pos, k, m); };
  const ValueKind ak = a.kind, bk = b.kind;
  if (ak == ValueKind::kInt && bk == ValueKind::kInt) {
    int64_t r = 0;
    bool overflow = false;
    switch (op) {
      case Op::kAdd:
        overflow = __builtin_add_overflow(a.i, b.i, &r);
        break;
      case Op::kSub:
        overflow = __builtin_sub_overflow(a.i, b.i, &r);
        break;
      case Op::kMul:
        overflow = __builtin_mul_overflow(a.i, b.i, &r);
        break;
      case Op::kDiv:
      case Op::kMod:
        if (b.i == 0) return fail(ErrorKind::kDivision, "division by zero");
        if (a.i == INT64_MIN && b.i == -1) {
          overflow = op == Op::kDiv;
          r = 0;
        } else {
          r = op == Op::kDiv ? a.i / b.i : a.i % b.i;
        }
        break;
      default:
        break;
    }
    if (overflow)
      return fail(ErrorKind::kOverflow, std::string("integer overflow in ") + std::to_string(a.i) +
                                            " " + OpText(op) + " " + std::to_string(b.i));
    return Value::Int(r);
  }
  auto is_num = [](ValueKind k) { return k == ValueKind::kInt || k == ValueKind::kDecimal; };
  if (is_num(ak) && is_num(bk) && op != Op::kMod) {
    Decimal x = ak == ValueKind::kInt ? DecimalFromInt(a.i) : a.dec();
    Decimal y = bk == ValueKind::kInt ? DecimalFromInt(b.i) : b.dec();
    Decimal r{0, 0};
    DecimalStatus s = DecimalStatus::kOk;
    switch (op) {
      case Op::kAdd:
        s = DecimalAdd(x, y, &r);
        break;
      case Op::kSub:
        s = DecimalSub(x, y, &r);
        break;
      case Op::kMul:
        s = DecimalMul(x, y, &r);
        break;
      case Op::kDiv:
        s = DecimalDiv(x, y, &r);
        break;
      default:
        break;
    }
    if (s == DecimalStatus::kDivisionByZero) return fail(ErrorKind::kDivision, "division by zero");
    if (s != DecimalStatus::kOk)
      return fail(ErrorKind::kOverflow, "decimal overflow in " + DecimalToString(x) + " " +
                                            OpText(op) + " " + DecimalToString(y));
    return Value::Dec(r);
  }
  if (op == Op::kAdd && ak == ValueKind::kString && bk == ValueKind::kString) {
    size_t n = a.s->bytes + static_cast<size_t>(b.s->bytes);
    if (n > kMaxBuiltStringBytes) return fail(ErrorKind::kLimit, "string too long");
    std::string joined;
    joined.reserve(n);
    joined.append(a.str()).append(b.str());
    return StringValue(ctx.arena(), joined);
  }
  if (op == Op::kAdd && ak == ValueKind::kList && bk == ValueKind::kList) {
    ListRep* l = MakeList(ctx.arena(), a.list->size + b.list->size);
    std::copy(a.list->items, a.list->items + a.list->size, l->items);
    std::copy(b.list->items, b.list->items + b.list->size, l->items + a.list->size);
    return Value::List(l);
  }
  if (ak == ValueKind::kDuration && bk == ValueKind::kDuration &&
      (op == Op::kAdd || op == Op::kSub)) {
    Duration y = b.dur(), r{0, 0};
    if ((op == Op::kSub && !NegateDuration(y, &y)) || !AddDurations(a.dur(), y, &r))
      return fail(ErrorKind::kOverflow, "duration overflow");
    return Value::Dur(r);
  }
  if (op == Op::kAdd && ak == ValueKind::kDuration &&
      (bk == ValueKind::kDate || bk == ValueKind::kTimestamp))
    return Arithmetic(op, b, a, ctx, pos);
  if ((ak == ValueKind::kDate || ak == ValueKind::kTimestamp) && bk == ValueKind::kDuration &&
      (op == Op::kAdd || op == Op::kSub)) {
    Duration d = b.dur();
    if (op == Op::kSub && !NegateDuration(d, &d))
      return fail(ErrorKind::kOverflow, "duration overflow");
    if (ak == ValueKind::kDate) {
      int32_t r = 0;
      if (d.micros % kMicrosPerDay != 0)
        return fail(ErrorKind::kRange, "a date moves by whole days or months; " +
                                           FormatDuration(b.dur()) +
                                           " has hours: use timestamp(date) first");
      if (!AddDurationToDate(a.date, d, &r))
        return fail(ErrorKind::kRange, "date out of range (years 0001 to 9999)");
      return Value::Date(r);
    }
    int64_t r = 0;
    if (!AddDurationToTimestamp(a.ts, d, &r))
      return fail(ErrorKind::kRange, "timestamp out of range (years 0001 to 9999)");
    return Value::Timestamp(r);
  }
  if (op == Op::kSub && ak == bk && ak == ValueKind::kDate)
    return Value::Dur({0, (static_cast<int64_t>(a.date) - b.date) * kMicrosPerDay});
  if (op == Op::kSub && ak == bk && ak == ValueKind::kTimestamp) {
    int64_t r = 0;
    if (__builtin_sub_overflow(a.ts, b.ts, &r)) return fail(ErrorKind::kOverflow, "overflow");
    return Value::Dur({0, r});
  }
  return fail(ErrorKind::kType,
              std::string("'") + OpText(op) + "' cannot take " + KindOf(a) + " and " + KindOf(b));
}

namespace {

class ConstNode : public Node {
 public:
  ConstNode(const Expr& e, SourcePos p, Value v) : Node(e, p), v_(v) {}
  Value Eval(const Value*, EvalContext&) const override { return v_; }
  const Value* Constant() const override { return &v_; }

 private:
  Value v_;
};

class VarNode : public Node {
 public:
  VarNode(const Expr& e, SourcePos p, int slot) : Node(e, p), slot_(slot) {}
  Value Eval(const Value* vars, EvalContext&) const override { return vars[slot_]; }
  int VariableSlot() const override { return slot_; }

 private:
  int slot_;
};

class LocalNode : public Node {
 public:
  LocalNode(const Expr& e, SourcePos p, int slot) : Node(e, p), slot_(static_cast<size_t>(slot)) {}
  Value Eval(const Value*, EvalContext& ctx) const override { return ctx.locals[slot_]; }
  int LocalSlot() const override { return static_cast<int>(slot_); }

 private:
  size_t slot_;
};

// Reads one field. The checker resolved its slot for values of type `expected`; a value of any
// other shape (dyn data, a map) is read by name.
class FieldNode : public Node {
 public:
  // `var` >= 0: the target is that variable, read without a node of its own.
  FieldNode(const Expr& e, SourcePos p, NodePtr target, int var, const Type* expected, int slot,
            std::string text)
      : Node(e, p),
        target_(std::move(target)),
        var_(var),
        expected_(expected),
        slot_(slot),
        text_(std::move(text)) {}

  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value t = var_ >= 0 ? vars[var_] : target_->Eval(vars, ctx);
    if (t.kind == ValueKind::kObject && t.obj->type == expected_) {
      const Value& v = t.obj->slots[slot_];
      if (!v.is_absent()) return v;
      return Absent(ctx);
    }
    return Slow(t, ctx);
  }

 private:
  Value Absent(EvalContext& ctx) const {
    return Fail(ctx, ErrorKind::kAbsent, text_ + " is absent");
  }
  Value Slow(const Value& t, EvalContext& ctx) const {
    if (t.is_error()) return t;
    const std::string& name = expr().text;
    if (t.kind == ValueKind::kObject) {
      int i = t.obj->type->FieldIndex(name);
      if (i >= 0 && !t.obj->slots[i].is_absent()) return t.obj->slots[i];
      return Absent(ctx);
    }
    if (t.kind == ValueKind::kMap) {
      if (const Value* v = MapFind(*t.map, name)) return *v;
      return Absent(ctx);
    }
    return Fail(ctx, ErrorKind::kType, KindOf(t) + " has no field '" + name + "'");
  }

  NodePtr target_;
  int var_;
  const Type* expected_;
  int slot_;
  std::string text_;
};

class IndexNode : public Node {
 public:
  IndexNode(const Expr& e, SourcePos p, NodePtr target, NodePtr index, std::string text)
      : Node(e, p), target_(std::move(target)), index_(std::move(index)), text_(std::move(text)) {}

  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value t = target_->Eval(vars, ctx);
    if (t.is_error()) return t;
    Value i = index_->Eval(vars, ctx);
    if (i.is_error()) return i;
    if (t.kind == ValueKind::kList && i.kind == ValueKind::kInt) {
      int64_t n = t.list->size;
      int64_t k = i.i;
      if (k >= 0 && k < n) return t.list->items[k];
      return Fail(ctx, ErrorKind::kAbsent,
                  text_ + ": index " + std::to_string(k) + " is out of range (the list has " +
                      std::to_string(n) + (n == 1 ? " element)" : " elements)"));
    }
    if ((t.kind == ValueKind::kMap || t.kind == ValueKind::kObject) &&
        i.kind == ValueKind::kString) {
      if (t.kind == ValueKind::kMap) {
        if (const Value* v = MapFind(*t.map, i.str())) return *v;
      } else {
        int k = t.obj->type->FieldIndex(i.str());
        if (k >= 0 && !t.obj->slots[k].is_absent()) return t.obj->slots[k];
      }
      std::string key;
      AppendJsonString(i.str(), &key);
      return Fail(ctx, ErrorKind::kAbsent, text_ + "[" + key + "] is absent");
    }
    return Fail(ctx, ErrorKind::kType,
                std::string("cannot index ") + KindOf(t) + " with " + KindOf(i));
  }

 private:
  NodePtr target_, index_;
  std::string text_;
};

class NotNode : public Node {
 public:
  NotNode(const Expr& e, SourcePos p, NodePtr a) : Node(e, p), a_(std::move(a)) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value v = a_->Eval(vars, ctx);
    if (v.kind == ValueKind::kBool) return Value::Bool(!v.b);
    if (v.is_error()) return v;
    return Fail(ctx, ErrorKind::kType, std::string("'not' needs a bool, not ") + KindOf(v));
  }

 private:
  NodePtr a_;
};

class NegNode : public Node {
 public:
  NegNode(const Expr& e, SourcePos p, NodePtr a) : Node(e, p), a_(std::move(a)) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value v = a_->Eval(vars, ctx);
    if (v.kind == ValueKind::kDuration) {
      Duration d{0, 0};
      if (!NegateDuration(v.dur(), &d)) return Fail(ctx, ErrorKind::kOverflow, "duration overflow");
      return Value::Dur(d);
    }
    return Arithmetic(Op::kSub, v.kind == ValueKind::kDecimal ? Value::Dec({0, 0}) : Value::Int(0),
                      v, ctx, pos());
  }

 private:
  NodePtr a_;
};

// `and` and `or` as CEL defines them: an error is absorbed when the other side decides. With
// `explain_all`, `false and b` still evaluates b, so explain can show every false clause.
template <bool kIsAnd>
class LogicNode : public Node {
 public:
  LogicNode(const Expr& e, SourcePos p, NodePtr a, NodePtr b, bool explain_all = false)
      : Node(e, p), a_(std::move(a)), b_(std::move(b)), explain_all_(explain_all) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value l = a_->Eval(vars, ctx);
    if (l.kind == ValueKind::kBool) {
      if (l.b != kIsAnd) {  // false and _, true or _
        if (kIsAnd && explain_all_) b_->Eval(vars, ctx);
        return l;
      }
      return Checked(b_->Eval(vars, ctx), ctx);
    }
    Value r = Checked(b_->Eval(vars, ctx), ctx);
    if (r.kind == ValueKind::kBool && r.b != kIsAnd) return r;
    return Checked(l, ctx);  // The left error (or type error) wins.
  }

 private:
  Value Checked(const Value& v, EvalContext& ctx) const {
    if (v.kind == ValueKind::kBool || v.is_error()) return v;
    return Fail(ctx, ErrorKind::kType,
                std::string("'") + (kIsAnd ? "and" : "or") + "' needs bools, not " + KindOf(v));
  }
  NodePtr a_, b_;
  bool explain_all_;
};

class CoalesceNode : public Node {
 public:
  CoalesceNode(const Expr& e, SourcePos p, NodePtr a, NodePtr b, bool to_decimal)
      : Node(e, p), a_(std::move(a)), b_(std::move(b)), to_decimal_(to_decimal) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value v = a_->Eval(vars, ctx);
    if (v.is_absent() || v.kind == ValueKind::kNull) v = b_->Eval(vars, ctx);
    if (to_decimal_ && v.kind == ValueKind::kInt) return Value::Dec(DecimalFromInt(v.i));
    return v;
  }

 private:
  NodePtr a_, b_;
  bool to_decimal_;
};

class ConditionalNode : public Node {
 public:
  ConditionalNode(const Expr& e, SourcePos p, NodePtr c, NodePtr a, NodePtr b, bool to_decimal)
      : Node(e, p), c_(std::move(c)), a_(std::move(a)), b_(std::move(b)), to_decimal_(to_decimal) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value c = c_->Eval(vars, ctx);
    if (c.is_error()) return c;
    if (c.kind != ValueKind::kBool)
      return Fail(ctx, ErrorKind::kType, std::string("'?' needs a bool, not ") + KindOf(c));
    Value v = (c.b ? a_ : b_)->Eval(vars, ctx);
    if (to_decimal_ && v.kind == ValueKind::kInt) return Value::Dec(DecimalFromInt(v.i));
    return v;
  }

 private:
  NodePtr c_, a_, b_;
  bool to_decimal_;
};

bool Holds(Op op, int c) {
  switch (op) {
    case Op::kEq:
      return c == 0;
    case Op::kNe:
      return c != 0;
    case Op::kLt:
      return c < 0;
    case Op::kLe:
      return c <= 0;
    case Op::kGt:
      return c > 0;
    case Op::kGe:
      return c >= 0;
    default:
      return false;
  }
}

template <Op kOp>
class CompareNode : public Node {
 public:
  CompareNode(const Expr& e, SourcePos p, NodePtr a, NodePtr b)
      : Node(e, p), a_(std::move(a)), b_(std::move(b)) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value l = a_->Eval(vars, ctx);
    Value r = b_->Eval(vars, ctx);
    if (l.kind == ValueKind::kInt && r.kind == ValueKind::kInt)
      return Value::Bool(Holds(kOp, (l.i > r.i) - (l.i < r.i)));
    return Compare(*this, l, r, ctx);
  }
  // Any two values, the error and mismatch cases included.
  static Value Compare(const Node& at, const Value& l, const Value& r, EvalContext& ctx) {
    if (l.is_error()) return l;
    if (r.is_error()) return r;
    if constexpr (kOp == Op::kEq || kOp == Op::kNe) {
      return Value::Bool(ValuesEqual(l, r) == (kOp == Op::kEq));
    } else {
      if (l.kind == ValueKind::kDuration && r.kind == ValueKind::kDuration) {
        int c = 0;
        if (!CompareDurations(l.dur(), r.dur(), &c))
          return ErrorAt(ctx, at.pos(), ErrorKind::kInvalid,
                         "cannot order " + FormatDuration(l.dur()) + " and " +
                             FormatDuration(r.dur()) + ": months have no fixed length");
        return Value::Bool(Holds(kOp, c));
      }
      bool comparable = false;
      int c = CompareValues(l, r, &comparable);
      if (!comparable)
        return ErrorAt(ctx, at.pos(), ErrorKind::kType,
                       std::string("cannot order ") + KindOf(l) + " and " + KindOf(r));
      return Value::Bool(Holds(kOp, c));
    }
  }

 private:
  NodePtr a_, b_;
};

// `x op 72`: the constant is held in the node, not evaluated through one.
template <Op kOp>
class CompareIntConstNode : public Node {
 public:
  CompareIntConstNode(const Expr& e, SourcePos p, NodePtr a, int64_t c)
      : Node(e, p), a_(std::move(a)), c_(c) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value l = a_.Get(vars, ctx);
    if (l.kind == ValueKind::kInt) return Value::Bool(Holds(kOp, (l.i > c_) - (l.i < c_)));
    return CompareNode<kOp>::Compare(*this, l, Value::Int(c_), ctx);
  }

 private:
  Operand a_;
  int64_t c_;
};

// `len(x) > 0` and its equivalents: whether x is (not) empty, found at x's first element or
// present field rather than by counting them all. Errors are len()'s, at the len() call.
class EmptyNode : public Node {
 public:
  EmptyNode(const Expr& len_call, SourcePos p, NodePtr a, bool want_empty)
      : Node(len_call, p), a_(std::move(a)), want_empty_(want_empty) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value v = a_.Get(vars, ctx);
    bool empty = true;
    switch (v.kind) {
      case ValueKind::kString:
        empty = v.s->bytes == 0;
        break;
      case ValueKind::kList:
        empty = v.list->size == 0;
        break;
      case ValueKind::kMap:
        empty = v.map->size == 0;
        break;
      case ValueKind::kObject: {
        const size_t n = v.obj->type->fields().size();
        for (size_t i = 0; i < n && empty; ++i) empty = v.obj->slots[i].is_absent();
        break;
      }
      case ValueKind::kError:
        return v;
      default:
        return Fail(ctx, ErrorKind::kType, std::string("len() cannot take ") + KindOf(v));
    }
    return Value::Bool(empty == want_empty_);
  }

 private:
  Operand a_;
  bool want_empty_;
};

// When `e` compares len(x) with 0 or 1 so that it only asks whether x is empty: 1 for "is
// empty", 0 for "is not empty", -1 otherwise.
int EmptinessTest(const Expr& e) {
  const Expr& l = *e.args[0];
  const Expr& r = *e.args[1];
  if (l.kind != ExprKind::kCall || l.text != "len" || l.args.size() != 1) return -1;
  if (l.args[0]->kind == ExprKind::kCall && l.args[0]->text == "join") return -1;
  if (r.kind != ExprKind::kInt) return -1;
  const int64_t c = r.int_value;
  if ((e.op == Op::kGt && c == 0) || (e.op == Op::kNe && c == 0) || (e.op == Op::kGe && c == 1))
    return 0;
  if ((e.op == Op::kEq && c == 0) || (e.op == Op::kLe && c == 0) || (e.op == Op::kLt && c == 1))
    return 1;
  return -1;
}

class InNode : public Node {
 public:
  InNode(const Expr& e, SourcePos p, NodePtr a, NodePtr b, bool negate)
      : Node(e, p), a_(std::move(a)), b_(std::move(b)), negate_(negate) {
    // A constant list of strings is searched by length first, then bytes.
    if (const Value* c = b_->Constant(); c && c->kind == ValueKind::kList) {
      strings_only_ = true;
      for (uint32_t i = 0; i < c->list->size; ++i)
        strings_only_ = strings_only_ && c->list->items[i].kind == ValueKind::kString;
      if (strings_only_)
        for (uint32_t i = 0; i < c->list->size; ++i) strings_.push_back(c->list->items[i].str());
    }
  }
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value x = a_.Get(vars, ctx);
    if (strings_only_ && x.kind == ValueKind::kString) {
      std::string_view s = x.str();
      for (std::string_view c : strings_)
        if (c.size() == s.size() && std::memcmp(c.data(), s.data(), s.size()) == 0)
          return Value::Bool(!negate_);
      return Value::Bool(negate_);
    }
    if (x.is_error()) return x;
    Value in = b_->Eval(vars, ctx);
    if (in.is_error()) return in;
    bool found = false;
    if (in.kind == ValueKind::kList) {
      for (uint32_t i = 0; i < in.list->size && !found; ++i)
        found = ValuesEqual(x, in.list->items[i]);
    } else if (in.kind == ValueKind::kMap && x.kind == ValueKind::kString) {
      found = MapFind(*in.map, x.str()) != nullptr;
    } else if (in.kind == ValueKind::kObject && x.kind == ValueKind::kString) {
      int k = in.obj->type->FieldIndex(x.str());
      found = k >= 0 && !in.obj->slots[k].is_absent();
    } else {
      return Fail(ctx, ErrorKind::kType,
                  std::string("'in' cannot look for ") + KindOf(x) + " in " + KindOf(in));
    }
    return Value::Bool(found != negate_);
  }

 private:
  Operand a_;
  NodePtr b_;
  bool negate_;
  bool strings_only_ = false;
  std::vector<std::string_view> strings_;
};

class ArithNode : public Node {
 public:
  ArithNode(const Expr& e, SourcePos p, Op op, NodePtr a, NodePtr b)
      : Node(e, p), op_(op), a_(std::move(a)), b_(std::move(b)) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value l = a_->Eval(vars, ctx);
    if (l.is_error()) return l;
    return Arithmetic(op_, l, b_->Eval(vars, ctx), ctx, pos());
  }

 private:
  Op op_;
  NodePtr a_, b_;
};

class ListNode : public Node {
 public:
  ListNode(const Expr& e, SourcePos p, std::vector<NodePtr> items)
      : Node(e, p), items_(std::move(items)) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    ListRep* l = MakeList(ctx.arena(), static_cast<uint32_t>(items_.size()));
    for (size_t i = 0; i < items_.size(); ++i) {
      l->items[i] = items_[i]->Eval(vars, ctx);
      if (l->items[i].is_error()) return l->items[i];
    }
    return Value::List(l);
  }

 private:
  std::vector<NodePtr> items_;
};

class MapNode : public Node {
 public:
  MapNode(const Expr& e, SourcePos p, std::vector<NodePtr> parts)
      : Node(e, p), parts_(std::move(parts)) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    std::vector<MapEntry> entries;
    for (size_t i = 0; i < parts_.size(); i += 2) {
      Value k = parts_[i]->Eval(vars, ctx);
      Value v = parts_[i + 1]->Eval(vars, ctx);
      if (v.is_error()) return v;
      entries.push_back({k, v});
    }
    return Value::MapOf(MakeMap(ctx.arena(), std::move(entries)));
  }

 private:
  std::vector<NodePtr> parts_;
};

// Records each value it passes on into the explain trace.
class TraceNode : public Node {
 public:
  explicit TraceNode(NodePtr inner) : Node(inner->expr(), inner->pos()), inner_(std::move(inner)) {}
  Value Eval(const Value* vars, EvalContext& ctx) const override {
    Value v = inner_->Eval(vars, ctx);
    if (ctx.trace) {
      uint32_t id = expr().id;
      if (id < ctx.trace->values.size()) {
        ctx.trace->values[id] = v;
        ctx.trace->seen[id] = 1;
      }
    }
    return v;
  }
  const Value* Constant() const override { return inner_->Constant(); }
  bool Traced() const override { return true; }

 private:
  NodePtr inner_;
};

template <Op kOp>
NodePtr MakeCompareOf(const Expr& e, SourcePos p, NodePtr a, NodePtr b, bool traced) {
  // The traced tree keeps the constant's own node, so explain can show it.
  const Value* c = traced ? nullptr : b->Constant();
  if (c && c->kind == ValueKind::kInt)
    return std::make_unique<CompareIntConstNode<kOp>>(e, p, std::move(a), c->i);
  return std::make_unique<CompareNode<kOp>>(e, p, std::move(a), std::move(b));
}

NodePtr MakeCompare(const Expr& e, SourcePos p, NodePtr a, NodePtr b, bool traced) {
  switch (e.op) {
    case Op::kEq:
      return MakeCompareOf<Op::kEq>(e, p, std::move(a), std::move(b), traced);
    case Op::kNe:
      return MakeCompareOf<Op::kNe>(e, p, std::move(a), std::move(b), traced);
    case Op::kLt:
      return MakeCompareOf<Op::kLt>(e, p, std::move(a), std::move(b), traced);
    case Op::kLe:
      return MakeCompareOf<Op::kLe>(e, p, std::move(a), std::move(b), traced);
    case Op::kGt:
      return MakeCompareOf<Op::kGt>(e, p, std::move(a), std::move(b), traced);
    default:
      return MakeCompareOf<Op::kGe>(e, p, std::move(a), std::move(b), traced);
  }
}

// Whether an expression reads nothing but literals and constants, so it can be folded.
bool IsConstantExpr(const Expr& e) {
  if (e.kind == ExprKind::kName) return e.resolution == Resolution::kConstant;
  if (e.kind == ExprKind::kLambda) return false;
  if (e.kind == ExprKind::kCall && e.text == "has") return false;
  for (const auto& a : e.args)
    if (!IsConstantExpr(*a)) return false;
  return true;
}

}  // namespace

Value DeepCopy(const Value& v, Arena& arena) {
  switch (v.kind) {
    case ValueKind::kString:
      return StringValue(arena, v.str());
    case ValueKind::kError:
      return ErrorValue(arena, v.err->kind, v.err->pos, v.error_message());
    case ValueKind::kList: {
      ListRep* l = MakeList(arena, v.list->size);
      for (uint32_t i = 0; i < v.list->size; ++i) l->items[i] = DeepCopy(v.list->items[i], arena);
      return Value::List(l);
    }
    case ValueKind::kMap: {
      std::vector<MapEntry> entries;
      for (uint32_t i = 0; i < v.map->size; ++i)
        entries.push_back(
            {DeepCopy(v.map->entries[i].key, arena), DeepCopy(v.map->entries[i].value, arena)});
      return Value::MapOf(MakeMap(arena, std::move(entries)));
    }
    case ValueKind::kObject: {
      ObjectRep* o = MakeObject(arena, v.obj->type);
      for (size_t i = 0; i < v.obj->type->fields().size(); ++i)
        o->slots[i] = DeepCopy(v.obj->slots[i], arena);
      return Value::Obj(o);
    }
    default:
      return v;
  }
}

Compiler::Compiler(const Source& source, const std::vector<Value>* constants, Arena* constant_arena,
                   bool traced)
    : source_(source), constants_(constants), arena_(constant_arena), traced_(traced) {}

SourcePos Compiler::PosOf(const Expr& e) const {
  // Every node asks; an index of line starts keeps that linear in the file, not quadratic.
  std::vector<uint32_t>& line_starts = source_.line_starts;
  if (line_starts.empty()) {
    line_starts.push_back(0);
    for (size_t i = 0; i < source_.text.size(); ++i)
      if (source_.text[i] == '\n') line_starts.push_back(static_cast<uint32_t>(i + 1));
  }
  const uint32_t offset = std::min<uint32_t>(e.begin, static_cast<uint32_t>(source_.text.size()));
  auto it = std::upper_bound(line_starts.begin(), line_starts.end(), offset) - 1;
  const uint32_t line = static_cast<uint32_t>(it - line_starts.begin()) + 1;
  std::string_view before = std::string_view(source_.text).substr(*it, offset - *it);
  return {line, static_cast<uint32_t>(CountCodePoints(before)) + 1};
}

NodePtr Compiler::Compile(const Expr& e) {
  NodePtr n = CompileUntraced(e);
  if (traced_) return std::make_unique<TraceNode>(std::move(n));
  return n;
}

NodePtr Compiler::CompileUntraced(const Expr& e) {
  const SourcePos p = PosOf(e);
  // Fold what depends on no data: constant lists, arithmetic on constants, calls on literals.
  if (!traced_ && IsConstantExpr(e) && e.kind != ExprKind::kName && e.kind != ExprKind::kString &&
      e.kind != ExprKind::kInt && e.kind != ExprKind::kBool) {
    Compiler plain(source_, constants_, arena_, false);
    NodePtr inner = plain.CompileNoFold(e);
    EvalContext ctx;
    ctx.Reset();
    try {
      Value v = inner->Eval(nullptr, ctx);
      return std::make_unique<ConstNode>(e, p, DeepCopy(v, *arena_));
    } catch (const ArenaLimitReached&) {
      // Too big to keep folded (or to build at all): evaluated each time, within its own limit.
      return inner;
    }
  }
  return CompileNoFold(e);
}

NodePtr Compiler::CompileNoFold(const Expr& e) {
  const SourcePos p = PosOf(e);
  switch (e.kind) {
    case ExprKind::kNull:
      return std::make_unique<ConstNode>(e, p, Value::Null());
    case ExprKind::kBool:
      return std::make_unique<ConstNode>(e, p, Value::Bool(e.bool_value));
    case ExprKind::kInt:
      return std::make_unique<ConstNode>(e, p, Value::Int(e.int_value));
    case ExprKind::kDecimal:
      return std::make_unique<ConstNode>(e, p, Value::Dec(e.decimal_value));
    case ExprKind::kString:
      return std::make_unique<ConstNode>(e, p, StringValue(*arena_, e.text));
    case ExprKind::kName:
      switch (e.resolution) {
        case Resolution::kVariable:
          return std::make_unique<VarNode>(e, p, e.slot);
        case Resolution::kLocal:
          return std::make_unique<LocalNode>(e, p, e.slot);
        case Resolution::kConstant:
          return std::make_unique<ConstNode>(e, p, ConstantValue(e.slot));
        default:
          break;
      }
      return std::make_unique<ConstNode>(
          e, p, ErrorValue(*arena_, ErrorKind::kInvalid, p, "unresolved name " + e.text));
    case ExprKind::kField: {
      const Expr& target = *e.args[0];
      const TypePtr& t = target.type;
      const Type* expected = t && t->kind() == TypeKind::kObject ? t.get() : nullptr;
      const bool on_variable =
          !traced_ && target.kind == ExprKind::kName && target.resolution == Resolution::kVariable;
      return std::make_unique<FieldNode>(e, p, on_variable ? nullptr : Compile(target),
                                         on_variable ? target.slot : -1, expected, e.slot,
                                         std::string(ExprText(source_, e)));
    }
    case ExprKind::kIndex:
      return std::make_unique<IndexNode>(e, p, Compile(*e.args[0]), Compile(*e.args[1]),
                                         std::string(ExprText(source_, *e.args[0])));
    case ExprKind::kList:
    case ExprKind::kMap: {
      std::vector<NodePtr> items;
      for (const auto& a : e.args) items.push_back(Compile(*a));
      if (e.kind == ExprKind::kList) return std::make_unique<ListNode>(e, p, std::move(items));
      return std::make_unique<MapNode>(e, p, std::move(items));
    }
    case ExprKind::kCall:
      return CompileCall(*this, e);
    case ExprKind::kUnary:
      if (e.op == Op::kNot) return std::make_unique<NotNode>(e, p, Compile(*e.args[0]));
      return std::make_unique<NegNode>(e, p, Compile(*e.args[0]));
    case ExprKind::kConditional:
      return std::make_unique<ConditionalNode>(e, p, Compile(*e.args[0]), Compile(*e.args[1]),
                                               Compile(*e.args[2]),
                                               e.type && e.type->kind() == TypeKind::kDecimal);
    case ExprKind::kLambda:
      break;
    case ExprKind::kBinary: {
      if (!traced_) {
        if (const int empty = EmptinessTest(e); empty >= 0) {
          const Expr& len = *e.args[0];
          return std::make_unique<EmptyNode>(len, PosOf(len), Compile(*len.args[0]), empty == 1);
        }
      }
      NodePtr a = Compile(*e.args[0]);
      NodePtr b = Compile(*e.args[1]);
      switch (e.op) {
        case Op::kAnd:
          return std::make_unique<LogicNode<true>>(e, p, std::move(a), std::move(b), traced_);
        case Op::kOr:
          return std::make_unique<LogicNode<false>>(e, p, std::move(a), std::move(b));
        case Op::kCoalesce:
          return std::make_unique<CoalesceNode>(e, p, std::move(a), std::move(b),
                                                e.type && e.type->kind() == TypeKind::kDecimal);
        case Op::kEq:
        case Op::kNe:
        case Op::kLt:
        case Op::kLe:
        case Op::kGt:
        case Op::kGe:
          return MakeCompare(e, p, std::move(a), std::move(b), traced_);
        case Op::kIn:
        case Op::kNotIn:
          return std::make_unique<InNode>(e, p, std::move(a), std::move(b), e.op == Op::kNotIn);
        default:
          return std::make_unique<ArithNode>(e, p, e.op, std::move(a), std::move(b));
      }
    }
  }
  return std::make_unique<ConstNode>(
      e, p, ErrorValue(*arena_, ErrorKind::kInvalid, p, "cannot compile this expression"));
}

}  // namespace sellerflow::dsl
