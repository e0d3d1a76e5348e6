// Policy tests: scenario files (YAML: the commands of a story and what each must leave behind),
// each run on a fresh in-memory store by an engine in this process. The format is documented in
// tests/scenarios/README.md.
#ifndef SELLERFLOW_ENGINE_RUN_SCENARIO_H_
#define SELLERFLOW_ENGINE_RUN_SCENARIO_H_

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/model/load.h"
#include "engine/run/coverage.h"
#include "engine/run/engine.h"

namespace sellerflow::engine {

struct ScenarioSetup {
  // The policy's folders. A scenario's `policy:` adds its own folders after them.
  std::vector<std::string> workflows;
  std::vector<std::string> rules;
  // The command line's exit code for an outcome, and for a command the command line would refuse
  // before it ran (no actor, a time that is not RFC 3339): what a scenario's `exit` compares.
  std::function<int(const Outcome&)> exit_code;
  int usage_exit = 2;
  // When set, every engine counts into it (not owned).
  Coverage* coverage = nullptr;
};

struct ScenarioResult {
  // Whether the scenario met its expectations; for a self-test (`driver_must_fail`), whether it
  // failed as it must.
  bool ok = false;
  bool self_test = false;
  // Each failure as "FILE:LINE:COL: step N (id): what: expected X, got Y"; for a passing
  // self-test, the failures it rightly reported.
  std::vector<std::string> lines;
  std::string log;  // The command log as `log export` writes it, when asked for.
};

// Runs scenarios, one at a time. Policies are loaded and checked once per set of folders and kept
// for the runner's life. Never throws for a bad scenario (it fails, saying why); a store failure
// (out of memory) throws StoreError.
class ScenarioRunner {
 public:
  explicit ScenarioRunner(ScenarioSetup setup);
  ~ScenarioRunner();
  ScenarioResult Run(const std::string& path, bool want_log = false);

 private:
  // The checked policy of these folders, or nullptr with the diagnostics in *error.
  const Policy* PolicyFor(const std::vector<std::string>& workflows,
                          const std::vector<std::string>& rules, std::string* error);
  ScenarioSetup setup_;
  std::map<std::string, std::unique_ptr<Policy>> policies_;
  std::map<std::string, std::string> policy_errors_;
};

// The scenario files under each path: a file as it is, a folder's *.yaml files at any depth, in
// path order. A path that does not exist is returned as it is (Run then reports it).
std::vector<std::string> FindScenarios(const std::vector<std::string>& paths);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_RUN_SCENARIO_H_
