// HTML for the console: escaping, and the layout every page shares.
#ifndef SELLERFLOW_SRC_SERVE_HTML_H_
#define SELLERFLOW_SRC_SERVE_HTML_H_

#include <string>
#include <string_view>

namespace sellerflow::serve::html {

// Text safe in an element's content and in a quoted attribute value.
std::string Escape(std::string_view text);

// A time as UTC text with a <time> element that the page's script fills with the local time.
std::string Time(const std::string& rfc3339);

// A whole page: `title` (plain text), the tab to mark current, who is signed in ("" for nobody),
// the session's CSRF token for the sign-out form, and `body` (HTML, already escaped).
std::string Page(const std::string& title, const std::string& tab, const std::string& actor,
                 const std::string& csrf, const std::string& body);

// The script and the style sheet the pages load (the Content-Security-Policy allows no inline
// script or style).
const char* Script();
const char* Style();

// Graphviz DOT laid out and rendered as an inline <svg> element; on failure, a note saying so.
std::string Svg(const std::string& dot);

}  // namespace sellerflow::serve::html

#endif  // SELLERFLOW_SRC_SERVE_HTML_H_
