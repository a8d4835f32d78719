#include "store/verification_record.hpp"

#include "base/atomic_file.hpp"
#include "base/file_lock.hpp"
#include "base/json_text.hpp"
#include "base/small_file.hpp"
#include "base/time_format.hpp"

#include <nlohmann/json.hpp>

#include <fcntl.h>

namespace appshare {
namespace {

constexpr std::size_t kMaxRecordBytes = 64 * 1024;

std::int64_t ns_of(const struct timespec& ts)
{
    return static_cast<std::int64_t>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

}  // namespace

std::string record_name_for(std::string_view file_name) { return std::string(file_name) + ".verified"; }

VerificationRecord make_record(const struct stat& st, std::string sha256)
{
    VerificationRecord r;
    r.sha256 = std::move(sha256);
    r.size = static_cast<std::uint64_t>(st.st_size);
    r.inode = static_cast<std::uint64_t>(st.st_ino);
    r.mtime_ns = ns_of(st.st_mtim);
    r.ctime_ns = ns_of(st.st_ctim);
    r.verified_at = utc_timestamp_now();
    r.verified_by = this_host_name();
    return r;
}

bool record_matches(const VerificationRecord& record, const struct stat& st, std::string_view sha256)
{
    return record.sha256 == sha256 && record.size == static_cast<std::uint64_t>(st.st_size) &&
           record.inode == static_cast<std::uint64_t>(st.st_ino) && record.mtime_ns == ns_of(st.st_mtim) &&
           record.ctime_ns == ns_of(st.st_ctim);
}

std::optional<VerificationRecord> read_record(const DirHandle& records, std::string_view file_name)
{
    // In the folder that was opened, not by its path again: a regular file, at most the cap.
    auto fd = records.open_file(record_name_for(file_name), O_RDONLY, FileType::Regular);
    if (!fd) return std::nullopt;
    std::string text;
    if (read_fd_head(fd->get(), kMaxRecordBytes + 1, text) != 0 || text.size() > kMaxRecordBytes) return std::nullopt;
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return std::nullopt;
    try {
        VerificationRecord r;
        r.sha256 = j.at("sha256").get<std::string>();
        r.size = j.at("size").get<std::uint64_t>();
        r.inode = j.at("inode").get<std::uint64_t>();
        r.mtime_ns = j.at("mtime_ns").get<std::int64_t>();
        r.ctime_ns = j.at("ctime_ns").get<std::int64_t>();
        r.verified_at = j.value("verified_at", "");
        r.verified_by = j.value("verified_by", "");
        return r;
    } catch (const nlohmann::json::exception&) {
        return std::nullopt;
    }
}

Result<void> write_record(const DirHandle& records, std::string_view file_name, const VerificationRecord& r)
{
    const nlohmann::json j = {{"sha256", r.sha256},        {"size", r.size},
                              {"inode", r.inode},          {"mtime_ns", r.mtime_ns},
                              {"ctime_ns", r.ctime_ns},    {"verified_at", r.verified_at},
                              {"verified_by", r.verified_by}};
    auto tmp = TempFile::create_in(records, record_name_for(file_name));
    if (!tmp) return std::move(tmp).error();
    if (auto w = tmp->write(json_text(j, 2) + "\n"); !w) return w;
    return tmp->commit(0600);
}

}  // namespace appshare
