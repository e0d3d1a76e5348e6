// The evaluator's closure tree: checked expressions compiled into nodes with names and fields
// resolved.
#ifndef SELLERFLOW_DSL_EVAL_H_
#define SELLERFLOW_DSL_EVAL_H_

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/ast.h"
#include "dsl/program.h"
#include "dsl/value.h"

namespace sellerflow::dsl {

// What the explain trace records: the last value of each expression id during one evaluation.
struct Trace {
  std::vector<Value> values;
  std::vector<uint8_t> seen;
  void Clear(size_t n) {
    values.assign(n, Value());
    seen.assign(n, 0);
  }
};

class Node {
 public:
  Node(const Expr& e, SourcePos pos) : expr_(&e), pos_(pos) {}
  virtual ~Node() = default;
  // The value of the expression. Errors are values; nothing throws.
  virtual Value Eval(const Value* vars, EvalContext& ctx) const = 0;
  // The constant value when the node is a literal or a constant (for compile-time use).
  virtual const Value* Constant() const { return nullptr; }
  // The slot when the node only reads a variable (or a macro's local), else -1.
  virtual int VariableSlot() const { return -1; }
  virtual int LocalSlot() const { return -1; }
  // Whether the node records its value for explain (then it must be evaluated, never bypassed).
  virtual bool Traced() const { return false; }

  const Expr& expr() const { return *expr_; }
  SourcePos pos() const { return pos_; }

 protected:
  // An error value at this node's position.
  Value Fail(EvalContext& ctx, ErrorKind kind, std::string_view message) const;

 private:
  const Expr* expr_;
  SourcePos pos_;
};
using NodePtr = std::unique_ptr<Node>;

// An operand of a node: a variable, a local or a constant is read in place, anything else is
// evaluated through its node. It saves a virtual call per leaf, which is most of a short rule.
class Operand {
 public:
  Operand() = default;
  explicit Operand(NodePtr node) : node_(std::move(node)) {
    if (node_->Traced()) return;
    if (const Value* c = node_->Constant()) {
      kind_ = Kind::kConstant;
      constant_ = *c;
    } else if ((slot_ = node_->VariableSlot()) >= 0) {
      kind_ = Kind::kVariable;
    } else if ((slot_ = node_->LocalSlot()) >= 0) {
      kind_ = Kind::kLocal;
    }
  }
  Value Get(const Value* vars, EvalContext& ctx) const {
    switch (kind_) {
      case Kind::kVariable:
        return vars[slot_];
      case Kind::kLocal:
        return ctx.locals[static_cast<size_t>(slot_)];
      case Kind::kConstant:
        return constant_;
      case Kind::kNode:
        break;
    }
    return node_->Eval(vars, ctx);
  }
  const Node& node() const { return *node_; }
  explicit operator bool() const { return node_ != nullptr; }

 private:
  enum class Kind { kNode, kVariable, kLocal, kConstant };
  NodePtr node_;
  Kind kind_ = Kind::kNode;
  int slot_ = -1;
  Value constant_;
};

// Compiles checked expressions. With `traced`, every node records its value into ctx.trace, for
// Explain; the plain tree pays nothing for that.
class Compiler {
 public:
  Compiler(const Source& source, const std::vector<Value>* constants, Arena* constant_arena,
           bool traced);
  NodePtr Compile(const Expr& e);
  const Source& source() const { return source_; }
  Arena& arena() { return *arena_; }
  const Value& ConstantValue(int slot) const { return (*constants_)[static_cast<size_t>(slot)]; }
  bool traced() const { return traced_; }
  SourcePos PosOf(const Expr& e) const;

  // Compiles without folding `e` itself into a constant (its children may still fold).
  NodePtr CompileNoFold(const Expr& e);

 private:
  NodePtr CompileUntraced(const Expr& e);
  const Source& source_;
  const std::vector<Value>* constants_;
  Arena* arena_;
  bool traced_;
};

// In functions.cc: the node of a call to a built-in function or macro.
NodePtr CompileCall(Compiler& compiler, const Expr& call);

// In explain.cc: appends the clauses that made `e` false or an error, from a traced evaluation.
void ExplainExpr(const Source& source, const Expr& e, const Trace& trace,
                 std::vector<ExplainedClause>* out);

// Shared run-time helpers.
// `a op b` for + - * / % on numbers, strings, lists, dates, timestamps and durations.
Value Arithmetic(Op op, const Value& a, const Value& b, EvalContext& ctx, SourcePos pos);
// A copy of `v` whose memory all comes from `arena`.
Value DeepCopy(const Value& v, Arena& arena);
Value ErrorAt(EvalContext& ctx, SourcePos pos, ErrorKind kind, std::string_view message);
// A value's kind with its article, for error messages: "a string", "an int".
std::string KindOf(const Value& v);

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_EVAL_H_
