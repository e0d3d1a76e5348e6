// Choosing a store implementation from where the store is, and what a copy between them moves.
#include "engine/store/store.h"
#include "engine/store/changes_column.h"

#include "dsl/utf8.h"

#include "engine/store/pg_store.h"
#include "engine/store/sqlite_store.h"

namespace sellerflow::engine {

std::string EncodeChangesColumn(const std::vector<ChangeRow>& changes) {
  std::string out = "[";
  for (const ChangeRow& c : changes) {
    if (out.size() > 1) out += ',';
    out += '[';
    out += std::to_string(c.index);
    for (const std::string* field :
         {&c.change_type, &c.entity_type, &c.entity_id, &c.change_name, &c.machine_hash, &c.state,
          &c.status, &c.errors, &c.entered_at}) {
      out += ',';
      dsl::AppendJsonString(*field, &out);
    }
    out += ']';
  }
  out += ']';
  return out;
}

std::vector<ChangeRow> DecodeChangesColumn(const std::string& text, simdjson::dom::parser* parser,
                                           const std::string& where,
                                           const std::string& change_set) {
  const auto corrupt = [&] {
    return StoreError(StoreError::Kind::kCorrupt, where + ": the changes of change set " +
                                                      change_set +
                                                      " are not in the form sellerflow writes");
  };
  simdjson::dom::array changes;
  if (parser->parse(text).get(changes) != simdjson::SUCCESS) throw corrupt();
  std::vector<ChangeRow> out;
  for (simdjson::dom::element item : changes) {
    simdjson::dom::array a;
    int64_t index = 0;
    if (item.get(a) != simdjson::SUCCESS || a.size() != 10 ||
        a.at(0).get(index) != simdjson::SUCCESS)
      throw corrupt();
    ChangeRow c;
    c.index = static_cast<int>(index);
    size_t i = 1;
    for (std::string* field : {&c.change_type, &c.entity_type, &c.entity_id, &c.change_name,
                               &c.machine_hash, &c.state, &c.status, &c.errors, &c.entered_at}) {
      std::string_view v;
      if (a.at(i++).get(v) != simdjson::SUCCESS) throw corrupt();
      field->assign(v);
    }
    out.push_back(std::move(c));
  }
  return out;
}

bool IsPostgresLocation(const std::string& location) {
  return location.rfind("postgresql://", 0) == 0 || location.rfind("postgres://", 0) == 0;
}

const std::vector<CopyTable>& CopyTables() {
  static const std::vector<CopyTable> tables = {
      {"entities",
       {"id", "type", "owner", "state", "revision", "document", "locked_by", "created_at",
        "updated_at"}},
      {"change_sets",
       {"seq", "id", "command", "name", "token", "actor", "body_hash", "intent", "status",
        "failure_code", "failure_description", "started_at", "ended_at", "working", "changes",
        "history_from", "history_to"}},
      {"history",
       {"seq", "change_set", "change_index", "entity", "event", "from_state", "to_state", "actor",
        "at", "data"}},
      {"timers",
       {"id", "due_us", "due", "change_set", "change_index", "entity", "state", "transition"}},
      {"definitions", {"hash", "path", "text"}},
      {"command_log", {"seq", "command", "outcome", "at"}},
      {"tags", {"resource", "key", "value"}},
      {"resource_policies", {"resource", "policy"}},
      {"meta", {"key", "value"}},
      {"autoincrement", {"name", "seq"}},
  };
  return tables;
}

std::unique_ptr<Store> Store::Open(const std::string& location, const StoreOptions& options) {
  if (IsPostgresLocation(location)) return OpenPgStore(location, options);
  return OpenSqliteStore(location, options);
}

}  // namespace sellerflow::engine
