// The PEGTL grammar of rules files, expressions and type declarations; nothing but the grammar.
//
// A rules file:
//   # comment
//   const MAX_TITLE = 72
//   rule title_length {
//     code INVALID_INPUT
//     when has(details.ProductTitle)
//     require len(details.ProductTitle) <= MAX_TITLE
//     message "ProductTitle has {len(details.ProductTitle)} characters; at most {MAX_TITLE} are
//     allowed."
//   }
//
// Expression precedence, loosest first: `c ? a : b`; `or`; `and`; `not`; comparisons (`==`, `!=`,
// `<`, `<=`, `>`, `>=`, `in`, `not in`; not chained); `??`; `+ -`; `* / %`; unary `-`; postfix
// `.field`, `[index]`, calls.
#ifndef SELLERFLOW_DSL_GRAMMAR_H_
#define SELLERFLOW_DSL_GRAMMAR_H_

#include <tao/pegtl.hpp>

namespace sellerflow::dsl::grammar {

namespace pegtl = tao::pegtl;
using pegtl::alnum;
using pegtl::alpha;
using pegtl::any;
using pegtl::at;
using pegtl::bol;
using pegtl::digit;
using pegtl::eof;
using pegtl::eol;
using pegtl::identifier_other;
using pegtl::list;
using pegtl::must;
using pegtl::not_at;
using pegtl::not_one;
using pegtl::one;
using pegtl::opt;
using pegtl::plus;
using pegtl::ranges;
using pegtl::seq;
using pegtl::sor;
using pegtl::space;
using pegtl::star;
using pegtl::string;
using pegtl::try_catch;
using pegtl::until;
using pegtl::xdigit;

// ---- Lexical structure -------------------------------------------------------------------------
struct comment : seq<one<'#'>, until<sor<eol, eof>>> {};
struct sep : star<sor<space, comment>> {};

struct ident_first : ranges<'a', 'z', 'A', 'Z', '_'> {};
struct ident_rest : identifier_other {};
struct ident_chars : seq<ident_first, star<ident_rest>> {};

template <typename Word>
struct keyword : seq<Word, not_at<ident_rest>> {};
struct kw_and : keyword<TAO_PEGTL_STRING("and")> {};
struct kw_or : keyword<TAO_PEGTL_STRING("or")> {};
struct kw_not : keyword<TAO_PEGTL_STRING("not")> {};
struct kw_in : keyword<TAO_PEGTL_STRING("in")> {};
struct kw_true : keyword<TAO_PEGTL_STRING("true")> {};
struct kw_false : keyword<TAO_PEGTL_STRING("false")> {};
struct kw_null : keyword<TAO_PEGTL_STRING("null")> {};
struct kw_const : keyword<TAO_PEGTL_STRING("const")> {};
struct kw_rule : keyword<TAO_PEGTL_STRING("rule")> {};
struct kw_code : keyword<TAO_PEGTL_STRING("code")> {};
struct kw_when : keyword<TAO_PEGTL_STRING("when")> {};
struct kw_require : keyword<TAO_PEGTL_STRING("require")> {};
struct kw_message : keyword<TAO_PEGTL_STRING("message")> {};
struct reserved : sor<kw_and, kw_or, kw_not, kw_in, kw_true, kw_false, kw_null, kw_const, kw_rule,
                      kw_code, kw_when, kw_require, kw_message> {};
struct identifier : seq<not_at<reserved>, ident_chars> {};

// ---- Literals ----------------------------------------------------------------------------------
struct fraction : seq<one<'.'>, plus<digit>> {};
struct number : seq<plus<digit>, opt<fraction>, not_at<ident_rest>> {};

struct unicode_escape
    : seq<one<'u'>,
          sor<seq<one<'{'>, plus<xdigit>, one<'}'>>, seq<xdigit, xdigit, xdigit, xdigit>>> {};
struct simple_escape : one<'"', '\\', 'n', 't', 'r', '{', '}', '0'> {};
struct escape : seq<one<'\\'>, must<sor<simple_escape, unicode_escape>>> {};
struct string_char : seq<not_at<sor<one<'"', '\\'>, eol>>, any> {};
struct string_open : one<'"'> {};
struct string_close : one<'"'> {};
struct string_literal : seq<string_open, star<sor<escape, string_char>>, must<string_close>> {};

// ---- Expressions -------------------------------------------------------------------------------
struct expr;
struct expr_nested;  // expr with a nesting-depth guard (see parse.cc's actions)

struct paren_open : one<'('> {};
struct paren_close : one<')'> {};
struct bracket_open : one<'['> {};
struct bracket_close : one<']'> {};
struct brace_open : one<'{'> {};
struct brace_close : one<'}'> {};
struct comma : one<','> {};
struct colon : one<':'> {};

struct parenthesized : seq<paren_open, sep, must<expr_nested>, sep, must<paren_close>> {};
struct list_items : opt<list<expr_nested, seq<sep, comma, sep>>, opt<sep, comma>> {};
struct list_literal : seq<bracket_open, sep, list_items, sep, must<bracket_close>> {};
struct map_key : string_literal {};
struct map_entry : seq<map_key, sep, must<colon>, sep, must<expr_nested>> {};
struct map_items : opt<list<map_entry, seq<sep, comma, sep>>, opt<sep, comma>> {};
struct map_literal : seq<brace_open, sep, map_items, sep, must<brace_close>> {};

struct arrow : string<'=', '>'> {};
struct lambda_var : identifier {};
struct lambda : seq<lambda_var, sep, arrow, sep, must<expr_nested>> {};
struct argument : sor<seq<at<identifier, sep, arrow>, lambda>, expr_nested> {};
struct call_args
    : seq<paren_open, sep, opt<list<argument, seq<sep, comma, sep>>>, sep, must<paren_close>> {};
struct name_ref : identifier {};
struct name_or_call : seq<name_ref, opt<sep, call_args>> {};

struct literal_true : kw_true {};
struct literal_false : kw_false {};
struct literal_null : kw_null {};
struct primary : sor<number, string_literal, literal_true, literal_false, literal_null,
                     list_literal, map_literal, parenthesized, name_or_call> {};

struct dot : seq<one<'.'>, not_at<digit>> {};
struct field_name : ident_chars {};  // Keywords are fine as field names: details.code
struct field_access : seq<dot, sep, must<field_name>> {};
struct index_access : seq<bracket_open, sep, must<expr_nested>, sep, must<bracket_close>> {};
struct postfix : seq<primary, star<sep, sor<field_access, index_access>>> {};

struct minus_sign : seq<one<'-'>, not_at<one<'='>>> {};
struct negation_prefix : star<minus_sign, sep> {};
struct unary : seq<negation_prefix, postfix> {};

struct op_mul : one<'*'> {};
struct op_div : one<'/'> {};
struct op_mod : one<'%'> {};
struct mul_op : sor<op_mul, op_div, op_mod> {};
struct mul_tail : seq<mul_op, sep, must<unary>> {};
struct multiplicative : seq<unary, star<sep, mul_tail>> {};

struct op_add : one<'+'> {};
struct op_sub : seq<one<'-'>, not_at<one<'>'>>> {};
struct add_op : sor<op_add, op_sub> {};
struct add_tail : seq<add_op, sep, must<multiplicative>> {};
struct additive : seq<multiplicative, star<sep, add_tail>> {};

struct op_coalesce : string<'?', '?'> {};
struct coalescing;
struct coalesce_tail : seq<op_coalesce, sep, must<coalescing>> {};
struct coalescing : seq<additive, opt<sep, coalesce_tail>> {};

struct op_eq : string<'=', '='> {};
struct op_ne : string<'!', '='> {};
struct op_le : string<'<', '='> {};
struct op_ge : string<'>', '='> {};
struct op_lt : one<'<'> {};
struct op_gt : one<'>'> {};
struct op_in : kw_in {};
struct op_not_in : seq<kw_not, sep, kw_in> {};
struct compare_op : sor<op_eq, op_ne, op_le, op_ge, op_lt, op_gt, op_in, op_not_in> {};
struct compare_tail : seq<compare_op, sep, must<coalescing>> {};
struct comparison : seq<coalescing, opt<sep, compare_tail>> {};

struct not_word : seq<kw_not, not_at<sep, kw_in>> {};
struct not_prefix : star<not_word, sep> {};
struct negatable : seq<not_prefix, comparison> {};

struct and_tail : seq<kw_and, sep, must<negatable>> {};
struct conjunction : seq<negatable, star<sep, and_tail>> {};
struct or_tail : seq<kw_or, sep, must<conjunction>> {};
struct disjunction : seq<conjunction, star<sep, or_tail>> {};

struct question : seq<one<'?'>, not_at<one<'?'>>> {};
struct conditional_tail
    : seq<question, sep, must<expr_nested>, sep, must<colon>, sep, must<expr_nested>> {};
struct conditional : seq<disjunction, opt<sep, conditional_tail>> {};

struct expr : conditional {};
struct expr_nested : expr {};

// ---- Message templates: a string whose {expr} parts are filled in ------------------------------
struct template_text : plus<seq<not_at<sor<one<'"', '\\', '{', '}'>, eol>>, any>> {};
struct template_escape : escape {};
struct template_brace_open : one<'{'> {};
struct template_brace_close : one<'}'> {};
struct template_hole
    : seq<template_brace_open, sep, must<expr_nested>, sep, must<template_brace_close>> {};
struct template_open : one<'"'> {};
struct template_string
    : seq<template_open, star<sor<template_escape, template_hole, template_text>>,
          must<string_close>> {};

// A template on its own (a workflow's fail message): text and {holes}, quotes allowed in the text.
struct template_bare_text : plus<seq<not_at<one<'\\', '{', '}'>>, any>> {};
struct template_only
    : seq<star<sor<template_escape, template_hole, template_bare_text>>, must<eof>> {};

// ---- Rules files -------------------------------------------------------------------------------
struct error_code : seq<ranges<'A', 'Z'>, star<ranges<'A', 'Z', '0', '9', '_'>>> {};
struct code_clause : seq<kw_code, sep, must<error_code>> {};
struct when_clause : seq<kw_when, sep, must<expr>> {};
struct require_clause : seq<kw_require, sep, must<expr>> {};
struct message_clause : seq<kw_message, sep, must<template_string>> {};
struct clause : sor<code_clause, when_clause, require_clause, message_clause> {};

struct clause_start : sor<kw_code, kw_when, kw_require, kw_message, brace_close> {};
// After a broken clause: skip to the next line that starts with a clause keyword or '}'.
struct clause_recovery
    : seq<any, star<not_at<bol, star<one<' ', '\t'>>, clause_start>, not_at<eof>, any>> {};
struct rule_body_item : sor<try_catch<clause>, clause_recovery> {};
struct rule_name : identifier {};
struct rule_open : brace_open {};
struct rule_close : brace_close {};
struct rule_decl
    : seq<kw_rule, sep, must<rule_name>, sep, must<rule_open>, sep,
          star<not_at<brace_close>, not_at<eof>, rule_body_item, sep>, must<rule_close>> {};

struct const_name : identifier {};
struct const_eq : seq<one<'='>, not_at<one<'='>>> {};
struct const_decl : seq<kw_const, sep, must<const_name>, sep, must<const_eq>, sep, must<expr>> {};

struct declaration : sor<rule_decl, const_decl> {};
struct declaration_start : sor<kw_rule, kw_const> {};
// After a broken declaration: skip to the next line that starts with `rule` or `const`.
struct declaration_recovery : seq<any, star<not_at<bol, declaration_start>, any>> {};
struct file_item : sor<try_catch<declaration>, declaration_recovery> {};
struct rules_file : seq<sep, star<not_at<eof>, file_item, sep>, eof> {};

// ---- A lone expression (the eval command, inline guards) ---------------------------------------
struct expression_only : seq<sep, must<expr>, sep, must<eof>> {};

// ---- Type declarations: `details: {ProductTitle?: string, Highlights?: list<string>}` ----------
struct type_expr;
struct type_name : ident_chars {};
struct angle_close : one<'>'> {};
struct type_args : seq<one<'<'>, sep, must<type_expr>, sep, opt<comma, sep, must<type_expr>, sep>,
                       must<angle_close>> {};
struct optional_mark : one<'?'> {};
struct type_field_name : ident_chars {};
struct type_field
    : seq<type_field_name, sep, opt<optional_mark, sep>, must<colon>, sep, must<type_expr>> {};
struct object_type_open : one<'{'> {};
struct object_type
    : seq<object_type_open, sep, opt<list<type_field, seq<sep, comma, sep>>, opt<sep, comma>>, sep,
          must<brace_close>> {};
struct named_type : seq<type_name, opt<sep, type_args>> {};
struct type_expr_body : sor<object_type, named_type> {};
struct type_expr : type_expr_body {};
struct type_decl_name : identifier {};
struct type_decl : seq<type_decl_name, sep, must<colon>, sep, must<type_expr>> {};
struct type_decls : seq<sep, star<type_decl, sep, opt<comma, sep>>, must<eof>> {};

}  // namespace sellerflow::dsl::grammar

#endif  // SELLERFLOW_DSL_GRAMMAR_H_
