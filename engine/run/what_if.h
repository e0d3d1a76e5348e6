// What-if: a store's command log run again under other definitions, into a scratch store, and
// what would come out differently, change set by change set and entity by entity.
#ifndef SELLERFLOW_ENGINE_RUN_WHAT_IF_H_
#define SELLERFLOW_ENGINE_RUN_WHAT_IF_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/model/load.h"
#include "engine/store/store.h"

namespace sellerflow::engine {

// One value that would differ: `field` names it ("Status", "Changes[0].ErrorList",
// "Document.ProductTitle"), `now` is what the store holds and `would` what the new definitions
// give; "" stands for absent.
struct WhatIfField {
  std::string field;
  std::string now;
  std::string would;
};

// A command of the log whose change set (or, for a command that made none, whose result) would
// differ. Commands are matched by their place in the log, not by ChangeSetId: a request refused
// under one policy and accepted under the other shifts the ids of the sets after it.
struct WhatIfChangeSet {
  int64_t command = 0;     // Its seq in the command log.
  std::string change_set;  // The ChangeSetId in the store ("" when the store has none).
  std::string would_be;    // The id the new definitions give it, when not the same.
  std::vector<std::string> change_types;  // Of its changes, in order.
  std::vector<WhatIfField> fields;
};

struct WhatIfEntity {
  std::string id;  // In the store ("new": as the new definitions make it).
  std::string
      would_be;  // The id the same change makes under the new definitions, when not the same.
  std::string type;
  std::string kind;  // "changed", "new" (only the new definitions make it) or "missing".
  std::vector<WhatIfField> fields;
};

struct WhatIfReport {
  int64_t commands = 0;                                // Commands replayed.
  int64_t change_sets = 0;                             // Change sets in the store.
  std::vector<WhatIfChangeSet> change_sets_differing;  // By command seq.
  std::vector<WhatIfEntity> entities_differing;        // By id.
  // Differing change sets per change type (a set counts once under each type it holds), and
  // per rule whose error appears on one side only.
  std::map<std::string, int64_t> by_change_type;
  std::map<std::string, int64_t> by_rule;
  bool differs() const { return !change_sets_differing.empty() || !entities_differing.empty(); }
  std::string ToJson() const;
  std::string ToText() const;
};

// Runs every command of `store`'s log (read only, never written) through an engine on `policy`
// (which must have passed CheckPolicy) over a scratch SQLite file in a temporary folder of its
// own under `scratch_dir`, in one batch, and compares the two stores. The scratch folder is removed
// before it returns or throws. Throws StoreError.
WhatIfReport WhatIf(Store& store, const Policy& policy, const std::string& scratch_dir);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_RUN_WHAT_IF_H_
