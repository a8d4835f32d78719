#include "store/blob_store.hpp"

#include "base/dir_handle.hpp"
#include "store/verification_record.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <fstream>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace appshare;
using namespace std::chrono_literals;

namespace {

std::span<const std::byte> bytes_of(const std::string& s)
{
    return std::as_bytes(std::span(s.data(), s.size()));
}

// A source that streams `content` in 64 KiB pieces and counts how often it was used.
BlobSource string_source(std::string name, std::shared_ptr<const std::string> content, int* uses)
{
    return BlobSource{std::move(name), [content, uses](const ByteSink& sink) -> Result<void> {
                          if (uses != nullptr) ++*uses;
                          for (std::size_t off = 0; off < content->size(); off += 65536) {
                              const auto piece = content->substr(off, 65536);
                              if (auto r = sink(bytes_of(piece)); !r) return r;
                          }
                          return ok();
                      }};
}

// A qcow2 image made by qemu-img in `dir` (over `backing`, if given) with some data in it, so
// it is more than a header: its bytes, and its spec with the digest from openssl.
std::pair<std::shared_ptr<const std::string>, BlobSpec> make_qcow2(const test::TempDir& dir, const std::string& name,
                                                                   const std::string& backing = "")
{
    const auto p = dir / name;
    std::vector<std::string> argv{"qemu-img", "create", "-q", "-f", "qcow2"};
    if (!backing.empty()) argv.insert(argv.end(), {"-b", backing, "-F", "qcow2"});
    argv.insert(argv.end(), {p.string(), "64M"});
    test::run_ok(argv);
    test::run_ok({"qemu-io", "-f", "qcow2", "-c", "write -P 0xab 0 1M", p.string()});
    auto bytes = std::make_shared<const std::string>(test::read_file(p));
    return {bytes, BlobSpec{test::openssl_sha256(p), "qcow2", "qcow2", bytes->size()}};
}

EnsureOptions quick_options(std::vector<std::string>* log = nullptr)
{
    EnsureOptions o;
    o.lock_wait = 2000ms;
    o.holder = LockHolder{"test-host", getpid(), "test", "test"};
    if (log != nullptr) o.log = [log](const std::string& l) { log->push_back(l); };
    return o;
}

std::size_t count_part_files(const std::filesystem::path& dir)
{
    std::size_t n = 0;
    for (const auto& e : std::filesystem::directory_iterator(dir)) {
        if (e.path().filename().string().find(".part-") != std::string::npos) ++n;
    }
    return n;
}

// Where most tests here start: a store in dir/shared, a qcow2 image, and a source of it that
// counts how often it was read.
struct StoreFixture {
    test::TempDir dir;
    std::shared_ptr<const std::string> image;
    BlobSpec spec;
    BlobStore store{dir / "shared"};
    int uses = 0;
    BlobSource good;

    StoreFixture()
    {
        std::tie(image, spec) = make_qcow2(dir, "src.qcow2");
        good = string_source("good source", image, &uses);
    }
};

}  // namespace

