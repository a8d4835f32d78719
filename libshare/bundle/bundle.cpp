#include "bundle/bundle.hpp"

#include "base/byte_stream.hpp"
#include "base/sha256.hpp"
#include "base/text.hpp"
#include "bundle/bundle_path.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace appshare {

namespace {

constexpr std::size_t kMaxArchiveEntries = 100000;
constexpr std::uint64_t kNoLimit = ~std::uint64_t{0};

std::atomic<bool> g_force_fallback{false};

using ArchivePtr = UniqueHandle<archive, archive_read_free>;

std::string member_of(std::string_view member, const std::filesystem::path& bundle)
{
    return "member " + in_quotes(member, '\'') + " of bundle " + bundle.string();
}

Result<std::string> normalize_member(std::string_view member, const std::filesystem::path& bundle)
{
    auto path = check_bundle_path(member, EmptyComponents::Refuse);
    if (!path) {
        return make_error(ErrorCode::UnsafePath, "the path " + in_quotes(member, '\'') + " in bundle " + bundle.string() +
                                                     " " + path.problem + "; name a file inside the bundle");
    }
    return std::move(path.normalized);
}

const char* file_kind(mode_t mode) noexcept
{
    if (S_ISDIR(mode)) return "a directory";
    if (S_ISFIFO(mode)) return "a FIFO";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    if (S_ISLNK(mode)) return "a symlink";
    return "not a regular file";
}

long sys_openat2(int dirfd, const char* path, std::uint64_t flags, std::uint64_t resolve)
{
    open_how how{};
    how.flags = flags;
    how.resolve = resolve;
    return ::syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

// Outcome of resolving a member beneath the bundle directory.
struct Opened {
    UniqueFd fd;
    int err = 0;             // errno when !fd.valid()
    bool symlink = false;    // fallback walk met a symlink
};

// openat2 with RESOLVE_BENEATH; EAGAIN (a concurrent rename) is retried a few times.
Opened open_beneath_openat2(int dirfd, const std::string& rel, int flags)
{
    Opened o;
    for (int attempt = 0; attempt < 16; ++attempt) {
        const long fd = sys_openat2(dirfd, rel.c_str(), static_cast<std::uint64_t>(flags) | O_CLOEXEC,
                                    RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
        if (fd >= 0) {
            o.fd.reset(static_cast<int>(fd));
            return o;
        }
        o.err = errno;
        if (o.err != EAGAIN && o.err != EINTR) break;
    }
    return o;
}

// Without openat2: walk the components with O_NOFOLLOW, refusing any symlink.
Opened open_beneath_walk(int dirfd, const std::string& rel, int flags)
{
    Opened o;
    UniqueFd cur;
    int at = dirfd;
    std::size_t pos = 0;
    for (;;) {
        const std::size_t slash = rel.find('/', pos);
        const bool last = slash == std::string::npos;
        const std::string comp = rel.substr(pos, last ? std::string::npos : slash - pos);
        const int f = last ? flags : (O_PATH | O_DIRECTORY);
        const int fd = ::openat(at, comp.c_str(), f | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            o.err = errno;
            struct stat st{};
            if ((o.err == ELOOP || o.err == ENOTDIR) && ::fstatat(at, comp.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                S_ISLNK(st.st_mode)) {
                o.symlink = true;
            }
            return o;
        }
        if (last) {
            // O_PATH | O_NOFOLLOW opens a final symlink itself instead of failing.
            struct stat st{};
            if (::fstat(fd, &st) == 0 && S_ISLNK(st.st_mode)) {
                ::close(fd);
                o.symlink = true;
                o.err = ELOOP;
                return o;
            }
            o.fd.reset(fd);
            return o;
        }
        cur.reset(fd);
        at = cur.get();
        pos = slash + 1;
    }
}

Opened open_beneath(int dirfd, const std::string& rel, int flags)
{
    static std::atomic<bool> no_openat2{false};
    if (!g_force_fallback.load() && !no_openat2.load()) {
        Opened o = open_beneath_openat2(dirfd, rel, flags);
        if (o.fd.valid() || o.err != ENOSYS) return o;
        no_openat2.store(true);
    }
    return open_beneath_walk(dirfd, rel, flags);
}

// libarchive reads the archive through pread at its own offset, so readers never share state.
struct ArchiveSource {
    int fd = -1;
    std::uint64_t size = 0;
    std::uint64_t offset = 0;
    std::unique_ptr<std::byte[]> buf = std::make_unique<std::byte[]>(kStreamChunk);
};

la_ssize_t archive_read_cb(archive* a, void* client, const void** out)
{
    auto* src = static_cast<ArchiveSource*>(client);
    for (;;) {
        const ssize_t n = ::pread(src->fd, src->buf.get(), kStreamChunk, static_cast<off_t>(src->offset));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            archive_set_error(a, errno, "read failed: %s", std::strerror(errno));
            return -1;
        }
        src->offset += static_cast<std::uint64_t>(n);
        *out = src->buf.get();
        return n;
    }
}

la_int64_t archive_skip_cb(archive*, void* client, la_int64_t request)
{
    auto* src = static_cast<ArchiveSource*>(client);
    if (request <= 0) return 0;
    const std::uint64_t left = src->size > src->offset ? src->size - src->offset : 0;
    const std::uint64_t skip = std::min<std::uint64_t>(static_cast<std::uint64_t>(request), left);
    src->offset += skip;
    return static_cast<la_int64_t>(skip);
}

// A reader over the archive file: tar format only, uncompressed, gzip or xz.
Result<ArchivePtr> open_archive_reader(ArchiveSource& src, const std::filesystem::path& path)
{
    ArchivePtr a(archive_read_new());
    if (!a) return make_error(ErrorCode::Internal, "libarchive could not allocate a reader for " + path.string());
    archive_read_support_format_tar(a.get());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_xz(a.get());
    archive_read_set_read_callback(a.get(), archive_read_cb);
    archive_read_set_skip_callback(a.get(), archive_skip_cb);
    archive_read_set_callback_data(a.get(), &src);
    if (archive_read_open1(a.get()) != ARCHIVE_OK) {
        const char* msg = archive_error_string(a.get());
        return make_error(ErrorCode::BadManifest,
                          path.string() + " is not an appshare bundle: it is neither a directory nor a tar archive "
                                          "(plain, gzip or xz compressed) (" +
                              std::string(msg != nullptr ? msg : "unknown format") +
                              "); point appshare at a bundle directory or a tar archive of one");
    }
    return a;
}

const char* entry_name(archive_entry* e)
{
    const char* n = archive_entry_pathname(e);
    return n != nullptr ? n : archive_entry_pathname_utf8(e);
}

std::string archive_message(archive* a)
{
    const char* msg = archive_error_string(a);
    return msg != nullptr ? msg : "unknown error";
}

std::string not_a_bundle(const std::filesystem::path& path, const std::string& hint)
{
    return path.string() + " is not an appshare bundle: no appliance.xml at its root" + hint +
           "; point appshare at the directory or tar archive that holds appliance.xml";
}

}  // namespace

namespace detail {
void force_openat2_fallback(bool on) noexcept { g_force_fallback.store(on); }
}  // namespace detail

Bundle::Bundle(std::filesystem::path path, bool archive, UniqueFd fd)
    : path_(std::move(path)), archive_(archive), fd_(std::move(fd))
{
}

Bundle::Bundle(Bundle&&) noexcept = default;
Bundle& Bundle::operator=(Bundle&&) noexcept = default;
Bundle::~Bundle() = default;

Result<Bundle> Bundle::open(const std::filesystem::path& path)
{
    auto b = open_package(path);
    if (!b) return b;
    if (!b->archive_) {
        bool missing = false;
        auto manifest = b->open_member(std::string(kManifestFileName), kManifestFileName, &missing);
        if (!manifest) {
            if (missing || manifest.error().code == ErrorCode::Io) {
                return make_error(ErrorCode::BadManifest, not_a_bundle(path, ""));
            }
            return std::move(manifest).error();
        }
        return b;
    }
    const auto it = b->entries_.find(kManifestFileName);
    if (it == b->entries_.end() || it->second.directory) {
        std::string hint;
        for (const auto& [name, entry] : b->entries_) {
            const auto slash = name.find('/');
            if (!entry.directory && slash != std::string::npos && name.substr(slash + 1) == kManifestFileName) {
                const std::string dir = name.substr(0, slash);
                hint = " (it is in " + in_quotes(dir, '\'') + ": build the archive from inside the bundle directory, e.g. tar -C " +
                       in_quotes(dir, '\'') + " -cf ARCHIVE .)";
                break;
            }
        }
        return make_error(ErrorCode::BadManifest, not_a_bundle(path, hint));
    }
    return b;
}

std::vector<std::string> Bundle::archive_files() const
{
    std::vector<std::string> names;
    for (const auto& [name, entry] : entries_) {
        if (!entry.directory) names.push_back(name);
    }
    return names;
}

Result<Bundle> Bundle::open_package(const std::filesystem::path& path)
{
    // O_NONBLOCK: a FIFO given as the bundle must not hang the open.
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) {
        const int err = errno;
        return make_error(ErrorCode::Io, "cannot open bundle " + path.string() + ": " + std::strerror(err) +
                                             "; check the path and its permissions");
    }
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) {
        const int err = errno;
        return make_error(ErrorCode::Io, "cannot stat bundle " + path.string() + ": " + std::strerror(err) +
                                             "; check the path and its permissions");
    }
    if (S_ISDIR(st.st_mode)) return Bundle(path, false, std::move(fd));
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::BadManifest, path.string() + " is not an appshare bundle: it is " +
                                                      file_kind(st.st_mode) +
                                                      "; point appshare at a bundle directory or a tar archive of one");
    }
    if (const int fl = ::fcntl(fd.get(), F_GETFL); fl >= 0) (void)::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
    Bundle b(path, true, std::move(fd));
    b.archive_size_ = static_cast<std::uint64_t>(st.st_size);
    if (auto r = b.scan_archive(); !r) return std::move(r).error();
    return b;
}

