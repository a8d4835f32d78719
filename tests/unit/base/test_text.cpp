#include "base/text.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace appshare;

TEST_CASE("trim drops ASCII white space at both ends only", "[text]")
{
    CHECK(trim("  a b \t\r\n\f\v") == "a b");
    CHECK(trim("") == "");
    CHECK(trim(" \t ") == "");
    CHECK(trim("x") == "x");
    // Non-breaking space (UTF-8) is content, not white space.
    CHECK(trim("\xc2\xa0x") == "\xc2\xa0x");
}

TEST_CASE("printable escapes what could disturb a terminal or a log", "[text]")
{
    CHECK(printable("base.qcow2") == "base.qcow2");
    CHECK(printable(std::string("a\nb\0c", 5)) == "a\\x0ab\\x00c");
    CHECK(printable("\x1b[31m") == "\\x1b[31m");
    CHECK(printable("a\\b") == "a\\x5cb");
    CHECK(printable("\x7f") == "\\x7f");
    SECTION("valid UTF-8 stays readable") {
        CHECK(printable("caf\xc3\xa9") == "caf\xc3\xa9");
        CHECK(printable("\xe2\x82\xac 5") == "\xe2\x82\xac 5");
        CHECK(printable("\xf0\x9f\x98\x80") == "\xf0\x9f\x98\x80");
    }
    SECTION("C1 controls, invalid and overlong sequences are escaped byte by byte") {
        CHECK(printable("\xc2\x9b") == "\\xc2\\x9b");          // CSI as a C1 control
        CHECK(printable("\xff") == "\\xff");
        CHECK(printable("\xc3") == "\\xc3");                  // cut short
        CHECK(printable("\xc0\xaf") == "\\xc0\\xaf");          // overlong '/'
        CHECK(printable("\xed\xa0\x80") == "\\xed\\xa0\\x80");  // a UTF-16 surrogate
        CHECK(printable("\xf4\x90\x80\x80") == "\\xf4\\x90\\x80\\x80");  // above U+10FFFF
    }
}

TEST_CASE("printable_message escapes a whole message without escaping twice", "[text]")
{
    const std::string piece = printable("evil\x1b[2J\xff");
    CHECK(piece == "evil\\x1b[2J\\xff");
    // A message holding an escaped piece and raw bytes from elsewhere.
    const std::string message = "loading from " + piece + " failed: line\nforged\r\x7f\xc2\x9b\xc3\xa9";
    CHECK(printable_message(message) ==
          "loading from evil\\x1b[2J\\xff failed: line\\x0aforged\\x0d\\x7f\\xc2\\x9b\xc3\xa9");
    CHECK(printable_message(printable_message(message)) == printable_message(message));
}

TEST_CASE("quoted puts printable text in quotes and cuts long values", "[text]")
{
    CHECK(in_quotes("a b") == "\"a b\"");
    CHECK(in_quotes("name", '\'') == "'name'");
    CHECK(in_quotes("a\nb", '\'') == "'a\\x0ab'");
    CHECK(in_quotes("abcdef", '"', 3) == "\"abc...\"");
    CHECK(quoted_value(std::string(100, 'x')) == "\"" + std::string(80, 'x') + "...\"");
    CHECK(quoted_value(std::string(80, 'x')) == "\"" + std::string(80, 'x') + "\"");
}

TEST_CASE("plain names: what appshare writes into names on shared storage", "[text]")
{
    for (const char* good : {"h1", "web-1.example_org", "A", "0abc"}) {
        INFO(good);
        CHECK(is_plain_name(good, 63));
    }
    for (const char* bad : {"", "-h", ".h", "_h", "a..b", "a/b", "a b", "a@b", "h\x1b", "h\xc3\xa9", ".."}) {
        INFO(bad);
        CHECK_FALSE(is_plain_name(bad, 63));
    }
    CHECK(is_plain_name(std::string(63, 'a'), 63));
    CHECK_FALSE(is_plain_name(std::string(64, 'a'), 63));
}
