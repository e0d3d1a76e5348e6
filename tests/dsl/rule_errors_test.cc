// Golden tests of the rule language's error messages: the exact text (caret line included) of every
// syntax and check error, recovery after errors, errors across files, types files, and JSON output.
#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "dsl/program.h"
#include "tests/dsl/dsl_test_util.h"

namespace sellerflow::dsl {
namespace {

constexpr const char* kTypes =
    "details: {ProductTitle?: string, Highlights: list<string>, Count: int, Name: string, "
    "Items: list<{Note?: string}>, Price: decimal}";

// Diagnostics::ToText() of building one rules file, a.rules, against kTypes.
std::string Diags(const std::string& text) {
  return testing::BuildDiags({{"a.rules", text}}, kTypes);
}

TEST_CASE("rule errors: syntax error: unclosed string", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Name == "abc
  message "m"
}
)golden") ==
        R"golden(a.rules:3:27: error: unclosed string: it needs a closing '"' on the same line
    require details.Name == "abc
                            ^
)golden");
}

TEST_CASE("rule errors: syntax error: missing ')'", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require len(details.Name > 3
  message "m"
}
)golden") ==
        R"golden(a.rules:4:3: error: expected ')', found 'message'
    message "m"
    ^
)golden");
}

TEST_CASE("rule errors: syntax error: missing ']'", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Count in [1, 2
  message "m"
}
)golden") ==
        R"golden(a.rules:4:3: error: expected ']', found 'message'
    message "m"
    ^
)golden");
}

TEST_CASE("rule errors: syntax error: missing '}'", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require "a" in {"a": 1
  message "m"
}
)golden") ==
        R"golden(a.rules:4:3: error: expected '}', found 'message'
    message "m"
    ^
)golden");
}

TEST_CASE("rule errors: syntax error: '&&' hint", "[rule_errors]") {
  CHECK(
      Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Count > 1 && details.Count < 9
  message "m"
}
)golden") ==
      R"golden(a.rules:3:29: error: expected a clause (code, when, require, message) or '}', found '&&'
    require details.Count > 1 && details.Count < 9
                              ^
  hint: write 'and' to combine conditions
)golden");
}

TEST_CASE("rule errors: syntax error: '||' hint", "[rule_errors]") {
  CHECK(
      Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Count < 1 || details.Count > 9
  message "m"
}
)golden") ==
      R"golden(a.rules:3:29: error: expected a clause (code, when, require, message) or '}', found '||'
    require details.Count < 1 || details.Count > 9
                              ^
  hint: write 'or' for either condition
)golden");
}

TEST_CASE("rule errors: syntax error: '!' hint", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require !has(details.ProductTitle)
  message "m"
}
)golden") ==
        R"golden(a.rules:3:11: error: expected an expression, found '!'
    require !has(details.ProductTitle)
            ^
  hint: write 'not' to negate a condition
)golden");
}

TEST_CASE("rule errors: syntax error: '=' hint", "[rule_errors]") {
  CHECK(
      Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Count = 1
  message "m"
}
)golden") ==
      R"golden(a.rules:3:25: error: expected a clause (code, when, require, message) or '}', found '='
    require details.Count = 1
                          ^
  hint: use '==' to compare; '=' only names a constant
)golden");
}

TEST_CASE("rule errors: syntax error: single-quote hint", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Name == 'abc'
  message "m"
}
)golden") ==
        R"golden(a.rules:3:27: error: expected an expression, found '''
    require details.Name == 'abc'
                            ^
  hint: strings use double quotes: "text"
)golden");
}

TEST_CASE("rule errors: syntax error: chained comparison hint", "[rule_errors]") {
  CHECK(
      Diags(R"golden(rule r {
  code INVALID_INPUT
  require 1 < details.Count < 9
  message "m"
}
)golden") ==
      R"golden(a.rules:3:29: error: expected a clause (code, when, require, message) or '}', found '<'
    require 1 < details.Count < 9
                              ^
  hint: comparisons do not chain: write 'a < b and b < c'
)golden");
}