TEST_CASE_METHOD(StoreFixture, "blob store: lock-and-load publishes complete, verified, read-only files",
                 "[blob_store]")
{

    SECTION("absent: loaded once, 0444, with a record; then reused without reading the source") {
        auto r = store.ensure(spec, {good}, quick_options());
        REQUIRE(r);
        CHECK(r->action == EnsureOutcome::Action::Loaded);
        CHECK(r->source == "good source");
        CHECK(r->path == dir / "shared" / (spec.sha256 + ".qcow2"));
        CHECK(test::read_file(r->path) == *image);
        struct stat st {};
        REQUIRE(stat(r->path.c_str(), &st) == 0);
        CHECK((st.st_mode & 0777) == 0444);
        CHECK(store.record_of(spec).has_value());
        CHECK(store.is_verified(spec));

        auto again = store.ensure(spec, {good}, quick_options());
        REQUIRE(again);
        CHECK(again->action == EnsureOutcome::Action::Reused);
        CHECK(uses == 1);
    }
    SECTION("a source with the wrong content publishes nothing and the next source is used") {
        auto wrong = std::make_shared<const std::string>(*image + "x");
        auto r = store.ensure(spec, {string_source("wrong source", wrong, nullptr), good}, quick_options());
        REQUIRE(r);
        CHECK(r->source == "good source");
        CHECK(count_part_files(dir / "shared") == 0);
    }
    SECTION("no source works: LoadFailed naming each, nothing at the final name, no temporary files") {
        auto wrong = std::make_shared<const std::string>(image->substr(0, image->size() / 2));
        auto r = store.ensure(spec, {string_source("half source", wrong, nullptr)}, quick_options());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::LoadFailed);
        CHECK_THAT(r.error().message, Catch::Contains("half source"));
        CHECK_FALSE(std::filesystem::exists(store.path_of(spec)));
        CHECK(count_part_files(dir / "shared") == 0);
    }
    SECTION("a source failing mid-stream leaves nothing") {
        BlobSource failing{"failing source", [&](const ByteSink& sink) -> Result<void> {
                               if (auto r = sink(bytes_of(image->substr(0, 100000))); !r) return r;
                               return make_error(ErrorCode::Io, "connection reset");
                           }};
        auto r = store.ensure(spec, {failing}, quick_options());
        REQUIRE_FALSE(r);
        CHECK_THAT(r.error().message, Catch::Contains("connection reset"));
        CHECK_FALSE(std::filesystem::exists(store.path_of(spec)));
        CHECK(count_part_files(dir / "shared") == 0);
    }
    SECTION("one byte changed in the published file: detected and reloaded") {
        REQUIRE(store.ensure(spec, {good}, quick_options()));
        const auto p = store.path_of(spec);
        test::flip_byte(p, image->size() / 2);
        CHECK_FALSE(store.is_verified(spec));
        std::vector<std::string> log;
        auto r = store.ensure(spec, {good}, quick_options(&log));
        REQUIRE(r);
        CHECK(r->action == EnsureOutcome::Action::Loaded);
        CHECK(test::read_file(p) == *image);
        CHECK(uses == 2);
    }
    SECTION("truncated published file: detected and reloaded") {
        REQUIRE(store.ensure(spec, {good}, quick_options()));
        REQUIRE(truncate(store.path_of(spec).c_str(), 4096) == 0);
        auto r = store.ensure(spec, {good}, quick_options());
        REQUIRE(r);
        CHECK(r->action == EnsureOutcome::Action::Loaded);
        CHECK(test::read_file(store.path_of(spec)) == *image);
    }
    SECTION("record stale but content intact: re-hashed, not reloaded") {
        REQUIRE(store.ensure(spec, {good}, quick_options()));
        std::filesystem::remove(store.record_path_of(spec));
        auto r = store.ensure(spec, {good}, quick_options());
        REQUIRE(r);
        CHECK(r->action == EnsureOutcome::Action::Reverified);
        CHECK(uses == 1);
        CHECK(store.is_verified(spec));
    }
    SECTION("leftovers of a killed loader are removed by the next holder of the lock") {
        std::filesystem::create_directories(dir / "shared");
        test::write_file(dir / "shared" / ("." + spec.sha256 + ".qcow2.part-deadhost-1-0"), "partial");
        REQUIRE(store.ensure(spec, {good}, quick_options()));
        CHECK(count_part_files(dir / "shared") == 0);
    }
    SECTION("a symlink at the final name is replaced, never followed") {
        std::filesystem::create_directories(dir / "shared");
        std::filesystem::create_symlink(dir / "src.qcow2", store.path_of(spec));
        auto r = store.ensure(spec, {good}, quick_options());
        REQUIRE(r);
        CHECK(r->action == EnsureOutcome::Action::Loaded);
        CHECK_FALSE(std::filesystem::is_symlink(store.path_of(spec)));
    }
}

