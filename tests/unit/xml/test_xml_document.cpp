#include "base/installed_files.hpp"
#include "xml/xml_document.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <string>

using namespace appshare;
using appshare::test::TempDir;
using appshare::test::capture_stderr;

namespace {

std::string passwd_first_line()
{
    const std::string passwd = test::read_file("/etc/passwd");
    return passwd.substr(0, passwd.find('\n'));
}

const std::string kBillionLaughs = R"(<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<lolz>&lol9;</lolz>
)";

}  // namespace

TEST_CASE("parse_xml reads a well-formed document", "[xml_document]")
{
    const std::string text = "<?xml version=\"1.0\"?>\n<a x=\"1\">\n  <b>one &amp; two</b>\n  <c/>\n  <b><![CDATA[3<4]]></b>\n</a>\n";
    auto doc = parse_xml(text, "sample.xml");
    REQUIRE(doc);
    REQUIRE(doc->root() != nullptr);
    CHECK(xml_name(doc->root()) == "a");

    SECTION("child lookup, attributes, text, lines, paths") {
        xmlNode* b = first_child_element(doc->root(), "b");
        REQUIRE(b != nullptr);
        CHECK(xml_text(b) == "one & two");
        CHECK(xml_line(b) == 3);
        CHECK(xml_element_path(b) == "a/b");
        CHECK(first_child_element(doc->root(), "missing") == nullptr);
        CHECK(first_child_element(nullptr, "b") == nullptr);
        CHECK(xml_attribute(doc->root(), "x") == std::optional<std::string>("1"));
        CHECK_FALSE(xml_attribute(doc->root(), "y"));
        const auto bs = child_elements(doc->root(), "b");
        REQUIRE(bs.size() == 2);
        CHECK(xml_text(bs[1]) == "3<4");
        CHECK(child_elements(doc->root()).size() == 3);
    }
    SECTION("serialises back to XML") {
        auto again = parse_xml(serialize_xml(*doc), "round-trip");
        REQUIRE(again);
        CHECK(xml_text(first_child_element(again->root(), "b")) == "one & two");
    }
    SECTION("the document is movable") {
        XmlDocument moved = std::move(*doc);
        CHECK(xml_name(moved.root()) == "a");
    }
}

TEST_CASE("parse_xml refuses bad or dangerous input with one clear sentence", "[xml_document]")
{
    SECTION("not well-formed: message names the origin and the line") {
        auto r = parse_xml("<a>\n<b>\n</a>\n", "broken.xml");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::BadManifest);
        CHECK_THAT(r.error().message, Catch::StartsWith("broken.xml line 3:") && Catch::Contains("not well-formed") &&
                                          Catch::Contains("mismatch"));
        CHECK(r.error().message.find('\n') == std::string::npos);
    }
    SECTION("what libxml2 quotes from the input is shown escaped") {
        // Found by fuzzing (tests/fuzz/fuzz_manifest.cpp): libxml2 quotes the text of a bad
        // comment in its message, and DEL is a valid XML character.
        auto r = parse_xml("<!-- x\x7f[2J -- --><a/>", "bad.xml");
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("<!-- x\\x7f"));
        CHECK(r.error().message.find('\x7f') == std::string::npos);
    }
    SECTION("empty input") {
        auto r = parse_xml("", "empty.xml");
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("empty.xml"));
    }
    SECTION("the error code is the caller's choice") {
        auto r = parse_xml("<a>", "template.xml", ErrorCode::Internal);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Internal);
    }
    SECTION("a plain internal DTD") {
        auto r = parse_xml("<?xml version=\"1.0\"?>\n<!DOCTYPE a [<!ELEMENT a (#PCDATA)>]>\n<a>x</a>\n", "dtd.xml");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::BadManifest);
        CHECK_THAT(r.error().message, Catch::Contains("dtd.xml") && Catch::Contains("DOCTYPE"));
    }
    SECTION("an external DTD") {
        auto r = parse_xml("<!DOCTYPE a SYSTEM \"file:///etc/passwd\">\n<a/>\n", "ext.xml");
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("DOCTYPE"));
    }
    SECTION("XXE: an external entity is never read") {
        const std::string xxe = "<?xml version=\"1.0\"?>\n"
                                "<!DOCTYPE a [<!ENTITY x SYSTEM \"file:///etc/passwd\">]>\n"
                                "<a>&x;</a>\n";
        std::string message;
        const std::string err = capture_stderr([&] {
            auto r = parse_xml(xxe, "xxe.xml");
            REQUIRE_FALSE(r);
            message = r.error().message;
        });
        CHECK_THAT(message, Catch::Contains("DOCTYPE"));
        const std::string secret = passwd_first_line();
        REQUIRE_FALSE(secret.empty());
        CHECK(message.find(secret) == std::string::npos);
        CHECK(err.find(secret) == std::string::npos);
        CHECK(err.empty());
    }
    SECTION("billion laughs is refused at once") {
        const auto start = std::chrono::steady_clock::now();
        auto r = parse_xml(kBillionLaughs, "lol.xml");
        const auto took = std::chrono::steady_clock::now() - start;
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("DOCTYPE"));
        CHECK(took < std::chrono::milliseconds(500));
    }
    SECTION("larger than the cap") {
        std::string big = "<a>" + std::string(kMaxXmlBytes, 'x') + "</a>";
        auto r = parse_xml(big, "big.xml");
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("big.xml") && Catch::Contains("larger than"));
    }
    SECTION("libxml2 prints nothing to stderr") {
        const std::string err = capture_stderr([] {
            CHECK_FALSE(parse_xml("<a><b></a>", "quiet.xml"));
            CHECK_FALSE(parse_xml("<a>&undefined;</a>", "quiet.xml"));
        });
        CHECK(err.empty());
    }
}

