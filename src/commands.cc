// The subcommands: each reads its inputs, calls the library, and prints results or diagnostics.
#include "src/commands.h"

#include <CLI/CLI.hpp>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "dsl/json.h"
#include "dsl/program.h"
#include "dsl/utf8.h"
#include "engine/check/check_policy.h"
#include "engine/check/graph.h"
#include "engine/model/folders.h"
#include "engine/model/load.h"
#include "engine/run/coverage.h"
#include "engine/store/store.h"

namespace sellerflow {
namespace {

using dsl::Diagnostics;
using dsl::Source;

using InputError = UsageError;

Source ReadSource(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw InputError("cannot read '" + path + "': it is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw InputError("cannot read '" + path + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return {path, text.str()};
}

void PrintDiagnostics(const Diagnostics& diags, bool json) {
  if (json) {
    std::printf("%s\n", diags.ToJson().c_str());
  } else {
    std::fputs(diags.ToText().c_str(), stderr);
  }
}

// The variables a command's rules may read, and their values: from --types (declared), from
// --data (inferred when no --types), or both (the data checked against the declared types).
struct Inputs {
  dsl::TypeEnv env;
  dsl::Arena arena;
  dsl::Bindings bindings;
  bool has_data = false;
};

// Returns false after printing diagnostics (exit 1) on bad --types; throws InputError on bad data.
bool LoadInputs(const std::string& types_path, const std::string& data_path, Inputs* in,
                bool json_diags) {
  if (!types_path.empty()) {
    Source types = ReadSource(types_path);
    Diagnostics diags;
    if (!dsl::ParseTypeDeclarations(types, &in->env, &diags)) {
      PrintDiagnostics(diags, json_diags);
      return false;
    }
  }
  if (data_path.empty()) return true;
  Source data = ReadSource(data_path);
  std::vector<dsl::JsonIssue> issues;
  dsl::TypePtr type;
  if (in->env.empty()) {
    type = dsl::InferJsonType(data.text, &issues);
    if (type && type->kind() != dsl::TypeKind::kObject)
      throw InputError(data_path + ": --data must be a JSON object whose keys are the variables");
  } else {
    std::vector<dsl::Field> fields;
    for (const auto& [name, t] : in->env) fields.push_back({name, t, false});
    type = dsl::Type::Object(std::move(fields));
  }
  dsl::Value root;
  if (!type || !dsl::JsonToValue(data.text, type, "", in->arena, &root, &issues)) {
    std::string message = data_path + ": the data does not fit";
    for (const auto& i : issues)
      message += "\n  " + (i.path.empty() ? std::string("(top)") : i.path) + ": " + i.message;
    throw InputError(message);
  }
  if (in->env.empty())
    for (const auto& f : type->fields()) in->env[f.name] = f.type;
  for (const auto& [name, t] : in->env) {
    int slot = type->FieldIndex(name);
    in->bindings.push_back(root.obj->slots[slot]);
  }
  in->has_data = true;
  return true;
}

std::unique_ptr<dsl::Program> BuildProgram(const std::vector<std::string>& files,
                                           const dsl::TypeEnv& env, Diagnostics* diags) {
  std::vector<Source> sources;
  for (const auto& f : files) sources.push_back(ReadSource(f));
  return dsl::Program::Build(sources, env, diags);
}

// "1 rule", "2 rules".
std::string Count(size_t n, const char* noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

// ---- eval ---
std::function<int()> SetupEval(CLI::App* app) {
  struct Options {
    std::string expr, data, types, format = "text";
    std::vector<std::string> rules;
    bool explain = false;
  };
  auto o = std::make_shared<Options>();
  app->add_option("EXPR", o->expr, "the expression to evaluate")->required();
  app->add_option("--data", o->data, "a JSON object whose keys are the variables");
  app->add_option("--types", o->types, "declared types of the variables (a .types file)");
  Repeatable(app->add_option("--rules", o->rules,
                             "a rules file whose constants the expression may use (repeatable)"));
  app->add_flag("--explain", o->explain, "say why a false or failed result came about");
  app->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  return [o] {
    const bool json = o->format == "json";
    Inputs in;
    if (!LoadInputs(o->types, o->data, &in, json)) return kExitCheckFailed;
    Diagnostics diags;
    std::unique_ptr<dsl::Program> constants;
    if (!o->rules.empty()) {
      constants = BuildProgram(o->rules, in.env, &diags);
      if (!constants) {
        PrintDiagnostics(diags, json);
        return kExitCheckFailed;
      }
    }
    auto expr = dsl::Expression::Compile({"<expr>", o->expr}, in.env, &diags, constants.get());
    if (!expr) {
      PrintDiagnostics(diags, json);
      return kExitCheckFailed;
    }
    if (!in.has_data) in.bindings.resize(in.env.size());  // Types alone: nothing to read.
    dsl::EvalContext ctx;
    dsl::Value v = expr->Evaluate(in.bindings, ctx);
    std::string value = dsl::ToJson(v);
    std::string explanation;
    bool explain = o->explain && !(v.kind == dsl::ValueKind::kBool && v.b);
    if (explain) {
      dsl::Explanation ex = expr->Explain(in.bindings, ctx);
      explanation = json ? ex.ToJson() : ex.ToText();
    }
    if (v.is_error()) {
      std::string where =
          "<expr>:" + std::to_string(v.err->pos.line) + ":" + std::to_string(v.err->pos.column);
      if (json) {
        std::printf("{\"error\":%s%s%s}\n", value.c_str(), explain ? ",\"explain\":" : "",
                    explanation.c_str());
      } else {
        std::fprintf(stderr, "%s: error: %s\n%s", where.c_str(),
                     std::string(v.error_message()).c_str(), explanation.c_str());
      }
      return kExitEvalError;
    }
    if (json) {
      std::printf("{\"value\":%s%s%s}\n", value.c_str(), explain ? ",\"explain\":" : "",
                  explanation.c_str());
    } else {
      std::printf("%s\n%s", value.c_str(), explanation.c_str());
    }
    return kExitOk;
  };
}

// ---- check-rules ---
std::function<int()> SetupCheckRules(CLI::App* app) {
  struct Options {
    std::vector<std::string> files;
    std::string types, data, format = "text";
    bool strict = false;
  };
  auto o = std::make_shared<Options>();
  app->add_option("FILE", o->files, "rules files (*.rules)")->required();
  app->add_option("--types", o->types, "declared types of the variables rules read");
  app->add_option("--data", o->data, "example data, whose inferred types stand for declarations");
  app->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  app->add_flag("--strict", o->strict, "treat warnings as errors");
  return [o] {
    const bool json = o->format == "json";
    Inputs in;
    if (!LoadInputs(o->types, o->data, &in, json)) return kExitCheckFailed;
    Diagnostics diags;
    auto program = BuildProgram(o->files, in.env, &diags);
    if (json) {
      PrintDiagnostics(diags, true);
    } else {
      PrintDiagnostics(diags, false);
      if (program) {
        const size_t warnings = diags.warning_count();
        const bool failed = o->strict && warnings > 0;
        std::printf("%s, %s, %s: %s%s\n", Count(o->files.size(), "file").c_str(),
                    Count(program->rule_count(), "rule").c_str(),
                    Count(program->ConstantNames().size(), "constant").c_str(),
                    failed ? "failed under --strict" : "ok",
                    warnings ? (" (" + Count(warnings, "warning") + ")").c_str() : "");
      }
    }
    if (!program || (o->strict && diags.warning_count() > 0)) return kExitCheckFailed;
    return kExitOk;
  };
}

// ---- eval-rules ---
std::function<int()> SetupEvalRules(CLI::App* app) {
  struct Options {
    std::vector<std::string> files;
    std::string types, data, format = "text";
    bool explain = false;
  };
  auto o = std::make_shared<Options>();
  app->add_option("FILE", o->files, "rules files (*.rules)")->required();
  app->add_option("--data", o->data, "a JSON object whose keys are the variables")->required();
  app->add_option("--types", o->types, "declared types of the variables");
  app->add_flag("--explain", o->explain, "explain every failed rule");
  app->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  return [o] {
    const bool json = o->format == "json";
    Inputs in;
    if (!LoadInputs(o->types, o->data, &in, json)) return kExitCheckFailed;
    Diagnostics diags;
    auto program = BuildProgram(o->files, in.env, &diags);
    if (!program) {
      PrintDiagnostics(diags, json);
      return kExitCheckFailed;
    }
    dsl::EvalContext ctx;
    bool any_error = false;
    std::string out = json ? "[" : "";
    for (size_t i = 0; i < program->rule_count(); ++i) {
      const dsl::RuleInfo& info = program->rule(i);
      dsl::RuleResult r = program->Evaluate(i, in.bindings, ctx);
      any_error = any_error || r.outcome == dsl::Outcome::kError;
      bool failed = r.outcome == dsl::Outcome::kFailed || r.outcome == dsl::Outcome::kError;
      std::string explanation;
      if (o->explain && failed) {
        dsl::Explanation ex = program->Explain(i, in.bindings, ctx);
        explanation = json ? ex.ToJson() : ex.ToText();
      }
      if (json) {
        if (i) out += ",";
        out += "{\"rule\":";
        dsl::AppendJsonString(info.name, &out);
        out += ",\"outcome\":";
        dsl::AppendJsonString(dsl::OutcomeName(r.outcome), &out);
        if (failed) {
          out += ",\"ErrorCode\":";
          dsl::AppendJsonString(info.code, &out);
          out += ",\"ErrorMessage\":";
          dsl::AppendJsonString(r.message, &out);
        }
        if (!explanation.empty()) out += ",\"explain\":" + explanation;
        out += "}";
        continue;
      }
      static const char* kLabels[] = {"pass ", "FAIL ", "n/a  ", "ERROR"};
      out += std::string(kLabels[static_cast<int>(r.outcome)]) + "  " + info.name;
      if (failed) out += "  " + info.code + ": " + r.message;
      out += "\n";
      if (!explanation.empty()) {
        std::istringstream lines(explanation);
        std::string line;
        std::getline(lines, line);  // The header repeats the rule's name.
        while (std::getline(lines, line)) out += "       " + line + "\n";
      }
    }
    if (json) out += "]\n";
    std::fputs(out.c_str(), stdout);
    return any_error ? kExitEvalError : kExitOk;
  };
}

// ---- Policy folders shared by check and graph ---
struct PolicyOptions {
  std::vector<std::string> workflows, rules;
};

void AddPolicyOptions(CLI::App* app, PolicyOptions* o) {
  Repeatable(app->add_option("--workflows", o->workflows,
                             "a folder of workflow YAML files (repeatable; default: "
                             "$SELLERFLOW_WORKFLOWS, else sellerflow.yaml, else the shipped "
                             "workflows/)"));
  Repeatable(app->add_option("--rules", o->rules,
                             "a folder of rules files (repeatable; default: $SELLERFLOW_RULES, "
                             "else sellerflow.yaml, else the shipped rules/)"));
}

// The shipped folders: ./workflows and ./rules when present, else those of the source tree.
std::string DefaultFolder(const char* name) {
  std::error_code ec;
  if (std::filesystem::is_directory(name, ec)) return name;
  return std::string(SELLERFLOW_POLICY_DIR) + "/" + name;
}

std::unique_ptr<engine::Policy> LoadPolicyFrom(PolicyOptions o, Diagnostics* diags) {
  DefinitionFolders folders = ResolveFolders(o.workflows, o.rules, "");
  return engine::LoadPolicy(folders.workflows, folders.rules, diags);
}

}  // namespace

DefinitionFolders ResolveFolders(const std::vector<std::string>& workflows,
                                 const std::vector<std::string>& rules, const std::string& store) {
  engine::FolderInputs in;
  in.flag_workflows = workflows;
  in.flag_rules = rules;
  if (const char* v = std::getenv("SELLERFLOW_WORKFLOWS")) in.env_workflows = v;
  if (const char* v = std::getenv("SELLERFLOW_RULES")) in.env_rules = v;
  in.project_dirs.push_back(".");
  // A database server has no folder beside it to hold a project file.
  if (!store.empty() && !engine::IsPostgresLocation(store)) {
    std::string dir = std::filesystem::path(store).parent_path().string();
    in.project_dirs.push_back(dir.empty() ? "." : dir);
  }
  in.default_workflows = DefaultFolder("workflows");
  in.default_rules = DefaultFolder("rules");
  Diagnostics diags;
  engine::PolicyFolders folders = engine::ResolvePolicyFolders(in, &diags);
  if (diags.has_errors()) {
    std::fputs(diags.ToText().c_str(), stderr);
    throw UsageError("the definition folders are misconfigured (see above)");
  }
  return {folders.workflows.folders, folders.rules.folders};
}

namespace {

// ---- check ---
std::function<int()> SetupCheck(CLI::App* app) {
  struct Options {
    PolicyOptions policy;
    std::string format = "text";
    bool strict = false;
  };
  auto o = std::make_shared<Options>();
  AddPolicyOptions(app, &o->policy);
  app->add_option("--format", o->format, "text or json")->check(CLI::IsMember({"text", "json"}));
  app->add_flag("--strict", o->strict, "treat warnings as errors");
  return [o] {
    const bool json = o->format == "json";
    Diagnostics diags;
    auto policy = LoadPolicyFrom(o->policy, &diags);
    engine::CheckPolicy(*policy, &diags);
    PrintDiagnostics(diags, json);
    if (!json) {
      size_t requests = 0;
      for (const auto& m : policy->machines) requests += m->kind == engine::MachineKind::kRequest;
      std::string summary = std::to_string(policy->machines.size()) + " machines (" +
                            std::to_string(requests) + " request, " +
                            std::to_string(policy->machines.size() - requests) + " entity), ";
      if (!policy->extensions.empty())
        summary += Count(policy->extensions.size(), "document extension") + ", ";
      summary += std::to_string(policy->rule_sources.size()) + " rules files: ";
      summary += diags.has_errors() ? Count(diags.error_count(), "error") : "ok";
      if (diags.warning_count()) summary += ", " + Count(diags.warning_count(), "warning");
      std::printf("%s\n", summary.c_str());
    }
    if (diags.has_errors() || (o->strict && diags.warning_count() > 0)) return kExitCheckFailed;
    return kExitOk;
  };
}

// ---- graph ---
std::function<int()> SetupGraph(CLI::App* app) {
  struct Options {
    PolicyOptions policy;
    std::string name, format = "mermaid";
    bool all = false;
    std::vector<std::string> coverage;
  };
  auto o = std::make_shared<Options>();
  app->add_option("TYPE", o->name, "a change type, an entity type, or 'ChangeType on EntityType'");
  app->add_flag("--all", o->all, "draw every machine, with the events requests send to entities");
  AddPolicyOptions(app, &o->policy);
  app->add_option("--format", o->format, "mermaid or dot")
      ->check(CLI::IsMember({"mermaid", "dot"}));
  Repeatable(app->add_option("--coverage", o->coverage,
                             "run these scenarios (a file or folder, repeatable) and draw what "
                             "they never exercised in red, dashed"));
  return [o] {
    if (o->all == !o->name.empty())
      throw InputError("graph takes a machine's TYPE or --all (one of them)");
    if (o->all && !o->coverage.empty())
      throw InputError("graph --coverage draws one machine: give its TYPE, not --all");
    Diagnostics diags;
    auto policy = LoadPolicyFrom(o->policy, &diags);
    if (diags.has_errors()) {
      PrintDiagnostics(diags, false);
      return kExitCheckFailed;
    }
    auto format = o->format == "dot" ? engine::GraphFormat::kDot : engine::GraphFormat::kMermaid;
    if (o->all) {
      std::fputs(engine::DrawPolicy(*policy, format).c_str(), stdout);
      return kExitOk;
    }
    auto machines = engine::FindMachines(*policy, o->name);
    if (machines.empty()) {
      std::vector<std::string> names;
      for (const auto& m : policy->machines)
        names.push_back(m->kind == engine::MachineKind::kEntity ? m->entity_type : m->change_type);
      std::string near = dsl::NearestName(o->name, names);
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      throw InputError("no machine named '" + o->name + "'" +
                       (near.empty() ? "; machines: " + known : "; did you mean '" + near + "'?"));
    }
    engine::Coverage coverage;
    if (!o->coverage.empty()) {
      // The scenarios' report goes to stderr: stdout is the picture, to pipe into dot or a file.
      engine::ScenarioSetup setup = ScenarioSetupFor(ResolveFolders(o->policy.workflows,
                                                                    o->policy.rules, ""));
      setup.coverage = &coverage;
      engine::ScenarioRunner runner(setup);
      std::vector<std::string> files = engine::FindScenarios(o->coverage);
      if (files.empty()) throw InputError("no scenarios (*.yaml) under " + o->coverage.front());
      int failed = 0;
      for (const auto& file : files) {
        engine::ScenarioResult r = runner.Run(file);
        if (!r.ok) {
          ++failed;
          std::fprintf(stderr, "FAIL %s\n", file.c_str());
        }
      }
      if (failed)
        std::fprintf(stderr, "sellerflow: %d of %zu scenarios failed (run `sellerflow test` for why); "
                             "drawing what the rest exercised\n",
                     failed, files.size());
    }
    for (size_t i = 0; i < machines.size(); ++i) {
      if (i) std::fputs("\n", stdout);
      engine::GraphMarks marks;
      if (!o->coverage.empty()) marks = coverage.ColdMarks(*machines[i]);
      std::fputs(engine::DrawMachine(*machines[i], format, marks).c_str(), stdout);
    }
    return kExitOk;
  };
}

}  // namespace

const std::vector<Command>& Commands() {
  static const std::vector<Command> kCommands = [] {
    std::vector<Command> commands = {
        {"eval", "evaluate one expression, optionally against JSON data", SetupEval},
        {"check-rules", "parse and type-check rules files; report every problem", SetupCheckRules},
        {"eval-rules", "evaluate every rule of some rules files against JSON data", SetupEvalRules},
        {"check", "load workflows and rules and report every problem", SetupCheck},
        {"graph", "draw a machine (or --all) as Mermaid or DOT", SetupGraph},
    };
    AddEngineCommands(&commands);
    return commands;
  }();
  return kCommands;
}

}  // namespace sellerflow
