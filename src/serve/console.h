// The console: sign-in, the Requests tab, a request's and an entity's pages and the policy, as
// server-rendered HTML under /console on the API's server.
#ifndef SELLERFLOW_SRC_SERVE_CONSOLE_H_
#define SELLERFLOW_SRC_SERVE_CONSOLE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "engine/model/load.h"
#include "src/serve/server.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace sellerflow::engine {
class TransitionCounter;
}

namespace sellerflow::serve {

// Runs a job on the server's writer thread (where the engine and the store may be used) at the
// server's clock, and waits for its commit.
using RunOnWriter = std::function<Response(std::function<Response(int64_t now_us)>)>;

class Console {
 public:
  // `options.policy` may be null (no pictures then). `service` performs the actions, as the API
  // does, so that the console and the API refuse the same things.
  Console(const ServeOptions& options, const std::vector<AccessKey>& keys, Service* service,
          engine::Engine* engine, RunOnWriter run);
  ~Console();

  // Adds the routes under /console; call before the API's catch-all routes.
  void Register(httplib::Server* server);

  // How long a session lasts after sign-in.
  static constexpr int64_t kSessionSeconds = 8 * 3600;

 private:
  struct Session {
    std::string actor, csrf;
    int64_t expires = 0;  // Wall-clock seconds; sessions are not state and never reach the store.
    std::string flash;    // A message for the next page (what an action did), shown once.
  };
  using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

  // The session a request's cookie names, if it is live (a copy, with its flash taken).
  bool FindSession(const httplib::Request& req, std::string* id, Session* out);
  // Wraps a page's handler: no live session sends the browser to the sign-in page.
  Handler Signed(std::function<void(const httplib::Request&, httplib::Response&, const Session&,
                                    const std::string& id)>
                     page);
  // Whether a state-changing POST may run: its CSRF token is the session's and its Origin, when
  // the browser sends one, is this server.
  bool PostAllowed(const httplib::Request& req, const Session& s);
  void Flash(const std::string& id, const std::string& message);

  void SignInPage(const httplib::Request& req, httplib::Response& res);
  void SignIn(const httplib::Request& req, httplib::Response& res);
  void SignOut(const httplib::Request& req, httplib::Response& res);
  void Requests(const httplib::Request& req, httplib::Response& res, const Session& s);
  void Statuses(const httplib::Request& req, httplib::Response& res, const Session& s);
  void Request(const httplib::Request& req, httplib::Response& res, const Session& s);
  void Act(const httplib::Request& req, httplib::Response& res, const Session& s,
           const std::string& id);
  void Entities(const httplib::Request& req, httplib::Response& res, const Session& s);
  void Entity(const httplib::Request& req, httplib::Response& res, const Session& s);
  void PolicyPage(const httplib::Request& req, httplib::Response& res, const Session& s);
  void MachineSvg(const httplib::Request& req, httplib::Response& res, const Session& s);

  const ServeOptions& options_;
  std::map<std::string, std::string> secrets_, actors_;  // By access key id.
  Service* service_;
  engine::Engine* engine_;
  RunOnWriter run_;
  std::mutex mu_;
  std::map<std::string, Session> sessions_;  // By session id (random, hex).
  // The policy page's counts, caught up on the writer thread (where alone it is used).
  std::unique_ptr<engine::TransitionCounter> counter_;
};

}  // namespace sellerflow::serve

#endif  // SELLERFLOW_SRC_SERVE_CONSOLE_H_
