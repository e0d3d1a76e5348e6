// The parser's actions and error messages: they turn grammar.h matches into the syntax tree of
// ast.h.
#include <charconv>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "dsl/ast.h"
#include "dsl/grammar.h"
#include "dsl/limits.h"
#include "dsl/program.h"
#include "dsl/utf8.h"

namespace sellerflow::dsl {
namespace {

namespace g = grammar;
namespace pegtl = tao::pegtl;

// Everything the actions build, and where errors go.
struct State {
  const Source* source = nullptr;
  Diagnostics* diags = nullptr;
  uint32_t next_id = 0;

  std::vector<ExprPtr> operands;
  std::vector<Op> ops;  // The operator of the tail being parsed.
  struct NameMark {
    std::string name;
    uint32_t begin;
    size_t operand_mark;
    bool is_call;
  };
  std::vector<NameMark> names;
  std::vector<size_t> marks;  // Operand-stack sizes at the opening of a list or map literal.
  std::vector<std::string> lambda_vars;

  std::string str;  // The string literal or template text being read.
  size_t string_start = 0;
  std::vector<TemplatePart> template_parts;
  size_t template_start = 0;
  size_t depth = 0;
  bool error_in_item = false;  // A raise was recorded inside the current clause or declaration.

  FileAst* file = nullptr;
  RuleAst rule;
  bool in_rule = false;
  ConstAst constant;

  // Type declarations.
  TypeEnv* env = nullptr;
  std::vector<TypePtr> types;
  struct ObjectFrame {
    std::vector<Field> fields;
  };
  std::vector<ObjectFrame> objects;
  std::vector<std::pair<std::string, bool>> field_names;  // name, optional
  std::vector<std::pair<std::string, size_t>> named;      // type name, types-stack mark
  std::string decl_name;
  uint32_t decl_offset = 0;

