// libFuzzer target: the command reader on StartChangeSet bodies and replay lines, and the replay
// format's round trip.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/read/command.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using sellerflow::engine::Command;
  using sellerflow::engine::Op;
  using sellerflow::engine::ParseCommand;
  using sellerflow::engine::Violation;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  for (std::optional<Op> op : {std::optional<Op>(Op::kStartChangeSet), std::optional<Op>()}) {
    Command c;
    std::vector<Violation> violations;
    bool ok = ParseCommand(text, op, &c, &violations);
    if (ok != violations.empty()) __builtin_trap();  // Refused exactly when there is a reason.
    if (!ok) continue;
    // What `log export` writes must read back as the same command: a replay depends on it. The
    // engine gives a command without a time the store's clock before it logs it.
    if (c.at.empty() && c.op != Op::kImport) c.at = "2026-01-01T00:00:00Z";
    std::string line = c.ToJsonLine();
    Command again;
    std::vector<Violation> again_violations;
    if (!ParseCommand(line, std::nullopt, &again, &again_violations)) __builtin_trap();
    if (again.ToJsonLine() != line || again.body_hash != c.body_hash) __builtin_trap();
  }
  return 0;
}
