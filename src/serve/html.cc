// Escaping, the console's layout, its script and style, and machine pictures through Graphviz.
#include "src/serve/html.h"

#include <graphviz/gvc.h>

#include <mutex>

namespace sellerflow::serve::html {

std::string Escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Time(const std::string& at) {
  if (at.empty()) return "";
  return "<time datetime=\"" + Escape(at) + "\">" + Escape(at) + "</time>";
}

std::string Page(const std::string& title, const std::string& tab, const std::string& actor,
                 const std::string& csrf, const std::string& body) {
  std::string nav;
  if (!actor.empty()) {
    for (const auto& [id, label] : {std::pair<const char*, const char*>{"requests", "Requests"},
                                    {"entities", "Products, offers, agreements"},
                                    {"policy", "Policy"}})
      nav += std::string("<li><a href=\"/console/") + id + "\"" +
             (tab == id ? " aria-current=\"page\"" : "") + ">" + label + "</a></li>";
    nav = "<nav aria-label=\"Main\"><ul>" + nav + "</ul></nav>" +
          "<form method=\"post\" action=\"/console/sign-out\" class=\"who\">Signed in as <b>" +
          Escape(actor) + "</b> <input type=\"hidden\" name=\"csrf\" value=\"" + Escape(csrf) +
          "\"><button type=\"submit\">Sign out</button></form>";
  }
  return "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
         "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
         "<title>" +
         Escape(title) +
         " - sellerflow</title><link rel=\"stylesheet\" href=\"/console/style.css\">"
         "<script src=\"/console/app.js\" defer></script></head><body>"
         "<a class=\"skip\" href=\"#main\">Skip to content</a><header><a class=\"brand\" href=\"/console/requests\">sellerflow</a>" +
         nav + "</header><main id=\"main\"><h1>" + Escape(title) + "</h1>" + body +
         "</main></body></html>\n";
}

const char* Script() {
  return R"JS(// Local times beside UTC, and live status of the requests a page shows.
document.querySelectorAll('time[datetime]').forEach(function (t) {
  var d = new Date(t.getAttribute('datetime'));
  if (isNaN(d)) return;
  var s = document.createElement('span');
  s.className = 'local';
  s.textContent = ' (' + d.toLocaleString() + ' local)';
  t.after(s);
});
var live = document.querySelectorAll('[data-status-of]');
if (live.length) {
  var ids = Array.prototype.map.call(live, function (e) { return e.getAttribute('data-status-of'); });
  var poll = function () {
    fetch('/console/status?ids=' + encodeURIComponent(ids.join(',')), {credentials: 'same-origin'})
      .then(function (r) { return r.ok ? r.json() : {}; })
      .then(function (statuses) {
        live.forEach(function (e) {
          var s = statuses[e.getAttribute('data-status-of')];
          if (s && e.textContent !== s) { e.textContent = s; e.className = 'status ' + s; }
        });
      }).catch(function () {});
  };
  setInterval(poll, 2000);
}
)JS";
}

const char* Style() {
  return R"CSS(body{font-family:system-ui,sans-serif;margin:0;color:#16191f;background:#fff}
header{display:flex;gap:1.5em;align-items:center;background:#232f3e;color:#fff;padding:.5em 1em}
header a{color:#fff}.brand{font-weight:bold;text-decoration:none}
nav ul{display:flex;gap:1em;list-style:none;margin:0;padding:0}
nav a[aria-current]{text-decoration:underline;font-weight:bold}
.who{margin-left:auto}main{padding:1em 2em}
table{border-collapse:collapse;margin:.5em 0}th,td{border:1px solid #d5dbdb;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f2f3f3}pre{background:#f2f3f3;padding:.5em;overflow:auto;max-width:60em}
.status{font-weight:bold}.FAILED{color:#b0001a}.PREPARING,.APPLYING{color:#0a4a74}.SUCCEEDED{color:#1d6b2a}.CANCELLED{color:#555}
.local{color:#555;font-size:.9em}form.filters{display:flex;flex-wrap:wrap;gap:.8em;align-items:end}
label{display:flex;flex-direction:column;font-size:.9em}a:focus,button:focus,input:focus,select:focus{outline:3px solid #ff9900}
.error{color:#b0001a}.flash{background:#f1faff;border:1px solid #0073bb;padding:.5em}
.skip{position:absolute;left:-9999px}.skip:focus{left:1em;top:.5em;background:#fff;color:#16191f;padding:.3em}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:.2em 1em}dl.facts dt{font-weight:bold}
.actions form{display:inline-flex;gap:.5em;align-items:end;margin-right:1em}.explain{margin:.3em 0 .3em 1em}
figure.machine{margin:1em 0}figcaption{font-size:.9em;color:#414750}.machine svg{max-width:100%;height:auto}ol.timeline li{margin:.3em 0}
)CSS";
}

std::string Svg(const std::string& dot) {
  // Graphviz keeps global state: one layout at a time.
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  static GVC_t* gvc = [] {
    agseterr(AGMAX);  // A bad drawing is reported on the page, not on the server's stderr.
    return gvContext();
  }();
  Agraph_t* g = agmemread(dot.c_str());
  if (g == nullptr) return "<p class=\"error\">The machine could not be drawn.</p>";
  std::string out;
  if (gvLayout(gvc, g, "dot") == 0) {
    char* data = nullptr;
    unsigned int length = 0;
    if (gvRenderData(gvc, g, "svg", &data, &length) == 0 && data != nullptr) {
      out.assign(data, length);
      gvFreeRenderData(data);
    }
    gvFreeLayout(gvc, g);
  }
  agclose(g);
  // The XML declaration and doctype do not belong inside an HTML page.
  const size_t start = out.find("<svg");
  if (start == std::string::npos) return "<p class=\"error\">The machine could not be drawn.</p>";
  return out.substr(start);
}

}  // namespace sellerflow::serve::html
