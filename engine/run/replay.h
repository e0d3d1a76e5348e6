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
#include "engine/store/store.h"

namespace sellerflow::engine {

// The input cannot be replayed as asked (it does not continue the store's log, or it cannot be
// read). Nothing after the line it names was run; what ran before it stays.
class ReplayError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The replay ran as far as a line that stopped it: a line too long to read past, or one whose
// outcome is not the one its log recorded. The message says what went in.
class ReplayStopped : public ReplayError {
 public:
  using ReplayError::ReplayError;
};

struct ReplayOptions {
  bool batch = false;   // One transaction for the whole input (else one per command).
  bool resume = false;  // Skip the commands the store's command log already holds, checking them.
  // Run the input after whatever the store holds (`import`, bulk loads): without it (or resume),
  // a store that already holds commands is refused, since a replay is a log run again from its
  // start and running it over its own earlier run would accept some requests twice.
  bool append = false;
  // The operation of a line without "op" (import lines); nullopt: every line names its own.
  std::optional<Op> default_op;
  std::string default_actor;  // The actor of a line without "Actor".
  // The time of a line without "At" (import --at), RFC 3339; "" leaves such lines at the store's
  // clock.
  std::string default_at;
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

// A command-log row as `log export` writes it: the command's line with "Outcome" last, the
// outcome the log recorded (RecordedOutcome::ToJson).
std::string ExportLine(const CommandRow& row);

// Throws ReplayError when `store` cannot take a replay as `options` ask: it already holds commands
// and neither resume nor append is set. The caller checks before anything writes to the store
// (an Engine records its definitions); Replay checks again.
void CheckReplayTarget(Store& store, const std::string& name, const ReplayOptions& options);

// Reads `in` (named `name` in messages) line by line, each at most kMaxReplayLineBytes, and
// executes each command on `engine`, which borrows its store. Streams: a long log is never held
// whole. A line that carries an "Outcome" (what `log export` writes) is compared with the outcome
// it reaches. Throws ReplayError (a store that already holds commands, resume mismatch, unreadable
// input), ReplayStopped (a line too long, an outcome that differs) and StoreError; with
// options.batch, a throw commits nothing.
ReplayReport Replay(Engine& engine, std::istream& in, const std::string& name,
                    const ReplayOptions& options, const ReplayHooks& hooks);

// Reads one line of at most `max` bytes (without its newline). A longer line sets *too_long and
// is read no further than `max` + 1 bytes, so an endless line (/dev/zero) ends the read; the
// stream is then left inside that line, and the caller stops. False at the end of the input.
// Throws ReplayError when the input cannot be read.
bool ReadBoundedLine(std::istream& in, size_t max, std::string* line, bool* too_long);

// A result as replay summaries count it and recorded outcomes name it: "Ok", "Refused", "Conflict",
// "NotFound", "AccessDenied" (ParseOutcome accepts these names).
const char* ResultKey(Result r);

// The violation of a line or body longer than `max` bytes.
std::string TooLongMessage(size_t max);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_RUN_REPLAY_H_
