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
  // The next logged command, or nullptr past the end.
  const CommandRow* Next() {
    if (next_ == page_.size()) {
      page_ = store_->Commands(after_, 1000);
      next_ = 0;
      if (page_.empty()) return nullptr;
      after_ = page_.back().seq;
    }
    return &page_[next_++];
  }

 private:
  Store* store_;
  std::vector<CommandRow> page_;
  size_t next_ = 0;
  int64_t after_ = 0;
};

// Whether a command of the input is the one the log holds: the engine logs a command as it ran it
// (a missing At filled from the store's clock, except on an import line), so the input's command
// is completed the same way before the lines are compared. Both are compared in canonical form:
// a DetailsDocument is kept as it was sent, and a log written out again by another tool (or
// another version) may space its JSON differently without being another command.
bool SameCommand(Command c, const std::string& logged) {
  if (c.op != Op::kImport && c.at.empty()) {
    Command l;
    std::vector<Violation> ignored;
    if (ParseCommand(logged, std::nullopt, &l, &ignored)) c.at = l.at;
  }
  std::string mine, theirs;
  return CanonicalJson(c.ToJsonLine(), &mine) && CanonicalJson(logged, &theirs) && mine == theirs;
}

// The outcome an engine's answer records, in the shape `log export` writes.
RecordedOutcome Recorded(const Outcome& o) {
  RecordedOutcome r;
  r.result = ResultKey(o.result);
  r.error = o.error_type;
  r.change_set_id = o.change_set_id;
  r.status = o.status;
  r.timers_deferred = o.timers_deferred;
  return r;
}

std::string NothingWentIn(const std::string& name, int64_t skipped) {
  return "nothing of " + name + " went in" +
         (skipped > 0 ? " past the " + std::to_string(skipped) + " lines the store held already"
                      : "");
}

// What a replay stopped at line `line` of `name` leaves behind: with a transaction per command,
// every command before it (and the line itself when `line_went_in`: it ran before it could be
// judged); in a batch, nothing.
std::string StoppedAt(const std::string& name, int64_t line, int64_t ran, int64_t skipped,
                      bool batch, bool line_went_in = false) {
  const std::string at = name + ":" + std::to_string(line);
  if (batch) return "stopped at " + at + ": " + NothingWentIn(name, skipped) + " (--commit batch)";
  const int64_t last_in = line_went_in ? line : line - 1;
  if (last_in < 1) return "stopped at " + at + ": nothing of " + name + " went in";
  std::string out = "stopped at " + at + ": " +
                    (last_in == 1 ? "line 1" : "lines 1 to " + std::to_string(last_in)) +
                    " went in (" + std::to_string(ran) + " command" + (ran == 1 ? "" : "s") +
                    " committed";
  if (skipped > 0) out += ", " + std::to_string(skipped) + " already in the store";
  if (line_went_in) {
    out += last_in == 1 ? ", with" : ", line " + std::to_string(line) + " with";
    out += " the outcome this replay reached";
  }
  const int64_t first_out = last_in + 1;
  return out + "), line " + std::to_string(first_out) + " and those after it did not";
}

}  // namespace

const char* ResultKey(Result r) {
  static const char* kNames[] = {"Ok", "Refused", "Conflict", "NotFound", "AccessDenied"};
  return kNames[static_cast<int>(r)];
}

std::string TooLongMessage(size_t max) {
  return "has more than " + std::to_string(max) + " bytes; at most " + std::to_string(max) +
         " are allowed";
}

bool ReadBoundedLine(std::istream& in, size_t max, std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  char chunk[1 << 16];
  bool any = false;
  // True once the line holds more than `max` bytes: it is cut to `max` and nothing more of it is
  // read, since a line without an end (/dev/zero) would otherwise be read for ever.
  auto over = [&] {
    if (line->size() <= max) return false;
    line->resize(max);
    *too_long = true;
    return true;
  };
  for (;;) {
    // getline stores at most its count - 1 bytes: never more than one past the bound in all.
    const size_t room = max + 1 - line->size();
    in.getline(chunk, static_cast<std::streamsize>(std::min(sizeof chunk, room + 1)));
    std::streamsize n = in.gcount();
    if (in.bad()) throw ReplayError(std::string("cannot read the input: ") + std::strerror(errno));
    if (in.eof()) {
      line->append(chunk, static_cast<size_t>(n));
      over();
      return any || n > 0;
    }
    any = true;
    if (in.fail()) {  // The chunk is full and the line goes on.
      in.clear();
      line->append(chunk, static_cast<size_t>(n));
      if (over()) return true;
      continue;
    }
    line->append(chunk, static_cast<size_t>(n - 1));  // gcount counts the newline, not kept.
    over();
    return true;
  }
}

