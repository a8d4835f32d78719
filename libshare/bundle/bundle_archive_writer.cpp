#include "bundle/bundle_archive_writer.hpp"

#include "base/byte_stream.hpp"
#include "base/interrupt.hpp"
#include "base/progress.hpp"
#include "base/unique_handle.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <optional>

namespace appshare {
namespace {

bool ends_with(const std::string& s, std::string_view tail)
{
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

std::string error_text(archive* a)
{
    const char* text = archive_error_string(a);
    return text != nullptr ? text : "libarchive gave no reason";
}

std::time_t entry_time()
{
    if (const char* epoch = std::getenv("SOURCE_DATE_EPOCH"); epoch != nullptr) {
        long long v = 0;
        const auto* end = epoch + std::strlen(epoch);
        if (auto [p, ec] = std::from_chars(epoch, end, v); ec == std::errc{} && p == end && v >= 0) {
            return static_cast<std::time_t>(v);
        }
    }
    return std::time(nullptr);
}

}  // namespace

Result<void> write_bundle_archive(const std::filesystem::path& folder, const std::vector<std::string>& members, int fd,
                                  const std::filesystem::path& archive_name, bool show_progress)
{
    const std::string name = archive_name.filename().string();
    auto failed = [&](const std::string& what) {
        return make_error(ErrorCode::Io, "cannot write the archive " + archive_name.string() + ": " + what +
                                             "; check free space in its folder and retry.");
    };
    UniqueHandle<archive, archive_write_free> a(archive_write_new());
    if (!a) return failed("libarchive could not start");
    archive_write_set_format_pax_restricted(a.get());
    if (ends_with(name, ".tar.gz") || ends_with(name, ".tgz")) {
        archive_write_add_filter_gzip(a.get());
    } else if (ends_with(name, ".tar.xz") || ends_with(name, ".txz")) {
        archive_write_add_filter_xz(a.get());
    }
    archive_write_set_bytes_in_last_block(a.get(), 1);
    if (archive_write_open_fd(a.get(), fd) != ARCHIVE_OK) return failed(error_text(a.get()));

    const std::time_t when = entry_time();
    for (const auto& member : members) {
        const auto file = folder / member;
        UniqueFd in(::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
        struct stat st {};
        if (!in.valid() || ::fstat(in.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
            return failed("cannot read " + file.string() + " (" + std::strerror(errno) + ")");
        }
        UniqueHandle<archive_entry, archive_entry_free> e(archive_entry_new());
        archive_entry_set_pathname(e.get(), member.c_str());
        archive_entry_set_filetype(e.get(), AE_IFREG);
        archive_entry_set_perm(e.get(), 0644);
        archive_entry_set_size(e.get(), st.st_size);
        archive_entry_set_mtime(e.get(), when, 0);
        archive_entry_set_uid(e.get(), 0);
        archive_entry_set_gid(e.get(), 0);
        if (archive_write_header(a.get(), e.get()) != ARCHIVE_OK) return failed(error_text(a.get()));

        std::optional<Progress> progress;
        if (show_progress) progress.emplace("archiving " + member, static_cast<std::uint64_t>(st.st_size));
        auto streamed = stream_fd(
            in.get(),
            [&](std::span<const std::byte> chunk) -> Result<void> {
                if (interrupted()) {
                    return make_error(ErrorCode::Interrupted, "writing " + archive_name.string() +
                                                                  " was interrupted; nothing was kept, run it again.");
                }
                if (archive_write_data(a.get(), chunk.data(), chunk.size()) != static_cast<la_ssize_t>(chunk.size())) {
                    return failed(error_text(a.get()));
                }
                if (progress) progress->advance(chunk.size());
                return ok();
            },
            [&](int err) { return failed("cannot read " + file.string() + " (" + std::strerror(err) + ")"); });
        if (!streamed) return streamed;
    }
    if (archive_write_close(a.get()) != ARCHIVE_OK) return failed(error_text(a.get()));
    return ok();
}

}  // namespace appshare
