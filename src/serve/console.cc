// The console's routes: sessions from the credentials file, pages rendered from the engine's reads,
// and actions that go through the API's own operations.
#include "src/serve/console.h"

#include <httplib.h>
#include <openssl/crypto.h>
#include <openssl/rand.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>

#include "dsl/time.h"
#include "engine/check/graph.h"
#include "engine/read/command.h"
#include "engine/run/describe.h"
#include "engine/run/views.h"
#include "engine/store/store.h"
#include "src/serve/html.h"

namespace sellerflow::serve {
namespace {

using html::Escape;
using nlohmann::json;

constexpr char kCookie[] = "sf_session";
constexpr int kRequestsPerPage = 20;
constexpr int kEntitiesPerPage = 50;
constexpr size_t kMaxSessions = 10000;
constexpr int kTouchedListed = 25;     // Requests listed on an entity's page.
constexpr size_t kEventsListed = 100;  // History events on an entity's page.

int64_t WallSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 32 random bytes from OpenSSL as hex: session ids and CSRF tokens nobody can guess.
std::string RandomHex() {
  unsigned char bytes[32];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  return out;
}

bool SameSecret(const std::string& a, const std::string& b) {
  // The length is not secret; the bytes are compared in time that does not depend on them.
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// Headers every console answer carries: no framing, no sniffing, no caching of pages that show
// one account's data, and scripts and styles only from this server.
void Secure(httplib::Response& res) {
  res.set_header("Content-Security-Policy",
                 "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
                 "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("X-Frame-Options", "DENY");
  res.set_header("Referrer-Policy", "same-origin");
  res.set_header("Cache-Control", "no-store");
}

void SendHtml(httplib::Response& res, int status, const std::string& body) {
  Secure(res);
  res.status = status;
  res.set_content(body, "text/html; charset=utf-8");
}

void Redirect(httplib::Response& res, const std::string& to) {
  Secure(res);
  res.status = 303;
  res.set_header("Location", to);
}

std::string Param(const httplib::Request& req, const char* name) {
  return req.has_param(name) ? req.get_param_value(name) : "";
}

std::string UrlEncode(const std::string& s) {
  std::string out;
  char buf[4];
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

// "2026-03-01T10:00" (a datetime-local field, read as UTC) or any RFC 3339 time, in the store's
// fixed format so that it compares as text; "" when empty or unreadable.
std::string NormalTime(std::string t) {
  if (t.empty()) return "";
  if (t.size() == 16) t += ":00";
  if (t.size() == 19) t += "Z";
  int64_t us = 0;
  if (!engine::ParseAt(t, &us)) return "";
  return dsl::FormatTimestamp(us);
}

std::string StatusBadge(const std::string& status, const std::string& id = "") {
  return "<span class=\"status " + Escape(status) + "\"" +
         (id.empty() ? "" : " data-status-of=\"" + Escape(id) + "\"") + ">" + Escape(status) +
         "</span>";
}

std::string Link(const std::string& href, const std::string& text) {
  return "<a href=\"" + Escape(href) + "\">" + Escape(text) + "</a>";
}

std::string RequestLink(const std::string& id) {
  return Link("/console/requests/" + UrlEncode(id), id);
}

std::string EntityLink(const std::string& id) {
  return id.empty() ? "<i>(not created)</i>" : Link("/console/entities/" + UrlEncode(id), id);
}

std::string Pretty(const std::string& json_text) {
  json doc = json::parse(json_text, nullptr, false);
  // Focusable: a long document scrolls, and the keyboard must reach it.
  return "<pre tabindex=\"0\">" + Escape(doc.is_discarded() ? json_text : doc.dump(2)) + "</pre>";
}

std::string HiddenCsrf(const std::string& csrf) {
  return "<input type=\"hidden\" name=\"csrf\" value=\"" + Escape(csrf) + "\">";
}

std::string FlashBox(const std::string& flash) {
  return flash.empty() ? ""
                       : "<p class=\"flash\" role=\"status\">" + Escape(flash) + "</p>";
}

// The history as an ordered timeline.
std::string Timeline(const std::vector<engine::HistoryRow>& rows) {
  if (rows.empty()) return "<p>No events yet.</p>";
  std::string out = "<ol class=\"timeline\">";
  for (const auto& h : rows) {
    out += "<li>" + html::Time(h.at) + " <b>" + Escape(h.event.empty() ? "-" : h.event) +
           "</b>: " + Escape(h.from_state) + " &rarr; " + Escape(h.to_state) + " (" +
           Escape(h.entity.empty() ? "" : h.entity) + (h.change_set.empty() ? "" : ", ") +
           (h.change_set.empty() ? "" : RequestLink(h.change_set)) + ", by " + Escape(h.actor) +
           ")</li>";
  }
  return out + "</ol>";
}

// Machine pictures, laid out once per picture: the DOT text is the key.
class SvgCache {
 public:
  std::string Get(const std::string& dot) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = svgs_.find(dot);
      if (it != svgs_.end()) return it->second;
    }
    std::string svg = html::Svg(dot);
    std::lock_guard<std::mutex> lock(mu_);
    if (svgs_.size() > 512) svgs_.clear();  // Bounded: highlights make many pictures.
    return svgs_.emplace(dot, std::move(svg)).first->second;
  }

 private:
  std::mutex mu_;
  std::map<std::string, std::string> svgs_;
};

SvgCache& Svgs() {
  static SvgCache* cache = new SvgCache;
  return *cache;
}

// A page whose pictures are drawn after the writer's job: the job leaves a marker per picture.
struct Drawn {
  std::string html;
  std::vector<std::string> dots;
  std::string Marker(std::string dot) {
    dots.push_back(std::move(dot));
    return "<!--svg:" + std::to_string(dots.size() - 1) + "-->";
  }
  std::string Render() const {
    std::string out = html;
    for (size_t i = 0; i < dots.size(); ++i) {
      const std::string marker = "<!--svg:" + std::to_string(i) + "-->";
      const size_t at = out.find(marker);
      if (at != std::string::npos) out.replace(at, marker.size(), Svgs().Get(dots[i]));
    }
    return out;
  }
};

std::string Figure(const std::string& marker, const std::string& caption) {
  return "<figure class=\"machine\" role=\"group\" aria-label=\"" + Escape(caption) + "\">" +
         marker + "<figcaption>" + Escape(caption) + "</figcaption></figure>";
}

std::string Trigger(const engine::Transition& t) {
  if (!t.event.empty()) return "on " + t.event;
  if (!t.after.empty()) return "after " + t.after.text;
  if (!t.at_time.empty()) return "at " + t.at_time.text;
  return "automatic";
}

const char* kStatuses[] = {"PREPARING", "APPLYING", "SUCCEEDED", "FAILED", "CANCELLED"};

}  // namespace

Console::Console(const ServeOptions& options, const std::vector<AccessKey>& keys, Service* service,
                 engine::Engine* engine, RunOnWriter run)
    : options_(options), service_(service), engine_(engine), run_(std::move(run)) {
  for (const AccessKey& k : keys) {
    secrets_[k.access_key_id] = k.secret_access_key;
    actors_[k.access_key_id] = k.actor;
  }
  if (options_.policy) counter_ = std::make_unique<engine::TransitionCounter>(*options_.policy);
}

Console::~Console() = default;

bool Console::FindSession(const httplib::Request& req, std::string* id, Session* out) {
  const std::string cookies = req.get_header_value("Cookie");
  const std::string name = std::string(kCookie) + "=";
  size_t at = 0;
  std::string value;
  while (at < cookies.size()) {
    while (at < cookies.size() && (cookies[at] == ' ' || cookies[at] == ';')) ++at;
    size_t end = cookies.find(';', at);
    if (end == std::string::npos) end = cookies.size();
    if (cookies.compare(at, name.size(), name) == 0)
      value = cookies.substr(at + name.size(), end - at - name.size());
    at = end;
  }
  if (value.empty()) return false;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(value);
  if (it == sessions_.end()) return false;
  if (it->second.expires <= WallSeconds()) {
    sessions_.erase(it);
    return false;
  }
  *id = value;
  *out = it->second;
  it->second.flash.clear();
  return true;
}

void Console::Flash(const std::string& id, const std::string& message) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  if (it != sessions_.end()) it->second.flash = message;
}

Console::Handler Console::Signed(
    std::function<void(const httplib::Request&, httplib::Response&, const Session&,
                       const std::string&)>
        page) {
  return [this, page](const httplib::Request& req, httplib::Response& res) {
    std::string id;
    Session s;
    if (!FindSession(req, &id, &s)) {
      if (req.method == "GET" && req.path.rfind("/console/status", 0) != 0) {
        Redirect(res, "/console/sign-in?next=" + UrlEncode(req.target));
      } else {
        SendHtml(res, 401,
                 html::Page("Sign in needed", "", "", "",
                            "<p>Your session has ended. " +
                                Link("/console/sign-in", "Sign in") + " again.</p>"));
      }
      return;
    }
    const auto started = std::chrono::steady_clock::now();
    try {
      page(req, res, s, id);
      // The server's own time for the page (its reads and its rendering), for the browser's
      // developer tools and for bench/console_bench.py.
      const double ms = std::chrono::duration<double, std::milli>(
                            std::chrono::steady_clock::now() - started)
                            .count();
      char timing[48];
      std::snprintf(timing, sizeof timing, "page;dur=%.3f", ms);
      res.set_header("Server-Timing", timing);
    } catch (const std::exception& e) {
      SendHtml(res, 500,
               html::Page("Something went wrong", "", s.actor, s.csrf,
                          "<p class=\"error\">" + Escape(e.what()) + "</p>"));
    }
  };
}

bool Console::PostAllowed(const httplib::Request& req, const Session& s) {
  if (!SameSecret(Param(req, "csrf"), s.csrf)) return false;
  // A browser names the page a POST comes from; one from another site is refused even before the
  // token, which such a page cannot know anyway.
  const std::string origin = req.get_header_value("Origin");
  if (origin.empty()) return true;
  const std::string host = req.get_header_value("Host");
  return origin == "http://" + host || origin == "https://" + host;
}

void Console::Register(httplib::Server* server) {
  server->Get("/console", [](const httplib::Request&, httplib::Response& res) {
    Redirect(res, "/console/requests");
  });
  server->Get("/console/app.js", [](const httplib::Request&, httplib::Response& res) {
    Secure(res);
    res.set_header("Cache-Control", "max-age=300");
    res.set_content(html::Script(), "text/javascript; charset=utf-8");
  });
  server->Get("/console/style.css", [](const httplib::Request&, httplib::Response& res) {
    Secure(res);
    res.set_header("Cache-Control", "max-age=300");
    res.set_content(html::Style(), "text/css; charset=utf-8");
  });
  server->Get("/console/sign-in", [this](const httplib::Request& req, httplib::Response& res) {
    SignInPage(req, res);
  });
  server->Post("/console/sign-in", [this](const httplib::Request& req, httplib::Response& res) {
    SignIn(req, res);
  });
  server->Post("/console/sign-out", [this](const httplib::Request& req, httplib::Response& res) {
    SignOut(req, res);
  });
  auto bind = [this](void (Console::*fn)(const httplib::Request&, httplib::Response&,
                                         const Session&)) {
    return Signed([this, fn](const httplib::Request& req, httplib::Response& res,
                             const Session& s, const std::string&) { (this->*fn)(req, res, s); });
  };
  server->Get("/console/requests", bind(&Console::Requests));
  server->Get("/console/status", bind(&Console::Statuses));
  server->Get(R"(/console/requests/([A-Za-z0-9_-]+))", bind(&Console::Request));
  server->Post(R"(/console/requests/([A-Za-z0-9_-]+)/(cancel|review))",
               Signed([this](const httplib::Request& req, httplib::Response& res,
                             const Session& s, const std::string& id) { Act(req, res, s, id); }));
  server->Get("/console/entities", bind(&Console::Entities));
  server->Get(R"(/console/entities/([A-Za-z0-9_@.-]+))", bind(&Console::Entity));
  server->Get("/console/policy", bind(&Console::PolicyPage));
  server->Get(R"(/console/machines/(\d+)\.svg)", bind(&Console::MachineSvg));
  // Anything else under /console is not a page (and never reaches the API's signature check).
  auto missing = [](const httplib::Request&, httplib::Response& res) {
    SendHtml(res, 404, html::Page("Not found", "", "", "", "<p>There is no such page.</p>"));
  };
  server->Get(R"(/console/.*)", missing);
  server->Post(R"(/console/.*)", missing);
}

void Console::SignInPage(const httplib::Request& req, httplib::Response& res) {
  const std::string next = Param(req, "next");
  SendHtml(res, 200,
           html::Page(
               "Sign in", "", "", "",
               "<form method=\"post\" action=\"/console/sign-in\" class=\"signin\">"
               "<p>Sign in with an access key of the server's credentials file.</p>"
               "<label>Access key ID<input name=\"AccessKeyId\" autocomplete=\"username\" "
               "required autofocus></label>"
               "<label>Secret access key<input name=\"SecretAccessKey\" type=\"password\" "
               "autocomplete=\"current-password\" required></label>"
               "<input type=\"hidden\" name=\"next\" value=\"" +
                   Escape(next) +
                   "\"><button type=\"submit\">Sign in</button></form>"));
}

void Console::SignIn(const httplib::Request& req, httplib::Response& res) {
  const std::string origin = req.get_header_value("Origin");
  const std::string host = req.get_header_value("Host");
  if (!origin.empty() && origin != "http://" + host && origin != "https://" + host) {
    SendHtml(res, 403, html::Page("Refused", "", "", "", "<p>Sign in from this server's page.</p>"));
    return;
  }
  const std::string key = Param(req, "AccessKeyId");
  auto secret = secrets_.find(key);
  // Compared even for an unknown key, so that timing does not tell which keys exist.
  const std::string expected = secret == secrets_.end() ? std::string(40, '\0') : secret->second;
  const bool ok = SameSecret(Param(req, "SecretAccessKey"), expected) && secret != secrets_.end();
  if (!ok) {
    SendHtml(res, 401,
             html::Page("Sign in", "", "", "",
                        "<p class=\"error\" role=\"alert\">That access key ID and secret do not "
                        "match a key of this server.</p>"
                        "<p>" +
                            Link("/console/sign-in", "Try again") + "</p>"));
    return;
  }
  Session s;
  s.actor = actors_[key];
  s.csrf = RandomHex();
  s.expires = WallSeconds() + kSessionSeconds;
  const std::string id = RandomHex();
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (sessions_.size() >= kMaxSessions) {
      const int64_t now = WallSeconds();
      for (auto it = sessions_.begin(); it != sessions_.end();)
        it = it->second.expires <= now ? sessions_.erase(it) : std::next(it);
      if (sessions_.size() >= kMaxSessions) sessions_.erase(sessions_.begin());
    }
    sessions_[id] = s;
  }
  res.set_header("Set-Cookie", std::string(kCookie) + "=" + id +
                                   "; HttpOnly; SameSite=Strict; Path=/console; Max-Age=" +
                                   std::to_string(kSessionSeconds) +
                                   (options_.tls_cert.empty() ? "" : "; Secure"));
  // Only a path of the console: an open redirect elsewhere would be a phishing aid.
  std::string next = Param(req, "next");
  if (next.rfind("/console/", 0) != 0 || next.find("//") != std::string::npos ||
      next.find('\\') != std::string::npos)
    next = "/console/requests";
  Redirect(res, next);
}