  ExprPtr Make(ExprKind kind, size_t begin, size_t end) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->begin = static_cast<uint32_t>(begin);
    e->end = static_cast<uint32_t>(end);
    e->id = next_id++;
    return e;
  }
  ExprPtr Pop() {
    ExprPtr e = std::move(operands.back());
    operands.pop_back();
    return e;
  }
  void ResetStacks() {
    operands.clear();
    ops.clear();
    names.clear();
    marks.clear();
    lambda_vars.clear();
    template_parts.clear();
    str.clear();
    depth = 0;
  }
};

size_t Offset(const pegtl::position& p) { return p.byte; }

template <typename Input>
size_t Offset(const Input& in) {
  return static_cast<size_t>(in.current() - in.begin());
}

// What stands at an error position, for "found ...", and the hint a common slip deserves.
std::string DescribeFound(std::string_view rest, std::string* hint) {
  if (rest.empty()) return "end of input";
  if (rest[0] == '\n' || rest[0] == '\r') return "end of line";
  auto starts = [&](std::string_view p) { return rest.substr(0, p.size()) == p; };
  if (starts("&&")) {
    *hint = "write 'and' to combine conditions";
    return "'&&'";
  }
  if (starts("||")) {
    *hint = "write 'or' for either condition";
    return "'||'";
  }
  if (starts("!") && !starts("!=")) {
    *hint = "write 'not' to negate a condition";
    return "'!'";
  }
  if (starts("=") && !starts("==") && !starts("=>")) {
    *hint = "use '==' to compare; '=' only names a constant";
    return "'='";
  }
  if (starts("\\\"")) {
    *hint = "inside a message's {...}, strings need no backslashes: write \", \"";
    return "'\\'";
  }
  if (starts("'")) {
    *hint = "strings use double quotes: \"text\"";
    return "'''";
  }
  if (starts("<") || starts(">") || starts("==") || starts("!=")) {
    *hint = "comparisons do not chain: write 'a < b and b < c'";
  }
  size_t n = 0;
  if (std::isalnum(static_cast<unsigned char>(rest[0])) || rest[0] == '_') {
    while (n < rest.size() && (std::isalnum(static_cast<unsigned char>(rest[n])) || rest[n] == '_'))
      ++n;
  } else {
    n = 1;
    while (n < rest.size() && (static_cast<unsigned char>(rest[n]) & 0xC0) == 0x80) ++n;
    if (n == 1 && n < rest.size() && std::strchr("=<>!&|?", rest[0]) &&
        std::strchr("=&|?", rest[1]))
      n = 2;
  }
  return "'" + std::string(rest.substr(0, n)) + "'";
}

// ---- Error messages: what each `must<>` expected -----------------------------------------------
template <typename Rule>
inline constexpr const char* kExpected = nullptr;
#define SF_EXPECT(rule, text) \
  template <>                 \
  inline constexpr const char* kExpected<g::rule> = text
SF_EXPECT(expr, "an expression");
SF_EXPECT(expr_nested, "an expression");
SF_EXPECT(comparison, "an expression");
SF_EXPECT(coalescing, "an expression");
SF_EXPECT(multiplicative, "an expression");
SF_EXPECT(negatable, "an expression");
SF_EXPECT(conjunction, "an expression");
SF_EXPECT(unary, "an expression");
SF_EXPECT(postfix, "an expression");
SF_EXPECT(type_decl, "a declaration: name: type");
SF_EXPECT(paren_close, "')'");
SF_EXPECT(bracket_close, "']'");
SF_EXPECT(brace_close, "'}'");
SF_EXPECT(colon, "':'");
SF_EXPECT(field_name, "a field name after '.'");
SF_EXPECT(rule_name, "a rule name");
SF_EXPECT(rule_open, "'{' to open the rule");
SF_EXPECT(rule_close, "a clause (code, when, require, message) or '}'");
SF_EXPECT(const_name, "a constant name");
SF_EXPECT(const_eq, "'=' after the constant's name");
SF_EXPECT(error_code, "an error code in capitals, such as INVALID_INPUT");
SF_EXPECT(template_string, "a message in double quotes");
SF_EXPECT(template_brace_close, "'}' to close the '{' of the message");
SF_EXPECT(type_expr, "a type");
SF_EXPECT(angle_close, "'>' to close the type's '<'");
SF_EXPECT(eof, "end of input");
#undef SF_EXPECT

template <typename Rule>
struct Control : pegtl::normal<Rule> {
  template <typename Input, typename... States>
  [[noreturn]] static void raise(const Input& in, State& st) {
    std::string hint;
    std::string message;
    size_t at = Offset(in);
    if constexpr (std::is_same_v<Rule, g::string_close>) {
      message = "unclosed string: it needs a closing '\"' on the same line";
      at = st.string_start;
    } else if constexpr (std::is_same_v<Rule, g::sor<g::simple_escape, g::unicode_escape>>) {
      message = "unknown escape: use \\\" \\\\ \\n \\t \\r \\{ \\} \\0 or \\u{hex}";
    } else {
      const char* expected = kExpected<Rule>;
      std::string found = DescribeFound(std::string_view(st.source->text).substr(at), &hint);
      message =
          std::string("expected ") + (expected ? expected : "something else") + ", found " + found;
      // A second comparison operator is a chain only where a whole operand came before it.
      constexpr bool kAfterOperand =
          std::is_same_v<Rule, g::paren_close> || std::is_same_v<Rule, g::bracket_close> ||
          std::is_same_v<Rule, g::brace_close> || std::is_same_v<Rule, g::colon> ||
          std::is_same_v<Rule, g::template_brace_close> || std::is_same_v<Rule, g::eof>;
      if (!kAfterOperand && hint.rfind("comparisons do not chain", 0) == 0) hint.clear();
    }
    st.diags->Add(Severity::kError, *st.source, at, message, hint);
    st.error_in_item = true;
    throw pegtl::parse_error(message, in);
  }
};

// ---- Actions -----------------------------------------------------------------------------------
template <typename Rule>
struct Action : pegtl::nothing<Rule> {};

template <typename Input>
[[noreturn]] void NestedTooDeep(const Input& in, State& st, size_t at) {
  std::string message = "expression nested deeper than " + std::to_string(kMaxNestingDepth) +
                        " levels; split it into constants or rules";
  st.diags->Add(Severity::kError, *st.source, at, message);
  st.error_in_item = true;
  throw pegtl::parse_error(message, in.position());
}

// Bounds recursion through nested expressions, so no input can exhaust the stack.
template <>
struct Action<g::expr_nested> : pegtl::maybe_nothing {
  template <typename Rule, pegtl::apply_mode A, pegtl::rewind_mode M,
            template <typename...> class Act, template <typename...> class Ctl, typename Input>
  static bool match(Input& in, State& st) {
    if (st.depth >= kMaxNestingDepth) NestedTooDeep(in, st, Offset(in));
    ++st.depth;
    struct Guard {
      size_t& d;
      ~Guard() { --d; }
    } guard{st.depth};
    return pegtl::match<Rule, A, M, Act, Ctl>(in, st);
  }
};

// The parentheses belong to the expression they enclose: its text (for explain) and the operators
// around it (for carets) then line up with the source.
template <>
struct Action<g::parenthesized> {
  template <typename In>
  static void apply(const In& in, State& st) {
    Expr& e = *st.operands.back();
    e.begin = static_cast<uint32_t>(Offset(in.position()));
    e.end = static_cast<uint32_t>(e.begin + in.size());
  }
};

template <>
struct Action<g::number> {
  template <typename In>
  static void apply(const In& in, State& st) {
    std::string_view text(in.begin(), in.size());
    size_t b = Offset(in.position());
    if (text.find('.') == std::string_view::npos) {
      auto e = st.Make(ExprKind::kInt, b, b + text.size());
      auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), e->int_value);
      if (ec != std::errc() || p != text.data() + text.size()) {
        // 9223372036854775808 is fine when negated; the unary action decides.
        e->kind = ExprKind::kDecimal;
        e->text = std::string(text);
      }
      st.operands.push_back(std::move(e));
      return;
    }
    auto e = st.Make(ExprKind::kDecimal, b, b + text.size());
    DecimalStatus s = ParseDecimal(text, &e->decimal_value);
    if (s != DecimalStatus::kOk) {
      st.diags->Add(Severity::kError, *st.source, b,
                    "decimal " + std::string(text) + " has more than " +
                        std::to_string(kMaxDecimalDigits) + " significant digits or " +
                        std::to_string(kMaxDecimalScale) + " decimal places");
    }
    st.operands.push_back(std::move(e));
  }
};

template <>
struct Action<g::string_open> {
  template <typename In>
  static void apply(const In& in, State& st) {
    st.str.clear();
    st.string_start = Offset(in.position());
  }
};
template <>
struct Action<g::template_open> : Action<g::string_open> {};

template <>
struct Action<g::string_char> {
  template <typename In>
  static void apply(const In& in, State& st) {
    st.str.append(in.begin(), in.size());
  }
};
template <>
struct Action<g::template_text> : Action<g::string_char> {};
template <>
struct Action<g::template_bare_text> : Action<g::string_char> {};

template <>
struct Action<g::simple_escape> {
  template <typename In>
  static void apply(const In& in, State& st) {
    switch (*in.begin()) {
      case 'n':
        st.str += '\n';
        break;
      case 't':
        st.str += '\t';
        break;
      case 'r':
        st.str += '\r';
        break;
      case '0':
        st.str += '\0';
        break;
      default:
        st.str += *in.begin();
        break;
    }
  }
};