TEST_CASE("rule errors: syntax error: bad escape", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Name != "a\qb"
  message "m"
}
)golden") ==
        R"golden(a.rules:3:30: error: unknown escape: use \" \\ \n \t \r \{ \} \0 or \u{hex}
    require details.Name != "a\qb"
                               ^
)golden");
}

TEST_CASE("rule errors: syntax error: missing field name after '.'", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details. == 1
  message "m"
}
)golden") ==
        R"golden(a.rules:3:20: error: expected a field name after '.', found '=='
    require details. == 1
                     ^
)golden");
}

TEST_CASE("rule errors: syntax error: rule without '{'", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r
  code INVALID_INPUT
  require true
  message "m"
}
)golden") ==
        R"golden(a.rules:2:3: error: expected '{' to open the rule, found 'code'
    code INVALID_INPUT
    ^
)golden");
}

TEST_CASE("rule errors: syntax error: unknown clause keyword", "[rule_errors]") {
  CHECK(
      Diags(R"golden(rule r {
  code INVALID_INPUT
  requires true
  message "m"
}
)golden") ==
      R"golden(a.rules:3:3: error: expected a clause (code, when, require, message) or '}', found 'requires'
    requires true
    ^
)golden");
}

TEST_CASE("rule errors: syntax error: error code in lower case", "[rule_errors]") {
  CHECK(
      Diags(R"golden(rule r {
  code invalid_input
  require true
  message "m"
}
)golden") ==
      R"golden(a.rules:2:8: error: expected an error code in capitals, such as INVALID_INPUT, found 'invalid_input'
    code invalid_input
         ^
)golden");
}

TEST_CASE("rule errors: syntax error: a \\u escape that is no scalar value", "[rule_errors]") {
  CHECK(
      Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Name != "\u{D800}"
  message "m"
}
)golden") ==
      R"golden(a.rules:3:28: error: \u escape is not a Unicode scalar value (U+0000..U+10FFFF, no surrogates)
    require details.Name != "\u{D800}"
                             ^
)golden");
}

