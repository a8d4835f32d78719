#include "instance/cloud_init_seed.hpp"

#include "base/password_hash.hpp"
#include "support/result_checks.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <sys/stat.h>

using namespace appshare;
using namespace appshare::test;
namespace fs = std::filesystem;

namespace {

SshPublicKey key(const std::string& comment)
{
    // A syntactically real ed25519 key (type string + 32 bytes), made once by ssh-keygen.
    return SshPublicKey{"ssh-ed25519", "AAAAC3NzaC1lZDI1NTE5AAAAIGq6ZfQyQ1wXl1cP0x5VdZ0mOZ8mPqvC2b1n3Gf5pQm1", comment};
}

mode_t mode_of(const fs::path& p)
{
    struct stat st {};
    REQUIRE(::lstat(p.c_str(), &st) == 0);
    return st.st_mode & 07777;
}

}  // namespace

TEST_CASE("compose_seed: the merge rule", "[cloud_init_seed]")
{
    SeedRequest r;
    SECTION("nothing asked: no seed")
    {
        CHECK_FALSE(wants_seed(r));
    }
    SECTION("keys only: an empty cloud-config, identity and keys in meta-data")
    {
        r.ssh_keys = {key("alice"), key("bob \"quoted\"")};
        REQUIRE(wants_seed(r));
        auto f = compose_seed(r, "web1", "0f2c-uuid");
        REQUIRE(f);
        CHECK(f->user_data == "#cloud-config\n");
        CHECK(f->meta_data == "instance-id: \"0f2c-uuid\"\nlocal-hostname: \"web1\"\npublic-keys:\n"
                              "  - \"" + key("alice").line() + "\"\n"
                              "  - \"ssh-ed25519 " + key("").base64 + " bob \\\"quoted\\\"\"\n");
        CHECK_FALSE(f->network_config);
    }
    SECTION("user-data is taken as given; meta-data keys come first, appshare's after")
    {
        r.user_data = SeedInput{"#!/bin/sh\necho hi\n", "--user-data u"};
        r.meta_data = SeedInput{"availability-zone: a\nnested:\n  instance-id: fine-when-nested", "--meta-data m"};
        r.network_config = SeedInput{"version: 2\n", "--network-config n"};
        auto f = compose_seed(r, "web1", "id1");
        REQUIRE(f);
        CHECK(f->user_data == "#!/bin/sh\necho hi\n");
        CHECK(f->meta_data == "availability-zone: a\nnested:\n  instance-id: fine-when-nested\n"
                              "instance-id: \"id1\"\nlocal-hostname: \"web1\"\n");
        CHECK(f->network_config == "version: 2\n");
    }
    SECTION("a password: its hash alone, or a MIME multi-part with the user-data first")
    {
        auto hash = sha512_crypt("secret-pw");
        REQUIRE(hash);
        r.password_hash = *hash;
        auto alone = compose_seed(r, "h", "i");
        REQUIRE(alone);
        CHECK(alone->user_data.rfind("#cloud-config\n", 0) == 0);
        CHECK_THAT(alone->user_data, Catch::Contains("password: \"" + *hash + "\""));
        CHECK(alone->user_data.find("secret-pw") == std::string::npos);

        r.user_data = SeedInput{"#cloud-config\nruncmd:\n  - echo hi\n", "--user-data u"};
        auto mixed = compose_seed(r, "h", "i");
        REQUIRE(mixed);
        const auto& u = mixed->user_data;
        CHECK(u.rfind("Content-Type: multipart/mixed; boundary=", 0) == 0);
        const auto first = u.find("Content-Type: text/cloud-config");
        const auto user = u.find("runcmd:\n  - echo hi\n");
        const auto own = u.find("password: \"" + *hash);
        CHECK(first != std::string::npos);
        CHECK(user < own);
        CHECK(own != std::string::npos);

        r.user_data = SeedInput{"#!/bin/sh\necho hi\n", "--user-data u"};
        auto script = compose_seed(r, "h", "i");
        REQUIRE(script);
        CHECK_THAT(script->user_data, Catch::Contains("Content-Type: text/x-shellscript"));
    }
    SECTION("refusals name the input")
    {
        r.password_hash = "$6$x$y";
        r.user_data = SeedInput{"plain text\n", "--user-data u"};
        require_refused(compose_seed(r, "h", "i"), ErrorCode::Usage, {"--user-data u", "#cloud-config"});
        r = {};
        for (const char* bad : {"instance-id: mine\n", "a: 1\nlocal-hostname: x\n", "public-keys: []\n", "'instance-id': q\n"}) {
            r.meta_data = SeedInput{bad, "--meta-data m"};
            require_refused(compose_seed(r, "h", "i"), ErrorCode::Usage, {"--meta-data m", "which appshare sets itself"});
        }
        r.meta_data = SeedInput{"{\"a\": 1}", "--meta-data m"};
        require_refused(compose_seed(r, "h", "i"), ErrorCode::Usage, {"--meta-data m", "block mapping"});
        r = {};
        r.user_data = SeedInput{std::string(kMaxUserDataBytes + 1, 'x'), "--user-data big"};
        require_refused(compose_seed(r, "h", "i"), ErrorCode::Usage, {"--user-data big", "larger than 1024 KiB"});
        r.user_data = SeedInput{std::string("a\0b", 3), "--user-data nul"};
        require_refused(compose_seed(r, "h", "i"), ErrorCode::Usage, {"--user-data nul", "not text"});
    }
}

