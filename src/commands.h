// The table of sellerflow's subcommands and the exit codes they share.
#ifndef SELLERFLOW_SRC_COMMANDS_H_
#define SELLERFLOW_SRC_COMMANDS_H_

#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/run/scenario.h"

namespace CLI {
class App;
class Option;
}  // namespace CLI

namespace sellerflow {

// Documented exit codes (README.md, "Exit codes").
enum ExitCode : int {
  kExitOk = 0,
  kExitCheckFailed = 1,   // check, check-rules: definitions have errors (or warnings, --strict).
  kExitRefused = 1,       // A request was refused (ValidationException) or its change set FAILED.
  kExitUsage = 2,         // Bad arguments, or an input file that cannot be read or parsed.
  kExitEvalError = 3,     // eval, eval-rules: an expression or rule could not be evaluated.
  kExitDefinitions = 3,   // Engine commands: the workflows or rules have errors.
  kExitConflict = 4,      // ResourceInUseException, a stale revision, a reused token.
  kExitNotFound = 5,      // ResourceNotFoundException.
  kExitAccessDenied = 6,  // AccessDeniedException.
  kExitInternal = 70,     // A bug: an unexpected failure inside sellerflow.
  kExitStoreIo = 74,      // The store could not be read or written (I/O, disk full, corrupt).
  kExitStoreBusy = 75,    // Another process held the store's write lock too long: retry.
};

// Bad input given by the user (an unreadable file, bad arguments): exit code 2.
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

// One subcommand: its name and summary, how it declares its options on `app`, and what it runs.
// `Setup` returns the function that runs the command once the options are parsed.
struct Command {
  const char* name;
  const char* summary;
  std::function<std::function<int()>(CLI::App* app)> setup;
};

// The workflow and rules folders a command that loads the policy uses (README.md, "Definition
// folders"): its flags, else $SELLERFLOW_WORKFLOWS / $SELLERFLOW_RULES, else sellerflow.yaml in the
// current directory or beside `store` (a path, "" for none), else the shipped folders. A broken
// project file or variable is printed and throws UsageError.
struct DefinitionFolders {
  std::vector<std::string> workflows, rules;
};
DefinitionFolders ResolveFolders(const std::vector<std::string>& workflows,
                                 const std::vector<std::string>& rules, const std::string& store);

// What `test` and `graph --coverage` run scenarios with: these folders and the command line's
// exit codes for what a step's `exit` compares.
engine::ScenarioSetup ScenarioSetupFor(const DefinitionFolders& folders);

// Runs the scenarios under `paths` (files, or folders searched for *.yaml; none: tests/scenarios)
// and prints "ok  NAME" or "FAIL NAME" with each failure, then "N of M scenarios passed". Returns
// how many failed, or -1 (after saying why on stderr) when no scenario was found.
int RunScenarioFiles(engine::ScenarioRunner& runner, const std::vector<std::string>& paths,
                     bool verbose);

const std::vector<Command>& Commands();
// Makes `o` a repeatable option that takes one value each time (`--workflows a --workflows b`), so
// that `--workflows a b` leaves `b` to the positional argument after it.
CLI::Option* Repeatable(CLI::Option* o);
// The engine's commands (src/engine_commands.cc), appended to the table.
void AddEngineCommands(std::vector<Command>* commands);

}  // namespace sellerflow

#endif  // SELLERFLOW_SRC_COMMANDS_H_