void Console::SignOut(const httplib::Request& req, httplib::Response& res) {
  std::string id;
  Session s;
  if (FindSession(req, &id, &s)) {
    if (!PostAllowed(req, s)) {
      SendHtml(res, 403, html::Page("Refused", "", s.actor, s.csrf,
                                    "<p>The form did not come from this console.</p>"));
      return;
    }
    std::lock_guard<std::mutex> lock(mu_);
    sessions_.erase(id);
  }
  res.set_header("Set-Cookie", std::string(kCookie) +
                                   "=; HttpOnly; SameSite=Strict; Path=/console; Max-Age=0");
  Redirect(res, "/console/sign-in");
}

void Console::Requests(const httplib::Request& req, httplib::Response& res, const Session& s) {
  engine::ChangeSetPageQuery q;
  q.status = Param(req, "status");
  if (!q.status.empty() && std::find(std::begin(kStatuses), std::end(kStatuses), q.status) ==
                               std::end(kStatuses))
    q.status.clear();
  q.change_type = Param(req, "change_type");
  q.entity = Param(req, "entity");
  const std::string after_text = Param(req, "after"), before_text = Param(req, "before");
  q.started_after = NormalTime(after_text);
  q.started_before = NormalTime(before_text);
  q.newest_first = Param(req, "sort") != "oldest";
  q.after_seq = std::atoll(Param(req, "cursor").c_str());
  q.limit = kRequestsPerPage;
  engine::RequestsPage page;
  run_([&](int64_t) {
    page = engine::ListRequests(*engine_->store(), s.actor, q);
    return serve::Response{};
  });

  std::string filters = "?status=" + UrlEncode(q.status) + "&change_type=" +
                        UrlEncode(q.change_type) + "&entity=" + UrlEncode(q.entity) +
                        "&after=" + UrlEncode(after_text) + "&before=" + UrlEncode(before_text) +
                        "&sort=" + (q.newest_first ? "newest" : "oldest");
  std::string status_options = "<option value=\"\">Any</option>";
  for (const char* st : kStatuses)
    status_options += std::string("<option") + (q.status == st ? " selected" : "") + ">" + st +
                      "</option>";
  std::set<std::string> change_types;
  if (options_.policy)
    for (const auto& m : options_.policy->machines)
      if (m->kind == engine::MachineKind::kRequest) change_types.insert(m->change_type);
  std::string types = "<datalist id=\"change-types\">";
  for (const auto& t : change_types) types += "<option value=\"" + Escape(t) + "\">";
  types += "</datalist>";
  std::string body = FlashBox(s.flash) +
      "<form method=\"get\" action=\"/console/requests\" class=\"filters\" "
      "aria-label=\"Filter requests\">"
      "<label>Status<select name=\"status\">" + status_options + "</select></label>"
      "<label>Change type<input name=\"change_type\" list=\"change-types\" value=\"" +
      Escape(q.change_type) + "\">" + types + "</label>"
      "<label>Entity ID<input name=\"entity\" value=\"" + Escape(q.entity) + "\"></label>"
      "<label>Started after (UTC)<input name=\"after\" type=\"datetime-local\" step=\"1\" "
      "value=\"" + Escape(after_text) + "\"></label>"
      "<label>Started before (UTC)<input name=\"before\" type=\"datetime-local\" step=\"1\" "
      "value=\"" + Escape(before_text) + "\"></label>"
      "<label>Sort<select name=\"sort\"><option value=\"newest\"" +
      (q.newest_first ? " selected" : "") + ">Newest first</option><option value=\"oldest\"" +
      (q.newest_first ? "" : " selected") + ">Oldest first</option></select></label>"
      "<button type=\"submit\">Apply</button> " + Link("/console/requests", "Clear") + "</form>";
  if (page.rows.empty()) {
    body += "<p>No requests match.</p>";
  } else {
    body +=
        "<table class=\"requests\"><caption>Requests</caption><thead><tr><th scope=\"col\">Name"
        "</th><th scope=\"col\">Change types</th><th scope=\"col\">Entities</th><th scope=\"col\">"
        "Status</th><th scope=\"col\">Start time (UTC)</th><th scope=\"col\">End time (UTC)</th>"
        "</tr></thead><tbody>";
    for (const auto& cs : page.rows) {
      std::string change_types_cell, entities_cell;
      std::set<std::string> seen_types, seen_entities;
      for (const auto& c : cs.changes) {
        if (seen_types.insert(c.change_type).second)
          change_types_cell += (change_types_cell.empty() ? "" : "<br>") + Escape(c.change_type);
        if (!c.entity_id.empty() && seen_entities.insert(c.entity_id).second)
          entities_cell += (entities_cell.empty() ? "" : "<br>") + EntityLink(c.entity_id);
      }
      body += "<tr><td>" +
              Link("/console/requests/" + UrlEncode(cs.id), cs.name.empty() ? cs.id : cs.name) +
              "<br><small>" + Escape(cs.id) + "</small></td><td>" + change_types_cell +
              "</td><td>" + entities_cell + "</td><td>" + StatusBadge(cs.status, cs.id) +
              "</td><td>" + html::Time(cs.started_at) + "</td><td>" + html::Time(cs.ended_at) +
              "</td></tr>";
    }
    body += "</tbody></table>";
  }
  body += "<nav aria-label=\"Pages\" class=\"pages\">";
  if (q.after_seq != 0) body += Link("/console/requests" + filters, "First page") + " ";
  if (page.next_after_seq != 0)
    body += Link("/console/requests" + filters + "&cursor=" + std::to_string(page.next_after_seq),
                 "Next page");
  body += "</nav>";
  SendHtml(res, 200, html::Page("Requests", "requests", s.actor, s.csrf, body));
}

