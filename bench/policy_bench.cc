// Start-up cost of a large policy: loading and checking 200 request machines of the shipped size.
//
// The machines are the shipped workflows/ (entity machines included) plus 200 copies of the
// shipped UpdateVisibility and UpdateInformation machines under their own change types, written
// to a temporary folder once; each iteration is what `sellerflow check` does: LoadPolicy, then
// CheckPolicy.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "dsl/diagnostics.h"
#include "engine/check/check_policy.h"
#include "engine/model/load.h"

namespace {

namespace fs = std::filesystem;

std::string ReadAll(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The shipped policy plus `copies` renamed copies of two request machines; returns the folder.
fs::path MakePolicy(int copies) {
  const fs::path shipped = fs::path(SELLERFLOW_SOURCE_DIR) / "workflows";
  fs::path dir = fs::temp_directory_path() / ("sellerflow-policy-bench-" + std::to_string(copies));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(shipped))
    if (entry.path().extension() == ".yaml")
      fs::copy_file(entry.path(), dir / entry.path().filename());
  const std::string templates[] = {ReadAll(shipped / "update_visibility.yaml"),
                                   ReadAll(shipped / "update_information.yaml")};
  const std::string names[] = {"UpdateVisibility", "UpdateInformation"};
  for (int i = 0; i < copies; ++i) {
    std::string text = templates[i % 2];
    const std::string& from = names[i % 2];
    size_t at = text.find("change_type: " + from);
    text.replace(at, std::string("change_type: ").size() + from.size(),
                 "change_type: " + from + "Copy" + std::to_string(i));
    std::ofstream(dir / ("copy_" + std::to_string(i) + ".yaml")) << text;
  }
  return dir;
}

void BM_LoadAndCheck(benchmark::State& state) {
  const int copies = static_cast<int>(state.range(0));
  const fs::path dir = MakePolicy(copies);
  const std::string rules = (fs::path(SELLERFLOW_SOURCE_DIR) / "rules").string();
  size_t machines = 0;
  for (auto _ : state) {
    sellerflow::dsl::Diagnostics diags;
    auto policy = sellerflow::engine::LoadPolicy({dir.string()}, {rules}, &diags);
    sellerflow::engine::CheckPolicy(*policy, &diags);
    if (diags.has_errors()) {
      state.SkipWithError(diags.ToText().c_str());
      break;
    }
    machines = policy->machines.size();
    benchmark::DoNotOptimize(policy);
  }
  state.counters["machines"] = static_cast<double>(machines);
  fs::remove_all(dir);
}
BENCHMARK(BM_LoadAndCheck)->Arg(200)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