Result<void> Bundle::scan_archive()
{
    ArchiveSource src;
    src.fd = fd_.get();
    src.size = archive_size_;
    auto reader = open_archive_reader(src, path_);
    if (!reader) return std::move(reader).error();
    archive* a = reader->get();
    const std::string where = "archive " + path_.string();
    for (std::size_t count = 0;; ++count) {
        archive_entry* e = nullptr;
        const int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) break;
        if (r < ARCHIVE_WARN) {
            if (count == 0) {
                return make_error(ErrorCode::BadManifest,
                                  path_.string() + " is not an appshare bundle: it is neither a directory nor a tar "
                                                   "archive (plain, gzip or xz compressed) (" +
                                      archive_message(a) + "); point appshare at a bundle directory or a tar archive of one");
            }
            return make_error(ErrorCode::Io, "cannot read " + where + " after " + std::to_string(count) +
                                                 " entries: " + archive_message(a) +
                                                 "; the file is truncated or corrupt, fetch or build it again");
        }
        if (count >= kMaxArchiveEntries) {
            return make_error(ErrorCode::UnsafePath, where + " has more than " + std::to_string(kMaxArchiveEntries) +
                                                         " entries; a bundle holds a manifest and a few files, rebuild it");
        }
        const char* raw = entry_name(e);
        if (raw == nullptr) {
            return make_error(ErrorCode::UnsafePath, where + " has an entry whose name cannot be read (entry " +
                                                         std::to_string(count + 1) + "); rebuild it with plain names");
        }
        const std::string_view name(raw);
        const std::string entry_what = where + " entry " + in_quotes(name, '\'');
        auto norm = check_bundle_path(name, EmptyComponents::Drop);
        if (!norm) {
            return make_error(ErrorCode::UnsafePath, entry_what + " " + norm.problem +
                                                         "; rebuild the archive from paths inside the bundle");
        }
        const char* link = archive_entry_hardlink(e);
        const mode_t type = archive_entry_filetype(e);
        if (link != nullptr) {
            return make_error(ErrorCode::UnsafePath, entry_what + " is a hard link to " + in_quotes(link, '\'') +
                                                         "; bundles may hold only regular files and directories, rebuild "
                                                         "the archive with the file itself (e.g. tar --hard-dereference)");
        }
        if (type != AE_IFREG && type != AE_IFDIR) {
            const char* kind = type == AE_IFLNK ? "a symlink" : type == AE_IFIFO ? "a FIFO"
                             : type == AE_IFCHR ? "a character device" : type == AE_IFBLK ? "a block device"
                             : type == AE_IFSOCK ? "a socket" : "of an unknown type";
            return make_error(ErrorCode::UnsafePath, entry_what + " is " + kind +
                                                         "; bundles may hold only regular files and directories, rebuild "
                                                         "the archive with the files themselves (e.g. tar --dereference)");
        }
        const bool dir = type == AE_IFDIR;
        if (norm.normalized.empty()) {
            if (!dir) return make_error(ErrorCode::UnsafePath, entry_what + " is a file without a name; rebuild the archive");
        } else {
            const Entry entry{dir ? 0 : static_cast<std::uint64_t>(std::max<la_int64_t>(archive_entry_size(e), 0)), dir};
            const auto [it, inserted] = entries_.try_emplace(norm.normalized, entry);
            if (!inserted && !(dir && it->second.directory)) {
                return make_error(ErrorCode::UnsafePath, where + " holds " + in_quotes(norm.normalized, '\'') +
                                                             " more than once; rebuild it so each file appears once");
            }
        }
        if (archive_read_data_skip(a) < ARCHIVE_WARN) {
            return make_error(ErrorCode::Io, "cannot read " + entry_what + ": " + archive_message(a) +
                                                 "; the file is truncated or corrupt, fetch or build it again");
        }
    }
    return ok();
}

