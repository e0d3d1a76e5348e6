// The public face of the rule language: rules files and expressions, parsed, checked and compiled
// once against a type environment, then evaluated many times.
#ifndef SELLERFLOW_DSL_PROGRAM_H_
#define SELLERFLOW_DSL_PROGRAM_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dsl/diagnostics.h"
#include "dsl/types.h"
#include "dsl/value.h"

namespace sellerflow::dsl {

class Node;
struct CompiledRule;
struct ProgramData;
struct Explanation;

// Per-evaluation scratch space: the arena for values built while evaluating, and the step budget
// of macros. Reuse one per thread; Program::Test and friends reset it on entry, so values they
// return stay valid until the next call with the same context.
class EvalContext {
 public:
  EvalContext();
  ~EvalContext();
  Arena& arena() { return arena_; }
  // Internal to the evaluator: macro steps left, loop variables, the explain trace.
  uint64_t steps_left = 0;
  std::vector<Value> locals;
  struct Trace* trace = nullptr;
  void Reset();

 private:
  Arena arena_;
};

// The values of the variables a program reads, in the order of its TypeEnv (slot i is the i-th
// name of the map). The caller owns the values and whatever they point at.
using Bindings = std::vector<Value>;

enum class Outcome {
  kPassed,         // The rule applies and its condition holds.
  kFailed,         // The rule applies and its condition is false: a violation.
  kNotApplicable,  // Its `when` condition is false.
  kError,          // `when` or the condition ended in an error: it could not be evaluated.
};
const char* OutcomeName(Outcome outcome);

struct RuleInfo {
  std::string name;
  std::string code;  // The ErrorCode reported on failure, e.g. "INVALID_INPUT".
  std::string file;
  SourcePos pos;
};

struct RuleResult {
  Outcome outcome = Outcome::kPassed;
  // kFailed: the message template filled in. kError: "could not be evaluated: <error> at L:C".
  std::string message;
  // kError: the error value (kind, message, position).
  std::string error;
  SourcePos error_pos;
};

struct BuildOptions {
  // When set, only these rules are type-checked and compiled; the others are parsed and
  // structurally checked only. A workflow checks the rules it uses against its own variables.
  const std::vector<std::string>* only_rules = nullptr;
  // Warn about constants nothing reads (off when the caller judges use across several builds).
  bool warn_unused_constants = true;
  // Return the program even when some declarations have errors (reported to *diags all the
  // same): a rule with an error, or one that reads a constant with an error, is not compiled
  // (IsCompiled is false) and such a constant has no value. For checkers, which go on to check
  // what else uses the rules so that one mistake is reported once; never evaluate such a
  // program.
  bool keep_going = false;
};

// A set of rules files, compiled against one type environment. Rules and constants of every file
// share one namespace. Immutable once built; safe to evaluate from several threads, each with its
// own EvalContext.
class Program {
 public:
  // Parses, checks and compiles. Every problem of every file goes into *diags (errors and
  // warnings, with positions); returns nullptr when there is at least one error.
  static std::unique_ptr<Program> Build(const std::vector<Source>& sources, const TypeEnv& env,
                                        Diagnostics* diags, const BuildOptions& options = {});
  // Build, remembered for the life of the process: the same files, environment and options give
  // the same Program (shared and immutable), and add the same diagnostics to *diags. A policy's
  // check and its engine each build every machine's rules alike; this builds them once (with
  // keep_going or without: they differ only in what they return when there are errors).
  static std::shared_ptr<const Program> BuildShared(const std::vector<Source>& sources,
                                                    const TypeEnv& env, Diagnostics* diags,
                                                    const BuildOptions& options = {});
  ~Program();

  const TypeEnv& env() const;
  size_t rule_count() const;
  const RuleInfo& rule(size_t i) const;
  int FindRule(std::string_view name) const;  // -1 when there is none.
  // Names of the constants the files define, in file order.
  std::vector<std::string> ConstantNames() const;
  // The constants with where each is defined (code is empty).
  std::vector<RuleInfo> Constants() const;
  // Constants read by the checked rules or by other constants.
  std::vector<std::string> UsedConstants() const;
  // The names rule i's text reads (constants, variables, macro elements), checked or not: what it
  // would use were it checked.
  std::vector<std::string> NamesIn(size_t rule) const;
  // Whether rule i was compiled (see BuildOptions::only_rules); an uncompiled rule's outcome is
  // always kError.
  bool IsCompiled(size_t rule) const;

