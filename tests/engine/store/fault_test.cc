// Storage faults: a SQLite VFS and allocator that fail the Nth write, sync or allocation, swept
// across whole commands.
//
// For each command of a short session on the shipped policy, and each kind of fault, N runs from 1
// until the command no longer reaches its Nth operation. Every attempt must either commit whole or
// leave the store exactly as it was (digest and command log), throw a StoreError that names the
// store and the operation (disk full as disk full), and leave a file that reopens with
// integrity_check ok. Its own binary: the allocator can only be swapped before SQLite starts.
#include <sqlite3.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "engine/check/check_policy.h"
#include "engine/run/engine.h"
#include "engine/model/load.h"
#include "engine/store/store.h"

namespace sellerflow::engine {
namespace {

// ---- The faults ---------------------------------------------------------------------------------

// kShmFull: growing the -shm file fails for want of space, as SQLite's unix VFS reports it (an I/O
// error with ENOSPC in errno), which happens to reads of a WAL database too.
enum class Fault { kNone, kWrite, kDiskFull, kSync, kAlloc, kShmFull };

struct Injector {
  Fault fault = Fault::kNone;
  int fail_at = 0;  // The operation number (from 1) that fails.
  int count = 0;    // Operations of the faulted kind seen since Arm.
  bool fired = false;