TEST_CASE("parse_xml_file reads a capped regular file", "[xml_document]")
{
    TempDir dir;
    SECTION("a valid file; the origin is its path") {
        test::write_file(dir / "t.xml", "<t>\n<u>v</u>\n</t>\n");
        auto doc = parse_xml_file(dir / "t.xml");
        REQUIRE(doc);
        CHECK(xml_text(first_child_element(doc->root(), "u")) == "v");
    }
    SECTION("a broken file names its path and line") {
        test::write_file(dir / "bad.xml", "<t>\n\n<u></t>\n");
        auto r = parse_xml_file(dir / "bad.xml");
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains((dir / "bad.xml").string() + " line 3"));
    }
    SECTION("missing file is an I/O error") {
        auto r = parse_xml_file(dir / "nope.xml");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Io);
        CHECK_THAT(r.error().message, Catch::Contains("nope.xml"));
    }
    SECTION("a directory is refused") {
        auto r = parse_xml_file(dir.path());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Io);
    }
    SECTION("a file over the cap is refused") {
        test::write_file(dir / "big.xml", "<a>" + std::string(kMaxXmlBytes + 10, 'x') + "</a>");
        auto r = parse_xml_file(dir / "big.xml", ErrorCode::Internal);
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Internal);
        CHECK_THAT(r.error().message, Catch::Contains("larger than"));
    }
}

TEST_CASE("validate_relaxng reports the first schema error with line and element", "[xml_document]")
{
    const auto schema = template_dir() / "appliance.rng";
    SECTION("the sample manifest is valid") {
        auto doc = parse_xml_file(test::data_dir() / "manifests" / "full.xml");
        REQUIRE(doc);
        auto r = validate_relaxng(*doc, schema, "full.xml");
        INFO((r ? std::string{} : r.error().message));
        CHECK(r);
    }
    SECTION("an unexpected element") {
        auto doc = parse_xml("<appliance format=\"1\">\n  <bogus/>\n</appliance>\n", "bogus.xml");
        REQUIRE(doc);
        auto r = validate_relaxng(*doc, schema, "bogus.xml");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::BadManifest);
        CHECK_THAT(r.error().message, Catch::StartsWith("bogus.xml line 2:") &&
                                          Catch::Contains("appliance/bogus") && Catch::Contains("appliance.rng"));
    }
    SECTION("a bad value inside an element") {
        std::string text = test::read_file(test::data_dir() / "manifests" / "full.xml");
        const std::string from = "<arch>x86_64</arch>";
        text.replace(text.find(from), from.size(), "<arch>m68k</arch>");
        auto doc = parse_xml(text, "arch.xml");
        REQUIRE(doc);
        auto r = validate_relaxng(*doc, schema, "arch.xml");
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("line 7") && Catch::Contains("appliance/arch"));
    }
    SECTION("missing schema is an I/O error") {
        auto doc = parse_xml("<a/>", "a.xml");
        REQUIRE(doc);
        auto r = validate_relaxng(*doc, "/nonexistent/schema.rng", "a.xml");
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::Io);
        CHECK_THAT(r.error().message, Catch::Contains("/nonexistent/schema.rng"));
    }
    SECTION("a schema that does not compile is an internal error") {
        TempDir dir;
        test::write_file(dir / "bad.rng", "<grammar xmlns=\"http://relaxng.org/ns/structure/1.0\"><start>"
                                          "<ref name=\"undefined\"/></start></grammar>");
        auto doc = parse_xml("<a/>", "a.xml");
        REQUIRE(doc);
        const std::string err = capture_stderr([&] {
            auto r = validate_relaxng(*doc, dir / "bad.rng", "a.xml");
            REQUIRE_FALSE(r);
            CHECK(r.error().code == ErrorCode::Internal);
            CHECK_THAT(r.error().message, Catch::Contains("bad.rng"));
        });
        CHECK(err.empty());
    }
}