void Console::Statuses(const httplib::Request& req, httplib::Response& res, const Session& s) {
  std::vector<std::string> ids;
  const std::string list = Param(req, "ids");
  for (size_t at = 0; at <= list.size() && ids.size() < 100;) {
    size_t comma = list.find(',', at);
    if (comma == std::string::npos) comma = list.size();
    if (comma > at) ids.push_back(list.substr(at, comma - at));
    at = comma + 1;
  }
  json out = json::object();
  run_([&](int64_t) {
    for (const auto& id : ids) {
      auto cs = engine_->store()->GetChangeSet(id);
      if (cs && engine::ActorMaySee(s.actor, cs->actor)) out[id] = cs->status;
    }
    return serve::Response{};
  });
  Secure(res);
  res.set_content(out.dump(), "application/json");
}

void Console::Request(const httplib::Request& req, httplib::Response& res, const Session& s) {
  const std::string id = req.matches[1];
  Drawn page;
  bool found = false;
  run_([&](int64_t) {
    engine::Store* store = engine_->store();
    auto row = store->GetChangeSet(id);
    if (!row || !engine::ActorMaySee(s.actor, row->actor)) return serve::Response{};
    found = true;
    engine::Catalog catalog(store);
    json doc = json::parse(catalog.DescribeChangeSet(id), nullptr, false);
    const std::vector<engine::HistoryRow> history = store->History(id);
    std::string& b = page.html;
    b += FlashBox(s.flash);
    b += "<dl class=\"facts\"><dt>Request ID</dt><dd>" + Escape(id) + "</dd><dt>Name</dt><dd>" +
         Escape(row->name.empty() ? "(none)" : row->name) + "</dd><dt>Status</dt><dd>" +
         StatusBadge(row->status, id) + "</dd><dt>Submitted by</dt><dd>" + Escape(row->actor) +
         "</dd><dt>Intent</dt><dd>" + Escape(row->intent) + "</dd><dt>Start time</dt><dd>" +
         html::Time(row->started_at) + "</dd><dt>End time</dt><dd>" +
         (row->ended_at.empty() ? "-" : html::Time(row->ended_at)) + "</dd>";
    if (!row->failure_code.empty())
      b += "<dt>Failure</dt><dd>" + Escape(row->failure_code) + ": " +
           Escape(row->failure_description) + "</dd>";
    b += "</dl>";

    // Actions the viewer may take now; the operations they call check again.
    std::set<std::string> events;
    if (doc.contains("WaitingFor") && doc["WaitingFor"].contains("Events"))
      for (const json& e : doc["WaitingFor"]["Events"]) events.insert(e.value("Event", ""));
    std::string actions;
    if (events.count("cancel") && (s.actor == "operations" || s.actor == row->actor))
      actions += "<form method=\"post\" action=\"/console/requests/" + Escape(UrlEncode(id)) +
                 "/cancel\">" + HiddenCsrf(s.csrf) +
                 "<button type=\"submit\">Cancel request</button></form>";
    if (s.actor == "operations" && (events.count("approve") || events.count("reject")))
      actions += "<form method=\"post\" action=\"/console/requests/" + Escape(UrlEncode(id)) +
                 "/review\" class=\"review\">" + HiddenCsrf(s.csrf) +
                 "<label>Reason<input name=\"reason\" maxlength=\"2000\"></label>"
                 "<button type=\"submit\" name=\"decision\" value=\"approve\">Approve</button>"
                 "<button type=\"submit\" name=\"decision\" value=\"reject\">Reject</button>"
                 "</form>";
    if (!actions.empty()) b += "<section aria-label=\"Actions\" class=\"actions\">" + actions +
                               "</section>";
    if (doc.contains("WaitingFor") && doc["WaitingFor"].contains("Timers"))
      for (const json& t : doc["WaitingFor"]["Timers"])
        b += "<p>Change " + std::to_string(t.value("Change", 0)) + " moves on from " +
             Escape(t.value("From", "")) + (t.contains("To") ? " to " + Escape(t.value("To", "")) : "") +
             " at " + html::Time(t.value("Deadline", "")) + " unless something happens first.</p>";

    b += "<h2>Changes</h2>";
    engine::PinnedOutlines pinned(*store);
    const json& changes = doc.contains("ChangeSet") ? doc["ChangeSet"] : json::array();
    for (size_t i = 0; i < changes.size() && i < row->changes.size(); ++i) {
      const json& c = changes[i];
      const engine::ChangeRow& cr = row->changes[i];
      b += "<section class=\"change\" aria-labelledby=\"change-" + std::to_string(i) + "\"><h3 id=\"change-" +
           std::to_string(i) + "\">" + Escape(c.value("ChangeType", "")) + " on " +
           EntityLink(cr.entity_id) + " <small>(" + Escape(cr.entity_type) + ")</small></h3>";
      b += "<p>Status " + StatusBadge(c.value("Status", "")) + ", state <b>" +
           Escape(c.value("State", "")) + "</b>" +
           (cr.change_name.empty() ? "" : ", named " + Escape(cr.change_name)) + "</p>";
      b += "<details open><summary>DetailsDocument</summary>" +
           Pretty(c.contains("DetailsDocument") ? c["DetailsDocument"].dump() : "{}") +
           "</details>";
      const json& errors = c.contains("ErrorDetailList") ? c["ErrorDetailList"] : json::array();
      if (!errors.empty()) {
        b += "<h4>Errors</h4><ul class=\"errors\">";
        for (const json& e : errors) {
          b += "<li><b>" + Escape(e.value("ErrorCode", "")) + "</b>: " +
               Escape(e.value("ErrorMessage", ""));
          const std::string rule = e.value("Rule", "");
          if (!rule.empty()) {
            b += "<div class=\"explain\">Failed rule <code>" + Escape(rule) + "</code> at <code>" +
                 Escape(e.value("Source", "")) + "</code>";
            json ex = json::parse(engine_->ExplainRule(id, cr.index, rule), nullptr, false);
            if (ex.is_object() && ex.contains("clauses")) {
              b += "<ul>";
              for (const json& cl : ex["clauses"]) {
                b += "<li>clause <code>" + Escape(cl.value("text", "")) + "</code> (line " +
                     std::to_string(cl.value("line", 0)) + ", column " +
                     std::to_string(cl.value("column", 0)) + ") was <b>" +
                     Escape(cl.value("result", "")) + "</b>";
                if (cl.contains("operands") && !cl["operands"].empty()) {
                  b += ": ";
                  bool first = true;
                  for (const json& op : cl["operands"]) {
                    b += std::string(first ? "" : ", ") + "<code>" + Escape(op.value("text", "")) +
                         "</code> = <code>" + Escape(op.contains("value") ? op["value"].dump() : "") +
                         "</code>";
                    first = false;
                  }
                }
                b += "</li>";
              }
              b += "</ul>";
            }
            b += "</div>";
          }
          b += "</li>";
        }
        b += "</ul>";
      }
      // The machine this change ran on: today's when its definition is unchanged, else the one
      // it started under, kept in the store (its path and states may be another's).
      const engine::Machine* m =
          options_.policy ? options_.policy->FindRequestMachine(cr.change_type, cr.entity_type)
                          : nullptr;
      bool is_pinned = false;
      if (!m || m->content_hash != cr.machine_hash) {
        if (const engine::Machine* kept = pinned.Get(cr.machine_hash)) {
          m = kept;
          is_pinned = true;
        }
      }
      if (m) {
        std::vector<engine::HistoryRow> mine;
        for (const auto& h : history)
          if (h.change_index == cr.index) mine.push_back(h);
        b += Figure(page.Marker(engine::DrawMachine(*m, engine::GraphFormat::kDot,
                                                    engine::MarksOf(*m, mine, cr.state))),
                    "The " + m->Key() + " request machine" +
                        (is_pinned ? " as this change started under it (definition " +
                                         cr.machine_hash.substr(0, 12) + ", not today's)"
                                   : std::string()) +
                        ": the path this change took in bold blue, its current state " + cr.state +
                        " filled");
      }
      b += "</section>";
    }
    b += "<h2>History</h2>" + Timeline(history);
    return serve::Response{};
  });
  if (!found) {
    // Someone else's request answers as a missing one does, as the API's does.
    SendHtml(res, 404, html::Page("Request not found", "requests", s.actor, s.csrf,
                                  "<p>There is no request " + Escape(id) + " that you may see.</p>"));
    return;
  }
  page.html = html::Page("Request " + id, "requests", s.actor, s.csrf, page.html);
  SendHtml(res, 200, page.Render());
}

