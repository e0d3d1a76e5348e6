// Choosing a store implementation from where the store is, and what a copy between them moves.
#include "engine/store/store.h"

#include "engine/store/pg_store.h"
#include "engine/store/sqlite_store.h"

namespace sellerflow::engine {

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
