// libFuzzer target: a rules file through the parser, the checker and the compiler, and every rule
// it defines evaluated and explained.
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <string>

#include "dsl/diagnostics.h"
#include "dsl/json.h"
#include "dsl/program.h"
#include "dsl/types.h"

namespace {

using sellerflow::dsl::Diagnostics;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The example's declarations and data, read once: fuzzed rules read `details` as the examples do.
struct Inputs {
  sellerflow::dsl::TypeEnv env;
  sellerflow::dsl::Arena arena;
  sellerflow::dsl::Bindings bindings;

  Inputs() {
    std::string dir = std::string(SELLERFLOW_SOURCE_DIR) + "/examples/rules/";
    Diagnostics diags;
    if (!sellerflow::dsl::ParseTypeDeclarations(
            {"every_construct.types", ReadAll(dir + "every_construct.types")}, &env, &diags))
      __builtin_trap();
    std::vector<sellerflow::dsl::Field> fields;
    for (const auto& [name, t] : env) fields.push_back({name, t, false});
    auto type = sellerflow::dsl::Type::Object(std::move(fields));
    std::vector<sellerflow::dsl::JsonIssue> issues;
    sellerflow::dsl::Value root;
    if (!sellerflow::dsl::JsonToValue(ReadAll(dir + "every_construct.json"), type, "", arena, &root,
                                      &issues))
      __builtin_trap();
    for (const auto& [name, t] : env) bindings.push_back(root.obj->slots[type->FieldIndex(name)]);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Inputs* inputs = new Inputs();
  std::vector<sellerflow::dsl::Source> sources = {
      {"fuzz.rules", std::string(reinterpret_cast<const char*>(data), size)}};
  Diagnostics diags;
  auto program = sellerflow::dsl::Program::Build(sources, inputs->env, &diags);
  (void)diags.ToText();
  if (!program) return 0;
  sellerflow::dsl::EvalContext ctx;
  for (size_t i = 0; i < program->rule_count(); ++i) {
    sellerflow::dsl::RuleResult r = program->Evaluate(i, inputs->bindings, ctx);
    if (r.outcome != sellerflow::dsl::Outcome::kPassed)
      (void)program->Explain(i, inputs->bindings, ctx).ToText();
  }
  return 0;
}