template <>
struct Action<g::unicode_escape> {
  template <typename In>
  static void apply(const In& in, State& st) {
    std::string_view t(in.begin(), in.size());
    t.remove_prefix(1);
    if (!t.empty() && t.front() == '{') t = t.substr(1, t.size() - 2);
    uint32_t cp = 0;
    bool ok = t.size() <= 6;
    if (ok) std::from_chars(t.data(), t.data() + t.size(), cp, 16);
    if (!ok || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      st.diags->Add(Severity::kError, *st.source, Offset(in.position()) - 1,
                    "\\u escape is not a Unicode scalar value (U+0000..U+10FFFF, no surrogates)");
      return;
    }
    AppendCodePoint(cp, &st.str);
  }
};

template <>
struct Action<g::string_literal> {
  template <typename In>
  static void apply(const In& in, State& st) {
    size_t b = Offset(in.position());
    if (st.str.size() > kMaxStringLiteralBytes) {
      st.diags->Add(Severity::kError, *st.source, b,
                    "string literal of " + std::to_string(st.str.size()) + " bytes; at most " +
                        std::to_string(kMaxStringLiteralBytes) + " are allowed");
    }
    auto e = st.Make(ExprKind::kString, b, b + in.size());
    e->text = std::move(st.str);
    st.str.clear();
    st.operands.push_back(std::move(e));
  }
};

template <>
struct Action<g::map_key> : Action<g::string_literal> {};

template <>
struct Action<g::literal_true> {
  template <typename In>
  static void apply(const In& in, State& st) {
    auto e = st.Make(ExprKind::kBool, Offset(in.position()), Offset(in.position()) + in.size());
    e->bool_value = true;
    st.operands.push_back(std::move(e));
  }
};
template <>
struct Action<g::literal_false> {
  template <typename In>
  static void apply(const In& in, State& st) {
    st.operands.push_back(
        st.Make(ExprKind::kBool, Offset(in.position()), Offset(in.position()) + in.size()));
  }
};
template <>
struct Action<g::literal_null> {
  template <typename In>
  static void apply(const In& in, State& st) {
    st.operands.push_back(
        st.Make(ExprKind::kNull, Offset(in.position()), Offset(in.position()) + in.size()));
  }
};

template <>
struct Action<g::bracket_open> {
  template <typename In>
  static void apply(const In&, State& st) {
    st.marks.push_back(st.operands.size());
  }
};
template <>
struct Action<g::brace_open> : Action<g::bracket_open> {};

template <ExprKind kKind, size_t kMaxElements>
struct CollectAction {
  template <typename In>
  static void apply(const In& in, State& st) {
    size_t mark = st.marks.back();
    st.marks.pop_back();
    size_t b = Offset(in.position());
    auto e = st.Make(kKind, b, b + in.size());
    size_t n = st.operands.size() - mark;
    if (n > kMaxElements) {
      st.diags->Add(Severity::kError, *st.source, b,
                    std::string(kKind == ExprKind::kList ? "list" : "map") + " literal has " +
                        std::to_string(kKind == ExprKind::kMap ? n / 2 : n) +
                        " elements; at most " + std::to_string(kMaxLiteralElements) +
                        " are allowed");
    }
    for (size_t i = mark; i < st.operands.size(); ++i) e->args.push_back(std::move(st.operands[i]));
    st.operands.resize(mark);
    st.operands.push_back(std::move(e));
  }
};
template <>
struct Action<g::list_literal> : CollectAction<ExprKind::kList, kMaxLiteralElements> {};
template <>
struct Action<g::map_literal> : CollectAction<ExprKind::kMap, 2 * kMaxLiteralElements> {};
// The index brackets reuse '[': drop the mark they pushed.
template <>
struct Action<g::index_access> {
  template <typename In>
  static void apply(const In& in, State& st) {
    st.marks.pop_back();
    ExprPtr index = st.Pop();
    ExprPtr target = st.Pop();
    auto e = st.Make(ExprKind::kIndex, target->begin, Offset(in.position()) + in.size());
    e->args.push_back(std::move(target));
    e->args.push_back(std::move(index));
    st.operands.push_back(std::move(e));
  }
};

template <>
struct Action<g::field_access> {
  template <typename In>
  static void apply(const In& in, State& st) {
    ExprPtr target = st.Pop();
    std::string_view t(in.begin(), in.size());
    size_t i = t.size();
    while (i > 0 && (std::isalnum(static_cast<unsigned char>(t[i - 1])) || t[i - 1] == '_')) --i;
    auto e = st.Make(ExprKind::kField, target->begin, Offset(in.position()) + in.size());
    e->text = std::string(t.substr(i));
    e->args.push_back(std::move(target));
    st.operands.push_back(std::move(e));
  }
};

template <>
struct Action<g::name_ref> {
  template <typename In>
  static void apply(const In& in, State& st) {
    st.names.push_back(
        {in.string(), static_cast<uint32_t>(Offset(in.position())), st.operands.size(), false});
  }
};
template <>
struct Action<g::lambda_var> : Action<g::name_ref> {};

template <>
struct Action<g::call_args> {
  template <typename In>
  static void apply(const In&, State& st) {
    st.names.back().is_call = true;
  }
};

template <>
struct Action<g::name_or_call> {
  template <typename In>
  static void apply(const In& in, State& st) {
    State::NameMark m = std::move(st.names.back());
    st.names.pop_back();
    auto e = st.Make(m.is_call ? ExprKind::kCall : ExprKind::kName, m.begin,
                     Offset(in.position()) + in.size());
    e->text = std::move(m.name);
    if (m.is_call) {
      for (size_t i = m.operand_mark; i < st.operands.size(); ++i)
        e->args.push_back(std::move(st.operands[i]));
      st.operands.resize(m.operand_mark);
    }
    st.operands.push_back(std::move(e));
  }
};

