#include "instance/context.hpp"

#include "base/atomic_file.hpp"
#include "instance/instance_state.hpp"
#include "base/interrupt.hpp"
#include "image/qemu_img.hpp"
#include "base/time_format.hpp"

#include <cctype>
#include <cerrno>
#include <cstring>

#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

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

Result<void> make_link(const std::filesystem::path& target, const std::filesystem::path& link)
{
    if (::symlink(target.c_str(), link.c_str()) != 0) return io_error("create the link", link, errno);
    return ok();
}

Result<void> stop_if_interrupted(const ContextLayout& layout)
{
    if (!interrupted()) return ok();
    return make_error(ErrorCode::Interrupted, "interrupted while creating the context " + layout.dir.string() +
                                                  "; nothing was kept, run the command again.");
}

}  // namespace

ContextLayout context_layout(const std::filesystem::path& context_root, std::string_view name)
{
    ContextLayout l;
    l.dir = context_root / std::string(name);
    l.overlay = l.dir / "disk.qcow2";
    l.kernel_link = l.dir / "vmlinuz";
    l.initrd_link = l.dir / "initrd.img";
    l.state_file = l.dir / std::string(kInstanceStateFile);
    return l;
}

Result<void> check_instance_name(std::string_view name)
{
    const auto bad = [&](const std::string& why) {
        return make_error(ErrorCode::Usage, "the instance name '" + std::string(name) + "' " + why +
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

NewContext::NewContext(NewContext&& o) noexcept : layout_(std::move(o.layout_)), keep_(std::exchange(o.keep_, true)) {}

NewContext::~NewContext()
{
    if (keep_ || layout_.dir.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(layout_.dir, ec);
    (void)fsync_dir(layout_.dir.parent_path());
}

Result<NewContext> create_context(const ContextLayout& layout, const ContextSpec& spec)
{
    if (auto r = make_dirs(layout.dir.parent_path()); !r) return std::move(r).error();
    if (::mkdir(layout.dir.c_str(), 0755) != 0) {
        if (errno == EEXIST) {
            return make_error(ErrorCode::AlreadyExists,
                              "the context directory " + layout.dir.string() +
                                  " already exists (left by an earlier instance of that name?); remove it or choose another name.");
        }
        return io_error("create the context directory", layout.dir, errno);
    }
    NewContext ctx(layout);  // from here on, every early return removes the directory

    if (auto r = stop_if_interrupted(layout); !r) return std::move(r).error();
    if (auto r = qemu_img_create_overlay(layout.overlay, spec.base, spec.base_format, spec.virtual_size); !r) {
        return std::move(r).error();
    }
    if (spec.kernel) {
        if (auto r = make_link(*spec.kernel, layout.kernel_link); !r) return std::move(r).error();
    }
    if (spec.initrd) {
        if (auto r = make_link(*spec.initrd, layout.initrd_link); !r) return std::move(r).error();
    }
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

}  // namespace appshare
