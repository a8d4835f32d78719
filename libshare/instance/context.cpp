#include "instance/context.hpp"

#include "base/atomic_file.hpp"
#include "base/interrupt.hpp"
#include "base/unique_handle.hpp"
#include "base/text.hpp"
#include "base/time_format.hpp"
#include "image/image_check.hpp"
#include "image/qcow2_header.hpp"
#include "image/qcow2_overlay.hpp"
#include "instance/instance_state.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>

#include <stdio.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

void say(const LogFn& log, const std::string& line)
{
    if (log) log(line);
}

bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
           c == '-';
}

Error io_error(const std::string& what, const std::filesystem::path& p, int err)
{
    return make_error(ErrorCode::Io, "cannot " + what + " " + p.string() + ": " + std::strerror(err) +
                                         "; check free space and permissions there.");
}

Result<void> stop_if_interrupted(const ContextLayout& layout)
{
    if (!interrupted()) return ok();
    return make_error(ErrorCode::Interrupted, "interrupted while creating the context " + layout.dir.string() +
                                                  "; nothing was kept, run the command again.");
}

std::string temp_name_in(const std::filesystem::path& final_path)
{
    return (final_path.parent_path() / (temp_prefix_for(final_path) + std::to_string(::getpid()))).string();
}

// Makes `dir` (and missing parents) and gives it exactly kContextDirMode: QEMU, running as
// libvirt's user, passes through to the files libvirt hands it, and nobody else lists or reads
// anything. An older appshare made contexts 0755; they are tightened here (on the descriptor of
// the directory itself, never through a link).
Result<void> make_private_dir(const std::filesystem::path& dir)
{
    if (auto d = make_dirs(dir, kContextDirMode); !d) return d;
    UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) {
        if (errno == ELOOP || errno == ENOTDIR) {
            return make_error(ErrorCode::UnsafePath, dir.string() + " is not a directory (a symbolic link?); move it away and try again.");
        }
        return io_error("open", dir, errno);
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) return io_error("inspect", dir, errno);
    if ((st.st_mode & 07777) != kContextDirMode && ::fchmod(fd.get(), kContextDirMode) != 0) {
        return io_error("restrict the permissions of", dir, errno);
    }
    return ok();
}

// Removes what killed writers of `final_path` left beside it (only run under the instance lock).
void remove_leftovers_of(const std::filesystem::path& final_path)
{
    std::error_code ec;
    const auto prefix = temp_prefix_for(final_path);
    for (const auto& entry : std::filesystem::directory_iterator(final_path.parent_path(), ec)) {
        if (entry.path().filename().string().rfind(prefix, 0) == 0) ::unlink(entry.path().c_str());
    }
}

// Opens `p` for reading without following a link or blocking on a FIFO; -1 with errno set, or
// EINVAL for anything but a regular file.
UniqueFd open_regular(const std::filesystem::path& p, struct stat& st)
{
    UniqueFd fd(::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC));
    if (!fd.valid()) return fd;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) {
        errno = EINVAL;
        return UniqueFd();
    }
    return fd;
}

// An overlay made readable by others (an older appshare made them 0644) loses those bits: it
// holds the guest's data. On its descriptor, never through a link.
Result<void> keep_overlay_private(const ContextLayout& context)
{
    struct stat st {};
    UniqueFd fd = open_regular(context.overlay, st);
    if (!fd.valid() || (st.st_mode & 0077) == 0) return ok();
    if (::fchmod(fd.get(), st.st_mode & 0700) != 0) return io_error("restrict the permissions of", context.overlay, errno);
    return ok();
}

// The hook's overlay for a base that is there: as large as the base, backed by the context's base
// link, written under the instance lock after dropping what killed hooks left behind. An overlay
// that appeared meanwhile is kept.
Result<void> create_overlay_for(const ContextLayout& context, const ContextTarget& target)
{
    auto facts = check_image_file(target.base, target.base_format);
    if (!facts) return std::move(facts).error();
    remove_leftovers_of(context.overlay);
    auto made = create_qcow2_overlay(context.overlay, context.base_link, target.base_format, facts->virtual_size);
    if (!made && made.error().code != ErrorCode::AlreadyExists) return made;
    return ok();
}

