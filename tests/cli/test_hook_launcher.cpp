// The startup binary as libvirt runs it: pass-through calls must not load appshare's library
// (and its dependencies): every start of every domain on the host pays for them otherwise.
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace appshare::test;

namespace {

struct HookRun {
    int status;
    std::string out;
    std::string loader_trace;
};

// Runs the built hook with `xml` on stdin and the dynamic loader tracing which libraries it loads.
HookRun run_hook(const std::vector<std::string>& args, const std::string& xml)
{
    TempDir dir;
    write_file(dir / "in.xml", xml);
    std::string cmd = "LD_DEBUG=libs LD_DEBUG_OUTPUT='" + (dir / "ld").string() + "' '" + hook_bin().string() + "'";
    for (const auto& a : args) cmd += " '" + a + "'";
    cmd += " <'" + (dir / "in.xml").string() + "' >'" + (dir / "out").string() + "' 2>/dev/null";
    const auto r = run({"sh", "-c", cmd});
    std::string trace;
    for (const auto& e : std::filesystem::directory_iterator(dir.path())) {
        if (e.path().filename().string().rfind("ld.", 0) == 0) trace += read_file(e.path());
    }
    return {r.status, read_file(dir / "out"), trace};
}

const std::string kForeign = "<domain type='qemu'><name>other</name><metadata><x:y xmlns:x='urn:other'/></metadata></domain>";
const std::string kOurs =
    "<domain type='qemu'><name>ours</name><metadata><appshare:instance xmlns:appshare='urn:appshare:domain:1'/>"
    "</metadata></domain>";

}  // namespace

TEST_CASE("the startup binary passes other domains through without loading appshare's library", "[hook_launcher]")
{
    SECTION("prepare of a domain without appshare metadata") {
        const auto r = run_hook({"other", "prepare", "begin", "-"}, kForeign);
        CHECK(r.status == 0);
        CHECK(r.out.empty());
        CHECK_THAT(r.loader_trace, !Catch::Contains("libappshare-core") && !Catch::Contains("libxml2"));
        CHECK_THAT(r.loader_trace, Catch::Contains("libc.so"));  // the trace itself works
    }
    SECTION("operations the hook does not handle") {
        const auto r = run_hook({"ours", "stopped", "end", "-"}, kOurs);
        CHECK(r.status == 0);
        CHECK(r.out.empty());
        CHECK_THAT(r.loader_trace, !Catch::Contains("libappshare-core"));
    }
    SECTION("migrate prints the XML back unchanged") {
        const auto r = run_hook({"other", "migrate", "begin", "-"}, kForeign);
        CHECK(r.status == 0);
        CHECK(r.out == kForeign);
        CHECK_THAT(r.loader_trace, !Catch::Contains("libappshare-core"));
    }
    SECTION("an incoming migration of an appshare domain loads the library, which may refuse it") {
        const auto r = run_hook({"ours", "migrate", "begin", "-"}, kOurs);
        CHECK_THAT(r.loader_trace, Catch::Contains("libappshare-core"));
        CHECK(r.status != 0);
        CHECK(r.out.empty());  // no XML: libvirt aborts the migration
    }
    SECTION("an appshare domain does load the library") {
        // Malformed appshare metadata: the library is loaded, reads it and refuses the start.
        const auto r = run_hook({"ours", "prepare", "begin", "-"}, kOurs);
        CHECK_THAT(r.loader_trace, Catch::Contains("libappshare-core"));
        CHECK(r.status != 0);
    }
}
