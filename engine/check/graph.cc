// Draws machines as Mermaid or DOT text, with short labels a person can read at a glance.
#include "engine/check/graph.h"

#include <map>

namespace sellerflow::engine {
namespace {

constexpr size_t kMaxLabel = 40;

std::string Shorten(const std::string& s) {
  std::string one;
  for (char c : s) one += (c == '\n' || c == '\t') ? ' ' : c;
  if (one.size() <= kMaxLabel) return one;
  return one.substr(0, kMaxLabel - 3) + "...";
}

// The label of a transition: "on approve [rule_a, rule_b] / after PT24H".
std::string Label(const Transition& t) {
  std::string label;
  if (!t.event.empty()) label = t.event;
  if (!t.after.empty()) label = "after " + Shorten(t.after.text);
  if (!t.at_time.empty()) label = "at " + Shorten(t.at_time.text);
  std::string guard;
  if (!t.rules.empty()) {
    guard = t.rules.front();
    if (t.rules.size() == 2) guard += ", " + t.rules[1];
    if (t.rules.size() > 2) guard += " +" + std::to_string(t.rules.size() - 1) + " rules";
  }
  if (!t.guard.empty()) guard += (guard.empty() ? "" : " and ") + Shorten(t.guard.text);
  if (!guard.empty()) label += (label.empty() ? "" : " ") + std::string("[") + guard + "]";
  for (const auto& a : t.actions) {
    if (a.kind == Action::Kind::kSend) label += " / send " + a.event;
    if (a.kind == Action::Kind::kCreate) label += " / create " + a.entity_type;
    if (a.kind == Action::Kind::kFail) label += " / fail " + a.code;
  }
  return label;
}

std::string MermaidText(const std::string& s) {
  // Mermaid labels end at ':' or '\n' and dislike quotes and braces; these stand-ins read the same.
  std::string out;
  for (char c : s) {
    switch (c) {
      case '"':
        out += '\'';
        break;
      case ':':
        out += "#58;";
        break;
      case ';':
        out += "#59;";
        break;
      case '{':
        out += "#123;";
        break;
      case '}':
        out += "#125;";
        break;
      case '<':
        out += "#lt;";
        break;
      case '>':
        out += "#gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string DotText(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

std::string StateId(size_t machine, size_t state) {
  return "m" + std::to_string(machine) + "s" + std::to_string(state);
}

size_t StateIndex(const Machine& m, const std::string& name) {
  for (size_t i = 0; i < m.states.size(); ++i)
    if (m.states[i].name == name) return i;
  return m.states.size();
}

std::string StateCaption(const Machine& m, const State& s) {
  std::string caption = s.name;
  if (m.kind == MachineKind::kRequest && s.status != RequestStatus::kNone)
    caption += " (" + std::string(RequestStatusName(s.status)) + ")";
  return caption;
}

// The edges of one machine, as (from, to, label) with state indexes.
struct Edge {
  size_t from, to;
  std::string label;
  bool validation;
  size_t transition;  // Its index in m.transitions; for a validation, npos.
  bool passed;        // A validation: the passed outcome.
};

constexpr size_t kNone = static_cast<size_t>(-1);

bool Cold(const Edge& e, const GraphMarks& marks) {
  return e.validation ? marks.cold_validations.count({e.from, e.passed}) > 0
                      : marks.cold_transitions.count(e.transition) > 0;
}

std::vector<Edge> Edges(const Machine& m) {
  std::vector<Edge> edges;
  for (size_t i = 0; i < m.states.size(); ++i) {
    const State& s = m.states[i];
    if (!s.validate) continue;
    std::string rules = s.validate->rules.size() == 1
                            ? s.validate->rules.front()
                            : std::to_string(s.validate->rules.size()) + " rules";
    size_t passed = StateIndex(m, s.validate->passed);
    size_t failed = StateIndex(m, s.validate->failed);
    if (passed < m.states.size())
      edges.push_back({i, passed, "validate " + rules + " passed", true, kNone, true});
    if (failed < m.states.size())
      edges.push_back({i, failed, "validate " + rules + " failed", true, kNone, false});
  }
  for (size_t ti = 0; ti < m.transitions.size(); ++ti) {
    const Transition& t = m.transitions[ti];
    size_t from = StateIndex(m, t.from), to = StateIndex(m, t.to);
    if (from < m.states.size() && to < m.states.size())
      edges.push_back({from, to, Label(t), false, ti, false});
  }
  return edges;
}

// Mermaid's state diagrams style states but not transitions, so a cold transition says so in its
// label.
void MermaidStates(const Machine& m, size_t mi, const std::string& indent, std::string* out,
                   const GraphMarks& marks = {}) {
  for (size_t i = 0; i < m.states.size(); ++i)
    *out += indent + "state \"" + MermaidText(StateCaption(m, m.states[i])) + "\" as " +
            StateId(mi, i) + "\n";
  for (size_t i = 0; i < m.states.size(); ++i)
    if (m.states[i].initial) *out += indent + "[*] --> " + StateId(mi, i) + "\n";
  for (const auto& e : Edges(m)) {
    *out += indent + StateId(mi, e.from) + " --> " + StateId(mi, e.to);
    std::string label = e.label;
    if (Cold(e, marks)) label += label.empty() ? "never taken" : " (never taken)";
    if (!label.empty()) *out += " : " + MermaidText(label);
    *out += "\n";
  }
  for (size_t i = 0; i < m.states.size(); ++i)
    if (m.states[i].final) *out += indent + StateId(mi, i) + " --> [*]\n";
  if (marks.cold_states.empty()) return;
  *out += indent + "classDef cold fill:#ffebee,stroke:#c62828,stroke-dasharray:5 3\n";
  for (size_t i : marks.cold_states)
    if (i < m.states.size()) *out += indent + "class " + StateId(mi, i) + " cold\n";
}

void DotStates(const Machine& m, size_t mi, const std::string& indent, std::string* out,
               const GraphMarks& marks = {}) {
  for (size_t i = 0; i < m.states.size(); ++i) {
    const State& s = m.states[i];
    const bool current = !marks.current.empty() && s.name == marks.current;
    *out += indent + StateId(mi, i) + " [label=" + DotText(StateCaption(m, s)) +
            (s.final ? ", peripheries=2" : "") + (s.validate ? ", shape=box" : "") +
            (current ? ", style=filled, fillcolor=\"#ffd54f\", penwidth=2" : "") +
            (marks.cold_states.count(i)
                 ? ", style=\"dashed,filled\", color=\"#c62828\", fillcolor=\"#ffebee\""
                 : "") +
            "];\n";
    if (s.initial) {
      *out += indent + StateId(mi, i) + "_start [shape=point, label=\"\"];\n";
      *out += indent + StateId(mi, i) + "_start -> " + StateId(mi, i) + ";\n";
    }
  }
  for (const auto& e : Edges(m)) {
    const bool taken = marks.taken.count({m.states[e.from].name, m.states[e.to].name}) > 0;
    const bool cold = Cold(e, marks);
    *out += indent + StateId(mi, e.from) + " -> " + StateId(mi, e.to) +
            " [label=" + DotText(e.label) +
            (cold                   ? ", style=dashed, color=\"#c62828\", fontcolor=\"#c62828\""
             : e.validation || taken ? ", style=bold"
                                     : "") +
            (taken ? ", color=\"#1565c0\", fontcolor=\"#1565c0\", penwidth=2.5" : "") + "];\n";
  }
}

}  // namespace

std::vector<const Machine*> FindMachines(const Policy& policy, const std::string& name) {
  std::vector<const Machine*> found;
  for (const auto& m : policy.machines)
    if (m->Key() == name || m->change_type == name ||
        (m->kind == MachineKind::kEntity && m->entity_type == name))
      found.push_back(m.get());
  return found;
}

std::string DrawMachine(const Machine& m, GraphFormat format) {
  return DrawMachine(m, format, GraphMarks{});
}

std::string DrawMachine(const Machine& m, GraphFormat format, const GraphMarks& marks) {
  std::string out;
  if (format == GraphFormat::kMermaid) {
    out += "---\ntitle: " + MermaidText(m.Key()) + "\n---\nstateDiagram-v2\n  direction LR\n";
    MermaidStates(m, 0, "  ", &out, marks);
    return out;
  }
  out += "digraph " + DotText(m.Key()) + " {\n  rankdir=LR;\n  label=" + DotText(m.Key()) +
         ";\n  node [shape=ellipse, fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", "
         "fontsize=10];\n";
  DotStates(m, 0, "  ", &out, marks);
  return out + "}\n";
}

std::string DrawPolicy(const Policy& policy, GraphFormat format) {
  // Where each sent event lands: the entity machine's transitions on it.
  struct Link {
    size_t from_machine, from_state, to_machine, to_state;
    std::string event;
  };
  std::vector<Link> links;
  for (size_t mi = 0; mi < policy.machines.size(); ++mi) {
    const Machine& m = *policy.machines[mi];
    for (const auto& t : m.transitions) {
      for (const auto& a : t.actions) {
        if (a.kind != Action::Kind::kSend) continue;
        std::string type = a.entity_type.empty() ? m.entity_type : a.entity_type;
        for (size_t ti = 0; ti < policy.machines.size(); ++ti) {
          const Machine& target = *policy.machines[ti];
          if (target.kind != MachineKind::kEntity || target.entity_type != type) continue;
          for (const auto& et : target.transitions)
            if (et.event == a.event)
              links.push_back({mi, StateIndex(m, t.to), ti, StateIndex(target, et.to), a.event});
        }
      }
    }
  }
  std::string out;
  if (format == GraphFormat::kMermaid) {
    out += "flowchart LR\n";
    for (size_t mi = 0; mi < policy.machines.size(); ++mi) {
      const Machine& m = *policy.machines[mi];
      out += "  subgraph m" + std::to_string(mi) + " [\"" + MermaidText(m.Key()) + "\"]\n";
      out += "    direction LR\n";
      for (size_t i = 0; i < m.states.size(); ++i) {
        const State& s = m.states[i];
        std::string caption = MermaidText(StateCaption(m, s));
        out += "    " + StateId(mi, i) +
               (s.final ? "([\"" + caption + "\"])" : "[\"" + caption + "\"]") + "\n";
      }
      for (const auto& e : Edges(m)) {
        out += "    " + StateId(mi, e.from) + " -->";
        if (!e.label.empty()) out += "|\"" + MermaidText(e.label) + "\"|";
        out += " " + StateId(mi, e.to) + "\n";
      }
      out += "  end\n";
    }
    for (const auto& l : links)
      out += "  " + StateId(l.from_machine, l.from_state) + " -.->|\"send " + MermaidText(l.event) +
             "\"| " + StateId(l.to_machine, l.to_state) + "\n";
    return out;
  }
  out +=
      "digraph policy {\n  rankdir=LR;\n  compound=true;\n  node [shape=ellipse, "
      "fontname=\"Helvetica\"];\n  edge [fontname=\"Helvetica\", fontsize=10];\n";
  for (size_t mi = 0; mi < policy.machines.size(); ++mi) {
    const Machine& m = *policy.machines[mi];
    out += "  subgraph cluster_" + std::to_string(mi) + " {\n    label=" + DotText(m.Key()) + ";\n";
    DotStates(m, mi, "    ", &out);
    out += "  }\n";
  }
  for (const auto& l : links)
    out += "  " + StateId(l.from_machine, l.from_state) + " -> " +
           StateId(l.to_machine, l.to_state) +
           " [style=dashed, label=" + DotText("send " + l.event) + "];\n";
  return out + "}\n";
}

}  // namespace sellerflow::engine