Result<UniqueFd> Bundle::open_member(const std::string& normalized, std::string_view member, bool* missing) const
{
    const int dirfd = fd_.get();
    // First resolve without opening for reading, so a device or FIFO is never opened.
    Opened probe = open_beneath(dirfd, normalized, O_PATH);
    const auto fail = [&](const Opened& o) -> Error {
        const std::string what = member_of(member, path_);
        if (o.symlink) {
            return make_error(ErrorCode::UnsafePath, what + " is or passes through a symlink, which this kernel cannot "
                                                            "resolve safely (openat2 needs Linux 5.6); replace the symlink "
                                                            "with the file itself");
        }
        switch (o.err) {
        case EXDEV:
            return make_error(ErrorCode::UnsafePath, what + " resolves outside the bundle (through '..' or a symlink); "
                                                            "put the file itself inside the bundle");
        case ELOOP:
            return make_error(ErrorCode::UnsafePath, what + " goes through a symlink loop or a /proc magic link; "
                                                            "put the file itself inside the bundle");
        case ENOENT:
            if (missing != nullptr) *missing = true;
            return make_error(ErrorCode::Io, what + " does not exist; add it to the bundle or fix the path in the manifest");
        case ENOTDIR:
            return make_error(ErrorCode::Io, what + " cannot be opened: a component of its path is not a directory; "
                                                    "fix the path in the manifest");
        default:
            return make_error(ErrorCode::Io, what + " cannot be opened: " + std::strerror(o.err) +
                                                 "; check that it is readable");
        }
    };
    if (!probe.fd.valid()) return fail(probe);
    struct stat st{};
    if (::fstat(probe.fd.get(), &st) != 0) {
        Opened o;
        o.err = errno;
        return fail(o);
    }
    if (S_ISDIR(st.st_mode)) {
        return make_error(ErrorCode::Io, member_of(member, path_) + " is a directory; name a regular file");
    }
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::UnsafePath, member_of(member, path_) + " is " + file_kind(st.st_mode) +
                                                     ", not a regular file; bundles may hold only regular files");
    }
    // Now open it for reading (O_NONBLOCK guards against a swap to a FIFO in between) and make
    // sure it is still the same file.
    Opened rd = open_beneath(dirfd, normalized, O_RDONLY | O_NOCTTY | O_NONBLOCK);
    if (!rd.fd.valid()) return fail(rd);
    struct stat st2{};
    if (::fstat(rd.fd.get(), &st2) != 0 || st2.st_dev != st.st_dev || st2.st_ino != st.st_ino || !S_ISREG(st2.st_mode)) {
        return make_error(ErrorCode::Io, member_of(member, path_) +
                                             " changed while it was being opened; make sure nothing modifies the bundle");
    }
    if (const int fl = ::fcntl(rd.fd.get(), F_GETFL); fl >= 0) (void)::fcntl(rd.fd.get(), F_SETFL, fl & ~O_NONBLOCK);
    return std::move(rd.fd);
}

