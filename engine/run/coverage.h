// Coverage of a policy by its tests: every state entered, transition taken and rule evaluated,
// counted while engines run, and what was never exercised, with where it is written.
#ifndef SELLERFLOW_ENGINE_RUN_COVERAGE_H_
#define SELLERFLOW_ENGINE_RUN_COVERAGE_H_

#include <cstddef>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dsl/program.h"
#include "engine/check/graph.h"
#include "engine/model/load.h"
#include "engine/model/machine.h"

namespace sellerflow::engine {

// One state, transition or rule of the policies an engine ran on.
struct CoverageItem {
  enum class Kind { kState, kTransition, kRule };
  Kind kind = Kind::kState;
  std::string machine;  // Its machine's key ("" for a rule).
  // "Reviewing"; "Reviewing -approve-> Applying" ("-after-", "-at-", "-automatic-" for timers and
  // automatic ones, "-validation passed-" and "-validation failed-" for a state's validation);
  // a rule's name.
  std::string what;
  std::string file;  // Where it is written: the file as the policy read it, line and column.
  uint32_t line = 0;
  uint32_t column = 0;
  int64_t count = 0;   // Times entered, taken or evaluated.
  int64_t failed = 0;  // A rule: times it failed.
  const char* KindName() const;
};

// Collects counts from any number of engines, over any number of policies (the same file read by
// two policies is one item). Not thread-safe: one engine at a time. The policies registered must
// outlive the counting (items are found by the Machine and Program objects engines run).
class Coverage {
 public:
  // Every state, transition and validation of the policy's machines, at 0.
  void AddPolicy(const Policy& policy);
  // Every rule of `rules` (a machine's compiled rules), at 0.
  void AddRules(const dsl::Program& rules);

  // Counts; what was not registered (a pinned older definition) is ignored.
  void EnterState(const Machine& m, const std::string& state);
  void TakeTransition(const Machine& m, const Transition& t);
  void Validate(const Machine& m, const State& s, bool passed);
  void EvaluateRule(const dsl::Program& rules, size_t rule, dsl::Outcome outcome);

  // Every item, by file, line and column.
  std::vector<CoverageItem> Items() const;
  // Those never exercised: states never entered, transitions never taken, rules never evaluated,
  // and rules evaluated that never failed (a rule no test makes fail is not shown to refuse
  // anything). One line each: "FILE:LINE:COL: transition T of M never taken"; a machine nothing
  // exercised is one line, "FILE:LINE:COL: machine M never ran (no scenario sends it)".
  std::string GapsText() const;
  // {"States":{"Covered":N,"Total":N},"Transitions":..,"Rules":..,"RulesFailed":..,
  //  "Gaps":[{"Kind","Machine","What","File","Line","Column","Count","Failed"}]}.
  std::string ToJson() const;
  // Summary: "states 40 of 44, transitions 61 of 70, rules 80 of 95 evaluated (70 failed)".
  std::string SummaryText() const;
  // What the counting never reached of `m` (a machine of a registered policy, or one read from
  // the same file), for `graph --coverage`; nothing is marked for a machine never registered.
  GraphMarks ColdMarks(const Machine& m) const;

  // A transition's label between its states, as `what` writes it.
  static std::string Label(const Transition& t);

 private:
  // Items exercised and in all, by kind (CoverageItem::Kind's order), and rules that failed.
  struct Totals {
    int64_t covered[3] = {}, total[3] = {};
    int64_t rules_failed = 0;
  };
  Totals Count() const;
  CoverageItem* Find(const std::string& key);
  static std::string Key(CoverageItem::Kind kind, const std::string& file,
                         const std::string& machine, const std::string& what);
  std::map<std::string, CoverageItem> items_;
  // A registered machine's key and file; a program's rules by index to their item keys.
  std::map<const Machine*, std::pair<std::string, std::string>> machines_;
  std::map<const dsl::Program*, std::vector<std::string>> rules_;
};

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_RUN_COVERAGE_H_