template <>
struct Action<g::lambda> {
  template <typename In>
  static void apply(const In& in, State& st) {
    State::NameMark m = std::move(st.names.back());
    st.names.pop_back();
    ExprPtr body = st.Pop();
    auto e = st.Make(ExprKind::kLambda, m.begin, Offset(in.position()) + in.size());
    e->text = std::move(m.name);
    e->args.push_back(std::move(body));
    st.operands.push_back(std::move(e));
  }
};

// Prefix operators: count them in the matched text, then wrap the operand.
template <>
struct Action<g::unary> {
  template <typename In>
  static void apply(const In& in, State& st) {
    std::string_view t(in.begin(), in.size());
    size_t b = Offset(in.position());
    std::vector<size_t> signs;
    for (size_t i = 0; i < t.size();) {
      if (t[i] == '-') {
        signs.push_back(i);
        ++i;
      } else if (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r') {
        ++i;
      } else if (t[i] == '#') {
        while (i < t.size() && t[i] != '\n') ++i;
      } else {
        break;
      }
    }
    for (size_t k = signs.size(); k-- > 0;) {
      ExprPtr operand = st.Pop();
      // Fold a sign into a number literal so the most negative integer can be written.
      if (operand->kind == ExprKind::kInt && operand->begin == b + signs[k] + 1) {
        if (operand->int_value != INT64_MIN) {
          operand->int_value = -operand->int_value;
          operand->begin = static_cast<uint32_t>(b + signs[k]);
          st.operands.push_back(std::move(operand));
          continue;
        }
      }
      if (operand->kind == ExprKind::kDecimal && !operand->text.empty() &&
          operand->begin == b + signs[k] + 1) {
        // An integer literal that only fits when negative.
        std::string neg = "-" + operand->text;
        auto [p, ec] = std::from_chars(neg.data(), neg.data() + neg.size(), operand->int_value);
        if (ec == std::errc() && p == neg.data() + neg.size()) {
          operand->kind = ExprKind::kInt;
          operand->text.clear();
          operand->begin = static_cast<uint32_t>(b + signs[k]);
          st.operands.push_back(std::move(operand));
          continue;
        }
      }
      if (operand->kind == ExprKind::kDecimal && operand->text.empty() &&
          operand->begin == b + signs[k] + 1) {
        DecimalNeg(operand->decimal_value, &operand->decimal_value);
        operand->begin = static_cast<uint32_t>(b + signs[k]);
        st.operands.push_back(std::move(operand));
        continue;
      }
      auto e = st.Make(ExprKind::kUnary, b + signs[k], operand->end);
      e->op = Op::kNeg;
      e->args.push_back(std::move(operand));
      st.operands.push_back(std::move(e));
    }
    // An integer literal past 64 bits that no sign rescued.
    ExprPtr& top = st.operands.back();
    if (top->kind == ExprKind::kDecimal && !top->text.empty()) {
      st.diags->Add(Severity::kError, *st.source, top->begin,
                    "integer " + top->text + " does not fit in 64 bits");
      top->text.clear();
      top->kind = ExprKind::kInt;
    }
  }
};

template <>
struct Action<g::negatable> {
  template <typename In>
  static void apply(const In& in, State& st) {
    std::string_view t(in.begin(), in.size());
    size_t b = Offset(in.position());
    std::vector<size_t> nots;
    for (size_t i = 0; i < t.size();) {
      if (t.substr(i, 3) == "not" &&
          (i + 3 == t.size() ||
           !(std::isalnum(static_cast<unsigned char>(t[i + 3])) || t[i + 3] == '_'))) {
        nots.push_back(i);
        i += 3;
      } else if (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r') {
        ++i;
      } else if (t[i] == '#') {
        while (i < t.size() && t[i] != '\n') ++i;
      } else {
        break;
      }
    }
    for (size_t k = nots.size(); k-- > 0;) {
      ExprPtr operand = st.Pop();
      auto e = st.Make(ExprKind::kUnary, b + nots[k], operand->end);
      e->op = Op::kNot;
      e->args.push_back(std::move(operand));
      st.operands.push_back(std::move(e));
    }
  }
};

template <Op kOp>
struct OpAction {
  template <typename In>
  static void apply(const In&, State& st) {
    st.ops.push_back(kOp);
  }
};
template <>
struct Action<g::op_mul> : OpAction<Op::kMul> {};
template <>
struct Action<g::op_div> : OpAction<Op::kDiv> {};
template <>
struct Action<g::op_mod> : OpAction<Op::kMod> {};
template <>
struct Action<g::op_add> : OpAction<Op::kAdd> {};
template <>
struct Action<g::op_sub> : OpAction<Op::kSub> {};
template <>
struct Action<g::op_coalesce> : OpAction<Op::kCoalesce> {};
template <>
struct Action<g::op_eq> : OpAction<Op::kEq> {};
template <>
struct Action<g::op_ne> : OpAction<Op::kNe> {};
template <>
struct Action<g::op_le> : OpAction<Op::kLe> {};
template <>
struct Action<g::op_ge> : OpAction<Op::kGe> {};
template <>
struct Action<g::op_lt> : OpAction<Op::kLt> {};
template <>
struct Action<g::op_gt> : OpAction<Op::kGt> {};
template <>
struct Action<g::op_in> : OpAction<Op::kIn> {};
template <>
struct Action<g::op_not_in> : OpAction<Op::kNotIn> {};
template <>
struct Action<g::kw_and> : OpAction<Op::kAnd> {};
template <>
struct Action<g::kw_or> : OpAction<Op::kOr> {};

