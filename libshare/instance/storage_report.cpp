#include "instance/storage_report.hpp"

#include <cerrno>
#include <cstring>
#include <map>

#include <sys/stat.h>

namespace appshare {

StorageReport storage_report(std::span<const InstanceUsage> instances)
{
    std::map<std::string, BaseUsage> by_base;
    for (const auto& i : instances) {
        auto [it, fresh] = by_base.try_emplace(i.base_sha256);
        BaseUsage& b = it->second;
        if (fresh) {
            b.sha256 = i.base_sha256;
            b.base_bytes = i.base_bytes;
        }
        ++b.instances;
        b.context_bytes += i.context_bytes;
    }
    StorageReport r;
    r.instances = instances.size();
    for (auto& [sha, b] : by_base) {
        b.full_copies_bytes = b.base_bytes * b.instances;
        b.used_bytes = b.base_bytes + b.context_bytes;
        b.saved_bytes = static_cast<std::int64_t>(b.full_copies_bytes) - static_cast<std::int64_t>(b.used_bytes);
        r.full_copies_bytes += b.full_copies_bytes;
        r.used_bytes += b.used_bytes;
        r.bases.push_back(b);
    }
    r.saved_bytes = static_cast<std::int64_t>(r.full_copies_bytes) - static_cast<std::int64_t>(r.used_bytes);
    r.ratio = r.used_bytes == 0 ? 0.0 : static_cast<double>(r.full_copies_bytes) / static_cast<double>(r.used_bytes);
    return r;
}

Result<std::uint64_t> disk_usage_bytes(const std::filesystem::path& dir)
{
    struct stat st {};
    if (::lstat(dir.c_str(), &st) != 0) {
        return make_error(ErrorCode::Io, "cannot inspect " + dir.string() + ": " + std::strerror(errno) + ".");
    }
    std::uint64_t total = static_cast<std::uint64_t>(st.st_blocks) * 512;
    if (!S_ISDIR(st.st_mode)) return total;
    std::error_code ec;
    std::filesystem::recursive_directory_iterator it(dir, std::filesystem::directory_options::none, ec);
    if (ec) return make_error(ErrorCode::Io, "cannot read " + dir.string() + ": " + ec.message() + ".");
    for (; it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
        if (ec) return make_error(ErrorCode::Io, "cannot read " + dir.string() + ": " + ec.message() + ".");
        if (::lstat(it->path().c_str(), &st) == 0) total += static_cast<std::uint64_t>(st.st_blocks) * 512;
    }
    if (ec) return make_error(ErrorCode::Io, "cannot read " + dir.string() + ": " + ec.message() + ".");
    return total;
}

}  // namespace appshare
