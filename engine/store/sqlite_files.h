// What the SQLite store checks about a location and the files beside it before SQLite opens them.
#ifndef SELLERFLOW_ENGINE_STORE_SQLITE_FILES_H_
#define SELLERFLOW_ENGINE_STORE_SQLITE_FILES_H_

#include <string>

namespace sellerflow::engine {

// Throws StoreError::kBadLocation unless SQLite would read `path` as the name of a file: empty
// (a temporary database), ":memory:" and names starting with "file:" (a URI, whose parameters can
// keep the store in memory, pick another VFS or turn locking off) would all seem to work and keep
// nothing, or break the locking that keeps two writers apart.
void CheckPlainPath(const std::string& path);

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_STORE_SQLITE_FILES_H_
