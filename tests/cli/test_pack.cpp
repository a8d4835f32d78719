// `appshare pack` as a user runs it: images made by qemu-img here (self-contained, a backing
// chain, raw), refusals, and the packed bundle passing `appshare verify`.
#include "support/cli_run.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>

using namespace appshare::test;

namespace {

// Writes `text` at guest offset `offset` of image `img` (format `fmt`) through qemu-io.
void write_pattern(const std::filesystem::path& img, const std::string& fmt, int pattern, const std::string& offset)
{
    run_ok({"qemu-io", "-f", fmt, "-c", "write -P " + std::to_string(pattern) + " " + offset + " 64k", img.string()});
}

// What the guest sees at `offset` of a packed bundle's base (the byte pattern written there).
std::string read_back(const std::filesystem::path& img, int pattern, const std::string& offset)
{
    return run({"qemu-io", "-f", "qcow2", "-c", "read -P " + std::to_string(pattern) + " " + offset + " 64k",
                img.string()})
        .output;
}

std::vector<std::string> pack_args(const std::filesystem::path& image, const std::filesystem::path& out)
{
    return {image.string(), "--name", "packed", "--version", "2.0", "-o", out.string(), "--memory", "512M"};
}

void require_verifies(const std::filesystem::path& bundle)
{
    const auto v = run_cli("verify", {"--json", bundle.string()});
    INFO(v.err << v.out);
    REQUIRE(v.status == 0);
    const auto j = nlohmann::json::parse(v.out);
    CHECK(j["valid"] == true);
    CHECK(j["base"]["format"] == "qcow2");
}

void require_refused(const CliResult& r, int status, const std::string& needle, const std::filesystem::path& dir)
{
    INFO("stderr: " << r.err);
    CHECK(r.status == status);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
    CHECK_THAT(r.err, Catch::StartsWith("appshare: ") && Catch::Contains(needle));
    // Nothing half-made beside the output.
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        CHECK_THAT(e.path().filename().string(), !Catch::Contains(".part"));
        CHECK_THAT(e.path().filename().string(), !Catch::StartsWith("out"));
    }
}

}  // namespace

TEST_CASE("appshare pack makes a verified bundle from a self-contained qcow2", "[cli][pack]")
{
    TempDir dir;
    const auto img = dir / "disk.qcow2";
    run_ok({"qemu-img", "create", "-q", "-f", "qcow2", img.string(), "64M"});
    write_pattern(img, "qcow2", 0x5a, "1M");

    SECTION("into a directory, with boot files and user-data") {
        write_file(dir / "vmlinuz", "kernel bytes");
        write_file(dir / "initrd", "initrd bytes");
        write_file(dir / "user-data", "#cloud-config\nruncmd: [echo hi]\n");
        auto args = pack_args(img, dir / "out");
        for (const std::string& a : std::vector<std::string>{"--kernel", (dir / "vmlinuz").string(), "--initrd", (dir / "initrd").string(),
                                    "--cmdline", "console=ttyS0 root=/dev/vda", "--user-data",
                                    (dir / "user-data").string(), "--description", "R&D <appliance>", "--json"}) {
            args.push_back(a);
        }
        const auto r = run_cli("pack", args);
        INFO(r.err << r.out);
        REQUIRE(r.status == 0);
        const auto j = nlohmann::json::parse(r.out);
        CHECK(j["name"] == "packed");
        CHECK(j["version"] == "2.0");
        CHECK(j["description"] == "R&D <appliance>");
        CHECK(j["memory_bytes"] == 512 * 1024 * 1024);
        CHECK(j["base"]["virtual_size"] == 64 * 1024 * 1024);
        CHECK(j["base"]["sha256"] == openssl_sha256(dir / "out/images/base.qcow2"));
        // A self-contained qcow2 is copied as it is.
        CHECK(openssl_sha256(img) == openssl_sha256(dir / "out/images/base.qcow2"));
        CHECK(j["kernel"]["sha256"] == openssl_sha256(dir / "vmlinuz"));
        CHECK(j["user_data"]["path"] == "cloud-init/user-data");
        CHECK(read_file(dir / "out/cloud-init/user-data") == read_file(dir / "user-data"));
        const auto manifest = read_file(dir / "out/appliance.xml");
        CHECK_THAT(manifest, Catch::Contains("<cloud-init>") && Catch::Contains("<user-data path=\"cloud-init/user-data\">") &&
                                 Catch::Contains("<cmdline>console=ttyS0 root=/dev/vda</cmdline>"));
        require_verifies(dir / "out");
    }
    SECTION("into a tar.xz archive") {
        const auto r = run_cli("pack", pack_args(img, dir / "out.tar.xz"));
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK_THAT(r.out, Catch::Contains("is valid"));
        CHECK(run_ok({"sh", "-c", "xz -dc '" + (dir / "out.tar.xz").string() + "' | tar -t"}) ==
              "appliance.xml\nimages/base.qcow2\n");
        require_verifies(dir / "out.tar.xz");
        const auto left = run_ok({"ls", "-A", dir.path().string()});
        CHECK_THAT(left, !Catch::Contains(".part"));
    }
}

