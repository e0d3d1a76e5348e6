// Explain: which clauses made a condition false or end in an error, with the values they saw.
#include <string>

#include "dsl/eval.h"
#include "dsl/utf8.h"

namespace sellerflow::dsl {
namespace {

bool IsLiteral(const Expr& e) {
  switch (e.kind) {
    case ExprKind::kNull:
    case ExprKind::kBool:
    case ExprKind::kInt:
    case ExprKind::kDecimal:
    case ExprKind::kString:
      return true;
    default:
      return false;
  }
}

class Explainer {
 public:
  Explainer(const Source& source, const Trace& trace, std::vector<ExplainedClause>* out)
      : source_(source), trace_(trace), out_(out) {}

  const Value* ValueOf(const Expr& e) const {
    if (e.id >= trace_.seen.size() || !trace_.seen[e.id]) return nullptr;
    return &trace_.values[e.id];
  }

  // Explains why `e` was false (or an error).
  void Explain(const Expr& e) {
    const Value* v = ValueOf(e);
    if (!v) return;
    if (v->is_error()) {
      ExplainError(e);
      return;
    }
    if (e.kind == ExprKind::kBinary && e.op == Op::kAnd) {
      // Every false side; a side in error did not decide a false `and` (nor did a guarded one).
      for (const auto& a : e.args) {
        const Value* x = ValueOf(*a);
        if (x && x->kind == ValueKind::kBool && !x->b) Explain(*a);
      }
      return;
    }
    if (e.kind == ExprKind::kBinary && e.op == Op::kOr) {
      // Every side was false. `not has(...)` guards are noise when something else explains.
      std::vector<const Expr*> sides;
      Flatten(e, &sides);
      std::vector<const Expr*> shown;
      for (const Expr* s : sides)
        if (!IsAbsenceGuard(*s)) shown.push_back(s);
      if (shown.empty()) shown = sides;
      for (const Expr* s : shown) Explain(*s);
      return;
    }
    if (e.kind == ExprKind::kConditional) {
      const Value* c = ValueOf(*e.args[0]);
      if (c && c->kind == ValueKind::kBool) {
        Explain(*e.args[c->b ? 1 : 2]);
        return;
      }
    }
    Leaf(e, *v);
  }

 private:
  void Flatten(const Expr& e, std::vector<const Expr*>* out) {
    if (e.kind == ExprKind::kBinary && e.op == Op::kOr) {
      Flatten(*e.args[0], out);
      Flatten(*e.args[1], out);
    } else {
      out->push_back(&e);
    }
  }

  static bool IsAbsenceGuard(const Expr& e) {
    return e.kind == ExprKind::kUnary && e.op == Op::kNot && e.args[0]->kind == ExprKind::kCall &&
           e.args[0]->text == "has";
  }

  void ExplainError(const Expr& e) {
    // Descend to the innermost expression that produced the error.
    for (const auto& a : e.args) {
      if (a->kind == ExprKind::kLambda) {
        const Value* b = ValueOf(*a->args[0]);
        if (b && b->is_error()) return ExplainError(*a->args[0]);
        continue;
      }
      const Value* x = ValueOf(*a);
      if (x && x->is_error() && x->err == ValueOf(e)->err) return ExplainError(*a);
    }
    Leaf(e, *ValueOf(e));
  }

  void AddOperand(ExplainedClause* c, const Expr& a) {
    if (IsLiteral(a)) return;
    if (a.kind == ExprKind::kLambda) {
      // The element the macro stopped at: the last value its variable took.
      const Expr* var = FindLocal(*a.args[0], a.slot);
      if (var) {
        if (const Value* v = ValueOf(*var)) c->operands.push_back({a.text, ToJson(*v)});
      }
      return;
    }
    const Value* v = ValueOf(a);
    if (!v || v->is_error()) return;
    c->operands.push_back({std::string(ExprText(source_, a)), ToJson(*v)});
  }

  const Expr* FindLocal(const Expr& e, int slot) {
    if (e.kind == ExprKind::kName && e.resolution == Resolution::kLocal && e.slot == slot &&
        ValueOf(e))
      return &e;
    for (const auto& a : e.args)
      if (const Expr* f = FindLocal(*a, slot)) return f;
    return nullptr;
  }

  void Leaf(const Expr& e, const Value& v) {
    ExplainedClause c;
    c.text = std::string(ExprText(source_, e));
    uint32_t line = 0, column = 0;
    std::string_view text;
    LocateOffset(source_.text, e.begin, &line, &column, &text);
    c.pos = {line, column};
    if (v.is_error()) {
      c.result = "error: " + std::string(v.error_message());
    } else {
      c.result = ToJson(v);
    }
    const Expr* subject = &e;
    // all() stops at the element that failed, which is worth showing; any() saw none pass.
    const bool show_element = e.kind == ExprKind::kCall && e.text != "any";
    if (e.kind == ExprKind::kUnary && e.op == Op::kNot) subject = e.args[0].get();
    if (subject->kind == ExprKind::kCall && subject->text == "has") {
      // has(x.f): show x, which was there, so the reader sees what it lacked.
    } else {
      for (const auto& a : subject->args)
        if (a->kind != ExprKind::kLambda || show_element) AddOperand(&c, *a);
    }
    out_->push_back(std::move(c));
  }

  const Source& source_;
  const Trace& trace_;
  std::vector<ExplainedClause>* out_;
};

}  // namespace

void ExplainExpr(const Source& source, const Expr& e, const Trace& trace,
                 std::vector<ExplainedClause>* out) {
  Explainer(source, trace, out).Explain(e);
}

std::string Explanation::ToText() const {
  std::string out;
  if (!rule.empty()) out += "rule " + rule + ": " + OutcomeName(outcome) + "\n";
  for (const auto& c : clauses) {
    if (!file.empty())
      out += file + ":" + std::to_string(c.pos.line) + ":" + std::to_string(c.pos.column) + ": ";
    out += c.text + " -> " + c.result;
    if (!c.operands.empty()) {
      out += " [";
      for (size_t i = 0; i < c.operands.size(); ++i) {
        if (i) out += ", ";
        out += c.operands[i].first + " = " + c.operands[i].second;
      }
      out += "]";
    }
    out += "\n";
  }
  return out;
}

std::string Explanation::ToJson() const {
  std::string out = "{";
  if (!rule.empty()) {
    out += "\"rule\":";
    AppendJsonString(rule, &out);
    out += ",";
  }
  out += "\"outcome\":";
  AppendJsonString(OutcomeName(outcome), &out);
  out += ",\"file\":";
  AppendJsonString(file, &out);
  out += ",\"clauses\":[";
  for (size_t i = 0; i < clauses.size(); ++i) {
    const auto& c = clauses[i];
    if (i) out += ",";
    out += "{\"text\":";
    AppendJsonString(c.text, &out);
    out += ",\"line\":" + std::to_string(c.pos.line) +
           ",\"column\":" + std::to_string(c.pos.column) + ",\"result\":";
    AppendJsonString(c.result, &out);
    out += ",\"operands\":[";
    for (size_t j = 0; j < c.operands.size(); ++j) {
      if (j) out += ",";
      out += "{\"text\":";
      AppendJsonString(c.operands[j].first, &out);
      out += ",\"value\":" + c.operands[j].second + "}";
    }
    out += "]}";
  }
  out += "]}";
  return out;
}

}  // namespace sellerflow::dsl
