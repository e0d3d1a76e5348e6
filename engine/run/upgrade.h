// Upgrades of in-flight change sets: which open change sets run on older request machines than
// the policy's, whether each can move to today's, and what would change for it.
#ifndef SELLERFLOW_ENGINE_RUN_UPGRADE_H_
#define SELLERFLOW_ENGINE_RUN_UPGRADE_H_

#include <cstdint>
#include <string>
#include <vector>

#include "engine/model/load.h"
#include "engine/store/store.h"

namespace sellerflow::engine {

// An armed timer of a change and the timed transition of the new machine that takes it over.
struct TimerMove {
  int64_t timer_id = 0;
  int64_t due_us = 0;
  std::string due;         // RFC 3339: kept as it is (the change entered its state then).
  std::string was;         // The old transition, for people: "after 14d -> Expired".
  int to_transition = -1;  // Index in the new machine's transitions; -1 when none fits.
  std::string becomes;     // The new transition, for people ("" when none fits).
};

// One change of an open change set whose request machine is not the policy's.
struct ChangeUpgrade {
  int index = 0;
  std::string change_type, entity_type, entity_id, state;
  std::string from_hash;  // The content hash it runs under ...
  std::string to_hash;    // ... and today's ("" when the policy has no machine for it).
  // Why it cannot move; empty when it can.
  std::vector<std::string> blockers;
  // What moving changes for it: transitions out of its state added, removed or changed ("+ ...",
  // "- ...", "~ ..."), timers taken over or armed. Empty when nothing it can still do changes.
  std::vector<std::string> notes;
  std::vector<TimerMove> timers;
  // Timers set in a state it has since left: void, and numbered by the old machine's transitions,
  // so moving deletes them.
  std::vector<int64_t> void_timers;
  // Timed transitions of the new machine out of its state that no armed timer maps to: moving
  // arms them, counting from when the change entered the state.
  std::vector<int> new_timers;
};

struct ChangeSetUpgrade {
  std::string change_set;
  std::string status;                  // PREPARING | APPLYING
  std::vector<ChangeUpgrade> changes;  // Only the changes on another definition.
  // A change set moves whole or not at all: its changes settle together.
  bool movable() const;
};

struct UpgradePlan {
  int64_t open = 0;                           // Open change sets examined.
  std::vector<ChangeSetUpgrade> change_sets;  // Those on older definitions, in start order.
  std::vector<std::string> moved;             // Filled by the upgrade command, not the plan.
  int64_t movable() const;
  int64_t blocked() const;

  // {"Open":N,"OnOlderDefinitions":N,"CanMove":N,"Blocked":N,"ChangeSets":[...],"Moved":[...]?}
  // (Moved only when `applied`).
  std::string ToJson(bool applied) const;
  // One block per change set, then a summary line; every line ends in '\n'.
  std::string ToText(bool applied) const;
};

// Reads the open change sets of `store` (nothing is written) and plans each one's move to the
// request machines of `policy`, which must have passed CheckPolicy. A change whose old definition
// the store does not keep already runs on today's machine: it moves with a note. Throws StoreError.
UpgradePlan PlanUpgrade(Store& store, const Policy& policy);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_RUN_UPGRADE_H_
