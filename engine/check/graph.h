// Pictures of machines: Mermaid (readable in Markdown viewers) and Graphviz DOT (for dot -Tsvg).
#ifndef SELLERFLOW_ENGINE_CHECK_GRAPH_H_
#define SELLERFLOW_ENGINE_CHECK_GRAPH_H_

#include <set>
#include <string>
#include <utility>
#include <vector>

#include "engine/model/load.h"

namespace sellerflow::engine {

enum class GraphFormat { kMermaid, kDot };

// One machine: states, transitions labelled with their event, guard (rule names or a short form
// of the expression), timer and validation outcome.
std::string DrawMachine(const Machine& machine, GraphFormat format);

// What a drawing marks on one machine, for a picture of one run: the state it stands in, filled,
// and the moves it made (from state, to state), drawn bold in colour.
// For a picture of coverage: what the tests never exercised, drawn red and dashed (states by
// index in machine.states, transitions by index in machine.transitions, a state's validation
// outcomes as (state index, passed)).
struct GraphMarks {
  std::string current;
  std::set<std::pair<std::string, std::string>> taken;
  std::set<size_t> cold_states;
  std::set<size_t> cold_transitions;
  std::set<std::pair<size_t, bool>> cold_validations;
};
std::string DrawMachine(const Machine& machine, GraphFormat format, const GraphMarks& marks);

// Every machine of the policy, each in its own box, with dashed links from the request
// transitions that send events to the entity transitions those events take.
std::string DrawPolicy(const Policy& policy, GraphFormat format);

// Machines whose change type, entity type or key is `name` (several request machines may share a
// change type), in file order.
std::vector<const Machine*> FindMachines(const Policy& policy, const std::string& name);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_CHECK_GRAPH_H_
