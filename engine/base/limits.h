// Every hard limit of the engine and the command line, in one place, each with its reason (the rule
// language's are in dsl/limits.h).
#ifndef SELLERFLOW_ENGINE_BASE_LIMITS_H_
#define SELLERFLOW_ENGINE_BASE_LIMITS_H_

#include <cstddef>
#include <cstdint>

namespace sellerflow::engine {

// A workflow file larger than this is refused unread: shipped machines are a few KB, and the
// whole file is held in memory with a tree of its nodes.
constexpr size_t kMaxWorkflowBytes = 256 * 1024;
// Nesting of YAML blocks and flow collections. yaml-cpp recurses per level and gives up deep
// input with a bare "bad file" at 1:1, so the loader measures depth first and says where.
constexpr size_t kMaxYamlDepth = 32;
// Files read from one --workflows folder: a bound on start-up work.
constexpr size_t kMaxWorkflowFiles = 2000;
// States and transitions of one machine: machines are pictures people read.
constexpr size_t kMaxStates = 200;
constexpr size_t kMaxTransitions = 1000;

// ---- Commands (engine/read/command.cc)
// ----------------------------------------------------------------

// The Catalog API's envelope (marketplace-spec.md §1.1): StartChangeSet refuses a body outside
// these, whatever the change types; lengths are in characters.
constexpr size_t kMinChanges = 1;
constexpr size_t kMaxChanges = 20;
constexpr size_t kMaxCatalog = 64;
constexpr size_t kMaxChangeType = 255;
constexpr size_t kMaxEntityType = 255;
constexpr size_t kMaxIdentifier = 255;
constexpr size_t kMaxChangeName = 72;
constexpr size_t kMaxChangeSetName = 100;
constexpr size_t kMaxToken = 64;
constexpr size_t kMinDetails = 2;  // The legacy Details string: "{}" at least.
constexpr size_t kMaxDetails = 16384;
constexpr size_t kMaxChangeSetId = 255;
// Tags and resource policies, as the Catalog API's model bounds them (TagList, TagKey, TagValue,
// ResourceARN, ResourcePolicyJson).
constexpr size_t kMaxTags = 200;
constexpr size_t kMaxTagKey = 128;
constexpr size_t kMaxTagValue = 256;
constexpr size_t kMaxResourceArn = 255;
constexpr size_t kMaxPolicy = 10240;

// Violations reported for one command: past this many it is hopeless, and more would bury the
// first ones (the rest are counted, not listed).
constexpr size_t kMaxViolations = 100;

// Bytes of one command: a StartChangeSet body, or one line of a replay log or an import file. A
// larger one is refused before it is parsed (the CLI stops reading past it). The Catalog API takes
// at most 20 changes of at most 16,384 characters of Details each, about 330 KB; every command is
// held whole in memory, parsed, and kept twice (in its change set and in the command log).
constexpr size_t kMaxCommandBytes = 1 << 20;
// Bytes of one replay-log line: a command as the log keeps it is the body as sent plus `op`, Actor
// and At, and `log export` adds its Outcome (about 150 bytes in all); a log line must be readable
// whenever its body was.
constexpr size_t kMaxReplayLineBytes = kMaxCommandBytes + 4096;

// ---- Running (engine/run/engine.cc)
// -------------------------------------------------------------------

// Automatic transitions one change may take in one command. `check` refuses circles of unguarded
// automatic transitions; a guarded circle that keeps holding is stopped here, and the change
// FAILS with SERVER_FAULT naming its machine. Shipped machines take fewer than ten.
constexpr int kMaxStepsPerRun = 200;
// Timers fired before one command. A machine whose timer re-arms itself (a state with an `after`
// back to itself) would otherwise fire once per period for as long as the clock jumped; past this
// many, the rest fire before the next command, so every command's work stays bounded (the command
// reports how many it left as TimersDeferred). This also bounds the history one command adds to a
// change set.
constexpr int kMaxTimerRounds = 10000;
// A tick's answer lists at most this many of the timers it fired (the first, in firing order) and
// counts them all: a tick that fires thousands answers in a screenful.
constexpr size_t kMaxTimersListed = 100;

// How far one tick may move the store's clock: as far as the longest duration a request may give
// (100 years), so that a mistyped year is refused instead of firing every timer of a century.
constexpr int64_t kMaxTickSpanYears = 100;
constexpr int64_t kMaxTickSpanUs =
    kMaxTickSpanYears * 36525LL * 864LL * 1000000LL;  // years of 365.25 days

// ---- Store (engine/store/sqlite_store.cc)
// ----------------------------------------------------------------------

// How long a command waits for another process's write lock before it gives up with "store busy,
// retry" (exit 75). A command holds the lock for about a millisecond, so five seconds is thousands
// of other commands: only a stuck or very long writer (a batch replay) keeps it that long.
constexpr int kBusyTimeoutMs = 5000;

// ---- Language server (src/lsp/)
// -----------------------------------------------------------------------------

// Bytes of one JSON-RPC message's content. The largest message is a whole document sent by an
// editor (didOpen, didChange with full sync), and a workflow file is at most kMaxWorkflowBytes; a
// rules file as the rule language bounds it (dsl/limits.h) is smaller than this too. A header that
// announces more is answered with an error and its content skipped unread into memory.
constexpr size_t kMaxLspMessageBytes = 4 << 20;
// Bytes of one header line ("Content-Length: 123"): a line longer than this is no header.
constexpr size_t kMaxLspHeaderBytes = 1024;

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_BASE_LIMITS_H_