  void Arm(Fault f, int n) {
    fault = f;
    fail_at = n;
    count = 0;
    fired = false;
  }
  void Disarm() { fault = Fault::kNone; }
  // Whether this operation of kind `f` fails.
  bool Hit(Fault f) {
    if (fault != f && !(fault == Fault::kDiskFull && f == Fault::kWrite)) return false;
    if (++count != fail_at) return false;
    fired = true;
    return true;
  }
};
Injector g_faults;

// A file of the wrapping VFS: the real file follows it in memory.
struct FaultFile {
  sqlite3_file base;
  sqlite3_file* real() { return reinterpret_cast<sqlite3_file*>(this + 1); }
};
sqlite3_vfs* g_real_vfs = nullptr;

FaultFile* AsFault(sqlite3_file* f) { return reinterpret_cast<FaultFile*>(f); }

int FaultWrite(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  if (g_faults.Hit(Fault::kWrite))
    return g_faults.fault == Fault::kDiskFull ? SQLITE_FULL : SQLITE_IOERR_WRITE;
  return AsFault(f)->real()->pMethods->xWrite(AsFault(f)->real(), data, amount, offset);
}
int FaultSync(sqlite3_file* f, int flags) {
  if (g_faults.Hit(Fault::kSync)) return SQLITE_IOERR_FSYNC;
  return AsFault(f)->real()->pMethods->xSync(AsFault(f)->real(), flags);
}
int FaultClose(sqlite3_file* f) {
  int rc = AsFault(f)->real()->pMethods->xClose(AsFault(f)->real());
  return rc;
}
// Everything else goes straight to the real file.
int FaultRead(sqlite3_file* f, void* d, int n, sqlite3_int64 o) {
  return AsFault(f)->real()->pMethods->xRead(AsFault(f)->real(), d, n, o);
}
int FaultTruncate(sqlite3_file* f, sqlite3_int64 size) {
  return AsFault(f)->real()->pMethods->xTruncate(AsFault(f)->real(), size);
}
int FaultFileSize(sqlite3_file* f, sqlite3_int64* size) {
  return AsFault(f)->real()->pMethods->xFileSize(AsFault(f)->real(), size);
}
int FaultLock(sqlite3_file* f, int l) {
  return AsFault(f)->real()->pMethods->xLock(AsFault(f)->real(), l);
}
int FaultUnlock(sqlite3_file* f, int l) {
  return AsFault(f)->real()->pMethods->xUnlock(AsFault(f)->real(), l);
}
int FaultCheckReserved(sqlite3_file* f, int* out) {
  return AsFault(f)->real()->pMethods->xCheckReservedLock(AsFault(f)->real(), out);
}
int FaultControl(sqlite3_file* f, int op, void* arg) {
  return AsFault(f)->real()->pMethods->xFileControl(AsFault(f)->real(), op, arg);
}
int FaultSectorSize(sqlite3_file* f) {
  return AsFault(f)->real()->pMethods->xSectorSize(AsFault(f)->real());
}
int FaultDevice(sqlite3_file* f) {
  return AsFault(f)->real()->pMethods->xDeviceCharacteristics(AsFault(f)->real());
}
int FaultShmMap(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  if (g_faults.Hit(Fault::kShmFull)) {
    errno = ENOSPC;
    return SQLITE_IOERR_SHMSIZE;
  }
  return AsFault(f)->real()->pMethods->xShmMap(AsFault(f)->real(), page, size, extend, out);
}
int FaultShmLock(sqlite3_file* f, int offset, int n, int flags) {
  return AsFault(f)->real()->pMethods->xShmLock(AsFault(f)->real(), offset, n, flags);
}
void FaultShmBarrier(sqlite3_file* f) {
  AsFault(f)->real()->pMethods->xShmBarrier(AsFault(f)->real());
}
int FaultShmUnmap(sqlite3_file* f, int del) {
  return AsFault(f)->real()->pMethods->xShmUnmap(AsFault(f)->real(), del);
}

const sqlite3_io_methods kFaultMethods = {2,
                                          FaultClose,
                                          FaultRead,
                                          FaultWrite,
                                          FaultTruncate,
                                          FaultSync,
                                          FaultFileSize,
                                          FaultLock,
                                          FaultUnlock,
                                          FaultCheckReserved,
                                          FaultControl,
                                          FaultSectorSize,
                                          FaultDevice,
                                          FaultShmMap,
                                          FaultShmLock,
                                          FaultShmBarrier,
                                          FaultShmUnmap,
                                          nullptr,
                                          nullptr};

int FaultOpen(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* f, int flags, int* out_flags) {
  auto* ff = AsFault(f);
  ff->base.pMethods = nullptr;
  int rc = g_real_vfs->xOpen(g_real_vfs, name, ff->real(), flags, out_flags);
  if (ff->real()->pMethods) ff->base.pMethods = &kFaultMethods;
  return rc;
}

sqlite3_vfs g_fault_vfs;

// The allocator: SQLite's own, failing the Nth allocation when armed.
sqlite3_mem_methods g_real_mem;
void* FaultMalloc(int n) { return g_faults.Hit(Fault::kAlloc) ? nullptr : g_real_mem.xMalloc(n); }
void* FaultRealloc(void* p, int n) {
  return g_faults.Hit(Fault::kAlloc) ? nullptr : g_real_mem.xRealloc(p, n);
}

// Installs the VFS (as the default) and the allocator, once, before SQLite is used.
void Install() {
  static bool done = false;
  if (done) return;
  done = true;
  sqlite3_shutdown();
  sqlite3_config(SQLITE_CONFIG_GETMALLOC, &g_real_mem);
  static sqlite3_mem_methods mem = g_real_mem;
  mem.xMalloc = FaultMalloc;
  mem.xRealloc = FaultRealloc;
  sqlite3_config(SQLITE_CONFIG_MALLOC, &mem);
  sqlite3_initialize();
  g_real_vfs = sqlite3_vfs_find(nullptr);
  g_fault_vfs = *g_real_vfs;
  g_fault_vfs.zName = "fault";
  g_fault_vfs.szOsFile = static_cast<int>(sizeof(FaultFile)) + g_real_vfs->szOsFile;
  g_fault_vfs.xOpen = FaultOpen;
  sqlite3_vfs_register(&g_fault_vfs, 1);
}

// ---- The session
// ----------------------------------------------------------------------------------

const char* kSeller = "seller:111122223333";
const char* kPt = "ProfessionalServicesProduct@1.0";

Command Parse(const std::string& line) {
  Command c;
  std::vector<Violation> violations;
  REQUIRE(ParseCommand(line, std::nullopt, &c, &violations));
  return c;
}

std::string Start(const std::string& at, const std::string& changes) {
  return std::string(R"({"op":"start-change-set","Actor":")") + kSeller + R"(","At":")" + at +
         R"(","Catalog":"AWSMarketplace","ChangeSet":[)" + changes + "]}";
}
std::string Ui(const std::string& id, const std::string& title) {
  return std::string(R"({"ChangeType":"UpdateInformation","Entity":{"Type":")") + kPt +
         R"(","Identifier":")" + id + R"("},"DetailsDocument":{"ProductTitle":")" + title +
         R"("}})";
}

