#include "instance/context.hpp"

#include "base/atomic_file.hpp"
#include "base/dir_handle.hpp"
#include "base/error.hpp"
#include "base/interrupt.hpp"
#include "base/sync_batch.hpp"
#include "base/unique_handle.hpp"
#include "base/text.hpp"
#include "base/time_format.hpp"
#include "image/image_check.hpp"
#include "image/qcow2_header.hpp"
#include "image/qcow2_overlay.hpp"
#include "instance/instance_state.hpp"

#include <algorithm>
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

std::string temp_name_for(const std::string& final_name)
{
    return temp_prefix_for(final_name) + std::to_string(::getpid());
}

// The folder of a context file and the file's name in it, reached without links.
Result<std::pair<DirHandle, std::string>> folder_of(const std::filesystem::path& file)
{
    auto dir = DirHandle::open(file.parent_path());
    if (!dir) return std::move(dir).error();
    return std::pair{std::move(*dir), file.filename().string()};
}

// Makes `dir` (and missing parents) and gives it exactly kContextDirMode: QEMU, running as
// libvirt's user, passes through to the files libvirt hands it, and nobody else lists or reads
// anything. An older appshare made contexts 0755; they are tightened here (on the descriptor of
// the directory itself, never through a link).
Result<void> make_private_dir(const std::filesystem::path& dir)
{
    auto handle = DirHandle::open(dir, DirHandle::Create::Yes, kContextDirMode);
    if (!handle) return std::move(handle).error();
    struct stat st {};
    if (::fstat(handle->fd(), &st) != 0) return io_error("inspect", dir, errno);
    if ((st.st_mode & 07777) != kContextDirMode && ::fchmod(handle->fd(), kContextDirMode) != 0) {
        return io_error("restrict the permissions of", dir, errno);
    }
    return ok();
}

// Removes what killed writers of `final_path` left beside it (only run under the instance lock).
void remove_leftovers_of(const std::filesystem::path& final_path)
{
    auto folder = folder_of(final_path);
    if (!folder) return;
    const auto& [dir, name] = *folder;
    const auto prefix = temp_prefix_for(name);
    auto names = dir.names();
    if (!names) return;
    for (const auto& entry : *names) {
        if (entry.rfind(prefix, 0) == 0) (void)dir.remove(entry);
    }
}

// An overlay made readable by others (an older appshare made them 0644) loses those bits: it
// holds the guest's data. On its descriptor, never through a link.
Result<void> keep_overlay_private(const ContextLayout& context)
{
    struct stat st {};
    auto fd = open_checked(context.overlay, O_RDONLY, FileType::Regular, &st);
    if (!fd || (st.st_mode & 0077) == 0) return ok();
    if (::fchmod(fd->get(), st.st_mode & 0700) != 0) return io_error("restrict the permissions of", context.overlay, errno);
    return ok();
}

// The hook's overlay for a base that is there: as large as the base, backed by the context's base
// link, written under the instance lock after dropping what killed hooks left behind. An overlay
// that appeared meanwhile is kept.
Result<void> create_overlay_for(const ContextLayout& context, const ContextTarget& target)
{
    auto base = open_checked(target.base, O_RDONLY, FileType::Regular);
    if (!base) return std::move(base).error();
    auto facts = check_image_fd(base->get(), target.base_format, target.base.string());
    if (!facts) return std::move(facts).error();
    remove_leftovers_of(context.overlay);
    auto made = create_qcow2_overlay(context.overlay, context.base_link, target.base_format,
                                     std::max(facts->virtual_size, target.overlay_size));
    if (!made && made.error().code != ErrorCode::AlreadyExists) return made;
    return ok();
}

// Points the symbolic link `link` at `target` atomically, in its folder opened without links:
// a new link at a temporary name, renamed over it. Returns whether it changed.
Result<bool> point_link(const std::filesystem::path& link, const std::filesystem::path& target)
{
    auto folder = folder_of(link);
    if (!folder) return std::move(folder).error();
    const auto& [dir, name] = *folder;
    if (dir.read_link(name) == target) return false;
    // Only a symlink (ours, pointing elsewhere) or nothing is replaced; any other file at that
    // name is not ours to destroy.
    auto st = dir.stat(name);
    if (!st) return std::move(st).error();
    if (*st && !S_ISLNK((*st)->st_mode)) {
        return make_error(ErrorCode::UnsafePath, "link " + link.string() +
                                                     " is not a symbolic link; appshare will not replace it, move it away and start the domain again.");
    }
    const auto tmp = temp_name_for(name);
    (void)dir.remove(tmp);
    if (auto l = dir.symlink(target, tmp); !l) return std::move(l).error();
    if (auto r = dir.rename(tmp, name); !r) {
        (void)dir.remove(tmp);
        return std::move(r).error();
    }
    if (auto s = dir.sync(); !s) return std::move(s).error();
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
    l.seed_dir = l.dir / "cloud-init";
    l.seed_iso = l.dir / "seed.iso";
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
    auto folder = folder_of(dir_);
    if (!folder) return;
    (void)folder->first.remove_tree(folder->second);
    (void)folder->first.sync();
}