void Console::Act(const httplib::Request& req, httplib::Response& res, const Session& s,
                  const std::string& session_id) {
  const std::string id = req.matches[1], action = req.matches[2];
  if (!PostAllowed(req, s)) {
    SendHtml(res, 403, html::Page("Refused", "requests", s.actor, s.csrf,
                                  "<p>The form did not come from this console (its CSRF token "
                                  "or origin is not this session's).</p>"));
    return;
  }
  serve::Response r;
  if (action == "cancel") {
    r = run_([&](int64_t now_us) {
      return service_->Handle("PATCH", "/CancelChangeSet",
                              {{"catalog", "AWSMarketplace"}, {"changeSetId", id}}, "", s.actor,
                              now_us);
    });
  } else {
    const std::string decision = Param(req, "decision");
    json body = {{"ChangeSetId", id}, {"Decision", decision}, {"Reason", Param(req, "reason")}};
    r = run_([&](int64_t now_us) {
      return service_->Handle("POST", "/sellerflow/Review", {}, body.dump(), s.actor, now_us);
    });
  }
  if (r.status == 404) {
    SendHtml(res, 404, html::Page("Request not found", "requests", s.actor, s.csrf,
                                  "<p>There is no request " + Escape(id) + " that you may see.</p>"));
    return;
  }
  if (r.status != 200) {
    json e = json::parse(r.body, nullptr, false);
    Flash(session_id, "Not done: " + (e.is_object() ? e.value("Message", r.error_type) : r.error_type));
  } else {
    Flash(session_id, action == "cancel" ? "Cancel requested."
                                         : "Review recorded: " + Param(req, "decision") + ".");
  }
  Redirect(res, "/console/requests/" + UrlEncode(id));
}

