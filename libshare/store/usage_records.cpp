#include "store/usage_records.hpp"

#include "base/atomic_file.hpp"
#include "base/dir_handle.hpp"
#include "base/host_identity.hpp"
#include "base/json_text.hpp"
#include "base/sha256.hpp"
#include "base/text.hpp"
#include "base/time_format.hpp"

#include <algorithm>
#include <cstring>
#include <tuple>

#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

constexpr std::size_t kMaxRecordBytes = 64 * 1024;

std::filesystem::path base_dir(const std::filesystem::path& shared_root, std::string_view sha)
{
    return shared_root / "usage" / std::string(sha);
}

std::filesystem::path record_file(const std::filesystem::path& shared_root, std::string_view sha, std::string_view host,
                                  std::string_view domain)
{
    return base_dir(shared_root, sha) / (std::string(host) + "@" + std::string(domain) + ".json");
}

bool plain(std::string_view name) { return is_plain_name(name, kMaxRecordedNameBytes); }

// Why `j` (read from `file` in the directory of base `sha`) is not a valid record; empty if it is.
std::string check_record(const std::filesystem::path& file, const std::string& sha, const nlohmann::json& j,
                         UsageRecord& r)
{
    r.host = json_string(j, "host");
    r.domain = json_string(j, "domain");
    r.base_sha256 = json_string(j, "base");
    r.mode = json_string(j, "mode");
    r.path = json_string(j, "path");
    r.since = json_string(j, "since");
    r.state = j.contains("state") ? json_string(j, "state") : std::string("running");
    r.machine_id = json_string(j, "machine_id");
    r.uuid = json_string(j, "uuid");
    if (!plain(r.host) || !plain(r.domain)) return "its host or domain is not a plain name";
    if (file.filename() != r.host + "@" + r.domain + ".json") return "its name does not match its host and domain";
    if (r.base_sha256 != sha) return "it names another base than its directory";
    if (r.mode != "shared" && r.mode != "independent") return "its mode is neither shared nor independent";
    if (r.state != "running" && r.state != "stopped") return "its state is neither running nor stopped";
    if (!r.path.is_absolute() || printable_message(r.path.string()) != r.path.string()) return "its path is not an absolute, printable path";
    if (!parse_utc_timestamp(r.since)) return "its 'since' is not a UTC timestamp";
    if (!r.machine_id.empty() && !is_machine_id(r.machine_id)) return "its machine id is malformed";
    if (!r.uuid.empty() && !is_domain_uuid(r.uuid)) return "its domain UUID is malformed";
    if (!j.contains("boot")) {
        r.boot_sha256.reset();
        return {};
    }
    const auto& boot = j["boot"];
    if (!boot.is_array() || boot.size() > 2) return "its boot files are not a list of digests";
    r.boot_sha256.emplace();
    for (const auto& b : boot) {
        if (!b.is_string() || !is_sha256_digest(b.get<std::string>())) return "its boot files are not a list of digests";
        r.boot_sha256->push_back(b.get<std::string>());
    }
    return {};
}

}  // namespace

std::filesystem::path usage_record_path(const std::filesystem::path& shared_root, const UsageRecord& record)
{
    return record_file(shared_root, record.base_sha256, record.host, record.domain);
}

Result<void> write_usage_record(const std::filesystem::path& shared_root, const UsageRecord& record)
{
    if (!is_sha256_digest(record.base_sha256)) {
        return make_error(ErrorCode::Internal, "usage record with an invalid base digest " + quoted_value(record.base_sha256) + ".");
    }
    if (!plain(record.host) || !plain(record.domain)) {
        return make_error(ErrorCode::UnsafePath, "cannot record that domain " + quoted_value(record.domain) + " on host " +
                                                     quoted_value(record.host) +
                                                     " uses a base: host and domain names on shared storage must be plain (letters, digits, '.', '_', '-'); give the host such a name.");
    }
    if (auto d = make_dirs(base_dir(shared_root, record.base_sha256)); !d) return d;
    nlohmann::json j = {{"host", record.host},   {"domain", record.domain},         {"base", record.base_sha256},
                        {"mode", record.mode},   {"path", record.path.string()},    {"since", record.since},
                        {"state", record.state}, {"machine_id", record.machine_id}};
    if (record.boot_sha256) j["boot"] = *record.boot_sha256;
    if (!record.uuid.empty()) j["uuid"] = record.uuid;
    return write_file_atomic(usage_record_path(shared_root, record), json_text(j) + "\n", 0644);
}

Result<void> remove_usage_record(const std::filesystem::path& shared_root, std::string_view base_sha256,
                                 std::string_view host, std::string_view domain)
{
    if (!is_sha256_digest(base_sha256) || !plain(host) || !plain(domain)) return ok();  // never written
    const auto file = record_file(shared_root, base_sha256, host, domain);
    return remove_no_links(file);
}

UsageScan scan_usage_records(const std::filesystem::path& shared_root, std::string_view base_sha256)
{
    UsageScan out;
    RecordDirScan& scan = out.dir;
    std::vector<std::filesystem::path> dirs;
    const auto usage = shared_root / "usage";
    const auto names = list_no_links(usage);
    if (!names) {
        scan.complete = false;
        scan.skipped.push_back(printable(usage.string()) + ": cannot be read (" + message_clause(names.error().message) + ")");
    }
    for (const auto& sha : names && *names ? **names : std::vector<std::string>{}) {
        if (!is_sha256_digest(sha) || (!base_sha256.empty() && sha != base_sha256)) continue;
        const auto st = stat_no_links(usage / sha);
        if (!st || !*st || !S_ISDIR((*st)->st_mode)) {
            scan.skipped.push_back(printable((usage / sha).string()) + ": is not a directory");
            continue;
        }
        dirs.push_back(usage / sha);
    }
    for (const auto& dir : dirs) {
        const std::string sha = dir.filename().string();
        scan_json_records(dir, kMaxRecordBytes, scan, [&](const std::filesystem::path& file, const nlohmann::json& j) {
            UsageRecord r;
            auto why = check_record(file, sha, j, r);
            if (why.empty()) out.records.push_back(std::move(r));
            return why;
        });
    }
    std::sort(out.records.begin(), out.records.end(), [](const UsageRecord& a, const UsageRecord& b) {
        return std::tie(a.base_sha256, a.host, a.domain) < std::tie(b.base_sha256, b.host, b.domain);
    });
    return out;
}

std::vector<UsageRecord> list_usage_records(const std::filesystem::path& shared_root, std::string_view base_sha256)
{
    return scan_usage_records(shared_root, base_sha256).records;
}

}  // namespace appshare
