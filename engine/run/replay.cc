// Replaying command logs and importing entities: a stream of command lines through the engine.
#include "engine/run/replay.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "engine/base/limits.h"
#include "engine/store/store.h"

namespace sellerflow::engine {
namespace {

// The store's command log, read in pages, for `replay --resume` to walk beside the input.
class LoggedCommands {
 public:
  explicit LoggedCommands(Store* store) : store_(store) {}
  // The next logged command's line, or nullptr past the end.
  const std::string* Next() {
    if (next_ == page_.size()) {
      page_ = store_->Commands(after_, 1000);
      next_ = 0;
      if (page_.empty()) return nullptr;
      after_ = page_.back().seq;
    }
    return &page_[next_++].command;
  }

 private:
  Store* store_;
  std::vector<CommandRow> page_;
  size_t next_ = 0;
  int64_t after_ = 0;
};

// Whether a command of the input is the one the log holds: the engine logs a command as it ran it
// (a missing At filled from the store's clock, except on an import line), so the input's command
// is completed the same way before the lines are compared.
bool SameCommand(Command c, const std::string& logged) {
  if (c.op != Op::kImport && c.at.empty()) {
    Command l;
    std::vector<Violation> ignored;
    if (ParseCommand(logged, std::nullopt, &l, &ignored)) c.at = l.at;
  }
  return c.ToJsonLine() == logged;
}

const char* ResultKey(Result r) {
  static const char* kNames[] = {"Ok", "Refused", "Conflict", "NotFound", "AccessDenied"};
  return kNames[static_cast<int>(r)];
}

std::string NothingWentIn(const std::string& name, int64_t skipped) {
  return "nothing of " + name + " went in" +
         (skipped > 0 ? " past the " + std::to_string(skipped) + " lines the store held already"
                      : "");
}

// What a replay that a store error stopped at line `line` of `name` leaves behind: with a
// transaction per command, every command before it; in a batch, nothing.
std::string StoppedAt(const std::string& name, int64_t line, int64_t ran, int64_t skipped,
                      bool batch) {
  const std::string at = name + ":" + std::to_string(line);
  if (batch) return "stopped at " + at + ": " + NothingWentIn(name, skipped) + " (--commit batch)";
  if (line <= 1) return "stopped at " + at + ": nothing of " + name + " went in";
  std::string out = "stopped at " + at + ": lines 1 to " + std::to_string(line - 1) +
                    " went in (" + std::to_string(ran) + " command" + (ran == 1 ? "" : "s") +
                    " committed";
  if (skipped > 0) out += ", " + std::to_string(skipped) + " already in the store";
  return out + "), line " + std::to_string(line) + " and those after it did not";
}

}  // namespace

std::string TooLongMessage(size_t max) {
  return "has more than " + std::to_string(max) + " bytes; at most " + std::to_string(max) +
         " are allowed";
}

bool ReadBoundedLine(std::istream& in, size_t max, std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  char chunk[1 << 16];
  bool any = false;
  auto keep = [&](std::streamsize n) {
    size_t room = max - std::min(max, line->size());
    if (static_cast<size_t>(n) > room) *too_long = true;
    line->append(chunk, std::min(room, static_cast<size_t>(n)));
  };
  for (;;) {
    in.getline(chunk, sizeof chunk);
    std::streamsize n = in.gcount();
    if (in.bad()) throw ReplayError(std::string("cannot read the input: ") + std::strerror(errno));
    if (in.eof()) {
      keep(n);
      return any || n > 0;
    }
    any = true;
    if (in.fail()) {  // The chunk is full and the line goes on.
      in.clear();
      keep(n);
      continue;
    }
    keep(n - 1);  // gcount counts the newline, which is not kept.
    return true;
  }
}

ReplayReport Replay(Engine& engine, std::istream& in, const std::string& name,
                    const ReplayOptions& options, const ReplayHooks& hooks) {
  Store* store = engine.store();
  ReplayReport report;
  if (options.batch) store->BeginBatch();
  std::optional<LoggedCommands> logged;
  if (options.resume) logged.emplace(store);
  int64_t ran = 0;  // Commands run, for what a store error that stops the replay leaves behind.
  std::string line;
  bool too_long = false;
  while (ReadBoundedLine(in, kMaxCommandBytes, &line, &too_long)) {
    const int64_t at_line = ++report.lines;
    if (!too_long && (line.empty() || line == "\r")) continue;
    Command c;
    std::vector<Violation> violations;
    if (too_long) violations.push_back({"", TooLongMessage(kMaxCommandBytes)});
    if (too_long || !ParseCommand(line, options.default_op, &c, &violations)) {
      ++report.malformed;
      if (hooks.malformed) hooks.malformed(at_line, violations);
      continue;
    }
    if (c.actor.empty()) c.actor = options.default_actor;
    if (logged) {
      if (const std::string* done = logged->Next()) {
        if (!SameCommand(c, *done)) {
          throw ReplayError("cannot resume: " + name + ":" + std::to_string(at_line) +
                            " is not the command the store's log holds at that point (" + *done +
                            "); --resume continues the log the store was replaying");
        }
        ++report.skipped;
        continue;
      }
      logged.reset();  // Past the store's log: run the rest.
    }
    Outcome o;
    try {
      o = engine.Execute(c);
    } catch (const StoreError& e) {
      throw StoreError(e.kind(), std::string(e.what()) + "; " +
                                     StoppedAt(name, at_line, ran, report.skipped, options.batch));
    }
    ++ran;
    ++report.counts[ResultKey(o.result)];
    if (!o.status.empty()) ++report.counts[o.status];
    if (o.timers_deferred > 0) report.counts["TimersDeferred"] += o.timers_deferred;
    if (hooks.ran) hooks.ran(at_line, o);
  }
  if (logged && logged->Next()) {
    throw ReplayError("cannot resume: the store's command log holds more commands than " + name +
                      "; --resume continues the log the store was replaying");
  }
  if (options.batch) {
    try {
      store->CommitBatch();
    } catch (const StoreError& e) {
      throw StoreError(e.kind(), std::string(e.what()) + "; " + NothingWentIn(name, report.skipped));
    }
  }
  return report;
}

}  // namespace sellerflow::engine
