// Checks on a store's location and the files beside it, made before SQLite opens anything.
#include "engine/store/sqlite_files.h"

#include <string>

#include "engine/store/store.h"

namespace sellerflow::engine {

void CheckPlainPath(const std::string& path) {
  // SQLite reads "file:" as a URI whenever it was built with SQLITE_USE_URI (Debian's is), even
  // though the store never passes SQLITE_OPEN_URI; its test is case-sensitive, and so is this one.
  const auto refuse = [&](const std::string& why, const std::string& hint = "") {
    throw StoreError(StoreError::Kind::kBadLocation,
                     (path.empty() ? std::string("an empty path") : "'" + path + "'") +
                         " is not a store path: " + why + "; give the path of a store file" +
                         hint);
  };
  if (path.empty()) refuse("SQLite would keep a temporary store and delete it on exit");
  if (path == ":memory:") refuse("SQLite would keep the store in memory and lose it on exit");
  if (path.rfind("file:", 0) == 0) {
    refuse("SQLite would read it as a URI, not as a file name",
           " (./" + path + " for a file of that name)");
  }
}

}  // namespace sellerflow::engine
