// The store's first implementation: one SQLite file in WAL mode.
#ifndef SELLERFLOW_ENGINE_STORE_SQLITE_STORE_H_
#define SELLERFLOW_ENGINE_STORE_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "engine/store/store.h"

namespace sellerflow::engine {

// Opens the SQLite file at `path` as Store::Open says; for writing, in WAL mode with the busy
// timeout, and migrated forward to the current schema. The caller owns the store. A read-only
// store of an older schema is refused (kIo, saying to open it once for writing), since migrating
// it would write.
std::unique_ptr<Store> OpenSqliteStore(const std::string& path, const StoreOptions& options);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_STORE_SQLITE_STORE_H_