// A binary tail `op operand`: combine with the operand before it.
struct BinaryAction {
  template <typename In>
  static void apply(const In&, State& st) {
    ExprPtr rhs = st.Pop();
    ExprPtr lhs = st.Pop();
    auto e = st.Make(ExprKind::kBinary, lhs->begin, rhs->end);
    e->op = st.ops.back();
    st.ops.pop_back();
    e->args.push_back(std::move(lhs));
    e->args.push_back(std::move(rhs));
    st.operands.push_back(std::move(e));
  }
};
template <>
struct Action<g::mul_tail> : BinaryAction {};
template <>
struct Action<g::add_tail> : BinaryAction {};
// `a ?? b ?? c` recurses in the grammar: each `??` is a level.
template <>
struct Action<g::coalesce_tail> : BinaryAction {
  template <typename Rule, pegtl::apply_mode A, pegtl::rewind_mode M,
            template <typename...> class Act, template <typename...> class Ctl, typename Input>
  static bool match(Input& in, State& st) {
    // Only a `??` that is there goes a level deeper.
    if (st.depth >= kMaxNestingDepth && in.size(2) >= 2 && in.peek_char(0) == '?' &&
        in.peek_char(1) == '?')
      NestedTooDeep(in, st, Offset(in));
    ++st.depth;
    struct Guard {
      size_t& d;
      ~Guard() { --d; }
    } guard{st.depth};
    return pegtl::match<Rule, A, M, Act, Ctl>(in, st);
  }
};
template <>
struct Action<g::compare_tail> : BinaryAction {};
template <>
struct Action<g::and_tail> : BinaryAction {};
template <>
struct Action<g::or_tail> : BinaryAction {};

template <>
struct Action<g::conditional_tail> {
  template <typename In>
  static void apply(const In&, State& st) {
    ExprPtr otherwise = st.Pop();
    ExprPtr then = st.Pop();
    ExprPtr cond = st.Pop();
    auto e = st.Make(ExprKind::kConditional, cond->begin, otherwise->end);
    e->args.push_back(std::move(cond));
    e->args.push_back(std::move(then));
    e->args.push_back(std::move(otherwise));
    st.operands.push_back(std::move(e));
  }
};

// ---- Message templates ---
template <>
struct Action<g::template_brace_open> {
  template <typename In>
  static void apply(const In&, State& st) {
    if (!st.str.empty()) st.template_parts.push_back({std::move(st.str), nullptr});
    st.str.clear();
  }
};
template <>
struct Action<g::template_hole> {
  template <typename In>
  static void apply(const In&, State& st) {
    st.template_parts.push_back({"", st.Pop()});
  }
};
template <>
struct Action<g::template_string> {
  template <typename In>
  static void apply(const In& in, State& st) {
    if (!st.str.empty()) st.template_parts.push_back({std::move(st.str), nullptr});
    st.str.clear();
    st.rule.message = std::move(st.template_parts);
    st.template_parts.clear();
    st.rule.message_offset = static_cast<uint32_t>(Offset(in.position()));
  }
};

// A bare template becomes one string expression: "a {x} b" reads as "a " + string(x) + " b".
template <>
struct Action<g::template_only> {
  template <typename In>
  static void apply(const In& in, State& st) {
    if (!st.str.empty()) st.template_parts.push_back({std::move(st.str), nullptr});
    st.str.clear();
    ExprPtr whole;
    for (auto& part : st.template_parts) {
      ExprPtr piece;
      if (part.expr) {
        piece = st.Make(ExprKind::kCall, part.expr->begin, part.expr->end);
        piece->text = "string";
        piece->args.push_back(std::move(part.expr));
      } else {
        piece = st.Make(ExprKind::kString, 0, 0);
        piece->text = std::move(part.text);
      }
      if (!whole) {
        whole = std::move(piece);
        continue;
      }
      auto sum = st.Make(ExprKind::kBinary, whole->begin, piece->end);
      sum->op = Op::kAdd;
      sum->args.push_back(std::move(whole));
      sum->args.push_back(std::move(piece));
      whole = std::move(sum);
    }
    if (!whole) whole = st.Make(ExprKind::kString, 0, in.size());
    st.template_parts.clear();
    st.operands.push_back(std::move(whole));
  }
};

// ---- Rules files ---
void DuplicateClause(State& st, const char* clause, size_t at) {
  st.diags->Add(Severity::kError, *st.source, at,
                std::string("rule '") + st.rule.name + "' has a second '" + clause + "' clause",
                "a rule has at most one of each clause");
}

template <>
struct Action<g::rule_name> {
  template <typename In>
  static void apply(const In& in, State& st) {
    st.rule = RuleAst();
    st.in_rule = true;
    st.rule.name = in.string();
    st.rule.name_offset = static_cast<uint32_t>(Offset(in.position()));
  }
};
template <>
struct Action<g::error_code> {
  template <typename In>
  static void apply(const In& in, State& st) {
    if (!st.rule.code.empty()) DuplicateClause(st, "code", Offset(in.position()));
    st.rule.code = in.string();
    st.rule.code_offset = static_cast<uint32_t>(Offset(in.position()));
  }
};
template <>
struct Action<g::when_clause> {
  template <typename In>
  static void apply(const In& in, State& st) {
    if (st.rule.when) DuplicateClause(st, "when", Offset(in.position()));
    st.rule.when = st.Pop();
  }
};
template <>
struct Action<g::require_clause> {
  template <typename In>
  static void apply(const In& in, State& st) {
    if (st.rule.require) DuplicateClause(st, "require", Offset(in.position()));
    st.rule.require = st.Pop();
  }
};
template <>
struct Action<g::message_clause> {
  template <typename In>
  static void apply(const In& in, State& st) {
    if (st.rule.has_message) DuplicateClause(st, "message", Offset(in.position()));
    st.rule.has_message = true;
  }
};

template <>
struct Action<g::clause_recovery> {
  template <typename In>
  static void apply(const In& in, State& st) {
    if (!st.error_in_item) {
      std::string hint;
      std::string found = DescribeFound(std::string_view(in.begin(), in.size()), &hint);
      st.diags->Add(Severity::kError, *st.source, Offset(in.position()),
                    "expected a clause (code, when, require, message) or '}', found " + found,
                    hint);
    }
    st.error_in_item = false;
    st.rule.broken = true;
    st.ResetStacks();
  }
};
template <>
struct Action<g::rule_body_item> {
  template <typename In>
  static void apply(const In&, State& st) {
    st.error_in_item = false;
  }
};