struct Snapshot {
  std::string digest;
  int64_t commands = 0;
  bool operator==(const Snapshot& o) const { return digest == o.digest && commands == o.commands; }
};

Snapshot Look(const std::string& path) {
  auto store = Store::Open(path);
  REQUIRE(store->IntegrityOk());
  return {store->Digest(), store->LastCommandSeq()};
}

void Copy(const std::string& from, const std::string& to) {
  for (const char* suffix : {"", "-wal", "-shm"}) {
    std::filesystem::remove(to + suffix);
    if (std::filesystem::exists(from + suffix))
      std::filesystem::copy_file(from + suffix, to + suffix);
  }
}

const char* FaultName(Fault f) {
  switch (f) {
    case Fault::kWrite:
      return "write";
    case Fault::kDiskFull:
      return "write (disk full)";
    case Fault::kSync:
      return "sync";
    case Fault::kAlloc:
      return "allocation";
    case Fault::kShmFull:
      return "-shm (disk full)";
    case Fault::kNone:
      break;
  }
  return "none";
}

TEST_CASE("a failed write, sync or allocation leaves a command whole or not at all",
          "[store][faults]") {
  Install();
  auto dir =
      std::filesystem::temp_directory_path() / ("sellerflow-faults-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string base = (dir / "base.db").string(), trial = (dir / "trial.db").string();
  dsl::Diagnostics diags;
  auto policy = LoadPolicy({std::string(SELLERFLOW_SOURCE_DIR) + "/workflows"},
                           {std::string(SELLERFLOW_SOURCE_DIR) + "/rules"}, &diags);
  CheckPolicy(*policy, &diags);
  REQUIRE_FALSE(diags.has_errors());

  // The commands swept, each from the state the ones before it left.
  std::vector<std::string> session = {
      R"({"op":"import","EntityType":"Seller@1.0","EntityIdentifier":"111122223333","State":"Active","Owner":"seller:111122223333","DetailsDocument":{"PublicProfile":true}})",
      std::string(R"({"op":"import","EntityType":")") + kPt +
          R"(","EntityIdentifier":"prod-aaaaaaaaaaaaa","State":"Limited","Owner":"seller:111122223333","DetailsDocument":{"ProductTitle":"A"}})",
      Start(
          "2026-01-01T00:00:00Z",
          Ui("prod-aaaaaaaaaaaaa", "Renamed") + "," +
              R"({"ChangeType":"UpdateSellerProfile","Entity":{"Type":"Seller@1.0","Identifier":"111122223333"},"DetailsDocument":{"TaxQuestionnaireComplete":true}})"),
      Start(
          "2026-01-01T00:01:00Z",
          std::string(R"({"ChangeType":"UpdateVisibility","Entity":{"Type":")") + kPt +
              R"(","Identifier":"prod-aaaaaaaaaaaaa"},"DetailsDocument":{"TargetVisibility":"Public"}})"),
  };
  {
    auto store = Store::Open(base);
    Engine engine(*policy, store.get());
  }
  int attempts = 0, failed_whole = 0;
  std::map<Fault, int> fired_by_kind, threw_by_kind;
  for (size_t k = 0; k < session.size(); ++k) {
    const Command command = Parse(session[k]);
    const Snapshot before = Look(base);
    // The command without faults: what "whole" looks like.
    Copy(base, trial);
    {
      auto store = Store::Open(trial);
      Engine engine(*policy, store.get());
      engine.Execute(command);
    }
    const Snapshot after = Look(trial);
    REQUIRE(after.commands == before.commands + 1);
    for (Fault fault : {Fault::kWrite, Fault::kDiskFull, Fault::kSync, Fault::kAlloc}) {
      for (int n = 1;; ++n) {
        INFO("command " << k << ", failing " << FaultName(fault) << " number " << n);
        Copy(base, trial);
        bool threw = false;
        std::string message;
        StoreError::Kind kind = StoreError::Kind::kIo;
        {
          std::unique_ptr<Store> store;
          std::unique_ptr<Engine> engine;
          store = Store::Open(trial);
          engine = std::make_unique<Engine>(*policy, store.get());
          g_faults.Arm(fault, n);
          try {
            engine->Execute(command);
          } catch (const StoreError& e) {
            threw = true;
            message = e.what();
            kind = e.kind();
          }
          // Closing may touch the file too (a rollback, a checkpoint): still under the fault.
          engine.reset();
          store.reset();
          g_faults.Disarm();
        }
        ++attempts;
        const bool fired = g_faults.fired;
        fired_by_kind[fault] += fired;
        threw_by_kind[fault] += threw;
        INFO("threw: " << threw << " (" << message << ")");
        const Snapshot now = Look(trial);
        // Whole or nothing, and an error exactly when nothing.
        if (threw) {
          REQUIRE(now == before);
          ++failed_whole;
          REQUIRE_THAT(message, Catch::Contains(trial));
          if (fault == Fault::kDiskFull) {
            REQUIRE(kind == StoreError::Kind::kFull);
            REQUIRE_THAT(message, Catch::StartsWith("disk full writing " + trial + " ("));
          } else {
            REQUIRE(kind == StoreError::Kind::kIo);
            REQUIRE_THAT(message, Catch::Contains(" while "));
          }
        } else {
          REQUIRE(now == after);
        }
        if (!fired) break;  // The command no longer reaches operation n: every point was tried.
        REQUIRE(n < 5000);
      }
    }
    Copy(trial, base);  // The next command starts from this one's whole result.
    REQUIRE(Look(base) == after);
  }
  WARN(attempts << " attempts; faults that fired (and refused the command): write "
                << fired_by_kind[Fault::kWrite] << " (" << threw_by_kind[Fault::kWrite]
                << "), disk full " << fired_by_kind[Fault::kDiskFull] << " ("
                << threw_by_kind[Fault::kDiskFull] << "), sync " << fired_by_kind[Fault::kSync]
                << " (" << threw_by_kind[Fault::kSync] << "), allocation "
                << fired_by_kind[Fault::kAlloc] << " (" << threw_by_kind[Fault::kAlloc] << ")");
  REQUIRE(failed_whole > 0);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a full disk met by a read is disk full, not an I/O error", "[store][faults]") {
  Install();
  auto dir =
      std::filesystem::temp_directory_path() / ("sellerflow-shm-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string path = (dir / "s.db").string();
  Store::Open(path)->Write([] {});
  StoreOptions read;
  read.read_only = true;
  std::string message;
  StoreError::Kind kind = StoreError::Kind::kIo;
  g_faults.Arm(Fault::kShmFull, 1);
  try {
    Store::Open(path, read)->Digest();
  } catch (const StoreError& e) {
    message = e.what();
    kind = e.kind();
  }
  g_faults.Disarm();
  REQUIRE(g_faults.fired);
  CHECK(kind == StoreError::Kind::kFull);
  CHECK(message == "disk full writing " + path + " (reading its schema: SQLite grows " + path +
                       "-shm even to read); free space on its disk, then retry");
  CHECK(Store::Open(path, read)->IntegrityOk());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace sellerflow::engine