TEST_CASE("appshare pack flattens a backing chain and converts a raw image", "[cli][pack]")
{
    TempDir dir;
    SECTION("a 2-level chain, the backing named relatively") {
        const auto bottom = dir / "bottom.qcow2";
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", bottom.string(), "32M"});
        write_pattern(bottom, "qcow2", 0x11, "0");
        write_pattern(bottom, "qcow2", 0x22, "4M");
        run_ok({"sh", "-c", "cd '" + dir.path().string() + "' && qemu-img create -q -f qcow2 -b bottom.qcow2 -F qcow2 top.qcow2"});
        write_pattern(dir / "top.qcow2", "qcow2", 0x33, "4M");
        const auto r = run_cli("pack", pack_args(dir / "top.qcow2", dir / "out"));
        INFO(r.err);
        REQUIRE(r.status == 0);
        const auto base = dir / "out/images/base.qcow2";
        CHECK_THAT(run_ok({"qemu-img", "info", "--output=json", base.string()}), !Catch::Contains("backing"));
        CHECK_THAT(read_back(base, 0x11, "0"), !Catch::Contains("Pattern verification failed"));
        CHECK_THAT(read_back(base, 0x33, "4M"), !Catch::Contains("Pattern verification failed"));
        CHECK_THAT(read_back(base, 0x22, "4M"), Catch::Contains("Pattern verification failed"));
        require_verifies(dir / "out");
    }
    SECTION("a raw image, declared raw") {
        const auto raw = dir / "disk.raw";
        run_ok({"qemu-img", "create", "-q", "-f", "raw", raw.string(), "16M"});
        write_pattern(raw, "raw", 0x44, "8M");
        auto args = pack_args(raw, dir / "out");
        args.insert(args.end(), {"--format", "raw"});
        const auto r = run_cli("pack", args);
        INFO(r.err);
        REQUIRE(r.status == 0);
        CHECK_THAT(read_back(dir / "out/images/base.qcow2", 0x44, "8M"), !Catch::Contains("Pattern verification failed"));
        require_verifies(dir / "out");
    }
}

TEST_CASE("appshare pack refuses what it cannot pack safely, leaving nothing behind", "[cli][pack]")
{
    TempDir dir;
    const auto img = dir / "disk.qcow2";
    SECTION("an external data file") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-o", "data_file=" + (dir / "data.raw").string(),
                img.string(), "16M"});
        require_refused(run_cli("pack", pack_args(img, dir / "out")), 6, "external data file", dir.path());
    }
    SECTION("a backing file without a recorded format") {
        run_ok({"qemu-img", "create", "-q", "-f", "raw", (dir / "b.raw").string(), "16M"});
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-b", (dir / "b.raw").string(), "-F", "raw", img.string()});
        // qemu-img no longer writes such a header: end the header extensions where the
        // backing-format extension (0xe2792aca) starts, as an older qemu-img left it.
        auto bytes = file_bytes(img);
        const std::string magic = "\xe2\x79\x2a\xca";
        const auto at = std::search(bytes.begin(), bytes.begin() + 4096, magic.begin(), magic.end(),
                                    [](std::byte b, char c) { return b == static_cast<std::byte>(c); });
        REQUIRE(at != bytes.begin() + 4096);
        std::fill(at, at + 4, std::byte{0});
        write_bytes(img, bytes);
        require_refused(run_cli("pack", pack_args(img, dir / "out")), 6, "records no format", dir.path());
    }
    SECTION("a backing file that is a protocol, not a file") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", img.string(), "16M"});
        run_ok({"qemu-img", "rebase", "-u", "-f", "qcow2", "-b", "nbd:localhost:10809", "-F", "raw", img.string()});
        require_refused(run_cli("pack", pack_args(img, dir / "out")), 6, "protocol", dir.path());
    }
    SECTION("a raw backing file that holds a qcow2 header") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", (dir / "sneaky").string(), "16M"});
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", "-b", (dir / "sneaky").string(), "-F", "raw", "-u",
                img.string(), "16M"});
        require_refused(run_cli("pack", pack_args(img, dir / "out")), 6, "qcow2", dir.path());
    }
    SECTION("a raw image declared as qcow2") {
        write_file(img, std::string(1 << 20, 'x'));
        require_refused(run_cli("pack", pack_args(img, dir / "out")), 6, "raw", dir.path());
    }
    SECTION("a bad appliance name") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", img.string(), "16M"});
        auto args = pack_args(img, dir / "out");
        args[2] = "../evil name";
        require_refused(run_cli("pack", args), 3, "name", dir.path());
    }
    SECTION("an output that exists") {
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", img.string(), "16M"});
        std::filesystem::create_directory(dir / "existing");
        const auto r = run_cli("pack", pack_args(img, dir / "existing"));
        INFO(r.err);
        CHECK(r.status == 10);
        CHECK_THAT(r.err, Catch::Contains("already exists"));
    }
}
