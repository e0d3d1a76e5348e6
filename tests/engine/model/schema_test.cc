// Tests that workflows/schema.json accepts exactly the keys the workflow loader accepts, kind by
// kind.
#include <catch2/catch.hpp>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

#include "engine/model/load.h"

namespace sellerflow::engine {
namespace {

using nlohmann::json;

json ReadSchema() {
  std::ifstream in(std::string(SELLERFLOW_SOURCE_DIR) + "/workflows/schema.json");
  REQUIRE(in);
  std::stringstream text;
  text << in.rdbuf();
  return json::parse(text.str());
}

std::set<std::string> PropertyNames(const json& def) {
  std::set<std::string> names;
  if (def.contains("properties"))
    for (const auto& [name, value] : def["properties"].items()) names.insert(name);
  return names;
}

// Every object schema in the document that lists properties, with its JSON pointer.
void CollectObjectSchemas(const json& node, const std::string& pointer,
                          std::vector<std::pair<std::string, const json*>>* out) {
  if (node.is_object()) {
    if (node.contains("properties")) out->push_back({pointer, &node});
    for (const auto& [key, value] : node.items())
      CollectObjectSchemas(value, pointer + "/" + key, out);
  } else if (node.is_array()) {
    for (size_t i = 0; i < node.size(); ++i)
      CollectObjectSchemas(node[i], pointer + "/" + std::to_string(i), out);
  }
}

// Every "$ref" value in the document.
void CollectRefs(const json& node, std::vector<std::string>* out) {
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) {
      if (key == "$ref" && value.is_string()) out->push_back(value.get<std::string>());
      CollectRefs(value, out);
    }
  } else if (node.is_array()) {
    for (const auto& item : node) CollectRefs(item, out);
  }
}

TEST_CASE("schema.json: each loader kind is a closed $defs object with exactly its keys",
          "[schema]") {
  const json schema = ReadSchema();
  REQUIRE(schema.contains("$defs"));
  const json& defs = schema["$defs"];
  for (const auto& [kind, keys] : AllowedKeys()) {
    INFO("kind '" << kind << "'");
    if (!defs.contains(kind)) {
      FAIL_CHECK("schema.json has no $defs entry for the loader's kind '" << kind << "'");
      continue;
    }
    const json& def = defs[kind];
    CHECK(def.value("type", "") == "object");
    CHECK(def.contains("additionalProperties"));
    CHECK(def.value("additionalProperties", true) == false);
    const std::set<std::string> loader(keys.begin(), keys.end());
    const std::set<std::string> in_schema = PropertyNames(def);
    for (const auto& key : loader)
      if (!in_schema.count(key))
        FAIL_CHECK("key '" << key << "' of kind '" << kind
                           << "' is accepted by the loader but missing from schema.json");
    for (const auto& key : in_schema)
      if (!loader.count(key))
        FAIL_CHECK("key '" << key << "' of kind '" << kind
                           << "' is in schema.json but the loader rejects it");
    for (const auto& key : in_schema)
      if (!def["properties"][key].contains("description"))
        FAIL_CHECK("key '" << key << "' of kind '" << kind << "' has no description for editors");
    if (def.contains("required"))
      for (const auto& key : def["required"])
        if (!in_schema.count(key.get<std::string>()))
          FAIL_CHECK("required key '" << key.get<std::string>() << "' of kind '" << kind
                                      << "' is not among its properties");
  }
}

TEST_CASE("schema.json: every object with properties is a loader kind and rejects unknown keys",
          "[schema]") {
  const json schema = ReadSchema();
  std::set<std::string> kinds;
  for (const auto& [kind, keys] : AllowedKeys()) kinds.insert(kind);
  for (const auto& [name, def] : schema["$defs"].items())
    if (def.contains("properties") && !kinds.count(name))
      FAIL_CHECK("schema.json defines object '" << name << "', which is no kind of AllowedKeys()");
  std::vector<std::pair<std::string, const json*>> objects;
  CollectObjectSchemas(schema, "#", &objects);
  CHECK(objects.size() == AllowedKeys().size());
  for (const auto& [pointer, def] : objects)
    if (def->value("additionalProperties", true) != false)
      FAIL_CHECK(pointer << " lists properties but lets unknown keys through");
}

TEST_CASE(
    "schema.json: a draft 2020-12 schema whose root is a machine or an extension, refs resolving",
    "[schema]") {
  const json schema = ReadSchema();
  CHECK(schema.value("$schema", "") == "https://json-schema.org/draft/2020-12/schema");
  // A workflow file is a machine or an extension of an entity's document.
  CHECK(schema["oneOf"] ==
        json::parse(R"([{"$ref": "#/$defs/machine"}, {"$ref": "#/$defs/extension"}])"));
  CHECK(schema.contains("description"));
  std::vector<std::string> refs;
  CollectRefs(schema, &refs);
  CHECK(refs.size() > 10);
  for (const auto& ref : refs) {
    INFO("$ref " << ref);
    REQUIRE(ref.rfind("#/$defs/", 0) == 0);
    CHECK(schema["$defs"].contains(ref.substr(8)));
  }
  // The loader's own enumerations.
  CHECK(schema["$defs"]["machine"]["properties"]["machine"]["enum"] ==
        json::array({"request", "entity"}));
  CHECK(schema["$defs"]["extension"]["properties"]["machine"]["const"] == "extension");
  CHECK(schema["$defs"]["state"]["properties"]["status"]["enum"] ==
        json::array({"PREPARING", "APPLYING", "SUCCEEDED", "FAILED", "CANCELLED"}));
}

}  // namespace
}  // namespace sellerflow::engine