Result<std::uint64_t> Bundle::member_size(std::string_view member) const
{
    auto norm = normalize_member(member, path_);
    if (!norm) return std::move(norm).error();
    if (archive_) {
        const auto it = entries_.find(*norm);
        if (it == entries_.end()) {
            return make_error(ErrorCode::Io, member_of(member, path_) +
                                                 " does not exist; add it to the bundle or fix the path in the manifest");
        }
        if (it->second.directory) {
            return make_error(ErrorCode::Io, member_of(member, path_) + " is a directory; name a regular file");
        }
        return it->second.size;
    }
    auto fd = open_member(*norm, member, nullptr);
    if (!fd) return std::move(fd).error();
    struct stat st{};
    if (::fstat(fd->get(), &st) != 0) {
        const int err = errno;
        return make_error(ErrorCode::Io, "cannot stat " + member_of(member, path_) + ": " + std::strerror(err));
    }
    return static_cast<std::uint64_t>(st.st_size);
}

Result<void> Bundle::stream(std::string_view member, const ByteSink& sink) const
{
    return stream_limited(member, sink, kNoLimit);
}

Result<void> Bundle::stream_limited(std::string_view member, const ByteSink& sink, std::uint64_t limit) const
{
    auto norm = normalize_member(member, path_);
    if (!norm) return std::move(norm).error();
    return archive_ ? stream_archive(*norm, member, sink, limit) : stream_directory(*norm, member, sink, limit);
}

