// The PostgreSQL store: one database shared by any number of engine processes on any hosts.
#ifndef SELLERFLOW_ENGINE_STORE_PG_STORE_H_
#define SELLERFLOW_ENGINE_STORE_PG_STORE_H_

#include <memory>
#include <string>

#include "engine/store/store.h"

namespace sellerflow::engine {

// Opens the PostgreSQL database at the libpq URI `uri` (postgresql://USER@HOST/DB?...) as
// Store::Open says, and migrates it forward to the current schema. Rows, digests and ids are the
// SQLite store's, byte for byte. Writers serialize on one advisory transaction lock, as SQLite's
// writers do on its file lock: every command reads the clock and the last command it follows, so
// commands are ordered anyway, and the command log's order is then the order they committed in,
// which a replay reproduces. A lost connection is StoreError::kIo (nothing of the open transaction
// was committed, except when it was lost in COMMIT itself, which the message says).
std::unique_ptr<Store> OpenPgStore(const std::string& uri, const StoreOptions& options);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_STORE_PG_STORE_H_
