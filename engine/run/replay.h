// Running a stream of commands, one JSON line each: `replay` of an exported command log (with
// resume after a crash) and `import` of entities.
#ifndef SELLERFLOW_ENGINE_RUN_REPLAY_H_
#define SELLERFLOW_ENGINE_RUN_REPLAY_H_

#include <cstdint>
#include <functional>
#include <istream>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/read/command.h"
#include "engine/run/engine.h"

namespace sellerflow::engine {

// The input cannot be replayed as asked (it does not continue the store's log, or it cannot be
// read). Nothing after the line it names was run; what ran before it stays.
class ReplayError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct ReplayOptions {
  bool batch = false;   // One transaction for the whole input (else one per command).
  bool resume = false;  // Skip the commands the store's command log already holds, checking them.
  // The operation of a line without "op" (import lines); nullopt: every line names its own.
  std::optional<Op> default_op;
  std::string default_actor;  // The actor of a line without "Actor".
};

// What the caller hears as the input is run. Any of them may be empty.
struct ReplayHooks {
  // A line that is not a command (it is skipped; the replay goes on).
  std::function<void(int64_t line, const std::vector<Violation>&)> malformed;
  // A command has run; with --commit each, it is committed.
  std::function<void(int64_t line, const Outcome&)> ran;
};

struct ReplayReport {
  int64_t lines = 0;      // Lines read, blank ones included.
  int64_t malformed = 0;  // Lines that were not commands.
  int64_t skipped = 0;    // Commands the store's log already held (resume).
  // Per result ("Ok", "Refused", ...) and per change-set status ("SUCCEEDED", ...).
  std::map<std::string, int64_t> counts;
};

// Reads `in` (named `name` in messages) line by line, each at most kMaxCommandBytes, and executes
// each command on `engine`, which borrows its store. Streams: a long log is never held whole.
// Throws ReplayError (resume mismatch, unreadable input) and StoreError; with options.batch, a
// throw commits nothing.
ReplayReport Replay(Engine& engine, std::istream& in, const std::string& name,
                    const ReplayOptions& options, const ReplayHooks& hooks);

// Reads one line of at most `max` bytes (without its newline); a longer line is read to its end
// but not kept, and sets *too_long. False at the end of the input. Throws ReplayError when the
// input cannot be read.
bool ReadBoundedLine(std::istream& in, size_t max, std::string* line, bool* too_long);

// The violation of a line or body longer than `max` bytes.
std::string TooLongMessage(size_t max);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_RUN_REPLAY_H_