Result<void> Bundle::stream_directory(const std::string& normalized, std::string_view member, const ByteSink& sink,
                                      std::uint64_t limit) const
{
    auto fd = open_member(normalized, member, nullptr);
    if (!fd) return std::move(fd).error();
    const auto read_error = [&](int err) {
        return make_error(ErrorCode::Io, "cannot read " + member_of(member, path_) + ": " + std::strerror(err) +
                                             "; check the storage it is on");
    };
    return stream_fd(fd->get(), sink, read_error, limit);
}

Result<void> Bundle::stream_archive(const std::string& normalized, std::string_view member, const ByteSink& sink,
                                    std::uint64_t limit) const
{
    const auto it = entries_.find(normalized);
    if (it == entries_.end()) {
        return make_error(ErrorCode::Io, member_of(member, path_) +
                                             " does not exist; add it to the bundle or fix the path in the manifest");
    }
    if (it->second.directory) {
        return make_error(ErrorCode::Io, member_of(member, path_) + " is a directory; name a regular file");
    }
    const auto changed = [&] {
        return make_error(ErrorCode::Io, member_of(member, path_) +
                                             " could not be found again: the archive changed since it was opened; "
                                             "make sure nothing modifies the bundle");
    };
    ArchiveSource src;
    src.fd = fd_.get();
    src.size = archive_size_;
    auto reader = open_archive_reader(src, path_);
    if (!reader) return changed();
    archive* a = reader->get();
    for (;;) {
        archive_entry* e = nullptr;
        const int r = archive_read_next_header(a, &e);
        if (r == ARCHIVE_EOF) return changed();
        if (r < ARCHIVE_WARN) {
            return make_error(ErrorCode::Io, "cannot read " + member_of(member, path_) + ": " + archive_message(a) +
                                                 "; the archive is truncated or corrupt, fetch or build it again");
        }
        const char* raw = entry_name(e);
        if (raw == nullptr) continue;
        const auto norm = check_bundle_path(raw, EmptyComponents::Drop);
        if (!norm) return changed();
        if (norm.normalized == normalized) {
            if (archive_entry_filetype(e) != AE_IFREG || archive_entry_hardlink(e) != nullptr) return changed();
            break;
        }
        if (archive_read_data_skip(a) < ARCHIVE_WARN) {
            return make_error(ErrorCode::Io, "cannot read " + member_of(member, path_) + ": " + archive_message(a) +
                                                 "; the archive is truncated or corrupt, fetch or build it again");
        }
    }
    auto buf = std::make_unique<std::byte[]>(kStreamChunk);
    std::uint64_t done = 0;
    while (done < limit) {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kStreamChunk, limit - done));
        const la_ssize_t n = archive_read_data(a, buf.get(), want);
        if (n < 0) {
            return make_error(ErrorCode::Io, "cannot read " + member_of(member, path_) + ": " + archive_message(a) +
                                                 "; the archive is truncated or corrupt, fetch or build it again");
        }
        if (n == 0) break;
        done += static_cast<std::uint64_t>(n);
        if (auto r = sink(std::span<const std::byte>(buf.get(), static_cast<std::size_t>(n))); !r) return r;
    }
    if (limit == kNoLimit && done != it->second.size) {
        return make_error(ErrorCode::Io, member_of(member, path_) + " holds " + std::to_string(done) +
                                             " bytes but its header says " + std::to_string(it->second.size) +
                                             "; the archive is truncated or corrupt, fetch or build it again");
    }
    return ok();
}

