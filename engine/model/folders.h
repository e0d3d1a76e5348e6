// Which workflow and rules folders a command loads: its flags, else $SELLERFLOW_WORKFLOWS and
// $SELLERFLOW_RULES, else a project file (sellerflow.yaml), else the shipped folders.
#ifndef SELLERFLOW_ENGINE_MODEL_FOLDERS_H_
#define SELLERFLOW_ENGINE_MODEL_FOLDERS_H_

#include <optional>
#include <string>
#include <vector>

#include "dsl/diagnostics.h"

namespace sellerflow::engine {

// The name of the project file, looked for in the current directory and then beside the store.
inline constexpr const char kProjectFile[] = "sellerflow.yaml";

// What the folders may come from, strongest first. Each kind (workflows, rules) is resolved on its
// own: `--workflows` given with no `--rules` takes the rules from the environment, the project
// file or the default.
struct FolderInputs {
  std::vector<std::string> flag_workflows, flag_rules;  // --workflows, --rules (repeatable)
  std::optional<std::string> env_workflows, env_rules;  // colon-separated folder lists
  std::vector<std::string> project_dirs;                // Where to look for kProjectFile, in order.
  std::string default_workflows, default_rules;         // The shipped folders.
};

struct FolderChoice {
  std::vector<std::string> folders;
  std::string from;  // "--workflows", "$SELLERFLOW_WORKFLOWS", the project file's path, "default"
};

struct PolicyFolders {
  FolderChoice workflows, rules;
  std::string project_file;  // The project file read, or "" when none was needed or found.
};

// Resolves both kinds. A project file is read only when a kind is left to it; it is a YAML map with
// `workflows:` and `rules:`, each a folder or a list of folders relative to the file's directory.
// Its problems (unreadable, not YAML, unknown keys, a value that is no folder name, an empty env
// list) go to *diags with their positions; the result then falls back as if it were absent.
PolicyFolders ResolvePolicyFolders(const FolderInputs& in, dsl::Diagnostics* diags);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_MODEL_FOLDERS_H_
