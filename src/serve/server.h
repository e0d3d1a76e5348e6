// `sellerflow serve`: the Catalog API over HTTP, for the AWS CLI and the SDKs, on one engine.
#ifndef SELLERFLOW_SRC_SERVE_SERVER_H_
#define SELLERFLOW_SRC_SERVE_SERVER_H_

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "engine/run/engine.h"
#include "src/serve/sigv4.h"

namespace sellerflow::serve {

// Reads the credentials file: {"Keys": [{"AccessKeyId", "SecretAccessKey", "Actor"}, ...]}.
// Throws std::invalid_argument naming the file and the field path of the first problem (a
// missing or non-string member, an actor that is not seller:/buyer:<12 digits> or operations, a
// key id given twice, no keys at all).
std::vector<AccessKey> LoadCredentials(const std::string& path);

struct ServeOptions {
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string tls_cert, tls_key;  // Both, or neither (plain HTTP).
  bool manual_clock = false;      // The clock moves only through /sellerflow/Tick.
  int threads = 64;               // Connections served at once.
  int read_timeout_seconds = 10;  // A client that sends nothing for this long is dropped.
  size_t max_body_bytes = 1 << 20;
  std::string region = "us-east-1";      // In ARNs.
  std::string account = "000000000000";  // The catalog's account in ARNs.
  // The policy the engine runs, for the console's pictures of machines; may be null.
  const engine::Policy* policy = nullptr;
  // Called once the socket listens (tests wait for it); the port actually bound.
  std::function<void(int port)> on_listening;
};

// An HTTP answer.
struct Response {
  int status = 200;
  std::string error_type;  // x-amzn-ErrorType, for errors.
  std::string body;        // JSON (the console's pages: HTML).
};

// The operations, on the engine and its store, for a caller whose signature was verified. Not
// thread-safe: the server calls it from its one writer thread. `now_us` is the server's clock for
// commands that write.
class Service {
 public:
  Service(engine::Engine* engine, const ServeOptions& options)
      : engine_(engine), options_(options) {}

  // `method` and `path` select the operation; `query` is decoded name/value pairs; `body` raw.
  Response Handle(const std::string& method, const std::string& path,
                  const std::vector<std::pair<std::string, std::string>>& query,
                  const std::string& body, const std::string& actor, int64_t now_us);

  // Fires the timers due at `now_us` (a tick command), if any are; returns whether it ran one.
  bool FireDueTimers(int64_t now_us);

 private:
  engine::Engine* engine_;
  const ServeOptions& options_;
};

// Serves until SIGTERM or SIGINT: stops accepting, finishes and commits what is in flight, and
// returns 0. Throws std::runtime_error when it cannot listen.
int Serve(const ServeOptions& options, engine::Engine* engine, std::vector<AccessKey> keys);

}  // namespace sellerflow::serve

#endif  // SELLERFLOW_SRC_SERVE_SERVER_H_
