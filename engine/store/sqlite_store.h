// The store's first implementation: one SQLite file in WAL mode.
#ifndef SELLERFLOW_ENGINE_STORE_SQLITE_STORE_H_
#define SELLERFLOW_ENGINE_STORE_SQLITE_STORE_H_

#include <memory>
#include <string>

#include "engine/store/store.h"

namespace sellerflow::engine {

// Opens (creating if needed) the SQLite file at `path` and migrates it forward to the current
// schema, with WAL and a busy timeout. The caller owns the store. Throws StoreError: kNotAStore,
// kCorrupt, kNewerSchema (the message names the path and what to do), kIo.
std::unique_ptr<Store> OpenSqliteStore(const std::string& path, int busy_timeout_ms);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_STORE_SQLITE_STORE_H_
