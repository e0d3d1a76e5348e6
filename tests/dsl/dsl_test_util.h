// Helpers shared by the rule-language tests: parse, build and evaluate from strings.
#ifndef SELLERFLOW_TESTS_DSL_DSL_TEST_UTIL_H_
#define SELLERFLOW_TESTS_DSL_DSL_TEST_UTIL_H_

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "dsl/ast.h"
#include "dsl/json.h"
#include "dsl/program.h"

namespace sellerflow::dsl::testing {

// Declared variables from the type syntax; throws on a bad declaration.
inline TypeEnv Types(const std::string& decls) {
  TypeEnv env;
  Diagnostics diags;
  if (!ParseTypeDeclarations({"test.types", decls}, &env, &diags))
    throw std::runtime_error("bad types: " + diags.ToText());
  return env;
}

// The DumpExpr tree of an expression, or its diagnostics.
inline std::string Dump(const std::string& text) {
  Diagnostics diags;
  uint32_t count = 0;
  ExprPtr e = ParseExpression({"<expr>", text}, &diags, &count);
  return e ? DumpExpr(*e) : diags.ToText();
}

// Variables bound to the values of a JSON object typed by `env`.
struct Data {
  Arena arena;
  Bindings vars;
};
inline std::unique_ptr<Data> Bind(const TypeEnv& env, const std::string& json) {
  auto d = std::make_unique<Data>();
  if (json.empty()) {
    d->vars.resize(env.size());
    return d;
  }
  std::vector<Field> fields;
  for (const auto& [name, type] : env) fields.push_back({name, type, false});
  TypePtr root_type = Type::Object(std::move(fields));
  Value root;
  std::vector<JsonIssue> issues;
  if (!JsonToValue(json, root_type, "", d->arena, &root, &issues))
    throw std::runtime_error("bad data: " + (issues.empty() ? "" : issues[0].message));
  for (const auto& [name, type] : env)
    d->vars.push_back(root.obj->slots[root_type->FieldIndex(name)]);
  return d;
}

// An expression evaluated against `json` typed by `types`: its value as JSON, or the diagnostics.
inline std::string Eval(const std::string& expr, const std::string& types = "",
                        const std::string& json = "") {
  TypeEnv env = Types(types);
  Diagnostics diags;
  auto e = Expression::Compile({"<expr>", expr}, env, &diags);
  if (!e) return diags.ToText();
  auto data = Bind(env, json);
  EvalContext ctx;
  return ToJson(e->Evaluate(data->vars, ctx));
}

// The static type of an expression, or its diagnostics.
inline std::string TypeOf(const std::string& expr, const std::string& types = "") {
  TypeEnv env = Types(types);
  Diagnostics diags;
  auto e = Expression::Compile({"<expr>", expr}, env, &diags);
  return e ? e->type()->ToString() : diags.ToText();
}

// The diagnostics of building some rules files.
inline std::string BuildDiags(const std::vector<Source>& sources, const std::string& types = "") {
  TypeEnv env = Types(types);
  Diagnostics diags;
  Program::Build(sources, env, &diags);
  return diags.ToText();
}

}  // namespace sellerflow::dsl::testing

#endif  // SELLERFLOW_TESTS_DSL_DSL_TEST_UTIL_H_
