// Checks on a store's location and the files beside it, made before SQLite opens anything.
#include "engine/store/sqlite_files.h"

#include <fcntl.h>
#include <linux/fs.h>
#include <sqlite3.h>
#include <sys/ioctl.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "engine/store/store.h"

namespace sellerflow::engine {
namespace {

// The layouts of sqlite.org/fileformat2.html: the database header (section 1.3) and the WAL
// (section 4).
constexpr size_t kDbHeaderBytes = 100;
constexpr size_t kDbPageSize = 16;      // 2 bytes, big-endian; 1 means 65536.
constexpr size_t kDbWriteVersion = 18;  // 2 in WAL mode, 1 in rollback mode.
constexpr size_t kDbReadVersion = 19;
constexpr size_t kDbApplicationId = 68;  // 4 bytes, big-endian.
constexpr size_t kWalHeaderBytes = 32;
constexpr size_t kWalFrameHeaderBytes = 24;
constexpr uint32_t kWalMagic = 0x377f0682;  // | 1: checksums over big-endian words.
constexpr uint32_t kWalVersion = 3007000;

uint32_t BigEndian(const unsigned char* p) {
  return uint32_t{p[0]} << 24 | uint32_t{p[1]} << 16 | uint32_t{p[2]} << 8 | uint32_t{p[3]};
}

// The WAL's running checksum over `n` bytes (a multiple of 8), as SQLite's walChecksumBytes.
void Checksum(bool big_endian, const unsigned char* p, size_t n, uint32_t* s0, uint32_t* s1) {
  const bool swap = big_endian != (std::endian::native == std::endian::big);
  uint32_t a = *s0, b = *s1;
  for (size_t i = 0; i + 8 <= n; i += 8) {
    uint32_t w[2];
    std::memcpy(w, p + i, 8);
    if (swap) {
      w[0] = __builtin_bswap32(w[0]);
      w[1] = __builtin_bswap32(w[1]);
    }
    a += w[0] + b;
    b += w[1] + a;
  }
  *s0 = a;
  *s1 = b;
}

// Reads up to `n` bytes; false when fewer are there.
bool ReadExactly(std::ifstream& in, unsigned char* into, size_t n) {
  in.read(reinterpret_cast<char*>(into), static_cast<std::streamsize>(n));
  return static_cast<size_t>(in.gcount()) == n;
}

}  // namespace

void CheckPlainPath(const std::string& path) {
  // SQLite reads "file:" as a URI whenever it was built with SQLITE_USE_URI (Debian's is), even
  // though the store never passes SQLITE_OPEN_URI; its test is case-sensitive, and so is this one.
  const auto refuse = [&](const std::string& why, const std::string& hint = "") {
    throw StoreError(StoreError::Kind::kBadLocation,
                     (path.empty() ? std::string("an empty path") : "'" + path + "'") +
                         " is not a store path: " + why + "; give the path of a store file" + hint);
  };
  if (path.empty()) refuse("SQLite would keep a temporary store and delete it on exit");
  if (path == ":memory:") refuse("SQLite would keep the store in memory and lose it on exit");
  if (path.rfind("file:", 0) == 0) {
    refuse("SQLite would read it as a URI, not as a file name",
           " (./" + path + " for a file of that name)");
  }
}

namespace {

// What the frames of a WAL say, as SQLite would read them: those whose salt is the header's and
// whose running checksum holds, up to the last commit frame.
struct WalFrames {
  bool complete = false;            // Read to the end of the valid frames, within kMaxFrames.
  bool header_written = false;      // A committed frame holds page 1, the database header.
  bool other_identity = false;      // ... with another identity than `identity` (0 is none).
  uint32_t pages_after_commit = 0;  // The database's size after the last commit (0: none).
};

// A bound on the frames read per open (16 MiB of 4 KiB pages, some 10 ms): a WAL is read only that
// far, and the size test below is skipped past it. A store's writers put its header in the WAL at
// their first write, so the identity test mostly finds it early.
constexpr int kMaxFrames = 4096;

WalFrames ReadFrames(std::ifstream& wal, const unsigned char* wal_header, uint32_t page_size,
                     uint32_t identity) {
  WalFrames out;
  const bool big_endian = (BigEndian(wal_header) & 1) != 0;
  uint32_t s0 = BigEndian(wal_header + 24), s1 = BigEndian(wal_header + 28);
  // Read a few hundred KiB at a time: a read per frame cost more than the checksums.
  const size_t frame_bytes = kWalFrameHeaderBytes + page_size;
  constexpr size_t kBatch = 64;
  std::vector<unsigned char> buffer(kBatch * frame_bytes);
  size_t have = 0, next = 0;           // Frames in the buffer, and the next one's index there.
  bool header = false, other = false;  // Since the last commit frame.
  for (int n = 0;; ++n, ++next) {
    if (n == kMaxFrames) return out;
    if (next == have) {
      wal.read(reinterpret_cast<char*>(buffer.data()), static_cast<std::streamsize>(buffer.size()));
      have = static_cast<size_t>(wal.gcount()) / frame_bytes;
      next = 0;
    }
    const unsigned char* h = buffer.data() + next * frame_bytes;
    if (next == have || BigEndian(h) == 0 || BigEndian(h + 8) != BigEndian(wal_header + 16) ||
        BigEndian(h + 12) != BigEndian(wal_header + 20)) {
      break;
    }
    Checksum(big_endian, h, 8, &s0, &s1);
    Checksum(big_endian, h + kWalFrameHeaderBytes, page_size, &s0, &s1);
    if (s0 != BigEndian(h + 16) || s1 != BigEndian(h + 20)) break;
    if (BigEndian(h) == 1) {
      header = true;
      const uint32_t id = BigEndian(h + kWalFrameHeaderBytes + kDbApplicationId);
      other = other || (identity != 0 && id != 0 && id != identity);
    }
    if (BigEndian(h + 4) != 0) {  // A commit frame.
      out.pages_after_commit = BigEndian(h + 4);
      out.header_written = out.header_written || header;
      out.other_identity = out.other_identity || other;
    }
  }
  out.complete = true;
  return out;
}

// The database file's header, or false when it has none.
bool ReadDbHeader(const std::string& path, unsigned char* header, uint64_t* file_size) {
  std::ifstream db(path, std::ios::binary | std::ios::ate);
  if (!db) return false;
  *file_size = static_cast<uint64_t>(db.tellg());
  db.seekg(0);
  return ReadExactly(db, header, kDbHeaderBytes) &&
         std::string_view(reinterpret_cast<const char*>(header), 16) ==
             std::string_view("SQLite format 3\0", 16);
}

}  // namespace

// What is checked, and what cannot be. SQLite ties a WAL to nothing in its database: it applies
// any WAL with a valid header and valid frames that it finds beside a database. Refused here:
//   - a WAL beside a database whose header says it is not in WAL mode (a store is switched to WAL
//     before it writes a WAL, and leaving WAL mode removes the WAL first);
//   - a WAL whose page size is not the database's;
//   - a WAL holding a database header (page 1) with another store identity than the database's
//     (NewStoreIdentity; 0, a store made before identities, matches any);
//   - a WAL that never writes the database header, yet leaves the database another size than the
//     header says: a transaction that grows or shrinks a database rewrites its header.
// Not detected, and applied by SQLite as before: the WAL of another store of the same page size
// that holds no database header and leaves the same number of pages (two stores made alike and
// changed in place, say), and the WAL of a copy of this store or of a store without an identity.
// Not refused either, since SQLite applies none of it: a WAL with an invalid header, and frames
// whose salt is not the header's, which is also what a crash while SQLite restarts its WAL leaves.
// Another process may write and checkpoint the store while this reads: the headers are read
// again afterwards, and a store that moved meanwhile is not refused.
void CheckWalBelongs(const std::string& path) {
  const std::string wal_path = path + "-wal";
  std::ifstream wal(wal_path, std::ios::binary);
  unsigned char wal_header[kWalHeaderBytes], header[kDbHeaderBytes];
  uint64_t file_size = 0;
  // The WAL's header first: a checkpoint that rewrites the database header happens before SQLite
  // restarts the WAL, so the database header read next is at least as new as the frames.
  if (!wal || !ReadExactly(wal, wal_header, sizeof wal_header) ||
      !ReadDbHeader(path, header, &file_size)) {
    return;  // No WAL with a header, or not a database: SQLite's own checks decide.
  }
  const uint32_t magic = BigEndian(wal_header);
  const uint32_t wal_page = BigEndian(wal_header + 8);
  if ((magic & ~1u) != kWalMagic || BigEndian(wal_header + 4) != kWalVersion || wal_page < 512 ||
      wal_page > 65536 || (wal_page & (wal_page - 1)) != 0) {
    return;
  }
  uint32_t s0 = 0, s1 = 0;
  Checksum((magic & 1) != 0, wal_header, 24, &s0, &s1);
  if (s0 != BigEndian(wal_header + 24) || s1 != BigEndian(wal_header + 28)) return;

  std::string why;
  uint32_t db_page = uint32_t{header[kDbPageSize]} << 8 | header[kDbPageSize + 1];
  if (db_page == 1) db_page = 65536;
  if (header[kDbWriteVersion] != 2 || header[kDbReadVersion] != 2) {
    why = path + " is not in WAL mode";
  } else if (wal_page != db_page) {
    why = "its pages are " + std::to_string(wal_page) + " bytes, the store's " +
          std::to_string(db_page);
  } else {
    const uint32_t identity = BigEndian(header + kDbApplicationId);
    // The header's size counts when its change counter matches its version-valid-for number, as
    // SQLite reads it; otherwise the file's size does.
    const uint32_t pages =
        BigEndian(header + 24) == BigEndian(header + 92) && BigEndian(header + 28)
            ? BigEndian(header + 28)
            : static_cast<uint32_t>(file_size / db_page);
    const WalFrames frames = ReadFrames(wal, wal_header, wal_page, identity);
    if (frames.other_identity) {
      why = "it holds the header of another store";
    } else if (frames.complete && !frames.header_written && frames.pages_after_commit != 0 &&
               frames.pages_after_commit != pages) {
      why = "it leaves " + std::to_string(frames.pages_after_commit) +
            " pages without writing the header, which says " + std::to_string(pages);
    }
  }
  if (why.empty()) return;
  unsigned char wal_again[kWalHeaderBytes], header_again[kDbHeaderBytes];
  std::ifstream again(wal_path, std::ios::binary);
  if (!again || !ReadExactly(again, wal_again, sizeof wal_again) ||
      std::memcmp(wal_again, wal_header, sizeof wal_header) != 0 ||
      !ReadDbHeader(path, header_again, &file_size) ||
      std::memcmp(header_again, header, sizeof header) != 0) {
    return;  // Another process moved the store on meanwhile: its WAL is in use, so its own.
  }
  throw StoreError(StoreError::Kind::kCorrupt,
                   wal_path + " does not belong to " + path + " (" + why +
                       "): opening the store would apply another database's writes to it; move " +
                       wal_path + " away and keep it (it may be another store's), then retry");
}

bool Unchangeable(const std::string& path) {
  struct statvfs fs;
  if (statvfs(path.c_str(), &fs) == 0 && (fs.f_flag & ST_RDONLY) != 0) return true;
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  int flags = 0;
  const bool immutable = ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 && (flags & FS_IMMUTABLE_FL) != 0;
  close(fd);
  return immutable;
}

namespace {

// A file of the immutable VFS: the real file follows it in memory.
struct ImmutableFile {
  sqlite3_file base;
  bool main_db;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
sqlite3_file* Real(sqlite3_file* f) { return reinterpret_cast<ImmutableFile*>(f)->real(); }

int ImmutableClose(sqlite3_file* f) { return Real(f)->pMethods->xClose(Real(f)); }
int ImmutableRead(sqlite3_file* f, void* into, int n, sqlite3_int64 offset) {
  return Real(f)->pMethods->xRead(Real(f), into, n, offset);
}
int ImmutableWrite(sqlite3_file* f, const void* from, int n, sqlite3_int64 offset) {
  return Real(f)->pMethods->xWrite(Real(f), from, n, offset);
}
int ImmutableTruncate(sqlite3_file* f, sqlite3_int64 size) {
  return Real(f)->pMethods->xTruncate(Real(f), size);
}
int ImmutableSync(sqlite3_file* f, int flags) { return Real(f)->pMethods->xSync(Real(f), flags); }
int ImmutableFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return Real(f)->pMethods->xFileSize(Real(f), size);
}
int ImmutableLock(sqlite3_file* f, int level) { return Real(f)->pMethods->xLock(Real(f), level); }
int ImmutableUnlock(sqlite3_file* f, int level) {
  return Real(f)->pMethods->xUnlock(Real(f), level);
}
int ImmutableCheckReserved(sqlite3_file* f, int* out) {
  return Real(f)->pMethods->xCheckReservedLock(Real(f), out);
}
int ImmutableControl(sqlite3_file* f, int op, void* arg) {
  return Real(f)->pMethods->xFileControl(Real(f), op, arg);
}
int ImmutableSectorSize(sqlite3_file* f) { return Real(f)->pMethods->xSectorSize(Real(f)); }
// What makes the database immutable: SQLite then reads it as the immutable=1 URI parameter says,
// which the store does not use (its locations are never URIs).
int ImmutableDevice(sqlite3_file* f) {
  const int real = Real(f)->pMethods->xDeviceCharacteristics(Real(f));
  return reinterpret_cast<ImmutableFile*>(f)->main_db ? real | SQLITE_IOCAP_IMMUTABLE : real;
}

// Version 1: no shared memory and no memory mapping, which an immutable database never uses.
const sqlite3_io_methods kImmutableMethods = {
    1,
    ImmutableClose,
    ImmutableRead,
    ImmutableWrite,
    ImmutableTruncate,
    ImmutableSync,
    ImmutableFileSize,
    ImmutableLock,
    ImmutableUnlock,
    ImmutableCheckReserved,
    ImmutableControl,
    ImmutableSectorSize,
    ImmutableDevice,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
    nullptr,
};

sqlite3_vfs* g_default_vfs = nullptr;

int ImmutableOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* file = reinterpret_cast<ImmutableFile*>(f);
  file->base.pMethods = nullptr;
  file->main_db = (flags & SQLITE_OPEN_MAIN_DB) != 0;
  const int rc = g_default_vfs->xOpen(g_default_vfs, name, file->real(), flags, out_flags);
  if (file->real()->pMethods != nullptr) file->base.pMethods = &kImmutableMethods;
  return rc;
}

}  // namespace

const char* ImmutableVfs() {
  static const char* const name = [] {
    static sqlite3_vfs vfs;
    g_default_vfs = sqlite3_vfs_find(nullptr);
    vfs = *g_default_vfs;
    vfs.zName = "sellerflow-immutable";
    vfs.szOsFile = static_cast<int>(sizeof(ImmutableFile)) + g_default_vfs->szOsFile;
    vfs.xOpen = ImmutableOpen;
    sqlite3_vfs_register(&vfs, /*makeDflt=*/0);
    return vfs.zName;
  }();
  return name;
}

int32_t NewStoreIdentity() {
  std::random_device random;
  std::uniform_int_distribution<int32_t> any(1, std::numeric_limits<int32_t>::max());
  return any(random);
}

}  // namespace sellerflow::engine
