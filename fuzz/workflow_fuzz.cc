// libFuzzer target: a workflow file loaded beside the shipped entity machines and rules, and the
// whole policy checked and drawn.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "engine/check/check_policy.h"
#include "engine/check/graph.h"
#include "engine/model/load.h"

namespace {

// The shipped policy's files, read once; each input is checked against a fresh copy of them.
struct Shipped {
  std::vector<sellerflow::dsl::Source> workflows, rules;

  Shipped() {
    for (const char* dir : {"workflows", "rules"}) {
      std::vector<std::string> paths;
      for (const auto& e :
           std::filesystem::directory_iterator(std::string(SELLERFLOW_SOURCE_DIR) + "/" + dir))
        if (e.path().extension() == ".yaml" || e.path().extension() == ".rules")
          paths.push_back(e.path());
      std::sort(paths.begin(), paths.end());
      for (const auto& p : paths) {
        std::ifstream in(p, std::ios::binary);
        std::ostringstream s;
        s << in.rdbuf();
        (std::string(dir) == "rules" ? rules : workflows).push_back({p, s.str()});
      }
    }
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Shipped* shipped = new Shipped();
  sellerflow::engine::Policy policy;
  sellerflow::dsl::Diagnostics diags;
  // The shipped entity machines, so that a fuzzed request machine can link up with them (the
  // request machines would only slow each run).
  for (const auto& s : shipped->workflows) {
    if (s.text.find("machine: entity") == std::string::npos) continue;
    policy.sources.push_back(s);
    if (auto m = sellerflow::engine::LoadMachine(policy.sources.back(), &diags))
      policy.machines.push_back(std::move(m));
  }
  policy.sources.push_back({"fuzz.yaml", std::string(reinterpret_cast<const char*>(data), size)});
  if (auto m = sellerflow::engine::LoadMachine(policy.sources.back(), &diags))
    policy.machines.push_back(std::move(m));
  // The shipped rules only for a machine that names rules: compiling them is most of a run's
  // time, and inline guards and actions are checked without them.
  const bool names_rules = policy.sources.back().text.find("rules") != std::string::npos;
  for (const auto& s : shipped->rules) {
    if (!names_rules) break;
    policy.sources.push_back(s);
    policy.rule_sources.push_back(&policy.sources.back());
  }
  sellerflow::engine::CheckPolicy(policy, &diags);
  (void)diags.ToText();
  if (!diags.has_errors()) {
    (void)sellerflow::engine::DrawPolicy(policy, sellerflow::engine::GraphFormat::kDot);
    (void)sellerflow::engine::DrawPolicy(policy, sellerflow::engine::GraphFormat::kMermaid);
  }
  return 0;
}
