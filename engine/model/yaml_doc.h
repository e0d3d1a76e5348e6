// A YAML document read into a tree that keeps what yaml-cpp's nodes lose: positions, quoting,
// duplicate keys.
#ifndef SELLERFLOW_ENGINE_MODEL_YAML_DOC_H_
#define SELLERFLOW_ENGINE_MODEL_YAML_DOC_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "dsl/diagnostics.h"

namespace sellerflow::engine {

struct YamlNode {
  enum class Kind { kNull, kScalar, kSequence, kMap };
  Kind kind = Kind::kNull;
  uint32_t line = 0;  // 1-based
  uint32_t column = 0;
  std::string text;    // kScalar
  bool plain = false;  // kScalar written without quotes (so YAML 1.1 may read `no` as false)
  std::vector<YamlNode> items;                         // kSequence
  std::vector<std::pair<YamlNode, YamlNode>> entries;  // kMap, in file order, duplicates kept

  // Out of line (yaml_doc.cc), where YamlNode is complete: clang with libstdc++ refuses to
  // instantiate the pair vector's destructor inside the class that it holds.
  YamlNode();
  YamlNode(const YamlNode&);
  YamlNode(YamlNode&&) noexcept;
  YamlNode& operator=(const YamlNode&);
  YamlNode& operator=(YamlNode&&) noexcept;
  ~YamlNode();

  bool is_map() const { return kind == Kind::kMap; }
  bool is_sequence() const { return kind == Kind::kSequence; }
  bool is_scalar() const { return kind == Kind::kScalar; }
  bool is_null() const { return kind == Kind::kNull; }
  // The first entry with this key, or nullptr.
  const YamlNode* Find(std::string_view key) const;
  const char* KindName() const;
};

// Reads one YAML document. Every problem goes to *diags with its position: syntax errors (and,
// for an unclosed bracket or quote, where it opened), invalid UTF-8, files over
// kMaxWorkflowBytes, nesting over kMaxYamlDepth (checked before yaml-cpp sees the text, since
// yaml-cpp 0.7 fails deep input with an unhelpful error), anchors and aliases (not supported:
// they would let a small file expand without bound), and several documents in one file.
// Returns false on any error.
bool ReadYaml(const dsl::Source& source, YamlNode* root, dsl::Diagnostics* diags);

// Scalars that YAML 1.1 tools read as booleans when unquoted: y, yes, no, on, off, true, ...
bool LooksBoolean(std::string_view plain_scalar);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_MODEL_YAML_DOC_H_