TEST_CASE("the seed in a context: private files, the ISO, and its remaking", "[cloud_init_seed]")
{
    TempDir root;
    const ContextLayout c = context_layout(root.path(), "vm1");
    fs::create_directories(c.dir);
    CHECK_FALSE(has_seed(c));
    auto none = read_seed(c);
    REQUIRE(none);
    CHECK_FALSE(*none);
    auto nothing = restore_seed_iso(c);
    REQUIRE(nothing);
    CHECK_FALSE(*nothing);
    CHECK_FALSE(fs::exists(c.seed_iso));

    SeedRequest r;
    r.ssh_keys = {key("alice")};
    r.user_data = SeedInput{"#cloud-config\nruncmd: [echo marker]\n", "u"};
    r.network_config = SeedInput{"version: 2\nethernets: {}\n", "n"};
    auto files = compose_seed(r, "vm1", "uuid-1");
    REQUIRE(files);
    REQUIRE(write_seed(c, *files));
    CHECK(has_seed(c));
    CHECK(mode_of(c.seed_dir) == 0700);
    for (const char* f : {"user-data", "meta-data", "network-config"}) CHECK(mode_of(c.seed_dir / f) == 0600);
    CHECK(mode_of(c.seed_iso) == 0600);

    const auto iso = c.seed_iso.string();
    CHECK_THAT(run_ok({"isoinfo", "-d", "-i", iso}), Catch::Contains("Volume id: cidata"));
    CHECK(run_ok({"isoinfo", "-R", "-x", "/user-data", "-i", iso}) == files->user_data);
    CHECK(run_ok({"isoinfo", "-R", "-x", "/meta-data", "-i", iso}) == files->meta_data);
    CHECK(run_ok({"isoinfo", "-R", "-x", "/network-config", "-i", iso}) == *files->network_config);

    auto back = read_seed(c);
    REQUIRE(back);
    REQUIRE(*back);
    CHECK((*back)->user_data == files->user_data);
    CHECK((*back)->meta_data == files->meta_data);
    CHECK((*back)->network_config == files->network_config);

    SECTION("a present ISO is left alone; a deleted one is made again, the same bytes")
    {
        const auto before = read_file(c.seed_iso);
        auto kept = restore_seed_iso(c);
        REQUIRE(kept);
        CHECK_FALSE(*kept);
        fs::remove(c.seed_iso);
        auto made = restore_seed_iso(c);
        REQUIRE(made);
        CHECK(*made);
        CHECK(mode_of(c.seed_iso) == 0600);
        CHECK(read_file(c.seed_iso) == before);
    }
    SECTION("a link at the ISO's name or in place of the seed's files is refused, never followed")
    {
        fs::remove(c.seed_iso);
        fs::create_symlink(root / "elsewhere.iso", c.seed_iso);
        require_refused(restore_seed_iso(c), ErrorCode::UnsafePath, {"seed.iso", "not a regular file"});
        CHECK_FALSE(fs::exists(root / "elsewhere.iso"));
        fs::remove(c.seed_iso);
        fs::remove(c.seed_dir / "user-data");
        write_file(root / "secret", "x");
        fs::create_symlink(root / "secret", c.seed_dir / "user-data");
        auto r2 = restore_seed_iso(c);
        REQUIRE_FALSE(r2);
        CHECK(r2.error().code == ErrorCode::UnsafePath);
        CHECK_FALSE(fs::exists(c.seed_iso));
    }
}
