#include "instance/instance_context.hpp"

#include "base/atomic_file.hpp"
#include "base/text.hpp"
#include "image/image_check.hpp"
#include "image/qcow2_header.hpp"
#include "image/qcow2_overlay.hpp"
#include "image/qemu_img.hpp"

#include <cerrno>
#include <cstring>

#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

void say(const LogFn& log, const std::string& line)
{
    if (log) log(line);
}

std::string temp_name_in(const std::filesystem::path& final_path)
{
    return (final_path.parent_path() / (temp_prefix_for(final_path) + std::to_string(::getpid()))).string();
}

Result<void> create_overlay(const InstancePaths& paths, const std::filesystem::path& base)
{
    auto facts = check_image_file(base, paths.base.image_format);
    if (!facts) return std::move(facts).error();
    // Under the instance lock no other writer exists: drop what killed hooks left behind.
    std::error_code ec;
    const auto prefix = temp_prefix_for(paths.overlay);
    for (const auto& entry : std::filesystem::directory_iterator(paths.context_dir, ec)) {
        if (entry.path().filename().string().rfind(prefix, 0) == 0) ::unlink(entry.path().c_str());
    }
    // Written beside its final name and linked into place complete; never replaces a file.
    auto made = create_qcow2_overlay(paths.overlay, base, paths.base.image_format, facts->virtual_size);
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

Result<bool> point_link(const std::filesystem::path& link, const std::filesystem::path& target)
{
    if (read_link(link) == target) return false;
    // Only a symlink (ours, pointing elsewhere) or nothing is replaced; any other file at that
    // name is not ours to destroy.
    struct stat st {};
    if (::lstat(link.c_str(), &st) == 0) {
        if (!S_ISLNK(st.st_mode)) {
            return make_error(ErrorCode::UnsafePath, "boot link " + link.string() +
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

Result<std::optional<OverlayBacking>> read_overlay_backing(const InstancePaths& paths)
{
    struct stat st {};
    if (::lstat(paths.overlay.c_str(), &st) != 0) {
        if (errno == ENOENT) return std::optional<OverlayBacking>{};
        return make_error(ErrorCode::Io, "cannot inspect " + paths.overlay.string() + ": " + std::strerror(errno) + ".");
    }
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::UnsafePath, "overlay " + paths.overlay.string() +
                                                     " is not a regular file; appshare never follows links in a context.");
    }
    auto header = read_qcow2_header(paths.overlay);
    if (!header) return std::move(header).error();
    OverlayBacking b;
    b.file = header->backing_file.value_or("");
    b.format = header->backing_format.value_or("");
    return std::optional<OverlayBacking>{std::move(b)};
}

Result<FileLock> lock_instance(const InstancePaths& paths, std::chrono::milliseconds wait, const LockHolder& me)
{
    return lock_context(paths.context_dir, wait, me);
}

Result<FileLock> lock_context(const std::filesystem::path& context_dir, std::chrono::milliseconds wait, const LockHolder& me)
{
    if (auto d = make_dirs(context_dir); !d) return std::move(d).error();
    return FileLock::acquire(instance_lock_path(context_dir), wait, me);
}

bool context_points_at(const InstancePaths& paths, const BlobStore& store)
{
    auto backing = read_overlay_backing(paths);
    if (!backing || !*backing || (*backing)->file != store.path_of(paths.base).string()) return false;
    for (const auto* boot : paths.boot_files()) {
        if (read_link(boot->link) != store.path_of(boot->spec)) return false;
    }
    return true;
}

Result<bool> point_context_at(const InstancePaths& paths, const BlobStore& store,
                              const std::vector<BlobStore>& known_stores, const LogFn& log)
{
    const auto base = store.path_of(paths.base);
    bool changed = false;
    auto backing = read_overlay_backing(paths);
    if (!backing) return std::move(backing).error();
    if (!*backing) {
        if (auto c = create_overlay(paths, base); !c) return std::move(c).error();
        say(log, "created the overlay " + paths.overlay.string() + " backed by " + base.string());
        changed = true;
    } else if ((*backing)->file != base.string() || (*backing)->format != paths.base.image_format) {
        bool known = (*backing)->file == base.string();
        for (const auto& other : known_stores) {
            if ((*backing)->file == other.path_of(paths.base).string()) known = true;
        }
        if (!known) {
            return make_error(ErrorCode::UnsafeImage,
                              "overlay " + paths.overlay.string() + " is backed by " +
                                  ((*backing)->file.empty() ? std::string("nothing") : printable((*backing)->file)) +
                                  ", not by a copy of base " + paths.base.sha256.substr(0, 12) +
                                  "; appshare will not re-point it, reinstall the instance.");
        }
        if (auto r = qemu_img_rebase_unsafe(paths.overlay, base, paths.base.image_format); !r) return std::move(r).error();
        say(log, "re-pointed the overlay " + paths.overlay.string() + " from " + (*backing)->file + " to " + base.string());
        changed = true;
    }
    for (const auto* boot : paths.boot_files()) {
        auto r = point_link(boot->link, store.path_of(boot->spec));
        if (!r) return std::move(r).error();
        if (*r) say(log, "pointed " + boot->link.string() + " at " + store.path_of(boot->spec).string());
        changed = changed || *r;
    }
    return changed;
}

}  // namespace appshare