// The outcome comes from the command log's own outcome column, written in the same transaction as
// the command: it is what the command answered then. Deriving it at export time from the change
// sets would give what they are now (a set that was APPLYING when reviewed later is SUCCEEDED), and
// a refused command leaves no row but its log entry. Every schema has had the column; a row whose
// outcome cannot be read is exported as its command alone, which a replay runs unchecked.
std::string ExportLine(const CommandRow& row) {
  RecordedOutcome outcome;
  std::vector<Violation> ignored;
  if (row.command.size() < 2 || row.command.back() != '}' ||
      !ParseOutcome(row.outcome, "", &outcome, &ignored, /*log_spelling=*/true))
    return row.command;
  std::string line = row.command;
  line.pop_back();
  return line + ",\"Outcome\":" + outcome.ToJson() + "}";
}

void CheckReplayTarget(Store& store, const std::string& name, const ReplayOptions& options) {
  if (options.resume || options.append) return;
  const int64_t held = store.LastCommandSeq();
  if (held == 0) return;
  throw ReplayError("cannot replay " + name + ": the store already holds " + std::to_string(held) +
                    " command" + (held == 1 ? "" : "s") + " (its clock is " + store.Clock() +
                    "), and a replay runs a log from its start; to continue a replay that was "
                    "stopped, run it again with --resume (it skips the commands the store holds, "
                    "checking them); to run these commands after the store's own, use --append");
}

ReplayReport Replay(Engine& engine, std::istream& in, const std::string& name,
                    const ReplayOptions& options, const ReplayHooks& hooks) {
  Store* store = engine.store();
  CheckReplayTarget(*store, name, options);
  ReplayReport report;
  if (options.batch) store->BeginBatch();
  std::optional<LoggedCommands> logged;
  if (options.resume) logged.emplace(store);
  int64_t ran = 0;  // Commands run, for what a store error that stops the replay leaves behind.
  std::string line;
  bool too_long = false;
  while (ReadBoundedLine(in, kMaxReplayLineBytes, &line, &too_long)) {
    const int64_t at_line = ++report.lines;
    // Windows editors begin a UTF-8 file with a byte-order mark: not part of line 1's JSON.
    if (at_line == 1 && line.starts_with("\xEF\xBB\xBF")) line.erase(0, 3);
    if (!too_long && (line.empty() || line == "\r")) continue;
    Command c;
    std::vector<Violation> violations;
    if (too_long) {
      // The rest of the line is not read (it may never end), so no line after it can be found.
      ++report.malformed;
      if (hooks.malformed) hooks.malformed(at_line, {{"", TooLongMessage(kMaxReplayLineBytes)}});
      throw ReplayStopped("cannot read past " + name + ":" + std::to_string(at_line) + ", which " +
                          TooLongMessage(kMaxReplayLineBytes) + "; " +
                          StoppedAt(name, at_line, ran, report.skipped, options.batch));
    }
    if (!ParseCommand(line, options.default_op, &c, &violations)) {
      ++report.malformed;
      if (hooks.malformed) hooks.malformed(at_line, violations);
      continue;
    }
    if (c.actor.empty()) c.actor = options.default_actor;
    if (c.at.empty() && !options.default_at.empty() && ParseAt(options.default_at, &c.at_us))
      c.at = options.default_at;
    if (logged) {
      if (const CommandRow* done = logged->Next()) {
        if (!SameCommand(c, done->command)) {
          throw ReplayError("cannot resume: " + name + ":" + std::to_string(at_line) +
                            " is not the command the store's log holds at that point (" +
                            done->command +
                            "); --resume continues the log the store was replaying");
        }
        RecordedOutcome held;
        std::vector<Violation> ignored;
        if (c.outcome && ParseOutcome(done->outcome, "", &held, &ignored, /*log_spelling=*/true) &&
            held != *c.outcome) {
          throw ReplayStopped("cannot resume: " + name + ":" + std::to_string(at_line) +
                              " recorded the outcome " + c.outcome->ToJson() +
                              ", and the store's log holds its command with the outcome " +
                              held.ToJson() + "; nothing of " + name + " went in");
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
    if (c.outcome) {
      // Judged once the command has run: with a transaction per command it is committed, and
      // stays; what follows it is not run on a store that has already gone another way.
      const RecordedOutcome reached = Recorded(o);
      if (reached != *c.outcome) {
        throw ReplayStopped(name + ":" + std::to_string(at_line) +
                            ": the log recorded the outcome " + c.outcome->ToJson() +
                            ", this replay reached " + reached.ToJson() + "; " +
                            StoppedAt(name, at_line, ran, report.skipped, options.batch, true));
      }
    }
  }
  if (logged && logged->Next()) {
    throw ReplayError("cannot resume: the store's command log holds more commands than " + name +
                      "; --resume continues the log the store was replaying");
  }
  if (options.batch) {
    try {
      store->CommitBatch();
    } catch (const StoreError& e) {
      throw StoreError(e.kind(),
                       std::string(e.what()) + "; " + NothingWentIn(name, report.skipped));
    }
  }
  return report;
}

}  // namespace sellerflow::engine