Result<std::string> Bundle::read_text(std::string_view member, std::size_t max_bytes) const
{
    std::string text;
    const std::uint64_t limit = static_cast<std::uint64_t>(max_bytes) + 1;
    auto r = stream_limited(
        member,
        [&text](std::span<const std::byte> chunk) -> Result<void> {
            text.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
            return ok();
        },
        limit);
    if (!r) return std::move(r).error();
    if (text.size() > max_bytes) {
        return make_error(ErrorCode::BadManifest, member_of(member, path_) + " is larger than " +
                                                      std::to_string(max_bytes) +
                                                      " bytes, too large for a manifest; check the bundle");
    }
    return text;
}

Result<std::string> Bundle::read_head(std::string_view member, std::size_t max_bytes) const
{
    std::string head;
    auto r = stream_limited(
        member,
        [&head](std::span<const std::byte> chunk) -> Result<void> {
            head.append(reinterpret_cast<const char*>(chunk.data()), chunk.size());
            return ok();
        },
        max_bytes);
    if (!r) return std::move(r).error();
    return head;
}

Result<std::string> Bundle::member_sha256(std::string_view member, const ProgressFn* progress) const
{
    Sha256 hash;
    auto r = stream(member, [&](std::span<const std::byte> chunk) -> Result<void> {
        hash.update(chunk);
        if (progress != nullptr && *progress) (*progress)(chunk.size());
        return ok();
    });
    if (!r) return std::move(r).error();
    return hash.hex_digest();
}

}  // namespace appshare
