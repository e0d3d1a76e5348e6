// Resolving the definition folders of a command: flags, environment, project file, defaults.
#include "engine/model/folders.h"

#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/model/yaml_doc.h"

namespace sellerflow::engine {
namespace {

using dsl::Diagnostics;
using dsl::Severity;

// "a:b::c" -> {a, b, c}: an empty entry (a doubled or trailing colon) names no folder.
std::vector<std::string> SplitList(const std::string& list) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(list);
  while (std::getline(in, item, ':'))
    if (!item.empty()) out.push_back(item);
  return out;
}

struct ProjectFile {
  std::string path;
  std::optional<std::vector<std::string>> workflows, rules;
};

// The first project file of `dirs`, read; nullopt when there is none (or it does not read).
std::optional<ProjectFile> ReadProjectFile(const std::vector<std::string>& dirs,
                                           Diagnostics* diags) {
  for (const auto& dir : dirs) {
    std::filesystem::path path = std::filesystem::path(dir.empty() ? "." : dir) / kProjectFile;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) continue;
    ProjectFile file;
    file.path = path.lexically_normal().string();
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in) {
      diags->AddFile(Severity::kError, file.path, "cannot read the project file");
      return std::nullopt;
    }
    dsl::Source source{file.path, text.str()};
    YamlNode root;
    if (!ReadYaml(source, &root, diags)) return std::nullopt;
    if (!root.is_map()) {
      diags->AddAt(Severity::kError, source, root.line, root.column,
                   std::string("a project file is a map with workflows: and rules:, not ") +
                       root.KindName());
      return std::nullopt;
    }
    const std::filesystem::path base = path.parent_path();
    const size_t errors = diags->error_count();
    for (const auto& [key, value] : root.entries) {
      std::optional<std::vector<std::string>>* slot = nullptr;
      if (key.is_scalar() && key.text == "workflows") slot = &file.workflows;
      if (key.is_scalar() && key.text == "rules") slot = &file.rules;
      if (!slot) {
        diags->AddAt(Severity::kError, source, key.line, key.column,
                     "unknown key '" + key.text + "' in the project file",
                     "allowed: workflows, rules");
        continue;
      }
      if (*slot) {
        diags->AddAt(Severity::kError, source, key.line, key.column,
                     "duplicate key '" + key.text + "' in the project file");
        continue;
      }
      std::vector<const YamlNode*> items;
      if (value.is_sequence()) {
        for (const auto& item : value.items) items.push_back(&item);
      } else {
        items.push_back(&value);
      }
      std::vector<std::string> folders;
      for (const YamlNode* item : items) {
        if (!item->is_scalar() || item->text.empty()) {
          diags->AddAt(Severity::kError, source, item->line, item->column,
                       key.text + " lists folders (a name or a list of names), not " +
                           (item->is_scalar() ? std::string("an empty name") : item->KindName()));
          continue;
        }
        // Relative to the file, so that it means the same from any directory.
        std::filesystem::path folder(item->text);
        folders.push_back(
            (folder.is_absolute() ? folder : (base / folder)).lexically_normal().string());
      }
      if (folders.empty() && items.empty())
        diags->AddAt(Severity::kError, source, value.line, value.column,
                     key.text + " lists no folder");
      *slot = std::move(folders);
    }
    if (diags->error_count() > errors) return std::nullopt;
    return file;
  }
  return std::nullopt;
}

}  // namespace

PolicyFolders ResolvePolicyFolders(const FolderInputs& in, Diagnostics* diags) {
  PolicyFolders out;
  std::optional<std::optional<ProjectFile>> project;  // Read once, when first needed.
  auto resolve = [&](const std::vector<std::string>& flags, const std::optional<std::string>& env,
                     const char* flag, const char* variable,
                     std::optional<std::vector<std::string>> ProjectFile::*member,
                     const std::string& fallback) {
    FolderChoice c;
    if (!flags.empty()) return FolderChoice{flags, flag};
    if (env && !env->empty()) {
      c.folders = SplitList(*env);
      c.from = std::string("$") + variable;
      if (!c.folders.empty()) return c;
      diags->AddFile(Severity::kError, c.from, "names no folder: " + *env);
    }
    if (!project) project = ReadProjectFile(in.project_dirs, diags);
    if (*project && ((**project).*member)) {
      out.project_file = (*project)->path;
      return FolderChoice{*((**project).*member), (*project)->path};
    }
    return FolderChoice{{fallback}, "default"};
  };
  out.workflows = resolve(in.flag_workflows, in.env_workflows, "--workflows",
                          "SELLERFLOW_WORKFLOWS", &ProjectFile::workflows, in.default_workflows);
  out.rules = resolve(in.flag_rules, in.env_rules, "--rules", "SELLERFLOW_RULES",
                      &ProjectFile::rules, in.default_rules);
  return out;
}

}  // namespace sellerflow::engine
