#include "store/usage_records.hpp"

#include "base/atomic_file.hpp"
#include "base/sha256.hpp"
#include "base/small_file.hpp"
#include "store/blob_store.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <tuple>

#include <unistd.h>

namespace appshare {
namespace {

constexpr std::size_t kMaxRecordBytes = 64 * 1024;

std::string encode_name(std::string_view s)
{
    std::string out;
    for (const char c : s) {
        const auto u = static_cast<unsigned char>(c);
        if (std::isalnum(u) != 0 || c == '.' || c == '_' || c == '-') {
            out.push_back(c);
        } else {
            std::array<char, 4> hex{};
            std::snprintf(hex.data(), hex.size(), "%%%02X", u);
            out += hex.data();
        }
    }
    // "." and ".." alone would name directories.
    if (out == "." || out == "..") out = "%2E" + out.substr(1);
    return out;
}

std::filesystem::path base_dir(const std::filesystem::path& shared_root, std::string_view sha)
{
    return shared_root / "usage" / std::string(sha);
}

}  // namespace

std::filesystem::path usage_record_path(const std::filesystem::path& shared_root, const UsageRecord& record)
{
    return base_dir(shared_root, record.base_sha256) / (encode_name(record.host) + "@" + encode_name(record.domain) + ".json");
}

Result<void> write_usage_record(const std::filesystem::path& shared_root, const UsageRecord& record)
{
    if (!normalize_sha256(record.base_sha256)) {
        return make_error(ErrorCode::Internal, "usage record with an invalid base digest '" + record.base_sha256 + "'.");
    }
    if (auto d = make_dirs(base_dir(shared_root, record.base_sha256)); !d) return d;
    const nlohmann::json j = {{"host", record.host}, {"domain", record.domain}, {"base", record.base_sha256},
                              {"mode", record.mode}, {"path", record.path.string()}, {"since", record.since}};
    return write_file_atomic(usage_record_path(shared_root, record), j.dump() + "\n", 0644);
}

Result<void> remove_usage_record(const std::filesystem::path& shared_root, std::string_view base_sha256,
                                 std::string_view host, std::string_view domain)
{
    UsageRecord key;
    key.base_sha256 = std::string(base_sha256);
    key.host = std::string(host);
    key.domain = std::string(domain);
    const auto file = usage_record_path(shared_root, key);
    if (::unlink(file.c_str()) != 0 && errno != ENOENT) {
        return make_error(ErrorCode::Io, "cannot remove usage record " + file.string() + ": " + std::strerror(errno) +
                                             "; check that the shared storage is writable.");
    }
    return ok();
}

std::vector<UsageRecord> list_usage_records(const std::filesystem::path& shared_root, std::string_view base_sha256)
{
    std::vector<UsageRecord> out;
    std::error_code ec;
    const auto usage = shared_root / "usage";
    for (const auto& dir : std::filesystem::directory_iterator(usage, ec)) {
        const auto sha = dir.path().filename().string();
        if (!normalize_sha256(sha) || (!base_sha256.empty() && sha != base_sha256)) continue;
        if (!dir.is_directory(ec) || dir.is_symlink(ec)) continue;
        for (const auto& file : std::filesystem::directory_iterator(dir.path(), ec)) {
            if (file.path().extension() != ".json") continue;
            const SmallFile text = read_small_file(file.path(), kMaxRecordBytes);
            if (!text) continue;
            const auto j = nlohmann::json::parse(text.text, nullptr, false);
            if (j.is_discarded() || !j.is_object()) continue;
            const auto str = [&](const char* k) {
                return j.contains(k) && j[k].is_string() ? j[k].get<std::string>() : std::string();
            };
            UsageRecord r{str("host"), str("domain"), str("base"), str("mode"), str("path"), str("since")};
            if (r.base_sha256 != sha || r.domain.empty()) continue;
            out.push_back(std::move(r));
        }
    }
    std::sort(out.begin(), out.end(), [](const UsageRecord& a, const UsageRecord& b) {
        return std::tie(a.base_sha256, a.host, a.domain) < std::tie(b.base_sha256, b.host, b.domain);
    });
    return out;
}

}  // namespace appshare
