// The policy checker: structure of each machine, types of every expression and rule, links between
// machines.
#ifndef SELLERFLOW_ENGINE_CHECK_CHECK_POLICY_H_
#define SELLERFLOW_ENGINE_CHECK_CHECK_POLICY_H_

#include "dsl/diagnostics.h"
#include "dsl/types.h"
#include "engine/model/load.h"

namespace sellerflow::engine {

// Reports every problem of a loaded policy to *diags, in file order per stage: errors for what
// cannot run (undefined states, unreachable or dead-end states, unknown rules, constants and
// fields, type mismatches, machines that do not link up), warnings for what is likely a mistake
// (unused rules and constants, guards that can never hold, transitions that may both fire).
void CheckPolicy(const Policy& policy, dsl::Diagnostics* diags);

// Checks one machine that is not among `policy`'s (the definition a change set started under, read
// back from the store) against it, as CheckPolicy checks its own: its structure, the types of its
// rules, guards and actions against the policy's entity documents, and the events it sends.
void CheckMachineAgainst(const Policy& policy, const Machine& machine, dsl::Diagnostics* diags);

// The variables expressions of `machine` may read (without `event`), as the checker types them:
// details, entity, request and the context entities.
dsl::TypeEnv MachineEnv(const Policy& policy, const Machine& machine);
// The same with `event` typed as the data of `event_name`.
dsl::TypeEnv TransitionEnv(const Policy& policy, const Machine& machine,
                           const std::string& event_name);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_CHECK_CHECK_POLICY_H_