template <>
struct Action<g::rule_decl> {
  template <typename In>
  static void apply(const In&, State& st) {
    st.file->rules.push_back(std::move(st.rule));
    st.rule = RuleAst();
    st.in_rule = false;
  }
};

template <>
struct Action<g::const_name> {
  template <typename In>
  static void apply(const In& in, State& st) {
    st.constant = ConstAst();
    st.constant.name = in.string();
    st.constant.name_offset = static_cast<uint32_t>(Offset(in.position()));
  }
};
template <>
struct Action<g::const_decl> {
  template <typename In>
  static void apply(const In&, State& st) {
    st.constant.value = st.Pop();
    st.file->constants.push_back(std::move(st.constant));
    st.constant = ConstAst();
  }
};

template <>
struct Action<g::declaration_recovery> {
  template <typename In>
  static void apply(const In& in, State& st) {
    if (!st.error_in_item) {
      std::string hint;
      std::string found = DescribeFound(std::string_view(in.begin(), in.size()), &hint);
      st.diags->Add(Severity::kError, *st.source, Offset(in.position()),
                    "expected 'rule' or 'const', found " + found, hint);
    }
    // Keep the names of broken declarations, so they cause no "unknown name" errors elsewhere.
    if (st.in_rule && !st.rule.name.empty()) {
      st.rule.broken = true;
      st.file->rules.push_back(std::move(st.rule));
    } else if (!st.constant.name.empty()) {
      st.constant.broken = true;
      st.file->constants.push_back(std::move(st.constant));
    }
    st.rule = RuleAst();
    st.constant = ConstAst();
    st.in_rule = false;
    st.error_in_item = false;
    st.ResetStacks();
  }
};
template <>
struct Action<g::file_item> {
  template <typename In>
  static void apply(const In&, State& st) {
    st.error_in_item = false;
  }
};

// ---- Type declarations ---
TypePtr ScalarByName(std::string_view name) {
  static const std::pair<const char*, TypeKind> kNames[] = {
      {"dyn", TypeKind::kDyn},          {"any", TypeKind::kDyn},
      {"null", TypeKind::kNull},        {"bool", TypeKind::kBool},
      {"int", TypeKind::kInt},          {"integer", TypeKind::kInt},
      {"decimal", TypeKind::kDecimal},  {"string", TypeKind::kString},
      {"date", TypeKind::kDate},        {"timestamp", TypeKind::kTimestamp},
      {"duration", TypeKind::kDuration}};
  for (const auto& [n, k] : kNames)
    if (name == n) return Type::Scalar(k);
  return nullptr;
}

template <>
struct Action<g::type_name> {
  template <typename In>
  static void apply(const In& in, State& st) {
    st.named.push_back({in.string(), st.types.size()});
  }
};
template <>
struct Action<g::named_type> {
  template <typename In>
  static void apply(const In& in, State& st) {
    auto [name, mark] = st.named.back();
    st.named.pop_back();
    std::vector<TypePtr> args(st.types.begin() + static_cast<long>(mark), st.types.end());
    st.types.resize(mark);
    size_t at = Offset(in.position());
    TypePtr t;
    if (name == "list" && args.size() == 1) {
      t = Type::List(args[0]);
    } else if (name == "map" && (args.size() == 1 || args.size() == 2)) {
      if (args.size() == 2 && args[0]->kind() != TypeKind::kString)
        st.diags->Add(Severity::kError, *st.source, at, "map keys are strings: write map<T>");
      t = Type::Map(args.back());
    } else if (name == "list" || name == "map") {
      st.diags->Add(Severity::kError, *st.source, at,
                    name == "list" ? "list needs one element type: list<string>"
                                   : "map needs a value type: map<string>");
      t = Type::Dyn();
    } else {
      t = ScalarByName(name);
      if (!t || !args.empty()) {
        std::vector<std::string> known = {"bool",      "int",      "decimal", "string", "date",
                                          "timestamp", "duration", "list",    "map",    "dyn"};
        std::string near = NearestName(name, known);
        st.diags->Add(Severity::kError, *st.source, at,
                      t ? "type '" + name + "' takes no arguments" : "unknown type '" + name + "'",
                      near.empty() ? "types are bool, int, decimal, string, date, timestamp, "
                                     "duration, list<T>, map<T>, dyn and {field: T}"
                                   : "did you mean '" + near + "'?");
        t = Type::Dyn();
      }
    }
    st.types.push_back(t);
  }
};
template <>
struct Action<g::object_type_open> {
  template <typename In>
  static void apply(const In&, State& st) {
    st.objects.emplace_back();
  }
};
template <>
struct Action<g::type_field_name> {
  template <typename In>
  static void apply(const In& in, State& st) {
    st.field_names.push_back({in.string(), false});
    st.decl_offset = static_cast<uint32_t>(Offset(in.position()));
  }
};
template <>
struct Action<g::optional_mark> {
  template <typename In>
  static void apply(const In&, State& st) {
    st.field_names.back().second = true;
  }
};
template <>
struct Action<g::type_field> {
  template <typename In>
  static void apply(const In& in, State& st) {
    auto [name, optional] = st.field_names.back();
    st.field_names.pop_back();
    auto& fields = st.objects.back().fields;
    for (const Field& f : fields) {
      if (f.name == name) {
        st.diags->Add(Severity::kError, *st.source, Offset(in.position()),
                      "field '" + name + "' is declared twice");
      }
    }
    fields.push_back({name, st.types.back(), optional});
    st.types.pop_back();
  }
};
template <>
struct Action<g::object_type> {
  template <typename In>
  static void apply(const In&, State& st) {
    st.types.push_back(Type::Object(std::move(st.objects.back().fields)));
    st.objects.pop_back();
  }
};
template <>
struct Action<g::type_decl_name> {
  template <typename In>
  static void apply(const In& in, State& st) {
    st.decl_name = in.string();
    st.decl_offset = static_cast<uint32_t>(Offset(in.position()));
  }
};
template <>
struct Action<g::type_decl> {
  template <typename In>
  static void apply(const In&, State& st) {
    if (st.env->count(st.decl_name)) {
      st.diags->Add(Severity::kError, *st.source, st.decl_offset,
                    "variable '" + st.decl_name + "' is declared twice");
    }
    (*st.env)[st.decl_name] = st.types.back();
    st.types.pop_back();
  }
};