Result<NewContext> create_context(const ContextLayout& layout, const ContextSpec& spec, SyncBatch* given)
{
    auto root = DirHandle::open(layout.dir.parent_path(), DirHandle::Create::Yes, kContextDirMode);
    if (!root) return std::move(root).error();
    const auto name = layout.dir.filename().string();
    if (!is_single_name(name)) return make_error(ErrorCode::UnsafePath, "the context " + layout.dir.string() + " is not a plain name.");
    if (::mkdirat(root->fd(), name.c_str(), kContextDirMode) != 0) {
        if (errno == EEXIST) {
            return make_error(ErrorCode::AlreadyExists,
                              "the context directory " + layout.dir.string() +
                                  " already exists (left by an earlier instance of that name?); remove it or choose another name.");
        }
        return io_error("create the context directory", layout.dir, errno);
    }
    NewContext ctx(layout.dir);  // from here on, every early return removes the directory
    auto dir = root->sub(name);
    if (!dir) return std::move(dir).error();
    if (::fchmod(dir->fd(), kContextDirMode) != 0) return io_error("set the permissions of", layout.dir, errno);

    if (auto r = stop_if_interrupted(layout); !r) return std::move(r).error();
    // Nothing names the new folder yet (the domain is defined only once it is flushed), so its
    // files are flushed together at the end, not one by one (base/sync_batch.hpp).
    SyncBatch own;
    SyncBatch& batch = given != nullptr ? *given : own;
    // The overlay is backed by the base link; the base need not be there yet (a lazy install):
    // neither the link nor the overlay opens it.
    if (auto r = dir->symlink(spec.base, layout.base_link.filename().string()); !r) return std::move(r).error();
    if (auto r = create_qcow2_overlay(layout.overlay, layout.base_link, spec.base_format, spec.virtual_size, &batch); !r) {
        if (r.error().code == ErrorCode::UnsafeImage) return make_error(ErrorCode::Io, r.error().message);
        return std::move(r).error();
    }
    const auto link = [&dir](const std::optional<std::filesystem::path>& target, const std::filesystem::path& at) -> Result<void> {
        return target ? dir->symlink(*target, at.filename().string()) : ok();
    };
    if (auto r = link(spec.kernel, layout.kernel_link); !r) return std::move(r).error();
    if (auto r = link(spec.initrd, layout.initrd_link); !r) return std::move(r).error();
    const InstanceState state{InstanceMode::Shared, utc_timestamp_now(), "installed", spec.base, {}};
    if (auto r = save_instance_state(layout.dir, state, &batch); !r) return std::move(r).error();
    // The folder (its links and names) and its own name in the context root, with the files.
    if (auto r = batch.add(dir->fd(), layout.dir); !r) return std::move(r).error();
    if (auto r = batch.add(root->fd(), layout.dir.parent_path()); !r) return std::move(r).error();
    if (given == nullptr) {
        if (auto r = batch.flush(); !r) return std::move(r).error();
    }
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
    auto parent = DirHandle::open(root);
    if (!parent) return parent.error().code == ErrorCode::NotFound ? ok() : Result<void>(std::move(parent).error());
    const auto name = d.filename().string();
    auto st = parent->stat(name);
    if (!st) return std::move(st).error();
    if (!*st) return ok();
    if (!S_ISDIR((*st)->st_mode)) {
        return make_error(ErrorCode::UnsafePath, "the context " + d.string() +
                                                     " is not a directory (a symlink?); remove it by hand if it is really unused.");
    }
    if (auto r = parent->remove_tree(name); !r) {
        return make_error(ErrorCode::Io, "cannot remove the context " + d.string() + ": " + message_clause(r.error().message) +
                                             "; remove it by hand.");
    }
    (void)parent->sync();
    return ok();
}

Result<std::optional<OverlayBacking>> read_overlay_backing(const ContextLayout& context)
{
    auto fd = open_checked(context.overlay, O_RDONLY, FileType::Regular);
    if (!fd) {
        if (fd.error().code == ErrorCode::NotFound) return std::optional<OverlayBacking>{};
        if (fd.error().code == ErrorCode::UnsafePath) {
            return make_error(ErrorCode::UnsafePath, "overlay " + context.overlay.string() +
                                                         " is not a regular file; appshare never follows links in a context.");
        }
        return std::move(fd).error();
    }
    auto prefix = read_fd_prefix(fd->get(), kQcow2PrefixBytes, context.overlay.string());
    if (!prefix) return std::move(prefix).error();
    auto header = parse_qcow2_header(prefix->bytes, prefix->file_size, context.overlay.string());
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
