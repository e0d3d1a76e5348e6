// The engine: runs commands (change sets, reviews, cancels, clock ticks, imports) against the
// store.
#ifndef SELLERFLOW_ENGINE_RUN_ENGINE_H_
#define SELLERFLOW_ENGINE_RUN_ENGINE_H_

#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "engine/model/load.h"
#include "engine/read/command.h"
#include "engine/store/store.h"

namespace sellerflow::engine {

// How a command ended, in the Catalog API's terms.
enum class Result {
  kOk,            // Accepted (the change set may still have FAILED: see the body).
  kRefused,       // ValidationException: nothing was created.
  kConflict,      // ResourceInUseException, a stale revision, or a token reused with another body.
  kNotFound,      // ResourceNotFoundException.
  kAccessDenied,  // AccessDeniedException.
};

struct Outcome {
  Result result = Result::kOk;
  std::string error_type;  // "ValidationException", ... ("" when kOk).
  std::string message;     // For people, one line.
  std::string body;        // JSON: the response (StartChangeSet: ChangeSetId and status; errors:
                           // {"__type", "Message", "Violations"?}).
  bool failed = false;     // kOk, but the change set ended FAILED (or a VALIDATE found violations).
  std::string status;      // The change set's status after the command, when it concerned one.
  std::string change_set_id;
  // Timers that were due before the command but did not fire, because kMaxTimerRounds fired first:
  // they fire before the next command. Shown as "TimersDeferred" in the body when not 0.
  int64_t timers_deferred = 0;
  // For people, when the command has a report of its own beyond its body: an upgrade's plan as
  // text (UpgradePlan::ToText). "" otherwise.
  std::string report;
};

// A waiting change set cannot go on with the definitions the engine was given: the request
// machine it started under does not fit today's entity machines or rules (or is gone). Thrown out
// of Execute, which then changes nothing; the message names what is missing.
class DefinitionsMissing : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct EngineImpl;
class Coverage;

// Owns the compiled machines of one checked policy; borrows the store. One command at a time.
class Engine {
 public:
  // The policy must have passed CheckPolicy without errors. Records every definition's text in the
  // store by content hash.
  Engine(const Policy& policy, Store* store);
  ~Engine();

  // Runs one command in one store transaction: first every timer due at or before its At, then the
  // command itself, then its entry in the command log. A refused command changes nothing: no timer
  // fires, the clock stays where it was, and only its log entry is kept. A VALIDATE keeps the
  // timers that fell due before it and its log entry.
  // Infrastructure failures throw StoreError and leave the store as it was.
  Outcome Execute(const Command& received);

  // Whether Execute builds Outcome::body for successful commands (default true). A replay, which
  // reports only counts, turns it off; errors always carry their body.
  void set_respond(bool respond);
  // Counts every state entered, transition taken and rule evaluated into *coverage (registering
  // the policy's machines and rules there first); nullptr stops counting. Not owned: it must
  // outlive the engine or be unset.
  void set_coverage(Coverage* coverage);

  // The store this engine runs on, to read it (Catalog in describe.h) between commands.
  Store* store() const;
  // Catalog(store()) reads, for callers that hold an engine anyway.
  std::string DescribeChangeSet(const std::string& id);
  std::string DescribeEntity(const std::string& id);
  std::string ListChangeSets(const std::string& status, const std::string& entity,
                             const std::string& change_type);
  std::string ListEntities(const std::string& type, const std::string& state);
  std::string History(const std::string& id);

  // Why validation rule `rule` failed for change `change` of change set `change_set_id`, as
  // `eval-rules --explain --format json` says it: the clauses that were false, with their source
  // positions and the values of their operands. It evaluates the rule again on the change's
  // DetailsDocument and its entity as the store has them now (a failed change set changed nothing,
  // so that is what it saw). "" when the change set, the change, its machine or the rule is not
  // there. Writes nothing.
  std::string ExplainRule(const std::string& change_set_id, int change, const std::string& rule);

 private:
  std::unique_ptr<EngineImpl> impl_;
};

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_RUN_ENGINE_H_