TEST_CASE_METHOD(StoreFixture, "blob store: a spec with the wrong size never deletes a healthy file", "[blob_store]")
{
    REQUIRE(store.ensure(spec, {good}, quick_options()));
    const auto p = store.path_of(spec);
    struct stat before {};
    REQUIRE(stat(p.c_str(), &before) == 0);
    BlobSpec lying = spec;
    lying.size = 1;

    const auto unchanged = [&] {
        struct stat after {};
        REQUIRE(stat(p.c_str(), &after) == 0);
        CHECK(after.st_ino == before.st_ino);
        CHECK(test::read_file(p) == *image);
        CHECK(store.is_verified(spec));
    };
    SECTION("with a valid verification record") {}
    SECTION("without one (a full re-hash shows the digest is right)") {
        std::filesystem::remove(store.record_path_of(spec));
    }
    std::vector<std::string> log;
    auto r = store.ensure(lying, {good}, quick_options(&log));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::BadManifest);
    CHECK_THAT(r.error().message, Catch::Contains("size"));
    CHECK(uses == 1);
    auto c = store.check(lying, quick_options(&log));
    REQUIRE_FALSE(c);
    CHECK(c.error().code == ErrorCode::BadManifest);
    CHECK_FALSE(store.is_verified(lying));
    // The true spec still finds the file, without loading it again.
    auto fine = store.ensure(spec, {good}, quick_options());
    REQUIRE(fine);
    CHECK(fine->action != EnsureOutcome::Action::Loaded);
    CHECK(uses == 1);
    unchanged();
}

TEST_CASE("blob store refuses unsafe images even with the right digest", "[blob_store]")
{
    test::TempDir dir;
    make_qcow2(dir, "parent.qcow2");
    const auto [child, spec] = make_qcow2(dir, "child.qcow2", (dir / "parent.qcow2").string());
    const BlobStore store(dir / "shared");
    auto r = store.ensure(spec, {string_source("bundle", child, nullptr)}, quick_options());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::LoadFailed);
    CHECK_THAT(r.error().message, Catch::Contains("backing file"));
    CHECK_FALSE(std::filesystem::exists(store.path_of(spec)));
}

TEST_CASE_METHOD(StoreFixture, "blob store: the load is done once while others wait on the lock", "[blob_store]")
{

    // Four processes race; each appends a line to a file when it actually copied.
    const auto copies = dir / "copies";
    std::vector<pid_t> kids;
    for (int i = 0; i < 4; ++i) {
        const pid_t pid = fork();
        REQUIRE(pid >= 0);
        if (pid == 0) {
            BlobSource slow{"slow", [&](const ByteSink& sink) -> Result<void> {
                                std::ofstream(copies, std::ios::app) << getpid() << "\n";
                                usleep(200000);
                                return sink(bytes_of(*image));
                            }};
            auto r = store.ensure(spec, {slow}, quick_options());
            _exit(r ? 0 : 1);
        }
        kids.push_back(pid);
    }
    for (pid_t k : kids) {
        int status = 0;
        waitpid(k, &status, 0);
        CHECK(WIFEXITED(status));
        CHECK(WEXITSTATUS(status) == 0);
    }
    const auto lines = test::read_file(copies);
    CHECK(std::count(lines.begin(), lines.end(), '\n') == 1);
    CHECK(store.is_verified(spec));
}

