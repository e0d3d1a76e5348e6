// Every hard limit of the rule language, in one place, each with its reason.
#ifndef SELLERFLOW_DSL_LIMITS_H_
#define SELLERFLOW_DSL_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace sellerflow::dsl {

// A rules file larger than this is refused before parsing: policy files are a few KB, and the
// parser holds the whole file in memory.
constexpr size_t kMaxSourceBytes = 1 << 20;
// Nesting of parentheses, lists, maps and calls. The PEG parser recurses per level, so without
// a bound 100,000 nested parentheses would overflow the stack.
constexpr size_t kMaxNestingDepth = 64;
// Depth of an expression's syntax tree, chains of operators included (`a and b and ...` is one
// level per `and`). The checker, compiler and evaluator recurse once per level; this keeps them
// far inside the stack.
constexpr size_t kMaxTreeDepth = 1000;
// Elements in one list or map literal: constants are tables authors read, not data sets.
constexpr size_t kMaxLiteralElements = 10000;
// Bytes in one string literal.
constexpr size_t kMaxStringLiteralBytes = 64 * 1024;
// Significant digits of a decimal: the coefficient is a signed 64-bit integer.
constexpr int kMaxDecimalDigits = 18;
// Digits after the point of a decimal.
constexpr int kMaxDecimalScale = 18;
// Elements a macro (all, any, filter, map, count) may visit in one evaluation of a rule, summed
// over nested macros; past it the rule ends in a limit error, so every evaluation is bounded.
constexpr uint64_t kMaxMacroSteps = 1000000;
// Bytes of a string built at run time (join, lower, upper, message templates).
constexpr size_t kMaxBuiltStringBytes = 1 << 20;
// Bytes one evaluation may build, summed over everything it makes (strings, lists, maps, objects:
// concatenations, join, replace, map and filter results, ...). The step budget bounds the elements
// macros visit, not what each builds: a 1 KB rule could otherwise make a million 2 KB strings.
// Past it the evaluation ends in a limit error at the rule; a rule over one request builds a few
// KB.
constexpr size_t kMaxEvalBytes = 64 << 20;
// Bytes the constants of a set of rules files (and values folded from them) may take, summed.
constexpr size_t kMaxConstantBytes = 64 << 20;
// The longest duration a request may carry (a DetailsDocument's duration field): 100 years,
// counted in months (P100Y, P1200M) and in days and time (P36525D) separately. Deadlines add such
// durations to today's dates; this keeps every sum far inside the calendar's year 9999, so a
// deadline computed from a request always exists.
constexpr int32_t kMaxDataDurationMonths = 1200;
constexpr int64_t kMaxDataDurationDays = 36525;
// Nesting of a JSON document read as data.
constexpr size_t kMaxJsonDepth = 64;
// Bytes of a regular expression program (RE2's max_mem); a bigger pattern is refused when the
// rule is compiled, never at run time.
constexpr int64_t kMaxRegexProgramBytes = 1 << 20;

}  // namespace sellerflow::dsl

#endif  // SELLERFLOW_DSL_LIMITS_H_
