// Reading an appliance bundle — a directory, or a tar archive (plain, gzip or xz) — holding
// appliance.xml at its root plus the files it names. Bundles are untrusted input read by root:
// every member is named by a relative path that must stay inside the bundle, and only regular
// files are ever read. Nothing is extracted to disk.
#pragma once

#include "base/byte_stream.hpp"
#include "base/progress.hpp"
#include "base/result.hpp"
#include "base/unique_handle.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

// The manifest's name at the bundle root.
inline constexpr std::string_view kManifestFileName = "appliance.xml";

// An opened bundle. Move-only; its methods are const and may run concurrently.
//
// Member names: relative paths ("images/base.qcow2", "./boot/vmlinuz"). Refused with
// UnsafePath: empty names, absolute paths, '..' components, empty components ("a//b"), a
// trailing '/', NUL or backslash. "." components are dropped.
//
// Directory bundles: each member is opened beneath the bundle directory with openat2
// (RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS), so symlinks that stay inside the bundle work and
// any escape ('..', absolute symlinks) is refused with UnsafePath. Members must be regular files:
// FIFOs, sockets and devices are refused with UnsafePath without being opened for reading;
// directories and missing members fail with Io. Kernels without openat2 (< 5.6) get a
// component-by-component O_NOFOLLOW walk instead, which refuses every symlink.
//
// Archive bundles: open() reads every entry header once and refuses the whole archive with
// UnsafePath if any entry is absolute, has a '..' component, is anything but a regular file or a
// directory (symlinks, hard links, devices, FIFOs), or names the same file twice. A member is
// streamed by reading the archive again from its start up to that entry.
class Bundle {
public:
    // Opens a directory or a tar / tar.gz / tar.xz file. Errors: Io if `path` cannot be opened
    // or the archive cannot be read to its end; UnsafePath as above; BadManifest if `path` is
    // neither a directory nor a readable tar archive, or has no regular appliance.xml at its root.
    [[nodiscard]] static Result<Bundle> open(const std::filesystem::path& path);

    // The same without asking for appliance.xml: a package read under the bundle rules that is
    // not (yet) a bundle, such as an OVA archive or the folder of an OVF (bundle/ovf_import.hpp).
    [[nodiscard]] static Result<Bundle> open_package(const std::filesystem::path& path);

    // An archive's regular files (normalized names, sorted); empty for a directory.
    [[nodiscard]] std::vector<std::string> archive_files() const;

    Bundle(Bundle&&) noexcept;
    Bundle& operator=(Bundle&&) noexcept;
    Bundle(const Bundle&) = delete;
    Bundle& operator=(const Bundle&) = delete;
    ~Bundle();

    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }
    [[nodiscard]] bool is_archive() const noexcept { return archive_; }

    // The whole member as bytes (meant for the manifest and other small text). Fails with
    // BadManifest if the member is larger than max_bytes, without reading past max_bytes + 1.
    [[nodiscard]] Result<std::string> read_text(std::string_view member, std::size_t max_bytes) const;

    // The first min(size, max_bytes) bytes of a member (e.g. an image header); never an error
    // for a larger member.
    [[nodiscard]] Result<std::string> read_head(std::string_view member, std::size_t max_bytes) const;

    // The member's size in bytes (from fstat, or from the archive entry header).
    [[nodiscard]] Result<std::uint64_t> member_size(std::string_view member) const;

    // Streams the member's bytes, in order, to `sink`. Returns the sink's Error if it stops the
    // stream; Io if the member cannot be read (or the archive is truncated or changed since open).
    [[nodiscard]] Result<void> stream(std::string_view member, const ByteSink& sink) const;

    // The member's SHA-256 (lowercase hex), streamed; `progress` as in sha256_file().
    [[nodiscard]] Result<std::string> member_sha256(std::string_view member,
                                                    const ProgressFn* progress = nullptr) const;

private:
    struct Entry {
        std::uint64_t size = 0;
        bool directory = false;
    };
    Bundle(std::filesystem::path path, bool archive, UniqueFd fd);

    [[nodiscard]] Result<void> scan_archive();
    [[nodiscard]] Result<UniqueFd> open_member(const std::string& normalized, std::string_view member,
                                               bool* missing) const;
    [[nodiscard]] Result<void> stream_limited(std::string_view member, const ByteSink& sink,
                                              std::uint64_t limit) const;
    [[nodiscard]] Result<void> stream_directory(const std::string& normalized, std::string_view member,
                                                const ByteSink& sink, std::uint64_t limit) const;
    [[nodiscard]] Result<void> stream_archive(const std::string& normalized, std::string_view member,
                                              const ByteSink& sink, std::uint64_t limit) const;

    std::filesystem::path path_;
    bool archive_ = false;
    UniqueFd fd_;                 // the directory, or the archive file (read with pread)
    std::uint64_t archive_size_ = 0;
    std::map<std::string, Entry, std::less<>> entries_;  // archive only: normalized name -> entry
};

namespace detail {
// For tests: make directory bundles behave as if openat2 were missing (ENOSYS), so the
// O_NOFOLLOW walk is used. Only ever stricter.
void force_openat2_fallback(bool on) noexcept;
}  // namespace detail

}  // namespace appshare
