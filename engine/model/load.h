// Loading a policy: workflow YAML files into machines, and rules files beside them, with every
// problem reported.
#ifndef SELLERFLOW_ENGINE_MODEL_LOAD_H_
#define SELLERFLOW_ENGINE_MODEL_LOAD_H_

#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dsl/diagnostics.h"
#include "engine/model/machine.h"

namespace sellerflow::engine {

// Everything a policy is made of. Owns the sources; machines point into them.
struct Policy {
  std::deque<dsl::Source> sources;
  std::vector<const dsl::Source*> rule_sources;
  std::vector<std::unique_ptr<Machine>> machines;
  // The extensions of entity documents, already merged into their entity machines' documents
  // (their `document` keeps only the fields' names and positions).
  std::vector<std::unique_ptr<Extension>> extensions;
  size_t failed_files = 0;  // Workflow files that had errors and contribute no machine.
  // Each file's path as recorded in what the engine keeps (an error's Source): its folder's own
  // name and its path inside that folder ("rules/product.rules"), so that a store's contents do
  // not depend on the working directory or on how the folder was named on the command line.
  std::map<std::string, std::string> recorded_paths;

  // The recorded path of the file read as `path` (itself when the policy did not read it).
  const std::string& RecordedPath(const std::string& path) const;

  const Machine* FindRequestMachine(const std::string& change_type,
                                    const std::string& entity_type) const;
  const Machine* FindEntityMachine(const std::string& entity_type) const;
};

// The constants of the rules files as schema limits may name them (`max_length: MAX_TITLE`).
struct LimitConstant {
  enum class Kind { kInt, kDecimal, kOther, kBroken } kind = Kind::kBroken;
  dsl::Decimal value{0, 0};  // kInt (scale 0) and kDecimal.
  std::string type;          // kOther: its type, for the message.
};
using LimitConstants = std::map<std::string, LimitConstant>;

// Every constant of `rule_sources` with its value. Reports nothing: the rules' own problems are
// the checker's to report (a constant with an error is kBroken, and a limit naming it is left
// unset without an error of its own).
LimitConstants ReadLimitConstants(const std::vector<dsl::Source>& rule_sources);

// Reads every *.yaml and *.yml file of the workflow folders and every *.rules file of the rules
// folders (sorted by path, so the order never depends on the file system). Unreadable paths,
// YAML errors and schema errors (unknown keys, wrong value kinds, duplicate keys, boolean-looking
// names) go to *diags; a file with errors contributes no machine. Extensions are merged into their
// entity machines' documents, every clash with a field declared already reported at both places.
// Never throws for bad input.
std::unique_ptr<Policy> LoadPolicy(const std::vector<std::string>& workflow_dirs,
                                   const std::vector<std::string>& rule_dirs,
                                   dsl::Diagnostics* diags);

// Texts that stand in for files: an editor's unsaved buffers, keyed by path as the loader lists
// it (the folder as given joined with the path inside it, lexically normal).
using SourceOverrides = std::map<std::string, std::string>;

// LoadPolicy with some files' texts given instead of read. A path in `overrides` that lies in one
// of the folders and has the folder's extension is loaded even when no such file exists yet (a
// buffer not saved for the first time), in its place in path order.
std::unique_ptr<Policy> LoadPolicy(const std::vector<std::string>& workflow_dirs,
                                   const std::vector<std::string>& rule_dirs,
                                   const SourceOverrides& overrides, dsl::Diagnostics* diags);

// Reads one machine from one YAML source already in `policy->sources`; schema limits that name a
// constant take its value from `constants` (none: such a limit is an error). Returns nullptr on
// errors, and for an extension.
std::unique_ptr<Machine> LoadMachine(const dsl::Source& source, dsl::Diagnostics* diags,
                                     const LimitConstants* constants = nullptr);

// Reads a machine for what it is made of (states, events, transitions, timers), as a read command
// shows a pinned definition without loading today's rules: schema limits that name a rules constant
// are left unset instead of being errors. Such a machine is for reading, not for running.
std::unique_ptr<Machine> LoadMachineOutline(const dsl::Source& source, dsl::Diagnostics* diags);

// Reads one workflow file: a machine, or an extension of an entity's document (whichever the file
// is; both null on errors).
struct WorkflowFile {
  std::unique_ptr<Machine> machine;
  std::unique_ptr<Extension> extension;
};
WorkflowFile LoadWorkflowFile(const dsl::Source& source, dsl::Diagnostics* diags,
                              const LimitConstants* constants = nullptr);

// The keys the loader accepts, per kind of YAML object ("machine", "state", "transition", ...):
// the JSON Schema of workflows/schema.json must accept exactly these.
const std::vector<std::pair<std::string, std::vector<std::string>>>& AllowedKeys();

// Moves a diagnostic about a fragment of a workflow file (an expression or a type, whose
// positions count from the fragment's start) to the fragment's line and column in the file, with
// the file's line as its source line.
void RelocateFragmentDiagnostic(const ExprText& fragment, dsl::Diagnostic* d);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_MODEL_LOAD_H_
