// Fuzz target: the JSON records every host writes on the shared storage and every host reads
// (store/json_records.hpp): a usage record (store/usage_records.hpp) and a hosts-registry record
// (store/host_registry.hpp). Whoever can write the shared storage controls them. The input is
// written as both files in a scratch shared root, and both are scanned as `list --all-hosts` and
// `gc` scan them: a record is either accepted with the names its file says, or skipped with a
// printable reason.
#include "fuzz_support.hpp"
#include "store/host_registry.hpp"
#include "store/usage_records.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <span>
#include <string>

namespace {

namespace fs = std::filesystem;

const std::string kBase(64, 'a');

// One scratch shared root per process, removed at exit. The exit handler is registered once
// `root` is made, so it runs before `root` is destroyed (registered inside its initialiser, it
// ran after, on an empty path, and every run left its folder in TMPDIR).
const fs::path& scratch_root()
{
    static const fs::path root = [] {
        std::string pattern = (fs::temp_directory_path() / "appshare-fuzz-records.XXXXXX").string();
        if (!mkdtemp(pattern.data())) std::abort();
        fs::create_directories(fs::path(pattern) / "usage" / kBase);
        fs::create_directories(fs::path(pattern) / "hosts");
        return fs::path(pattern);
    }();
    static const bool removed_at_exit = std::atexit([] {
        std::error_code ec;
        fs::remove_all(root, ec);
    }) == 0;
    (void)removed_at_exit;
    return root;
}

void write_file(const fs::path& file, std::span<const std::uint8_t> data)
{
    std::ofstream out(file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data.data()), static_cast<std::streamsize>(data.size()));
    if (!out) std::abort();
}

void require_printable(const appshare::RecordDirScan& scan)
{
    for (const auto& why : scan.skipped)
        appshare::fuzz::require(!why.empty() && appshare::fuzz::is_printable_utf8(why),
                                "a skipped record's reason is empty or shows control characters from the file");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace appshare;
    const auto& root = scratch_root();
    write_file(root / "usage" / kBase / "h1@web1.json", {data, size});
    write_file(root / "hosts" / "h1.json", {data, size});

    const auto usage = scan_usage_records(root);
    require_printable(usage.dir);
    fuzz::require(usage.records.size() + usage.dir.skipped.size() == 1, "a usage record was neither accepted nor skipped");
    for (const auto& r : usage.records) {
        fuzz::require(r.host == "h1" && r.domain == "web1", "an accepted usage record names another host or domain than its file");
        fuzz::require(r.base_sha256 == kBase, "an accepted usage record names another base than its folder");
        fuzz::require(r.mode == "shared" || r.mode == "independent", "an accepted usage record has an unknown mode");
        fuzz::require(r.state == "running" || r.state == "stopped", "an accepted usage record has an unknown state");
        fuzz::require(fuzz::is_printable_utf8(r.path.string()) && fuzz::is_printable_utf8(r.since) &&
                          fuzz::is_printable_utf8(r.uuid) && fuzz::is_printable_utf8(r.machine_id),
                      "an accepted usage record carries control characters");
    }

    const auto hosts = scan_host_records(root);
    require_printable(hosts.dir);
    fuzz::require(hosts.hosts.size() + hosts.dir.skipped.size() == 1, "a host record was neither accepted nor skipped");
    for (const auto& h : hosts.hosts) {
        fuzz::require(h.name == "h1", "an accepted host record names another host than its file");
        fuzz::require(fuzz::is_printable_utf8(h.appshare_version) && fuzz::is_printable_utf8(h.last_seen) &&
                          fuzz::is_printable_utf8(h.machine_id),
                      "an accepted host record carries control characters");
    }
    return 0;
}