void Console::Entities(const httplib::Request& req, httplib::Response& res, const Session& s) {
  const std::string type = Param(req, "type"), state = Param(req, "state"),
                    after = Param(req, "after");
  std::vector<engine::EntityRow> rows;
  bool more = false;
  run_([&](int64_t) {
    for (engine::EntityRow& e : engine_->store()->ListEntities("", state)) {
      const std::string bare = e.type.substr(0, e.type.find('@'));
      if (!type.empty() && e.type != type && bare != type) continue;
      if (!after.empty() && e.id <= after) continue;  // Ordered by id: the cursor is the last id.
      if (!engine::ActorMaySeeEntity(s.actor, e)) continue;
      if (rows.size() == kEntitiesPerPage) {
        more = true;
        break;
      }
      rows.push_back(std::move(e));
    }
    return serve::Response{};
  });
  std::set<std::string> types;
  if (options_.policy)
    for (const auto& m : options_.policy->machines)
      if (m->kind == engine::MachineKind::kEntity) types.insert(m->entity_type);
  std::string type_options = "<option value=\"\">Any</option>";
  for (const auto& t : types)
    type_options += "<option value=\"" + Escape(t) + "\"" + (t == type ? " selected" : "") + ">" +
                    Escape(t) + "</option>";
  std::string body =
      "<form method=\"get\" action=\"/console/entities\" class=\"filters\" aria-label=\"Filter "
      "entities\"><label>Type<select name=\"type\">" + type_options +
      "</select></label><label>State<input name=\"state\" value=\"" + Escape(state) +
      "\"></label><button type=\"submit\">Apply</button></form>";
  if (rows.empty()) {
    body += "<p>No entities match.</p>";
  } else {
    body += "<table><caption>Entities</caption><thead><tr><th scope=\"col\">Entity ID</th>"
            "<th scope=\"col\">Title</th><th scope=\"col\">Type</th><th scope=\"col\">State</th>"
            "<th scope=\"col\">Owner</th><th scope=\"col\">Revision</th><th scope=\"col\">Last "
            "modified (UTC)</th></tr></thead><tbody>";
    for (const auto& e : rows) {
      json doc = json::parse(e.document, nullptr, false);
      std::string title;
      if (doc.is_object())
        for (const char* k : {"ProductTitle", "Name", "OfferName"}) {
          if (doc.contains(k) && doc[k].is_string()) {
            title = doc[k].get<std::string>();
            break;
          }
          if (doc.contains("Description") && doc["Description"].is_object() &&
              doc["Description"].contains(k) && doc["Description"][k].is_string()) {
            title = doc["Description"][k].get<std::string>();
            break;
          }
        }
      body += "<tr><td>" + EntityLink(e.id) + "</td><td>" + Escape(title) + "</td><td>" +
              Escape(e.type) + "</td><td>" + Escape(e.state) + "</td><td>" + Escape(e.owner) +
              "</td><td>" + std::to_string(e.revision) + "</td><td>" +
              html::Time(e.updated_at.empty() ? e.created_at : e.updated_at) + "</td></tr>";
    }
    body += "</tbody></table>";
  }
  if (more)
    body += "<nav aria-label=\"Pages\">" +
            Link("/console/entities?type=" + UrlEncode(type) + "&state=" + UrlEncode(state) +
                     "&after=" + UrlEncode(rows.back().id),
                 "Next page") +
            "</nav>";
  SendHtml(res, 200,
           html::Page("Products, offers, agreements", "entities", s.actor, s.csrf, body));
}

