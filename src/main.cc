// sellerflow's entry point: parse the command line, run one subcommand from the table, map failures
// to exit codes.
#include <CLI/CLI.hpp>
#include <algorithm>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

#include "dsl/diagnostics.h"
#include "engine/run/engine.h"
#include "engine/store/store.h"
#include "src/commands.h"

int main(int argc, char** argv) {
  CLI::App app{"sellerflow: request lifecycles as YAML state machines guarded by rules"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sellerflow 0.1.0");
  std::function<int()> run;
  // CLI11 would only say the word was not expected: name the command it was probably meant to be.
  if (argc > 1 && argv[1][0] != '-') {
    std::vector<std::string> names;
    for (const sellerflow::Command& c : sellerflow::Commands()) names.emplace_back(c.name);
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      std::string near = sellerflow::dsl::NearestName(argv[1], names), known;
      // A command cut short ("describe-chang") is farther than a slip but as plain.
      for (const auto& n : names)
        if (near.empty() && n.starts_with(argv[1])) near = n;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      std::fprintf(
          stderr, "sellerflow: unknown command '%s'; %s\n", argv[1],
          near.empty() ? ("commands: " + known).c_str() : ("did you mean '" + near + "'?").c_str());
      return sellerflow::kExitUsage;
    }
  }
  for (const sellerflow::Command& c : sellerflow::Commands()) {
    CLI::App* sub = app.add_subcommand(c.name, c.summary);
    auto body = c.setup(sub);
    sub->callback([&run, body] { run = body; });
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);
    return code == 0 ? sellerflow::kExitOk : sellerflow::kExitUsage;
  }
  try {
    return run();
  } catch (const sellerflow::UsageError& e) {
    std::fprintf(stderr, "sellerflow: %s\n", e.what());
    return sellerflow::kExitUsage;
  } catch (const sellerflow::engine::StoreError& e) {
    std::fprintf(stderr, "sellerflow: %s\n", e.what());
    switch (e.kind()) {
      case sellerflow::engine::StoreError::Kind::kBusy:
        return sellerflow::kExitStoreBusy;
      case sellerflow::engine::StoreError::Kind::kNotFound:
        return sellerflow::kExitNotFound;
      case sellerflow::engine::StoreError::Kind::kBadLocation:
        return sellerflow::kExitUsage;
      default:
        return sellerflow::kExitStoreIo;
    }
  } catch (const sellerflow::engine::DefinitionsMissing& e) {
    std::fprintf(stderr, "sellerflow: %s\n", e.what());
    return sellerflow::kExitDefinitions;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "sellerflow: internal error: %s\n", e.what());
    return sellerflow::kExitInternal;
  }
}
