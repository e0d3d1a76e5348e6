// The syntax tree of rules files and expressions, as the parser builds it and the checker annotates
// it.
#ifndef SELLERFLOW_DSL_AST_H_
#define SELLERFLOW_DSL_AST_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/decimal.h"
#include "dsl/diagnostics.h"
#include "dsl/types.h"

namespace sellerflow::dsl {

enum class ExprKind : uint8_t {
  kNull,
  kBool,
  kInt,
  kDecimal,
  kString,
  kList,         // args: the elements
  kMap,          // args: key0, value0, key1, value1, ... (keys are kString)
  kName,         // text: the name
  kField,        // args[0].text
  kIndex,        // args[0][args[1]]
  kCall,         // text(args...)
  kLambda,       // text => args[0]; only as a macro argument
  kUnary,        // op args[0]
  kBinary,       // args[0] op args[1]
  kConditional,  // args[0] ? args[1] : args[2]
};

enum class Op : uint8_t {
  kNone,
  kNot,
  kNeg,
  kOr,
  kAnd,
  kEq,
  kNe,
  kLt,
  kLe,
  kGt,
  kGe,
  kIn,
  kNotIn,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kMod,
  kCoalesce,
};
const char* OpText(Op op);

// How the checker resolved a name.
enum class Resolution : uint8_t { kUnresolved, kVariable, kConstant, kLocal };

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

// A new field here, in RuleAst, ConstAst or FileAst must be copied by CloneFile in parse.cc too.
struct Expr {
  Expr() = default;
  Expr(const Expr&) = delete;
  Expr& operator=(const Expr&) = delete;
  ~Expr();  // Iterative: a deep tree must not overflow the stack on the way out.

  ExprKind kind = ExprKind::kNull;
  Op op = Op::kNone;
  uint32_t begin = 0;  // Byte offsets of the expression's text in its source.
  uint32_t end = 0;
  uint32_t id = 0;  // Unique within its source: the explain trace's index.
  bool bool_value = false;
  int64_t int_value = 0;
  Decimal decimal_value{0, 0};
  std::string text;  // String literal value, name, field, function or lambda variable.
  std::vector<ExprPtr> args;

  // Set by the checker.
  TypePtr type;
  Resolution resolution = Resolution::kUnresolved;
  int32_t slot = -1;  // Variable slot, constant index or local index.
};

// One piece of a message template: literal text, or an expression to fill in.
struct TemplatePart {
  std::string text;
  ExprPtr expr;  // Null for literal text.
};

struct RuleAst {
  std::string name;
  uint32_t name_offset = 0;
  std::string code;
  uint32_t code_offset = 0;
  ExprPtr when;
  ExprPtr require;
  std::vector<TemplatePart> message;
  bool has_message = false;
  uint32_t message_offset = 0;
  bool broken = false;  // A syntax error inside: kept for its name, never checked or compiled.
};

struct ConstAst {
  std::string name;
  uint32_t name_offset = 0;
  ExprPtr value;
  bool broken = false;
};

// One parsed rules file; the source outlives it.
struct FileAst {
  const Source* source = nullptr;
  std::vector<ConstAst> constants;
  std::vector<RuleAst> rules;
  uint32_t expr_count = 0;  // Ids 0..expr_count-1 are used.
};

// Each parser adds every syntax error to *diags. A file parse returns what it could read (broken
// declarations marked); the expression parse returns nullptr on any error.
FileAst ParseRulesFile(const Source& source, Diagnostics* diags);
ExprPtr ParseExpression(const Source& source, Diagnostics* diags, uint32_t* expr_count);
// A message template without quotes ("Rejected: {event.Reason}") as one string expression.
ExprPtr ParseTemplate(const Source& source, Diagnostics* diags, uint32_t* expr_count);

// Text of an expression as written in its source.
inline std::string_view ExprText(const Source& source, const Expr& e) {
  return std::string_view(source.text).substr(e.begin, e.end - e.begin);
}

// A compact dump of a tree, for tests: (< (len details.ProductTitle) 72).
std::string DumpExpr(const Expr& e);

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_AST_H_