TEST_CASE(
    "rule errors: recovery: several errors in one file, recovered at clause and declaration level",
    "[rule_errors]") {
  CHECK(Diags(R"golden(const A = 1 +
rule r {
  code INVALID_INPUT
  require details.Count > 1 &&
  when details.Count ||
  message "m"
}
rule s {
  code INVALID_INPUT
  require lenn(details.Name) > 0
  message "m"
}
garbage here
const B = 'x'
)golden") ==
        R"golden(a.rules:2:1: error: expected an expression, found 'rule'
  rule r {
  ^
a.rules:4:29: error: expected a clause (code, when, require, message) or '}', found '&&'
    require details.Count > 1 &&
                              ^
  hint: write 'and' to combine conditions
a.rules:5:22: error: expected a clause (code, when, require, message) or '}', found '||'
    when details.Count ||
                       ^
  hint: write 'or' for either condition
a.rules:13:1: error: expected 'rule' or 'const', found 'garbage'
  garbage here
  ^
a.rules:14:11: error: expected an expression, found '''
  const B = 'x'
            ^
  hint: strings use double quotes: "text"
a.rules:10:11: error: unknown function 'lenn'
    require lenn(details.Name) > 0
            ^
  hint: did you mean 'len'?
)golden");
}

TEST_CASE("rule errors: check error: unknown name with suggestion", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require len(detials.Name) > 3
  message "m"
}
)golden") ==
        R"golden(a.rules:3:15: error: unknown name 'detials'
    require len(detials.Name) > 3
                ^
  hint: did you mean 'details'?
)golden");
}

TEST_CASE("rule errors: check error: unknown name without a near one", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require len(zzz) > 3
  message "m"
}
)golden") ==
        R"golden(a.rules:3:15: error: unknown name 'zzz'
    require len(zzz) > 3
                ^
  hint: variables here: details
)golden");
}

TEST_CASE("rule errors: check error: unknown field with suggestion", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require len(details.ProductTitel) > 3
  message "m"
}
)golden") ==
        R"golden(a.rules:3:23: error: details has no field 'ProductTitel'
    require len(details.ProductTitel) > 3
                        ^
  hint: did you mean 'ProductTitle'?
)golden");
}

TEST_CASE("rule errors: check error: unknown field without a near one", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Colour == "red"
  message "m"
}
)golden") ==
        R"golden(a.rules:3:19: error: details has no field 'Colour'
    require details.Colour == "red"
                    ^
  hint: its fields: ProductTitle, Highlights, Count, Name, Items, Price
)golden");
}

TEST_CASE("rule errors: check error: optional field read without has or ??", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require len(details.ProductTitle) > 3
  message "m"
}
)golden") ==
        R"golden(a.rules:3:23: error: details.ProductTitle may be absent
    require len(details.ProductTitle) > 3
                        ^
  hint: guard it with has(details.ProductTitle) or give a default with details.ProductTitle ?? ...
)golden");
}

TEST_CASE("rule errors: check error: wrong operand types", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Count + "a" > 3
  message "m"
}
)golden") ==
        R"golden(a.rules:3:25: error: '+' cannot take int and string
    require details.Count + "a" > 3
                          ^
)golden");
}

TEST_CASE("rule errors: check error: ordering a bool", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require true < false
  message "m"
}
)golden") ==
        R"golden(a.rules:3:16: error: '<' cannot take bool and bool
    require true < false
                 ^
  hint: only numbers, strings, dates, timestamps and durations of the same kind are ordered
)golden");
}

TEST_CASE("rule errors: check error: comparing with null", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Name == null
  message "m"
}
)golden") ==
        R"golden(a.rules:3:24: error: '==' cannot take string and null
    require details.Name == null
                         ^
  hint: to test whether a field is there, use has(...)
)golden");
}

TEST_CASE("rule errors: check error: 'in' on a string", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require "a" in details.Name
  message "m"
}
)golden") ==
        R"golden(a.rules:3:15: error: 'in' cannot take string and string
    require "a" in details.Name
                ^
  hint: use contains(text, part) for substrings
)golden");
}

TEST_CASE("rule errors: check error: condition not bool", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Count
  message "m"
}
)golden") ==
        R"golden(a.rules:3:11: error: the require condition must be a bool, not int
    require details.Count
            ^
)golden");
}

TEST_CASE("rule errors: check error: when condition not bool", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  when details.Name
  require true
  message "m"
}
)golden") ==
        R"golden(a.rules:3:8: error: the when condition must be a bool, not string
    when details.Name
         ^
)golden");
}

TEST_CASE("rule errors: check error: missing code, require and message clauses", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  when true
}
)golden") ==
        R"golden(a.rules:1:6: error: rule 'r' has no 'code' clause
  rule r {
       ^
  hint: add a line such as: code INVALID_INPUT
a.rules:1:6: error: rule 'r' has no 'require' clause
  rule r {
       ^
  hint: add the condition that must hold: require <bool>
a.rules:1:6: error: rule 'r' has no 'message' clause
  rule r {
       ^
  hint: add: message "what is wrong, with {values}"
)golden");
}

TEST_CASE("rule errors: check error: duplicate clauses", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  when true
  when false
  require true
  require false
  message "a"
  message "b"
}
)golden") ==
        R"golden(a.rules:4:3: error: rule 'r' has a second 'when' clause
    when false
    ^
  hint: a rule has at most one of each clause
a.rules:6:3: error: rule 'r' has a second 'require' clause
    require false
    ^
  hint: a rule has at most one of each clause
a.rules:8:3: error: rule 'r' has a second 'message' clause
    message "b"
    ^
  hint: a rule has at most one of each clause
)golden");
}

TEST_CASE("rule errors: check error: constant cycle", "[rule_errors]") {
  CHECK(Diags(R"golden(const A = B + 1
const B = A * 2
rule r {
  code INVALID_INPUT
  require A > 1
  message "m"
}
)golden") ==
        R"golden(a.rules:1:7: error: constant 'A' depends on itself
  const A = B + 1
        ^
)golden");
}

TEST_CASE("rule errors: check error: unknown function with suggestion", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require lenn(details.Highlights) > 1
  message "m"
}
)golden") ==
        R"golden(a.rules:3:11: error: unknown function 'lenn'
    require lenn(details.Highlights) > 1
            ^
  hint: did you mean 'len'?
)golden");
}

TEST_CASE("rule errors: check error: wrong arity", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require len(details.Highlights, 2) > 1
  message "m"
}
)golden") ==
        R"golden(a.rules:3:11: error: len() takes 1 argument, not 2
    require len(details.Highlights, 2) > 1
            ^
  hint: write len(string | list | map | object)
)golden");
}

TEST_CASE("rule errors: check error: macro without a lambda", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require all(details.Highlights, true)
  message "m"
}
)golden") ==
        R"golden(a.rules:3:35: error: all() needs 'x => ...' as its second argument
    require all(details.Highlights, true)
                                    ^
  hint: write all(list, x => condition)
)golden");
}

TEST_CASE("rule errors: check error: invalid regex", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require matches(details.Name, "a(")
  message "m"
}
)golden") ==
        R"golden(a.rules:3:33: error: invalid regular expression: missing ): a(
    require matches(details.Name, "a(")
                                  ^
  hint: patterns use RE2 syntax (no backreferences or lookaround)
)golden");
}

TEST_CASE("rule errors: check error: non-constant regex pattern", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require matches(details.Name, details.Name)
  message "m"
}
)golden") ==
        R"golden(a.rules:3:33: error: the pattern of matches() must be a string literal or constant
    require matches(details.Name, details.Name)
                                  ^
  hint: patterns are compiled once, when the rules are loaded
)golden");
}

TEST_CASE("rule errors: check error: lambda shadowing", "[rule_errors]") {
  CHECK(
      Diags(R"golden(rule r {
  code INVALID_INPUT
  require all(details.Highlights, details => len(details) > 1)
  message "m"
}
)golden") ==
      R"golden(a.rules:3:35: error: 'details' already names something here; pick another name for the element
    require all(details.Highlights, details => len(details) > 1)
                                    ^
)golden");
}

TEST_CASE("rule errors: check error: integer literal past 64 bits", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Count < 99999999999999999999
  message "m"
}
)golden") ==
        R"golden(a.rules:3:27: error: integer 99999999999999999999 does not fit in 64 bits
    require details.Count < 99999999999999999999
                            ^
)golden");
}

TEST_CASE("rule errors: check error: decimal with too many digits", "[rule_errors]") {
  CHECK(
      Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Price < 1.1234567890123456789
  message "m"
}
)golden") ==
      R"golden(a.rules:3:27: error: decimal 1.1234567890123456789 has more than 18 significant digits or 18 decimal places
    require details.Price < 1.1234567890123456789
                            ^
)golden");
}

TEST_CASE("rule errors: check error: ternary branches of different types", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require (true ? 1 : "a") == 1
  message "m"
}
)golden") ==
        R"golden(a.rules:3:11: error: the branches of '?' have different types: int and string
    require (true ? 1 : "a") == 1
            ^
)golden");
}

TEST_CASE("rule errors: check error: a field of a string", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Name.First == "a"
  message "m"
}
)golden") ==
        R"golden(a.rules:3:24: error: a string has no fields (reading 'First')
    require details.Name.First == "a"
                         ^
)golden");
}

TEST_CASE("rule errors: check error: indexing a string", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.Name[0] == "a"
  message "m"
}
)golden") ==
        R"golden(a.rules:3:11: error: strings cannot be indexed
    require details.Name[0] == "a"
            ^
  hint: use starts_with, ends_with, contains or matches
)golden");
}

TEST_CASE("rule errors: check error: duplicate map key", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require {"a": 1, "a": 2}["a"] == 1
  message "m"
}
)golden") ==
        R"golden(a.rules:3:20: error: key "a" appears twice in this map
    require {"a": 1, "a": 2}["a"] == 1
                     ^
)golden");
}

TEST_CASE("rule errors: check error: constant that cannot be evaluated", "[rule_errors]") {
  CHECK(Diags(R"golden(const BAD = 1 / 0
rule r {
  code INVALID_INPUT
  require BAD == 1
  message "m"
}
)golden") ==
        R"golden(a.rules:1:13: error: constant 'BAD' could not be evaluated: division by zero
  const BAD = 1 / 0
              ^
)golden");
}

// One run reports every independent mistake: an absent field does not hide what is done with it.
TEST_CASE("rule errors: independent: a type error beside an absence error", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require len(details.ProductTitle) + "a" > 1
  message "m"
}
)golden") ==
        R"golden(a.rules:3:23: error: details.ProductTitle may be absent
    require len(details.ProductTitle) + "a" > 1
                        ^
  hint: guard it with has(details.ProductTitle) or give a default with details.ProductTitle ?? ...
a.rules:3:37: error: '+' cannot take int and string
    require len(details.ProductTitle) + "a" > 1
                                      ^
)golden");
}

TEST_CASE("rule errors: independent: an ordering of an absent string with an int",
          "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require details.ProductTitle > 1
  message "m"
}
)golden") ==
        R"golden(a.rules:3:19: error: details.ProductTitle may be absent
    require details.ProductTitle > 1
                    ^
  hint: guard it with has(details.ProductTitle) or give a default with details.ProductTitle ?? ...
a.rules:3:32: error: '>' cannot take string and int
    require details.ProductTitle > 1
                                 ^
  hint: only numbers, strings, dates, timestamps and durations of the same kind are ordered
)golden");
}

TEST_CASE("rule errors: independent: a mistake in 'when' keeps its has() for 'require'",
          "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  when has(details.ProductTitle) and details.Count == "a"
  require len(details.ProductTitle) <= 3
  message "m"
}
)golden") ==
        R"golden(a.rules:3:52: error: '==' cannot take int and string
    when has(details.ProductTitle) and details.Count == "a"
                                                     ^
  hint: both sides must have the same type
)golden");
}

TEST_CASE("rule errors: independent: the arguments of an unknown function", "[rule_errors]") {
  CHECK(Diags(R"golden(rule r {
  code INVALID_INPUT
  require startsWith(details.ProductTitle, "a")
  message "m"
}
)golden") ==
        R"golden(a.rules:3:11: error: unknown function 'startsWith'
    require startsWith(details.ProductTitle, "a")
            ^
  hint: did you mean 'starts_with'?
a.rules:3:30: error: details.ProductTitle may be absent
    require startsWith(details.ProductTitle, "a")
                               ^
  hint: guard it with has(details.ProductTitle) or give a default with details.ProductTitle ?? ...
)golden");
}

TEST_CASE("rule errors: presence: accepted guarded forms", "[rule_errors]") {
  CHECK(Diags(R"golden(rule guarded_by_when {
  code INVALID_INPUT
  when has(details.ProductTitle)
  require len(details.ProductTitle) > 3
  message "{details.ProductTitle}"
}
rule guarded_by_and {
  code INVALID_INPUT
  require has(details.ProductTitle) and len(details.ProductTitle) > 3
  message "m"
}
rule guarded_by_or {
  code INVALID_INPUT
  require not has(details.ProductTitle) or len(details.ProductTitle) > 3
  message "m"
}
rule defaulted {
  code INVALID_INPUT
  require len(details.ProductTitle ?? "") > 3
  message "m"
}
rule ternary {
  code INVALID_INPUT
  require has(details.ProductTitle) ? len(details.ProductTitle) > 3 : true
  message "m"
}
rule inside_all {
  code INVALID_INPUT
  require all(details.Items, i => has(i.Note) and len(i.Note) > 0)
  message "m"
}
)golden") == R"golden()golden");
}

TEST_CASE("rule errors: presence: guards that do not cover the read", "[rule_errors]") {
  CHECK(Diags(R"golden(rule wrong_side {
  code INVALID_INPUT
  require has(details.ProductTitle) or len(details.ProductTitle) > 3
  message "m"
}
rule guard_in_message_only {
  code INVALID_INPUT
  require true
  message "{details.ProductTitle}"
}
rule lambda_unguarded {
  code INVALID_INPUT
  require all(details.Items, i => len(i.Note) > 0)
  message "m"
}
)golden") ==
        R"golden(a.rules:3:52: error: details.ProductTitle may be absent
    require has(details.ProductTitle) or len(details.ProductTitle) > 3
                                                     ^
  hint: guard it with has(details.ProductTitle) or give a default with details.ProductTitle ?? ...
a.rules:9:21: error: details.ProductTitle may be absent
    message "{details.ProductTitle}"
                      ^
  hint: guard it with has(details.ProductTitle) or give a default with details.ProductTitle ?? ...
a.rules:13:41: error: i.Note may be absent
    require all(details.Items, i => len(i.Note) > 0)
                                          ^
  hint: guard it with has(i.Note) or give a default with i.Note ?? ...
)golden");
}

TEST_CASE("rule errors: the guarded forms build a program", "[rule_errors]") {
  Diagnostics diags;
  auto program = Program::Build({{"a.rules", R"(rule r {
  code INVALID_INPUT
  when has(details.ProductTitle)
  require len(details.ProductTitle) > 3 and not has(details.Items[0].Note) or true
  message "{details.ProductTitle}"
}
)"}},
                                testing::Types(kTypes), &diags);
  CHECK(diags.ToText() == "");
  REQUIRE(program != nullptr);
  CHECK(program->rule_count() == 1);
}

TEST_CASE("rule errors: a duplicate name across two files is reported at both places",
          "[rule_errors]") {
  std::vector<Source> files = {
      {"a.rules",
       "const LIMIT = 72\nrule title {\n  code INVALID_INPUT\n  require LIMIT > 1\n"
       "  message \"m\"\n}\n"},
      {"b.rules",
       "# second file\nrule title {\n  code INVALID_INPUT\n  require true\n"
       "  message \"m\"\n}\nconst LIMIT = 80\n"}};
  CHECK(
      testing::BuildDiags(files) ==
      R"golden(b.rules:7:7: error: duplicate name 'LIMIT': a constant of that name is defined at a.rules:1:7
  const LIMIT = 80
        ^
a.rules:1:7: error: duplicate name 'LIMIT': defined again (as a constant) at b.rules:7:7
  const LIMIT = 72
        ^
b.rules:2:6: error: duplicate name 'title': a rule of that name is defined at a.rules:2:6
  rule title {
       ^
a.rules:2:6: error: duplicate name 'title': defined again (as a rule) at b.rules:2:6
  rule title {
       ^
)golden");
}

TEST_CASE("rule errors: errors in two files are all reported, file by file", "[rule_errors]") {
  std::vector<Source> files = {
      {"a.rules", "rule a {\n  code X\n  require nme == 1\n  message \"m\"\n}\n"},
      {"b.rules", "rule b {\n  code X\n  require 1 +\n}\n"}};
  CHECK(testing::BuildDiags(files, "name: int") ==
        R"golden(b.rules:4:1: error: expected an expression, found '}'
  }
  ^
a.rules:3:11: error: unknown name 'nme'
    require nme == 1
            ^
  hint: did you mean 'name'?
)golden");
}

TEST_CASE("rule errors: keep_going compiles what has no error and knows the rest by name",
          "[rule_errors]") {
  const std::vector<Source> sources = {{"a.rules", R"(const BAD = 1 +
const GOOD = 2
rule broken {
  code INVALID_INPUT
  require details.Count > 0 && details.Count < 9
  message "m"
}
rule reads_bad {
  code INVALID_INPUT
  require details.Count > BAD
  message "m"
}
rule typo {
  code INVALID_INPUT
  require details.Name == 1
  message "m"
}
rule fine {
  code INVALID_INPUT
  require details.Count > GOOD
  message "m"
}
)"}};
  TypeEnv env = testing::Types(kTypes);
  BuildOptions options;
  options.keep_going = true;
  Diagnostics diags;
  auto program = Program::Build(sources, env, &diags, options);
  REQUIRE(program);
  CHECK(diags.error_count() == 3);  // Two syntax errors and the type error, nothing more.
  CHECK_FALSE(program->IsCompiled(static_cast<size_t>(program->FindRule("broken"))));
  CHECK_FALSE(program->IsCompiled(static_cast<size_t>(program->FindRule("reads_bad"))));
  CHECK_FALSE(program->IsCompiled(static_cast<size_t>(program->FindRule("typo"))));
  CHECK(program->IsCompiled(static_cast<size_t>(program->FindRule("fine"))));
  // An expression reading the broken constant gets no error of its own.
  Diagnostics expr_diags;
  CHECK_FALSE(
      Expression::Compile({"<expr>", "details.Count < BAD"}, env, &expr_diags, program.get()));
  CHECK(expr_diags.items().empty());

  // Shared builds differ only in what they return: the same diagnostics either way.
  Diagnostics kept, refused;
  CHECK(Program::BuildShared(sources, env, &kept, options));
  CHECK_FALSE(Program::BuildShared(sources, env, &refused));
  CHECK(kept.ToText() == refused.ToText());
  CHECK(refused.ToText() == diags.ToText());
}

TEST_CASE("rule errors: types files", "[rule_errors]") {
  TypeEnv env;
  Diagnostics diags;
  Source types{"t.types",
               "details: {Title?: strng, N: list<int, int>}\n"
               "other: map<int, string>\n"
               "bad: lst<int>\n"
               "details: int\n"};
  CHECK_FALSE(ParseTypeDeclarations(types, &env, &diags));
  CHECK(diags.ToText() == R"golden(t.types:1:19: error: unknown type 'strng'
  details: {Title?: strng, N: list<int, int>}
                    ^
  hint: did you mean 'string'?
t.types:1:29: error: list needs one element type: list<string>
  details: {Title?: strng, N: list<int, int>}
                              ^
t.types:2:8: error: map keys are strings: write map<T>
  other: map<int, string>
         ^
t.types:3:6: error: unknown type 'lst'
  bad: lst<int>
       ^
  hint: did you mean 'list'?
t.types:4:1: error: variable 'details' is declared twice
  details: int
  ^
)golden");
  Diagnostics syntax;
  TypeEnv env2;
  CHECK_FALSE(ParseTypeDeclarations({"u.types", "details: {Title string}\n"}, &env2, &syntax));
  CHECK(syntax.ToText() == R"golden(u.types:1:17: error: expected ':', found 'string'
  details: {Title string}
                  ^
)golden");
}

TEST_CASE("rule errors: an unused constant is a warning, not an error", "[rule_errors]") {
  Diagnostics diags;
  auto program =
      Program::Build({{"a.rules",
                       "const USED = 1\nconst SPARE = 2\nrule r {\n  code X\n  require USED == 1\n"
                       "  message \"m\"\n}\n"}},
                     {}, &diags);
  CHECK(program != nullptr);
  CHECK(diags.ToText() == R"golden(a.rules:2:7: warning: constant 'SPARE' is never used
  const SPARE = 2
        ^
)golden");
}

TEST_CASE("rule errors: JSON output", "[rule_errors]") {
  Diagnostics diags;
  Program::Build({{"a.rules", "rule r {\n  code X\n  require a && b\n  message \"m\"\n}\n"}}, {},
                 &diags);
  CHECK(
      diags.ToJson() ==
      R"golden([{"file":"a.rules","line":3,"column":13,"severity":"error","message":"expected a clause (code, when, require, message) or '}', found '&&'","hint":"write 'and' to combine conditions"}])golden");
}

}  // namespace
}  // namespace sellerflow::dsl
