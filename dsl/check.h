// The type checker: resolves names, types every expression and proves fields present before use.
#ifndef SELLERFLOW_DSL_CHECK_H_
#define SELLERFLOW_DSL_CHECK_H_

#include <functional>
#include <string>
#include <vector>

#include "dsl/ast.h"
#include "dsl/diagnostics.h"
#include "dsl/types.h"
#include "dsl/value.h"

namespace sellerflow::dsl {

// A named constant as the checker sees it. Its value is computed once, when first needed.
struct ConstantInfo {
  std::string name;
  const Source* source = nullptr;
  ConstAst* ast = nullptr;
  TypePtr type;
  Value value;
  enum class Status { kPending, kChecking, kDone, kBroken } status = Status::kPending;
  bool used = false;
};

// Paths proven present ("details.ProductTitle"), as has() establishes them.
using Facts = std::vector<std::string>;

class Checker {
 public:
  // `constants` may grow while checking (evaluated on demand through `evaluate`). Locals start
  // empty.
  Checker(const Source& source, const TypeEnv& env, std::vector<ConstantInfo>* constants,
          std::function<bool(size_t)> ensure_constant, Diagnostics* diags);

  // Types `e` and its children; returns the type, or nullptr after reporting an error.
  TypePtr Check(Expr& e, const Facts& facts);
  // Requires a bool (or dyn) result: `what` names the place ("the require condition").
  bool CheckCondition(Expr& e, const Facts& facts, const char* what);

  // Facts that hold when `e` evaluated to true / false.
  Facts WhenTrue(const Expr& e) const;
  Facts WhenFalse(const Expr& e) const;

  // Used by functions.cc.
  void Error(const Expr& at, std::string message, std::string hint = {});
  void Error(uint32_t offset, std::string message, std::string hint = {});
  const Source& source() const { return source_; }
  TypePtr CheckTolerant(Expr& e, const Facts& facts);  // Absent fields allowed (has, ??).
  // Checks a lambda argument against element type `elem`; returns the body's type.
  TypePtr CheckLambda(Expr& lambda, const TypePtr& elem, const Facts& facts);
  size_t max_locals() const { return max_locals_; }
  const ConstantInfo* ConstantOf(const Expr& name) const;

 private:
  TypePtr CheckName(Expr& e);
  TypePtr CheckField(Expr& e, const Facts& facts);
  TypePtr CheckIndex(Expr& e, const Facts& facts);
  TypePtr CheckUnary(Expr& e, const Facts& facts);
  TypePtr CheckBinary(Expr& e, const Facts& facts);
  TypePtr CheckList(Expr& e, const Facts& facts);
  TypePtr CheckMap(Expr& e, const Facts& facts);
  TypePtr CheckConditional(Expr& e, const Facts& facts);
  std::string PathKey(const Expr& e) const;

  const Source& source_;
  const TypeEnv& env_;
  std::vector<std::string> var_names_;
  std::vector<ConstantInfo>* constants_;
  std::function<bool(size_t)> ensure_constant_;
  Diagnostics* diags_;
  struct Local {
    std::string name;
    TypePtr type;
  };
  std::vector<Local> locals_;
  size_t max_locals_ = 0;
  int tolerant_ = 0;
};

// The common type of two branches or list elements: equal types, int with decimal -> decimal,
// anything with dyn -> dyn, null with T -> T. nullptr when they do not meet.
TypePtr Unify(const TypePtr& a, const TypePtr& b);
// Whether `==` between the two types can ever be meaningful.
bool Comparable(const Type& a, const Type& b);

// In functions.cc: type a call to a built-in function or macro.
TypePtr CheckCall(Checker& checker, Expr& call, const Facts& facts);

// The built-in functions and macros by name, each with its signature as messages show it
// ("len(string | list | map | object)"), in the order the language reference lists them: an
// editor completes and explains them from the same table the checker types them by.
struct BuiltinFunction {
  const char* name;
  const char* signature;
};
std::vector<BuiltinFunction> BuiltinFunctions();

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_CHECK_H_