std::optional<std::filesystem::path> read_link(const std::filesystem::path& link)
{
    struct stat st {};
    if (::lstat(link.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return std::nullopt;
    std::error_code ec;
    auto target = std::filesystem::read_symlink(link, ec);
    if (ec) return std::nullopt;
    return target;
}

// Points the symbolic link `link` at `target` atomically: a new link at a temporary name,
// renamed over it. Returns whether it changed.
Result<bool> point_link(const std::filesystem::path& link, const std::filesystem::path& target)
{
    if (read_link(link) == target) return false;
    // Only a symlink (ours, pointing elsewhere) or nothing is replaced; any other file at that
    // name is not ours to destroy.
    struct stat st {};
    if (::lstat(link.c_str(), &st) == 0) {
        if (!S_ISLNK(st.st_mode)) {
            return make_error(ErrorCode::UnsafePath, "link " + link.string() +
                                                         " is not a symbolic link; appshare will not replace it, move it away and start the domain again.");
        }
    } else if (errno != ENOENT) {
        return make_error(ErrorCode::Io, "cannot inspect " + link.string() + ": " + std::strerror(errno) +
                                             "; check permissions in " + link.parent_path().string() + ".");
    }
    const auto tmp = temp_name_in(link);
    ::unlink(tmp.c_str());
    if (::symlink(target.c_str(), tmp.c_str()) != 0 || ::rename(tmp.c_str(), link.c_str()) != 0) {
        const int err = errno;
        ::unlink(tmp.c_str());
        return make_error(ErrorCode::Io, "cannot point " + link.string() + " at " + target.string() + ": " +
                                             std::strerror(err) + "; check permissions in " + link.parent_path().string() + ".");
    }
    if (auto s = fsync_dir(link.parent_path()); !s) return std::move(s).error();
    return true;
}

}  // namespace

ContextLayout context_layout(const std::filesystem::path& context_root, std::string_view name)
{
    ContextLayout l;
    l.dir = context_root / std::string(name);
    l.overlay = l.dir / "disk.qcow2";
    l.kernel_link = l.dir / "vmlinuz";
    l.initrd_link = l.dir / "initrd.img";
    l.base_link = l.dir / "base";
    l.lock_file = l.dir / ".instance.lock";
    return l;
}

Result<void> check_instance_name(std::string_view name)
{
    const auto bad = [&](const std::string& why) {
        return make_error(ErrorCode::Usage, "the instance name " + in_quotes(name, '\'') + " " + why +
                                                "; use 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit.");
    };
    if (name.empty() || name.size() > 63) return bad("has " + std::to_string(name.size()) + " characters");
    if (!std::isalnum(static_cast<unsigned char>(name.front()))) return bad("does not start with a letter or digit");
    for (char c : name) {
        if (!name_char(c)) return bad("contains a character that is not allowed");
    }
    if (name.find("..") != std::string_view::npos) return bad("contains '..'");
    return ok();
}

Result<FileLock> lock_context(const ContextLayout& context, std::chrono::milliseconds wait, const LockHolder& me)
{
    if (auto d = make_private_dir(context.dir); !d) return std::move(d).error();
    return FileLock::acquire(context.lock_file, wait, me);
}

NewContext::NewContext(NewContext&& o) noexcept : dir_(std::move(o.dir_)), keep_(std::exchange(o.keep_, true)) {}

NewContext::~NewContext()
{
    if (keep_ || dir_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
    (void)fsync_dir(dir_.parent_path());
}

Result<NewContext> create_context(const ContextLayout& layout, const ContextSpec& spec)
{
    if (auto r = make_dirs(layout.dir.parent_path(), kContextDirMode); !r) return std::move(r).error();
    if (::mkdir(layout.dir.c_str(), kContextDirMode) != 0) {
        if (errno == EEXIST) {
            return make_error(ErrorCode::AlreadyExists,
                              "the context directory " + layout.dir.string() +
                                  " already exists (left by an earlier instance of that name?); remove it or choose another name.");
        }
        return io_error("create the context directory", layout.dir, errno);
    }
    NewContext ctx(layout.dir);  // from here on, every early return removes the directory
    if (::chmod(layout.dir.c_str(), kContextDirMode) != 0) return io_error("set the permissions of", layout.dir, errno);

    if (auto r = stop_if_interrupted(layout); !r) return std::move(r).error();
    // The overlay is backed by the base link; the base need not be there yet (a lazy install):
    // neither the link nor the overlay opens it.
    if (::symlink(spec.base.c_str(), layout.base_link.c_str()) != 0) return io_error("create the link", layout.base_link, errno);
    if (auto r = create_qcow2_overlay(layout.overlay, layout.base_link, spec.base_format, spec.virtual_size); !r) {
        if (r.error().code == ErrorCode::UnsafeImage) return make_error(ErrorCode::Io, r.error().message);
        return std::move(r).error();
    }
    const auto link = [](const std::optional<std::filesystem::path>& target, const std::filesystem::path& at) -> Result<void> {
        if (target && ::symlink(target->c_str(), at.c_str()) != 0) return io_error("create the link", at, errno);
        return ok();
    };
    if (auto r = link(spec.kernel, layout.kernel_link); !r) return std::move(r).error();
    if (auto r = link(spec.initrd, layout.initrd_link); !r) return std::move(r).error();
    const InstanceState state{InstanceMode::Shared, utc_timestamp_now(), "installed", spec.base};
    if (auto r = save_instance_state(layout.dir, state); !r) return std::move(r).error();
    if (auto r = fsync_dir(layout.dir); !r) return std::move(r).error();
    if (auto r = stop_if_interrupted(layout); !r) return std::move(r).error();
    return ctx;
}

Result<void> remove_context(const std::filesystem::path& context_root, const std::filesystem::path& dir)
{
    const auto root = context_root.lexically_normal();
    const auto d = dir.lexically_normal();
    if (!d.is_absolute() || d.parent_path() != root || d.filename().empty() || d.filename() == "." ||
        d.filename() == "..") {
        return make_error(ErrorCode::UnsafePath, "the context " + dir.string() + " is not a directory directly inside the context root " +
                                                     context_root.string() + "; remove it by hand if it is really unused.");
    }
    struct stat st {};
    if (::lstat(d.c_str(), &st) != 0) {
        if (errno == ENOENT) return ok();
        return io_error("inspect", d, errno);
    }
    if (!S_ISDIR(st.st_mode)) {
        return make_error(ErrorCode::UnsafePath, "the context " + d.string() +
                                                     " is not a directory (a symlink?); remove it by hand if it is really unused.");
    }
    std::error_code ec;
    std::filesystem::remove_all(d, ec);
    if (ec) {
        return make_error(ErrorCode::Io, "cannot remove the context " + d.string() + ": " + ec.message() +
                                             "; remove it by hand.");
    }
    (void)fsync_dir(root);
    return ok();
}

Result<std::optional<OverlayBacking>> read_overlay_backing(const ContextLayout& context)
{
    struct stat st {};
    if (::lstat(context.overlay.c_str(), &st) != 0) {
        if (errno == ENOENT) return std::optional<OverlayBacking>{};
        return make_error(ErrorCode::Io, "cannot inspect " + context.overlay.string() + ": " + std::strerror(errno) + ".");
    }
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::UnsafePath, "overlay " + context.overlay.string() +
                                                     " is not a regular file; appshare never follows links in a context.");
    }
    auto header = read_qcow2_header(context.overlay);
    if (!header) return std::move(header).error();
    OverlayBacking b;
    b.file = header->backing_file.value_or("");
    b.format = header->backing_format.value_or("");
    return std::optional<OverlayBacking>{std::move(b)};
}

