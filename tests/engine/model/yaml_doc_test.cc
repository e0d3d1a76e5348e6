// Tests of the YAML reader: positions, duplicate keys, plain and quoted scalars, and every refusal.
#include "engine/model/yaml_doc.h"

#include <catch2/catch.hpp>
#include <string>

#include "engine/base/limits.h"

namespace sellerflow::engine {
namespace {

struct Read {
  bool ok = false;
  YamlNode root;
  dsl::Diagnostics diags;
  std::string text;
};

Read ReadText(const std::string& text) {
  Read r;
  dsl::Source source{"t.yaml", text};
  r.ok = ReadYaml(source, &r.root, &r.diags);
  r.text = r.diags.ToText();
  return r;
}

TEST_CASE("yaml_doc: nodes keep 1-based lines and columns", "[yaml_doc]") {
  Read r = ReadText("a: 1\nlist:\n  - x\n  - 'y'\nmap: {k: v}\n");
  REQUIRE(r.ok);
  REQUIRE(r.root.is_map());
  CHECK(r.root.line == 1);
  CHECK(r.root.column == 1);
  REQUIRE(r.root.entries.size() == 3);
  const auto& [key, list] = r.root.entries[1];
  CHECK(key.text == "list");
  CHECK(key.line == 2);
  CHECK(key.column == 1);
  REQUIRE(list.is_sequence());
  CHECK(list.line == 3);
  CHECK(list.column == 3);
  REQUIRE(list.items.size() == 2);
  CHECK(list.items[0].text == "x");
  CHECK(list.items[0].line == 3);
  CHECK(list.items[0].column == 5);
  CHECK(list.items[1].text == "y");
  CHECK(list.items[1].column == 5);  // The opening quote.
  const YamlNode* map = r.root.Find("map");
  REQUIRE(map);
  REQUIRE(map->is_map());
  CHECK(map->line == 5);
  CHECK(map->column == 6);
  CHECK(map->entries[0].second.column == 10);
}

TEST_CASE("yaml_doc: duplicate keys are kept in file order; Find returns the first", "[yaml_doc]") {
  Read r = ReadText("a: 1\nb: 2\na: 3\n");
  REQUIRE(r.ok);
  REQUIRE(r.root.entries.size() == 3);
  CHECK(r.root.entries[0].first.text == "a");
  CHECK(r.root.entries[2].first.text == "a");
  CHECK(r.root.entries[2].first.line == 3);
  CHECK(r.root.entries[2].second.text == "3");
  REQUIRE(r.root.Find("a"));
  CHECK(r.root.Find("a")->text == "1");
  CHECK(r.root.Find("c") == nullptr);
}

TEST_CASE("yaml_doc: plain and quoted scalars, nulls and kinds", "[yaml_doc]") {
  Read r = ReadText("p: no\nd: \"no\"\ns: 'no'\nb: |\n  text\nn:\nt: ~\n");
  REQUIRE(r.ok);
  CHECK(r.root.Find("p")->plain);
  CHECK(r.root.Find("p")->text == "no");
  CHECK_FALSE(r.root.Find("d")->plain);
  CHECK(r.root.Find("d")->text == "no");
  CHECK_FALSE(r.root.Find("s")->plain);
  CHECK_FALSE(r.root.Find("b")->plain);
  CHECK(r.root.Find("b")->text == "text\n");
  CHECK(r.root.Find("n")->is_null());
  CHECK(std::string(r.root.Find("n")->KindName()) == "nothing");
  // yaml-cpp reports ~ as a null too.
  CHECK(r.root.Find("t")->is_null());
  CHECK(std::string(r.root.KindName()) == "a map");
}

TEST_CASE("yaml_doc: LooksBoolean knows YAML 1.1's booleans", "[yaml_doc]") {
  for (const char* s : {"y", "Y", "yes", "No", "ON", "off", "true", "False"})
    CHECK(LooksBoolean(s));
  for (const char* s : {"", "yep", "nope", "0", "1", "onn", "Off_"}) CHECK_FALSE(LooksBoolean(s));
}

TEST_CASE("yaml_doc: refusals carry positions", "[yaml_doc]") {
  SECTION("anchors and aliases") {
    Read r = ReadText("a: &x 1\nb: *x\n");
    CHECK_FALSE(r.ok);
    CHECK(r.diags.error_count() == 2);
    CHECK(r.text.find("t.yaml:1:4: error: anchors") != std::string::npos);
    CHECK(r.text.find("t.yaml:2:4: error: aliases") != std::string::npos);
  }
  SECTION("several documents") {
    Read r = ReadText("a: 1\n---\nb: 2\n");
    CHECK_FALSE(r.ok);
    CHECK(r.text == "t.yaml: error: holds 2 YAML documents; a workflow file is one document\n");
  }
  SECTION("a quote never closed, at the top level") {
    Read r = ReadText("a: \"open\nb: c\n");
    CHECK_FALSE(r.ok);
    CHECK(r.diags.error_count() == 1);
    CHECK(r.text.find("t.yaml:2:5: error: YAML syntax error: end of string not found") !=
          std::string::npos);
    CHECK(r.text.find("t.yaml:1:4: note: the '\"' opened here is never closed") !=
          std::string::npos);
  }
  SECTION("escaped quotes close nothing early") {
    Read r = ReadText("a: \"x \\\" y\"\nb: 'it''s'\n");
    CHECK(r.ok);
    CHECK(r.root.Find("a")->text == "x \" y");
    CHECK(r.root.Find("b")->text == "it's");
  }
  SECTION("invalid UTF-8") {
    Read r = ReadText("a: caf\xE9\n");
    CHECK_FALSE(r.ok);
    CHECK(r.text.rfind("t.yaml:1:7: error: invalid UTF-8 byte", 0) == 0);
  }
  SECTION("NUL byte") {
    Read r = ReadText(std::string("a: b\0c\n", 7));
    CHECK_FALSE(r.ok);
    CHECK(r.text.find("NUL byte") != std::string::npos);
  }
  SECTION("a file over the size limit") {
    Read r = ReadText("a: " + std::string(kMaxWorkflowBytes, 'x') + "\n");
    CHECK_FALSE(r.ok);
    CHECK(r.text.find("bytes; at most 262144 are allowed") != std::string::npos);
  }
}

TEST_CASE("yaml_doc: nesting past the limit is refused, however deep", "[yaml_doc]") {
  for (int depth : {33, 1000, 10000, 100000}) {
    INFO("depth " << depth);
    Read flow = ReadText("a: " + std::string(static_cast<size_t>(depth), '[') +
                         std::string(static_cast<size_t>(depth), ']') + "\n");
    CHECK_FALSE(flow.ok);
    CHECK(flow.text.find("nesting deeper than 32 levels") != std::string::npos);
    std::string dashes;
    for (int i = 0; i < depth; ++i) dashes += "- ";
    Read block = ReadText(dashes + "x\n");
    CHECK_FALSE(block.ok);
    CHECK(block.text.find("nesting deeper than 32 levels") != std::string::npos);
  }
  // Exactly at the limit is fine: the root map and 31 flow levels.
  Read ok = ReadText("a: " + std::string(31, '[') + std::string(31, ']') + "\n");
  CHECK(ok.ok);
}

}  // namespace
}  // namespace sellerflow::engine
