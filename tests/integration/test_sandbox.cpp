// Runs inside scripts/libvirt-sandbox.sh: the private libvirtd answers at the default URI, and a
// throwaway TCG domain on a qcow2 overlay goes through define, start, destroy and undefine via
// libshare/virt, with libvirt's failures captured as Errors naming their object.
#include "support/sandbox.hpp"
#include "support/test_support.hpp"
#include "virt/connection.hpp"
#include "virt/domain.hpp"
#include "virt/libvirt_error.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <string>

#include <sys/stat.h>

namespace fs = std::filesystem;
using namespace appshare;
using namespace appshare::test;

namespace {

bool same_file(const fs::path& a, const fs::path& b)
{
    struct stat sa {};
    struct stat sb {};
    return ::stat(a.c_str(), &sa) == 0 && ::stat(b.c_str(), &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

// A small TCG guest: no network, no graphics, serial console to a file, one virtio disk.
std::string throwaway_domain_xml(const std::string& name, const fs::path& disk, const fs::path& console)
{
    return "<domain type='qemu'>\n"
           "  <name>" + name + "</name>\n"
           "  <memory unit='MiB'>64</memory>\n"
           "  <vcpu>1</vcpu>\n"
           "  <os><type arch='x86_64'>hvm</type></os>\n"
           "  <on_crash>destroy</on_crash>\n"
           "  <devices>\n"
           "    <disk type='file' device='disk'>\n"
           "      <driver name='qemu' type='qcow2'/>\n"
           "      <source file='" + disk.string() + "'/>\n"
           "      <target dev='vda' bus='virtio'/>\n"
           "    </disk>\n"
           "    <serial type='file'><source path='" + console.string() + "'/></serial>\n"
           "    <memballoon model='none'/>\n"
           "  </devices>\n"
           "</domain>\n";
}

bool listed(const Connection& conn, const std::string& name, DomainListFilter filter)
{
    Result<std::vector<Domain>> all = list_domains(conn, filter);
    REQUIRE(all.has_value());
    return std::any_of(all->begin(), all->end(), [&](const Domain& d) { return domain_name(d) == name; });
}

}  // namespace

TEST_CASE("the private libvirtd answers at the default URI", "[sandbox][virt][connection]")
{
    const fs::path sandbox = sandbox_dir();

    SECTION("the default URI is the sandbox's qemu:///system")
    {
        CHECK(env_text("LIBVIRT_DEFAULT_URI") == "qemu:///system");
        Connection conn = connect_sandbox();
        CHECK(connection_uri(conn) == "qemu:///system");
        Result<std::vector<Domain>> domains = list_domains(conn);
        REQUIRE(domains.has_value());
        CHECK(domains->empty());
    }

    SECTION("libvirt's folders are the sandbox's, hooks start empty")
    {
        CHECK(same_file("/var/lib/libvirt", sandbox / "lib"));
        CHECK(same_file("/etc/libvirt", sandbox / "etc"));
        CHECK(same_file("/run/libvirt", sandbox / "run"));
        CHECK(same_file("/var/log/libvirt", sandbox / "log"));
        REQUIRE(fs::is_directory("/etc/libvirt/hooks/qemu.d"));
        CHECK(fs::is_empty("/etc/libvirt/hooks/qemu.d"));
        CHECK_FALSE(fs::exists("/etc/libvirt/hooks/qemu"));
        CHECK(fs::is_directory("/var/lib/libvirt/images"));
    }
}

TEST_CASE("a throwaway domain on a qcow2 overlay is defined, started, destroyed and undefined",
          "[sandbox][virt][domain]")
{
    const fs::path sandbox = sandbox_dir();
    Connection conn = connect_sandbox();

    const std::string name = unique_name("appshare-test-lifecycle");
    const fs::path images = "/var/lib/libvirt/images";
    const fs::path base = images / (name + "-base.qcow2");
    const fs::path overlay = images / (name + ".qcow2");
    const fs::path console = sandbox / (name + "-console.log");
    run_ok({"qemu-img", "create", "-q", "-f", "qcow2", base.string(), "32M"});
    run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-F", "qcow2", "-b", base.string(), overlay.string()});
    REQUIRE(has(run_ok({"qemu-img", "info", overlay.string()}), "backing file: " + base.string()));

    Result<Domain> defined = define_domain(conn, throwaway_domain_xml(name, overlay, console));
    INFO((defined ? std::string() : defined.error().message));
    REQUIRE(defined.has_value());
    CHECK(domain_name(*defined) == name);

    Result<Domain> dom = lookup_domain(conn, name);
    REQUIRE(dom.has_value());
    Result<std::string> uuid = domain_uuid(*dom);
    REQUIRE(uuid.has_value());
    CHECK(uuid->size() == 36);
    CHECK(domain_state(*dom).value() == DomainState::ShutOff);
    CHECK(listed(conn, name, DomainListFilter::Inactive));
    CHECK_FALSE(listed(conn, name, DomainListFilter::Active));

    Result<void> started = start_domain(*dom);
    INFO((started ? std::string() : started.error().message));
    REQUIRE(started.has_value());
    CHECK(domain_state(*dom).value() == DomainState::Running);
    CHECK(listed(conn, name, DomainListFilter::Active));
    CHECK(fs::exists(console));

    // The live definition shows the disk chain libvirt opened: overlay on top of the base.
    const std::string live = domain_xml(*dom).value();
    CHECK(has(live, "<source file='" + overlay.string() + "'"));
    CHECK(has(live, "<source file='" + base.string() + "'"));

    REQUIRE(destroy_domain(*dom).has_value());
    CHECK(domain_state(*dom).value() == DomainState::ShutOff);

    REQUIRE(undefine_domain(*dom).has_value());
    Result<Domain> gone = lookup_domain(conn, name);
    REQUIRE_FALSE(gone.has_value());
    CHECK(gone.error().code == ErrorCode::NotFound);
    CHECK_FALSE(listed(conn, name, DomainListFilter::All));
    // A handle had before the domain went: operations on it are NotFound too, naming the domain.
    Result<std::string> stale = domain_xml(*dom, DomainXmlKind::Inactive);
    REQUIRE_FALSE(stale.has_value());
    CHECK(stale.error().code == ErrorCode::NotFound);
    CHECK(has(stale.error().message, "domain '" + name + "'"));
    CHECK(has(stale.error().message, "no longer exists"));
    // Undefining leaves the disk images alone.
    CHECK(fs::exists(overlay));
    CHECK(fs::exists(base));
}

TEST_CASE("libvirt failures come back as Errors naming their object", "[sandbox][virt][errors]")
{
    const fs::path sandbox = sandbox_dir();
    Connection conn = connect_sandbox();

    SECTION("looking up a missing domain is NotFound and names it")
    {
        const std::string name = unique_name("appshare-test-missing");
        Result<Domain> dom = lookup_domain(conn, name);
        REQUIRE_FALSE(dom.has_value());
        CHECK(dom.error().code == ErrorCode::NotFound);
        CHECK(has(dom.error().message, "'" + name + "'"));
        CHECK(has(dom.error().message, "qemu:///system"));
    }

    SECTION("an unreachable daemon is a Libvirt error naming the URI")
    {
        const std::string uri = "qemu:///system?socket=/nonexistent/appshare-test.sock";
        Result<Connection> bad = open_connection(uri);
        REQUIRE_FALSE(bad.has_value());
        CHECK(bad.error().code == ErrorCode::Libvirt);
        CHECK(has(bad.error().message, "cannot connect to libvirt at " + uri));
        CHECK(has(bad.error().message, "is libvirtd running"));
        // The hint is a question: the sentence ends with its question mark, not "?.".
        CHECK(bad.error().message.back() == '?');
        CHECK_FALSE(has(bad.error().message, "?."));
    }

    SECTION("invalid domain XML is refused with libvirt's reason")
    {
        Result<Domain> dom = define_domain(conn, "<domain type='qemu'><name>x</name><memory>nope</memory></domain>");
        REQUIRE_FALSE(dom.has_value());
        CHECK(dom.error().code == ErrorCode::Libvirt);
        CHECK(has(dom.error().message, "refused the domain XML"));
        CHECK(dom.error().message.size() > std::string("libvirt at qemu:///system refused the domain XML: ; ").size());
    }

    SECTION("stopping a domain that is not running names the domain")
    {
        // Never point a console at a device such as /dev/null: virtlogd replaces the file.
        const std::string name = unique_name("appshare-test-idle");
        Result<Domain> dom = define_domain(conn, throwaway_domain_xml(name, "/var/lib/libvirt/images/none.qcow2",
                                                                      sandbox / (name + "-console.log")));
        REQUIRE(dom.has_value());
        Result<void> stopped = destroy_domain(*dom);
        REQUIRE_FALSE(stopped.has_value());
        INFO(stopped.error().message);
        CHECK(stopped.error().code == ErrorCode::Libvirt);
        CHECK(has(stopped.error().message, "cannot stop domain '" + name + "'"));
        CHECK(has(stopped.error().message, "not running"));

        Result<void> started = start_domain(*dom);  // its disk does not exist
        REQUIRE_FALSE(started.has_value());
        INFO(started.error().message);
        CHECK(has(started.error().message, "cannot start domain '" + name + "'"));
        CHECK(has(started.error().message, "none.qcow2"));
        REQUIRE(undefine_domain(*dom).has_value());
    }
}