Result<bool> point_context_at(const ContextLayout& context, const ContextTarget& target, const LogFn& log)
{
    const std::string link = context.base_link.string();
    auto backing = read_overlay_backing(context);
    if (!backing) return std::move(backing).error();
    // Only an overlay backed by the link or (made by an older appshare) by a copy of this very
    // base is touched; the link is re-pointed before such an overlay is moved onto it.
    bool legacy = false;
    if (*backing && (*backing)->file != link) {
        bool known = (*backing)->file == target.base.string();
        for (const auto& other : target.known_bases) known = known || (*backing)->file == other.string();
        if (!known) {
            return make_error(ErrorCode::UnsafeImage,
                              "overlay " + context.overlay.string() + " is backed by " +
                                  ((*backing)->file.empty() ? std::string("nothing") : printable((*backing)->file)) +
                                  ", not by a copy of " + target.base_label + "; appshare will not re-point it, reinstall the instance.");
        }
        legacy = true;
    }
    auto linked = point_link(context.base_link, target.base);
    if (!linked) return std::move(linked).error();
    bool changed = *linked;
    if (*linked) say(log, "pointed " + link + " at " + target.base.string());
    if (!*backing) {
        if (auto c = create_overlay_for(context, target); !c) return std::move(c).error();
        say(log, "created the overlay " + context.overlay.string() + " backed by " + link);
        changed = true;
    } else if (legacy || (*backing)->format != target.base_format) {
        if (auto r = rewrite_qcow2_backing(context.overlay, context.base_link, target.base_format); !r) {
            return std::move(r).error();
        }
        say(log, "re-pointed the overlay " + context.overlay.string() + " from " + printable((*backing)->file) + " to " + link);
        changed = true;
    }
    if (auto p = keep_overlay_private(context); !p) return std::move(p).error();
    for (const auto& boot : target.boot_links) {
        auto r = point_link(boot.link, boot.target);
        if (!r) return std::move(r).error();
        if (*r) say(log, "pointed " + boot.link.string() + " at " + boot.target.string());
        changed = changed || *r;
    }
    return changed;
}

}  // namespace appshare
