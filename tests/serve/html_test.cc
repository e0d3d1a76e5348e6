// Tests of the console's HTML helpers: escaping, the shared layout, and Graphviz's SVG.
#include "src/serve/html.h"

#include <catch2/catch.hpp>
#include <string>

namespace sellerflow::serve::html {
namespace {

TEST_CASE("html: every interpolated character that could open markup is escaped", "[html]") {
  CHECK(Escape("<script>alert('x')</script>") ==
        "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;");
  CHECK(Escape("a & \"b\"") == "a &amp; &quot;b&quot;");
  CHECK(Escape("plain") == "plain");
}

TEST_CASE("html: a page escapes its title and actor", "[html]") {
  const std::string page = Page("<b>t</b>", "requests", "seller:<x>", "tok\"en", "<p>body</p>");
  CHECK(page.find("<b>t</b>") == std::string::npos);
  CHECK(page.find("&lt;b&gt;t&lt;/b&gt;") != std::string::npos);
  CHECK(page.find("seller:&lt;x&gt;") != std::string::npos);
  CHECK(page.find("tok&quot;en") != std::string::npos);
  CHECK(page.find("<p>body</p>") != std::string::npos);
}

TEST_CASE("html: DOT becomes an inline svg element", "[html]") {
  const std::string svg = Svg("digraph g { a -> b; }");
  CHECK(svg.rfind("<svg", 0) == 0);
  CHECK(svg.find("</svg>") != std::string::npos);
  CHECK(Svg("not dot at all {").find("could not be drawn") != std::string::npos);
}

}  // namespace
}  // namespace sellerflow::serve::html
