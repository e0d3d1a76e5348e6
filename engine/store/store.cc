// Choosing a store implementation from where the store is.
#include "engine/store/store.h"

#include "engine/store/sqlite_store.h"

namespace sellerflow::engine {

std::unique_ptr<Store> Store::Open(const std::string& location, const StoreOptions& options) {
  return OpenSqliteStore(location, options);
}

}  // namespace sellerflow::engine