bool CheckSourceSize(const Source& source, Diagnostics* diags) {
  if (source.text.size() > kMaxSourceBytes) {
    diags->AddFile(Severity::kError, source.name,
                   "file is " + std::to_string(source.text.size()) + " bytes; at most " +
                       std::to_string(kMaxSourceBytes) + " are allowed");
    return false;
  }
  size_t bad = 0;
  if (!ValidUtf8(source.text, &bad)) {
    diags->Add(Severity::kError, source, bad, "invalid UTF-8 byte");
    return false;
  }
  size_t nul = source.text.find('\0');
  if (nul != std::string::npos) {
    diags->Add(Severity::kError, source, nul, "NUL byte in source text");
    return false;
  }
  return true;
}

template <typename Grammar>
bool RunParser(const Source& source, State& st) {
  pegtl::memory_input<pegtl::tracking_mode::eager, pegtl::eol::lf_crlf> in(
      source.text.data(), source.text.size(), source.name);
  try {
    return pegtl::parse<Grammar, Action, Control>(in, st);
  } catch (const pegtl::parse_error&) {
    return false;  // Already reported by Control::raise.
  }
}

void DumpTo(const Expr& e, std::string* out) {
  switch (e.kind) {
    case ExprKind::kNull:
      *out += "null";
      return;
    case ExprKind::kBool:
      *out += e.bool_value ? "true" : "false";
      return;
    case ExprKind::kInt:
      *out += std::to_string(e.int_value);
      return;
    case ExprKind::kDecimal:
      *out += DecimalToString(e.decimal_value) + "d";
      return;
    case ExprKind::kString:
      AppendJsonString(e.text, out);
      return;
    case ExprKind::kName:
      *out += e.text;
      return;
    case ExprKind::kField:
      DumpTo(*e.args[0], out);
      *out += "." + e.text;
      return;
    default:
      break;
  }
  *out += "(";
  switch (e.kind) {
    case ExprKind::kList:
      *out += "list";
      break;
    case ExprKind::kMap:
      *out += "map";
      break;
    case ExprKind::kIndex:
      *out += "index";
      break;
    case ExprKind::kCall:
      *out += e.text;
      break;
    case ExprKind::kLambda:
      *out += e.text + " =>";
      break;
    case ExprKind::kUnary:
    case ExprKind::kBinary:
      *out += OpText(e.op);
      break;
    case ExprKind::kConditional:
      *out += "?:";
      break;
    default:
      break;
  }
  for (const auto& a : e.args) {
    *out += ' ';
    DumpTo(*a, out);
  }
  *out += ")";
}

// The depth of a tree, measured without recursion (the tree may be too deep to recurse over),
// and its deepest node.
size_t TreeDepth(const Expr& root, const Expr** deepest) {
  std::vector<std::pair<const Expr*, size_t>> stack = {{&root, 1}};
  size_t max = 0;
  *deepest = &root;
  while (!stack.empty()) {
    auto [e, d] = stack.back();
    stack.pop_back();
    if (d > max) {
      max = d;
      *deepest = e;
    }
    for (const auto& a : e->args) stack.push_back({a.get(), d + 1});
  }
  return max;
}

// Operator chains (`a and b and ...`), prefix runs (`not not ...`) and postfix chains
// (`.f.f.f`) are iterative in the grammar but make the tree deep; the checker, compiler and
// evaluator recurse over the tree, so its depth is bounded here, after parsing.
bool CheckTreeDepth(const Source& source, const Expr& e, Diagnostics* diags) {
  const Expr* deepest = nullptr;
  size_t depth = TreeDepth(e, &deepest);
  if (depth <= kMaxTreeDepth) return true;
  diags->Add(Severity::kError, source, deepest->begin,
             "expression is " + std::to_string(depth) + " levels deep; at most " +
                 std::to_string(kMaxTreeDepth) + " are allowed",
             "split a long chain of 'and', 'or' or '+' into constants or rules");
  return false;
}

}  // namespace

Expr::~Expr() {
  // Destroy deep trees without recursing once per level.
  std::vector<ExprPtr> pending;
  for (auto& a : args)
    if (a) pending.push_back(std::move(a));
  while (!pending.empty()) {
    ExprPtr e = std::move(pending.back());
    pending.pop_back();
    for (auto& a : e->args)
      if (a) pending.push_back(std::move(a));
  }
}

const char* OpText(Op op) {
  switch (op) {
    case Op::kNone:
      return "";
    case Op::kNot:
      return "not";
    case Op::kNeg:
      return "-";
    case Op::kOr:
      return "or";
    case Op::kAnd:
      return "and";
    case Op::kEq:
      return "==";
    case Op::kNe:
      return "!=";
    case Op::kLt:
      return "<";
    case Op::kLe:
      return "<=";
    case Op::kGt:
      return ">";
    case Op::kGe:
      return ">=";
    case Op::kIn:
      return "in";
    case Op::kNotIn:
      return "not in";
    case Op::kAdd:
      return "+";
    case Op::kSub:
      return "-";
    case Op::kMul:
      return "*";
    case Op::kDiv:
      return "/";
    case Op::kMod:
      return "%";
    case Op::kCoalesce:
      return "??";
  }
  return "?";
}

