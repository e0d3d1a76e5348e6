// What the SQLite store checks about a location and the files beside it before SQLite opens them.
#ifndef SELLERFLOW_ENGINE_STORE_SQLITE_FILES_H_
#define SELLERFLOW_ENGINE_STORE_SQLITE_FILES_H_

#include <cstdint>
#include <string>

namespace sellerflow::engine {

// Throws StoreError::kBadLocation unless SQLite would read `path` as the name of a file: empty
// (a temporary database), ":memory:" and names starting with "file:" (a URI, whose parameters can
// keep the store in memory, pick another VFS or turn locking off) would all seem to work and keep
// nothing, or break the locking that keeps two writers apart.
void CheckPlainPath(const std::string& path);

// Throws StoreError::kCorrupt when the -wal file beside the SQLite database at `path` cannot be
// its own: SQLite applies whatever WAL it finds beside a database, another database's too. Call it
// before SQLite opens the database; it reads the two files and changes nothing.
void CheckWalBelongs(const std::string& path);

// Whether nothing can change the file at `path`: it is on a read-only file system, or marked
// immutable (chattr +i, which stops root too).
bool Unchangeable(const std::string& path);

// The name of an SQLite VFS (the default one, registered again) that opens a main database as
// immutable: without locks, a -wal or a -shm, which a folder on read-only media cannot hold.
// Only for a file that Unchangeable says nothing can change, whose WAL is empty or absent (an
// immutable database never reads its WAL).
const char* ImmutableVfs();

// A new store's identity, kept in its header's application_id so that a WAL can be matched to
// its database (CheckWalBelongs). Never 0, which marks a store made before identities.
int32_t NewStoreIdentity();

}  // namespace sellerflow::engine

#endif  // SELLERFLOW_ENGINE_STORE_SQLITE_FILES_H_