// Issue 10: what a writer of the shared storage can put there must not make the root-run
// loader hang, read devices, follow links, or accept a changed base.
namespace {

// The shared store as a host sees it: files on shared storage, records on this host.
struct SharedFixture : StoreFixture {
    BlobStore shared{dir / "shared", dir / "local" / "verified-shared"};
    std::filesystem::path base() const { return shared.path_of(spec); }
    std::filesystem::path lock() const { return shared.lock_path_of(spec); }
};

// Changes one byte of a published file in place and puts size and mtime back, as a writer
// who wants the change to go unnoticed would.
void edit_in_place_keeping_mtime(const std::filesystem::path& file, std::uint64_t offset)
{
    struct stat before {};
    REQUIRE(::stat(file.c_str(), &before) == 0);
    REQUIRE(::chmod(file.c_str(), 0644) == 0);
    test::flip_byte(file, offset);
    REQUIRE(::chmod(file.c_str(), before.st_mode & 07777) == 0);
    const struct timespec times[2] = {before.st_atim, before.st_mtim};
    REQUIRE(::utimensat(AT_FDCWD, file.c_str(), times, 0) == 0);
    struct stat after {};
    REQUIRE(::stat(file.c_str(), &after) == 0);
    REQUIRE(after.st_size == before.st_size);
    REQUIRE(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
}

}  // namespace

TEST_CASE_METHOD(SharedFixture, "blob store: records live on this host, not next to the shared file", "[blob_store][untrusted]")
{
    REQUIRE(shared.ensure(spec, {good}, quick_options()));
    CHECK(std::filesystem::exists(dir / "local" / "verified-shared" / (spec.sha256 + ".qcow2.verified")));
    CHECK_FALSE(std::filesystem::exists(base().string() + ".verified"));
    struct stat st {};
    REQUIRE(::stat((dir / "local" / "verified-shared").c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0700);
    REQUIRE(::stat(shared.record_path_of(spec).c_str(), &st) == 0);
    CHECK((st.st_mode & 07777) == 0600);

    SECTION("a record forged next to the file for a changed base is not trusted") {
        edit_in_place_keeping_mtime(base(), 70000);
        std::filesystem::remove(shared.record_path_of(spec));
        struct stat now {};
        REQUIRE(::stat(base().c_str(), &now) == 0);
        const BlobStore forged_here(dir / "shared");  // a store that would read records there
        auto forged = DirHandle::open(dir / "shared");
        REQUIRE(forged);
        REQUIRE(write_record(*forged, spec.sha256 + ".qcow2", make_record(now, spec.sha256)));
        REQUIRE(forged_here.is_verified(spec));  // what trusting it would have meant
        CHECK_FALSE(shared.is_verified(spec));
        std::vector<std::string> log;
        auto r = shared.ensure(spec, {good}, quick_options(&log));
        REQUIRE(r);
        CHECK(r->action == EnsureOutcome::Action::Loaded);  // the damage was found by hashing
        CHECK(test::read_file(base()) == *image);
    }
}

TEST_CASE_METHOD(SharedFixture, "blob store: an in-place edit that restores size and mtime is found", "[blob_store][untrusted]")
{
    REQUIRE(shared.ensure(spec, {good}, quick_options()));
    REQUIRE(shared.is_verified(spec));
    edit_in_place_keeping_mtime(base(), 70000);
    CHECK_FALSE(shared.is_verified(spec));
    std::vector<std::string> log;
    auto r = shared.ensure(spec, {good}, quick_options(&log));
    REQUIRE(r);
    CHECK(r->action == EnsureOutcome::Action::Loaded);
    CHECK(uses == 2);
    CHECK(test::read_file(base()) == *image);
    CHECK(std::any_of(log.begin(), log.end(), [](const std::string& l) { return test::has(l, "changed since this host verified it"); }));
}

TEST_CASE_METHOD(SharedFixture, "blob store: FIFOs, devices and links at its names never block or get followed",
                 "[blob_store][untrusted]")
{
    REQUIRE(shared.ensure(spec, {good}, quick_options()));
    const auto record = shared.record_path_of(spec);
    const auto started = std::chrono::steady_clock::now();

    SECTION("a FIFO as the record: re-hashed, not waited on") {
        std::filesystem::remove(record);
        REQUIRE(::mkfifo(record.c_str(), 0600) == 0);
        auto r = shared.ensure(spec, {good}, quick_options());
        REQUIRE(r);
        CHECK(r->action != EnsureOutcome::Action::Loaded);
    }
    SECTION("a link to /dev/zero as the record: not read") {
        std::filesystem::remove(record);
        std::filesystem::create_symlink("/dev/zero", record);
        auto r = shared.ensure(spec, {good}, quick_options());
        REQUIRE(r);
    }
    SECTION("a device as the record: not read") {
        std::filesystem::remove(record);
        REQUIRE(::mknod(record.c_str(), S_IFCHR | 0600, makedev(1, 5)) == 0);
        auto r = shared.ensure(spec, {good}, quick_options());
        REQUIRE(r);
    }
    SECTION("a FIFO as the base: removed and loaded again") {
        std::filesystem::remove(base());
        REQUIRE(::mkfifo(base().c_str(), 0600) == 0);
        auto r = shared.ensure(spec, {good}, quick_options());
        REQUIRE(r);
        CHECK(r->action == EnsureOutcome::Action::Loaded);
        CHECK(test::read_file(base()) == *image);
    }
    SECTION("a link as the base: the link is removed, its target untouched") {
        test::write_file(dir / "precious", "not yours");
        std::filesystem::remove(base());
        std::filesystem::create_symlink(dir / "precious", base());
        auto r = shared.ensure(spec, {good}, quick_options());
        REQUIRE(r);
        CHECK(r->action == EnsureOutcome::Action::Loaded);
        CHECK(test::read_file(dir / "precious") == "not yours");
    }
    SECTION("a FIFO as the lock file: refused at once") {
        std::filesystem::remove(lock());
        REQUIRE(::mkfifo(lock().c_str(), 0600) == 0);
        auto r = shared.ensure(spec, {good}, quick_options());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
    }
    SECTION("a device as the lock file: refused") {
        std::filesystem::remove(lock());
        REQUIRE(::mknod(lock().c_str(), S_IFCHR | 0600, makedev(1, 3)) == 0);  // like /dev/null
        auto r = shared.ensure(spec, {good}, quick_options());
        REQUIRE_FALSE(r);
        CHECK(r.error().code == ErrorCode::UnsafePath);
    }
    CHECK(std::chrono::steady_clock::now() - started < 20s);
}

TEST_CASE_METHOD(SharedFixture, "blob store: a shared folder replaced by a link is refused, not followed",
                 "[blob_store][untrusted]")
{
    std::filesystem::create_directories(dir / "elsewhere");
    std::filesystem::create_directory_symlink(dir / "elsewhere", dir / "shared");
    auto r = shared.ensure(spec, {good}, quick_options());
    REQUIRE_FALSE(r);
    CHECK(r.error().code == ErrorCode::UnsafePath);
    CHECK(std::filesystem::is_empty(dir / "elsewhere"));
    CHECK(uses == 0);
}

TEST_CASE_METHOD(SharedFixture, "blob store: a base libvirt relabelled for an older definition is given back to root",
                 "[blob_store][untrusted]")
{
    REQUIRE(shared.ensure(spec, {good}, quick_options()));
    REQUIRE(::chown(base().c_str(), 64055, 107) == 0);  // libvirt-qemu:kvm, as libvirt's DAC driver leaves it
    REQUIRE(::chmod(base().c_str(), 0644) == 0);

    SECTION("found changed: re-hashed, then handed back") {}
    SECTION("recorded that way by an earlier check: handed back without a re-hash") {
        struct stat now {};
        REQUIRE(::stat(base().c_str(), &now) == 0);
        auto records = DirHandle::open(shared.records_dir());
        REQUIRE(records);
        REQUIRE(write_record(*records, spec.sha256 + ".qcow2", make_record(now, spec.sha256)));
    }
    std::vector<std::string> log;
    auto r = shared.ensure(spec, {good}, quick_options(&log));
    REQUIRE(r);
    CHECK(r->action != EnsureOutcome::Action::Loaded);
    struct stat st {};
    REQUIRE(::stat(base().c_str(), &st) == 0);
    CHECK(st.st_uid == 0);
    CHECK(st.st_gid == 0);
    CHECK((st.st_mode & 07777) == 0444);
    CHECK(std::any_of(log.begin(), log.end(), [](const std::string& l) { return test::has(l, "back to root"); }));
    CHECK(shared.is_verified(spec));  // the record follows the change it made
}