std::string DumpExpr(const Expr& e) {
  std::string out;
  DumpTo(e, &out);
  return out;
}

namespace {

FileAst ParseRulesFileUncached(const Source& source, Diagnostics* diags);

// A copy of a tree that CheckTreeDepth accepted (so the recursion is at most kMaxTreeDepth deep),
// without the checker's results.
ExprPtr CloneExpr(const ExprPtr& e) {
  if (!e) return nullptr;
  auto out = std::make_unique<Expr>();
  out->kind = e->kind;
  out->op = e->op;
  out->begin = e->begin;
  out->end = e->end;
  out->id = e->id;
  out->bool_value = e->bool_value;
  out->int_value = e->int_value;
  out->decimal_value = e->decimal_value;
  out->text = e->text;
  out->args.reserve(e->args.size());
  for (const ExprPtr& a : e->args) out->args.push_back(CloneExpr(a));
  return out;
}

// A copy of a parsed file for `source`. Broken declarations keep their names but not their trees:
// nothing checks or compiles them, and a tree too deep to check is too deep to copy recursively.
FileAst CloneFile(const FileAst& f, const Source& source) {
  FileAst out;
  out.source = &source;
  out.expr_count = f.expr_count;
  for (const ConstAst& c : f.constants) {
    ConstAst copy;
    copy.name = c.name;
    copy.name_offset = c.name_offset;
    copy.broken = c.broken;
    if (!c.broken) copy.value = CloneExpr(c.value);
    out.constants.push_back(std::move(copy));
  }
  for (const RuleAst& r : f.rules) {
    RuleAst copy;
    copy.name = r.name;
    copy.name_offset = r.name_offset;
    copy.code = r.code;
    copy.code_offset = r.code_offset;
    copy.has_message = r.has_message;
    copy.message_offset = r.message_offset;
    copy.broken = r.broken;
    if (!r.broken) {
      copy.when = CloneExpr(r.when);
      copy.require = CloneExpr(r.require);
      for (const TemplatePart& part : r.message)
        copy.message.push_back({part.text, CloneExpr(part.expr)});
    }
    out.rules.push_back(std::move(copy));
  }
  return out;
}

}  // namespace

FileAst ParseRulesFile(const Source& source, Diagnostics* diags) {
  // A policy builds one Program per machine over the same rules files: each text is parsed once per
  // process (parsing was two fifths of a command's start-up) and every caller gets its own copy,
  // since the checker writes types and slots into the tree. Its diagnostics are replayed too.
  struct Parsed {
    FileAst file;
    std::vector<Diagnostic> diagnostics;
  };
  static std::mutex mu;
  static std::map<std::pair<std::string, std::string>, std::unique_ptr<Parsed>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto key = std::make_pair(source.name, source.text);
  auto it = cache.find(key);
  if (it == cache.end()) {
    auto parsed = std::make_unique<Parsed>();
    Diagnostics local;
    parsed->file = ParseRulesFileUncached(source, &local);
    parsed->file.source = nullptr;  // Only copies are handed out, each pointing at its caller's.
    parsed->diagnostics = local.items();
    it = cache.emplace(std::move(key), std::move(parsed)).first;
  }
  for (const Diagnostic& d : it->second->diagnostics) diags->Append(d);
  return CloneFile(it->second->file, source);
}

namespace {

FileAst ParseRulesFileUncached(const Source& source, Diagnostics* diags) {
  FileAst file;
  file.source = &source;
  if (!CheckSourceSize(source, diags)) return file;
  State st;
  st.source = &source;
  st.diags = diags;
  st.file = &file;
  RunParser<g::rules_file>(source, st);
  file.expr_count = st.next_id;
  for (auto& c : file.constants)
    if (c.value && !CheckTreeDepth(source, *c.value, diags)) c.broken = true;
  for (auto& r : file.rules) {
    for (const ExprPtr* e : {&r.when, &r.require})
      if (*e && !CheckTreeDepth(source, **e, diags)) r.broken = true;
    for (const auto& part : r.message)
      if (part.expr && !CheckTreeDepth(source, *part.expr, diags)) r.broken = true;
  }
  return file;
}

// One expression from the whole source, by `Grammar`; nullptr after any error.
template <typename Grammar>
ExprPtr ParseOne(const Source& source, Diagnostics* diags, uint32_t* expr_count) {
  if (!CheckSourceSize(source, diags)) return nullptr;
  FileAst scratch;
  State st;
  st.source = &source;
  st.diags = diags;
  st.file = &scratch;
  size_t errors = diags->error_count();
  if (!RunParser<Grammar>(source, st) || diags->error_count() > errors || st.operands.size() != 1)
    return nullptr;
  *expr_count = st.next_id;
  ExprPtr e = st.Pop();
  return CheckTreeDepth(source, *e, diags) ? std::move(e) : nullptr;
}

}  // namespace

ExprPtr ParseExpression(const Source& source, Diagnostics* diags, uint32_t* expr_count) {
  return ParseOne<g::expression_only>(source, diags, expr_count);
}

ExprPtr ParseTemplate(const Source& source, Diagnostics* diags, uint32_t* expr_count) {
  return ParseOne<g::template_only>(source, diags, expr_count);
}

bool ParseTypeDeclarations(const Source& source, TypeEnv* env, Diagnostics* diags) {
  if (!CheckSourceSize(source, diags)) return false;
  FileAst scratch;
  State st;
  st.source = &source;
  st.diags = diags;
  st.file = &scratch;
  st.env = env;
  size_t errors = diags->error_count();
  return RunParser<g::type_decls>(source, st) && diags->error_count() == errors;
}

}  // namespace sellerflow::dsl
