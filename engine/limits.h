// Every hard limit of the engine and the command line, in one place, each with its reason (the rule
// language's are in dsl/limits.h).
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

// ---- Commands (engine/command.cc) ----------------------------------------------------------------

// Bytes of one command: a StartChangeSet body, or one line of a replay log or an import file. A
// larger one is refused before it is parsed (the CLI stops reading past it). The Catalog API takes
// at most 20 changes of at most 16,384 characters of Details each, about 330 KB; every command is
// held whole in memory, parsed, and kept twice (in its change set and in the command log).
constexpr size_t kMaxCommandBytes = 1 << 20;

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_LIMITS_H_
