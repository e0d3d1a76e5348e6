// Tests of the definition folders' resolution: flags, then the environment, then a project file,
// then the shipped folders, each kind on its own.
#include "engine/model/folders.h"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace sellerflow::engine {
namespace {

namespace fs = std::filesystem;

// A scratch directory holding a project file with `text`, removed afterwards.
class ProjectDir {
 public:
  explicit ProjectDir(const std::string& text, const std::string& name = "p") {
    dir_ = fs::temp_directory_path() /
           ("sellerflow-folders-" + std::to_string(::getpid()) + "-" + name);
    fs::create_directories(dir_);
    if (!text.empty()) std::ofstream(dir_ / kProjectFile) << text;
  }
  ~ProjectDir() {
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }
  std::string path() const { return dir_.string(); }
  std::string file() const { return (dir_ / kProjectFile).string(); }

 private:
  fs::path dir_;
};

FolderInputs Defaults() {
  FolderInputs in;
  in.default_workflows = "shipped/workflows";
  in.default_rules = "shipped/rules";
  return in;
}

TEST_CASE("folders: nothing configured gives the shipped folders", "[folders]") {
  dsl::Diagnostics diags;
  PolicyFolders f = ResolvePolicyFolders(Defaults(), &diags);
  CHECK(diags.items().empty());
  CHECK(f.workflows.folders == std::vector<std::string>{"shipped/workflows"});
  CHECK(f.workflows.from == "default");
  CHECK(f.rules.folders == std::vector<std::string>{"shipped/rules"});
  CHECK(f.project_file.empty());
}

TEST_CASE("folders: flags, then the environment, then the project file, each kind on its own",
          "[folders]") {
  ProjectDir project("workflows: [workflows, extra/workflows]\nrules: rules\n");
  FolderInputs in = Defaults();
  in.project_dirs = {project.path()};
  dsl::Diagnostics diags;
  PolicyFolders f = ResolvePolicyFolders(in, &diags);
  INFO(diags.ToText());
  CHECK(diags.items().empty());
  // Relative to the project file, whatever the current directory.
  CHECK(f.workflows.folders == std::vector<std::string>{project.path() + "/workflows",
                                                        project.path() + "/extra/workflows"});
  CHECK(f.workflows.from == project.file());
  CHECK(f.rules.folders == std::vector<std::string>{project.path() + "/rules"});
  CHECK(f.project_file == project.file());

  in.env_workflows = "a:b::c:";  // Empty entries name nothing.
  f = ResolvePolicyFolders(in, &diags);
  CHECK(f.workflows.folders == std::vector<std::string>{"a", "b", "c"});
  CHECK(f.workflows.from == "$SELLERFLOW_WORKFLOWS");
  CHECK(f.rules.from == project.file());  // Rules still from the project file.

  in.flag_workflows = {"w1", "w2"};
  in.env_rules = "r";
  f = ResolvePolicyFolders(in, &diags);
  CHECK(f.workflows.folders == std::vector<std::string>{"w1", "w2"});
  CHECK(f.workflows.from == "--workflows");
  CHECK(f.rules.folders == std::vector<std::string>{"r"});
  CHECK(f.rules.from == "$SELLERFLOW_RULES");
  CHECK(f.project_file.empty());  // Not needed, not read.

  in.env_workflows = "";  // Set but empty: as if unset.
  in.flag_workflows.clear();
  f = ResolvePolicyFolders(in, &diags);
  CHECK(f.workflows.from == project.file());
  CHECK(diags.items().empty());
}

TEST_CASE("folders: a project file naming one kind leaves the other to the default", "[folders]") {
  ProjectDir project("rules: [../shared-rules]\n");
  FolderInputs in = Defaults();
  in.project_dirs = {project.path()};
  dsl::Diagnostics diags;
  PolicyFolders f = ResolvePolicyFolders(in, &diags);
  CHECK(diags.items().empty());
  CHECK(f.workflows.folders == std::vector<std::string>{"shipped/workflows"});
  CHECK(f.rules.folders == std::vector<std::string>{
                               (fs::path(project.path()).parent_path() / "shared-rules").string()});
}

TEST_CASE("folders: the current directory's project file comes before the store's", "[folders]") {
  ProjectDir here("workflows: here\n", "here"), store("workflows: store\n", "store");
  ProjectDir none("", "none");
  FolderInputs in = Defaults();
  in.project_dirs = {none.path(), here.path(), store.path()};
  dsl::Diagnostics diags;
  CHECK(ResolvePolicyFolders(in, &diags).workflows.folders ==
        std::vector<std::string>{here.path() + "/here"});
  in.project_dirs = {none.path(), store.path()};
  CHECK(ResolvePolicyFolders(in, &diags).workflows.folders ==
        std::vector<std::string>{store.path() + "/store"});
}

TEST_CASE("folders: a broken project file is reported with positions and not used", "[folders]") {
  ProjectDir project("workflows: [ok, {a: b}, '']\nrule: x\nrules: []\n");
  FolderInputs in = Defaults();
  in.project_dirs = {project.path()};
  dsl::Diagnostics diags;
  PolicyFolders f = ResolvePolicyFolders(in, &diags);
  const std::string text = diags.ToText();
  INFO(text);
  CHECK(diags.error_count() == 4);
  const std::string at = project.file() + ":";
  CHECK(text.find(at +
                  "1:17: error: workflows lists folders (a name or a list of names), not a map") !=
        std::string::npos);
  CHECK(text.find(at + "1:25: error: workflows lists folders (a name or a list of names), not an "
                       "empty name") != std::string::npos);
  CHECK(text.find(at + "2:1: error: unknown key 'rule' in the project file") != std::string::npos);
  CHECK(text.find(at + "3:8: error: rules lists no folder") != std::string::npos);
  CHECK(f.workflows.from == "default");
}

TEST_CASE("folders: an environment list of only colons is an error", "[folders]") {
  FolderInputs in = Defaults();
  in.env_rules = ":::";
  dsl::Diagnostics diags;
  PolicyFolders f = ResolvePolicyFolders(in, &diags);
  CHECK(diags.ToText().find("$SELLERFLOW_RULES: error: names no folder: :::") != std::string::npos);
  CHECK(f.rules.from == "default");
}

}  // namespace
}  // namespace sellerflow::engine
