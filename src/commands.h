// The table of sellerflow's subcommands and the exit codes they share.
#ifndef SELLERFLOW_SRC_COMMANDS_H_
#define SELLERFLOW_SRC_COMMANDS_H_

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace CLI {
class App;
}

namespace sellerflow {

// Documented exit codes (README.md, "Exit codes").
enum ExitCode : int {
  kExitOk = 0,
  kExitCheckFailed = 1,  // Definitions have errors (or warnings under --strict).
  kExitUsage = 2,        // Bad arguments, or an input file that cannot be read or parsed.
  kExitEvalError = 3,    // An expression or rule could not be evaluated.
};

// One subcommand: its name and summary, how it declares its options on `app`, and what it runs.
// `Setup` returns the function that runs the command once the options are parsed.
struct Command {
  const char* name;
  const char* summary;
  std::function<std::function<int()>(CLI::App* app)> setup;
};

const std::vector<Command>& Commands();

}  // namespace sellerflow

#endif  // SELLERFLOW_SRC_COMMANDS_H_