  // The fast path: the outcome alone, no message. Never throws; allocates nothing once `ctx` is
  // warm unless the rule builds strings or lists.
  Outcome Test(size_t rule, const Bindings& vars, EvalContext& ctx) const;
  // The outcome with its message (filled in on kFailed) or error (on kError).
  RuleResult Evaluate(size_t rule, const Bindings& vars, EvalContext& ctx) const;
  // Why the rule failed (or errored): its failing clauses with their operand values.
  Explanation Explain(size_t rule, const Bindings& vars, EvalContext& ctx) const;

 private:
  friend class Expression;  // Reads the evaluated constants.
  explicit Program(std::unique_ptr<ProgramData> data);
  // Evaluate and Explain before an evaluation that reached kMaxEvalBytes is turned into an error.
  RuleResult EvaluateUnbounded(size_t rule, const Bindings& vars, EvalContext& ctx) const;
  Explanation ExplainUnbounded(size_t rule, const Bindings& vars, EvalContext& ctx) const;
  std::unique_ptr<ProgramData> data_;
};

// One expression on its own (the `eval` command, guards inline in workflows), compiled against
// `env` and, optionally, the constants of `constants`.
class Expression {
 public:
  // The expression keeps pointers into `constants`, which must outlive it.
  static std::unique_ptr<Expression> Compile(const Source& source, const TypeEnv& env,
                                             Diagnostics* diags,
                                             const Program* constants = nullptr);
  // A message template ("Rejected: {event.Reason}", no surrounding quotes) as an expression whose
  // value is the filled-in string.
  static std::unique_ptr<Expression> CompileTemplate(const Source& source, const TypeEnv& env,
                                                     Diagnostics* diags,
                                                     const Program* constants = nullptr);
  ~Expression();
  const TypePtr& type() const;
  // The value, when the expression reads no data (it was folded at compile time); else null.
  const Value* ConstantValue() const;
  // The constants the expression reads.
  std::vector<std::string> UsedConstants() const;
  // What the expression requires by plain equality: for each top-level `and` clause of the form
  // `path == literal` (either way round), the path's text and the literal's. Two conditions that
  // require different literals of one path cannot both hold.
  std::vector<std::pair<std::string, std::string>> Equalities() const;
  // The value; errors are values (kError), never exceptions. Valid until ctx is next used.
  Value Evaluate(const Bindings& vars, EvalContext& ctx) const;
  Explanation Explain(const Bindings& vars, EvalContext& ctx) const;

 private:
  struct Impl;
  static std::unique_ptr<Expression> Finish(std::unique_ptr<Impl> impl, const TypeEnv& env,
                                            Diagnostics* diags, const Program* constants,
                                            size_t errors_before);
  explicit Expression(std::unique_ptr<Impl> impl);
  Explanation ExplainUnbounded(const Bindings& vars, EvalContext& ctx) const;
  std::unique_ptr<Impl> impl_;
};

// One clause that made a condition false (or ended in an error), with the values it saw.
struct ExplainedClause {
  std::string text;  // The clause's source text.
  SourcePos pos;
  std::string result;                                         // "false", or the error message.
  std::vector<std::pair<std::string, std::string>> operands;  // source text -> JSON value
};

struct Explanation {
  std::string rule;  // Empty for an expression.
  Outcome outcome = Outcome::kPassed;
  std::string file;
  std::vector<ExplainedClause> clauses;
  // `len(details.ProductTitle) <= MAX_TITLE -> false [len(details.ProductTitle) = 80, ...]`,
  // one line per clause.
  std::string ToText() const;
  std::string ToJson() const;
};

// Reads variable declarations in the type syntax, one per line or separated by commas:
//   details: {ProductTitle?: string, Highlights?: list<string>, Price: decimal}
// into *env. Returns false with diagnostics on any error.
bool ParseTypeDeclarations(const Source& source, TypeEnv* env, Diagnostics* diags);

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_PROGRAM_H_
