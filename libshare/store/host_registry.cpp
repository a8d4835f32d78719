#include "store/host_registry.hpp"

#include "base/atomic_file.hpp"
#include "base/dir_handle.hpp"
#include "base/host_identity.hpp"
#include "base/installed_files.hpp"
#include "base/json_text.hpp"
#include "base/text.hpp"
#include "base/time_format.hpp"
#include "store/usage_records.hpp"

#include <algorithm>

#include <sys/stat.h>

namespace appshare {
namespace {

constexpr std::size_t kMaxHostRecordBytes = 16 * 1024;
constexpr std::size_t kMaxVersionBytes = 64;

std::filesystem::path hosts_dir(const std::filesystem::path& shared_root) { return shared_root / "hosts"; }

bool printable_ascii(std::string_view s)
{
    return std::all_of(s.begin(), s.end(), [](char c) { return c >= 0x20 && c < 0x7f; });
}

std::string check_host(const std::filesystem::path& file, const nlohmann::json& j, HostRecord& r)
{
    r.name = json_string(j, "name");
    r.machine_id = json_string(j, "machine_id");
    r.last_seen = json_string(j, "last_seen");
    r.appshare_version = json_string(j, "appshare_version");
    if (!is_plain_name(r.name, kMaxRecordedNameBytes)) return "its name is not a plain host name";
    if (file.filename() != r.name + ".json") return "its name does not match the file's";
    if (!r.machine_id.empty() && !is_machine_id(r.machine_id)) return "its machine id is malformed";
    if (!parse_utc_timestamp(r.last_seen)) return "its 'last_seen' is not a UTC timestamp";
    if (r.appshare_version.size() > kMaxVersionBytes || !printable_ascii(r.appshare_version)) {
        return "its appshare version is not a short printable text";
    }
    return {};
}

}  // namespace

std::filesystem::path host_record_path(const std::filesystem::path& shared_root, std::string_view name)
{
    return hosts_dir(shared_root) / (std::string(name) + ".json");
}

Result<void> write_host_record(const std::filesystem::path& shared_root, const HostRecord& record)
{
    if (!is_plain_name(record.name, kMaxRecordedNameBytes)) {
        return make_error(ErrorCode::UnsafePath, "cannot record host " + quoted_value(record.name) +
                                                     " in the hosts registry: host names on shared storage must be plain (letters, digits, '.', '_', '-'); give the host such a name.");
    }
    if (auto d = make_dirs(hosts_dir(shared_root)); !d) return d;
    const nlohmann::json j = {{"name", record.name},
                              {"machine_id", record.machine_id},
                              {"last_seen", record.last_seen},
                              {"appshare_version", record.appshare_version}};
    return write_file_atomic(host_record_path(shared_root, record.name), json_text(j) + "\n", 0644);
}

HostRecord this_host_record()
{
    return HostRecord{this_host_name(), this_machine_id(), utc_timestamp_now(), appshare_version()};
}

Result<bool> refresh_host_record(const std::filesystem::path& shared_root, std::chrono::seconds min_interval)
{
    HostRecord me = this_host_record();
    const auto st = stat_no_links(host_record_path(shared_root, me.name));
    if (st && *st && S_ISREG((*st)->st_mode)) {
        const auto written = std::chrono::system_clock::from_time_t((*st)->st_mtim.tv_sec);
        const auto age = std::chrono::system_clock::now() - written;
        // A time in the future (another clock) does not count as fresh.
        if (age >= std::chrono::seconds(0) && age < min_interval) return false;
    }
    if (auto w = write_host_record(shared_root, me); !w) return std::move(w).error();
    return true;
}

HostScan scan_host_records(const std::filesystem::path& shared_root)
{
    HostScan out;
    scan_json_records(hosts_dir(shared_root), kMaxHostRecordBytes, out.dir,
                      [&](const std::filesystem::path& file, const nlohmann::json& j) {
                          HostRecord r;
                          auto why = check_host(file, j, r);
                          if (why.empty()) out.hosts.push_back(std::move(r));
                          return why;
                      });
    std::sort(out.hosts.begin(), out.hosts.end(), [](const HostRecord& a, const HostRecord& b) { return a.name < b.name; });
    return out;
}

}  // namespace appshare
