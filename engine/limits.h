// Every hard limit of the workflow loader, in one place, each with its reason.
#ifndef SELLERFLOW_ENGINE_LIMITS_H_
#define SELLERFLOW_ENGINE_LIMITS_H_

#include <cstddef>

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

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_LIMITS_H_