void Console::Entity(const httplib::Request& req, httplib::Response& res, const Session& s) {
  const std::string id = req.matches[1];
  Drawn page;
  bool found = false;
  run_([&](int64_t) {
    engine::Store* store = engine_->store();
    auto e = store->GetEntity(id);
    if (!e || !engine::ActorMaySeeEntity(s.actor, *e)) return serve::Response{};
    found = true;
    std::string& b = page.html;
    b += "<dl class=\"facts\"><dt>Entity ID</dt><dd>" + Escape(e->id) + "</dd><dt>Type</dt><dd>" +
         Escape(e->type) + "</dd><dt>State</dt><dd><b class=\"state\">" + Escape(e->state) +
         "</b></dd><dt>Revision</dt><dd>" + std::to_string(e->revision) +
         "</dd><dt>Owner</dt><dd>" + Escape(e->owner) + "</dd><dt>Created</dt><dd>" +
         html::Time(e->created_at) + "</dd><dt>Last modified</dt><dd>" +
         html::Time(e->updated_at.empty() ? e->created_at : e->updated_at) + "</dd>" +
         (e->locked_by.empty() ? "" : "<dt>Held by</dt><dd>" + RequestLink(e->locked_by) + "</dd>") +
         "</dl>";
    b += "<h2>Document</h2>" + Pretty(e->document);
    const std::vector<engine::HistoryRow> history = store->History(id);
    if (options_.policy) {
      if (const engine::Machine* m = options_.policy->FindEntityMachine(e->type)) {
        std::vector<engine::HistoryRow> mine;
        for (const auto& h : history)
          if (h.entity == id) mine.push_back(h);
        b += "<h2>Lifecycle</h2>" +
             Figure(page.Marker(engine::DrawMachine(*m, engine::GraphFormat::kDot,
                                                    engine::MarksOf(*m, mine, e->state))),
                    "The " + m->Key() + " entity machine, its current state " + e->state +
                        " filled");
      }
    }
    // Bounded, so that a product with years of requests still gives a small page: the newest
    // requests through the store's paged query (the Requests tab, filtered by the entity, pages
    // through all of them), and the latest events.
    b += "<h2>Requests that touched it</h2>";
    engine::ChangeSetPageQuery touched;
    touched.entity = id;
    touched.limit = kTouchedListed;
    engine::RequestsPage requests = engine::ListRequests(*store, s.actor, touched);
    std::string list;
    for (const auto& cs : requests.rows) {
      std::string types;
      for (const auto& c : cs.changes)
        if (c.entity_id == id) types += (types.empty() ? "" : ", ") + c.change_type;
      list += "<li>" + Link("/console/requests/" + UrlEncode(cs.id), cs.name.empty() ? cs.id : cs.name) +
              " (" + Escape(types) + ") " + StatusBadge(cs.status, cs.id) + " " +
              html::Time(cs.started_at) + "</li>";
    }
    b += list.empty() ? "<p>None that you may see.</p>" : "<ul>" + list + "</ul>";
    if (requests.next_after_seq != 0)
      b += "<p>" + Link("/console/requests?entity=" + UrlEncode(id), "All requests on " + id) +
           "</p>";
    std::vector<engine::HistoryRow> visible;
    for (auto h = history.rbegin(); h != history.rend() && visible.size() < kEventsListed; ++h) {
      if (!h->change_set.empty() && s.actor != "operations") {
        auto cs = store->GetChangeSet(h->change_set);
        if (!cs || !engine::ActorMaySee(s.actor, cs->actor)) continue;
      }
      visible.push_back(*h);
    }
    std::reverse(visible.begin(), visible.end());
    if (visible.size() == kEventsListed)
      b += "<h2>History</h2><p>The latest " + std::to_string(kEventsListed) + " events of " +
           std::to_string(history.size()) + ".</p>" + Timeline(visible);
    else
    b += "<h2>History</h2>" + Timeline(visible);
    return serve::Response{};
  });
  if (!found) {
    SendHtml(res, 404, html::Page("Entity not found", "entities", s.actor, s.csrf,
                                  "<p>There is no entity " + Escape(id) + " that you may see.</p>"));
    return;
  }
  page.html = html::Page("Entity " + id, "entities", s.actor, s.csrf, page.html);
  SendHtml(res, 200, page.Render());
}

void Console::PolicyPage(const httplib::Request&, httplib::Response& res, const Session& s) {
  if (!options_.policy) {
    SendHtml(res, 200, html::Page("Policy", "policy", s.actor, s.csrf,
                                  "<p>This server was started without its policy.</p>"));
    return;
  }
  // Counts span every account: only Seller Operations see them.
  engine::TransitionCounts counts;
  const bool show_counts = s.actor == "operations";
  if (show_counts)
    run_([&](int64_t) {
      counts = counter_->CatchUp(*engine_->store());
      return serve::Response{};
    });
  std::string b = "<p>Every machine of the policy the server runs, with the rules its moves "
                  "check" + std::string(show_counts ? " and how often each move was taken." : ".") +
                  "</p><ul class=\"toc\">";
  const auto& machines = options_.policy->machines;
  for (size_t i = 0; i < machines.size(); ++i)
    b += "<li><a href=\"#m" + std::to_string(i) + "\">" + Escape(machines[i]->Key()) + "</a></li>";
  b += "</ul>";
  for (size_t i = 0; i < machines.size(); ++i) {
    const engine::Machine& m = *machines[i];
    const auto& taken = counts[m.Key()];
    b += "<section id=\"m" + std::to_string(i) + "\" aria-labelledby=\"h" + std::to_string(i) +
         "\"><h2 id=\"h" + std::to_string(i) + "\">" + Escape(m.Key()) + "</h2><p>" +
         Escape(m.description) + "</p><figure class=\"machine\"><img src=\"/console/machines/" +
         std::to_string(i) + ".svg\" loading=\"lazy\" alt=\"State diagram of " + Escape(m.Key()) +
         "\"></figure><table><caption>Moves of " + Escape(m.Key()) +
         "</caption><thead><tr><th scope=\"col\">From</th><th scope=\"col\">To</th>"
         "<th scope=\"col\">When</th><th scope=\"col\">Rules</th>" +
         (show_counts ? "<th scope=\"col\">Taken</th>" : "") + "</tr></thead><tbody>";
    auto row = [&](const std::string& from, const std::string& to, const std::string& when,
                   const std::string& rules) {
      auto n = taken.find({from, to});
      b += "<tr><td>" + Escape(from) + "</td><td>" + Escape(to) + "</td><td>" + Escape(when) +
           "</td><td>" + rules + "</td>" +
           (show_counts ? "<td>" + std::to_string(n == taken.end() ? 0 : n->second) + "</td>" : "") +
           "</tr>";
    };
    for (const engine::State& st : m.states)
      if (st.validate) {
        std::string rules;
        for (const auto& r : st.validate->rules) rules += (rules.empty() ? "" : ", ") + Escape(r);
        row(st.name, st.validate->passed, "validation passed", "<code>" + rules + "</code>");
        row(st.name, st.validate->failed, "validation failed", "<code>" + rules + "</code>");
      }
    for (const engine::Transition& t : m.transitions) {
      std::string rules;
      for (const auto& r : t.rules) rules += (rules.empty() ? "" : ", ") + Escape(r);
      if (!t.guard.empty()) rules += (rules.empty() ? "" : "; ") + ("<code>" + Escape(t.guard.text) + "</code>");
      row(t.from, t.to, Trigger(t), rules);
    }
    b += "</tbody></table></section>";
  }
  SendHtml(res, 200, html::Page("Policy", "policy", s.actor, s.csrf, b));
}

void Console::MachineSvg(const httplib::Request& req, httplib::Response& res, const Session&) {
  const size_t i = std::strtoul(std::string(req.matches[1]).c_str(), nullptr, 10);
  if (!options_.policy || i >= options_.policy->machines.size()) {
    SendHtml(res, 404, html::Page("Not found", "", "", "", "<p>No such machine.</p>"));
    return;
  }
  const std::string svg =
      Svgs().Get(engine::DrawMachine(*options_.policy->machines[i], engine::GraphFormat::kDot));
  Secure(res);
  res.set_header("Cache-Control", "private, max-age=300");
  res.set_content(svg, "image/svg+xml");
}

}  // namespace sellerflow::serve
