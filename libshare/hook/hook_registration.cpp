#include "hook/hook_registration.hpp"

#include "base/atomic_file.hpp"
#include "base/small_file.hpp"
#include "base/text.hpp"

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>

#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

// A /proc file or the reload marker; empty when it cannot be read.
std::string read_small(const std::filesystem::path& p)
{
    constexpr std::size_t kMaxBytes = 64 * 1024;
    return read_small_file(p, kMaxBytes, FollowLinks::Yes).text;
}

std::string read_link(const std::filesystem::path& p)
{
    std::error_code ec;
    auto t = std::filesystem::read_symlink(p, ec);
    return ec ? std::string() : t.string();
}

std::optional<double> boot_time(const std::filesystem::path& proc_root)
{
    std::istringstream in(read_small(proc_root / "stat"));
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("btime ", 0) != 0) continue;
        try {
            return std::stod(line.substr(6));
        } catch (...) {
            return std::nullopt;
        }
    }
    return std::nullopt;
}

std::optional<std::uint64_t> start_ticks_of(const std::string& stat_text)
{
    const auto close = stat_text.rfind(')');
    if (close == std::string::npos) return std::nullopt;
    std::istringstream rest(stat_text.substr(close + 1));
    std::string field;
    for (int i = 3; i <= 22; ++i) {  // fields after "pid (comm)" start at 3
        if (!(rest >> field)) return std::nullopt;
    }
    try {
        return std::stoull(field);
    } catch (...) {
        return std::nullopt;
    }
}

std::filesystem::path marker_path(const std::filesystem::path& hooks_dir) { return hooks_dir / ".appshare-reloaded"; }

std::string marker_line(const DaemonProcess& d)
{
    return d.name + " " + std::to_string(d.pid) + " " + std::to_string(d.start_ticks);
}

double ctime_of(const struct stat& st) { return static_cast<double>(st.st_ctim.tv_sec) + st.st_ctim.tv_nsec / 1e9; }
double mtime_of(const struct stat& st) { return static_cast<double>(st.st_mtim.tv_sec) + st.st_mtim.tv_nsec / 1e9; }

}  // namespace

namespace {

// libvirtd runs the hook as root at every start of every domain: only a file that nobody but
// root can change may be registered. The file and every directory above it must belong to root,
// not be writable by others (a sticky directory such as /tmp is fine: nobody can replace root's
// entries in it), and be group-writable only for root's own group.
Result<void> check_root_controlled(const std::filesystem::path& binary)
{
    std::error_code ec;
    const auto real = std::filesystem::canonical(binary, ec);
    if (ec) return make_error(ErrorCode::Config, "cannot resolve the appshare startup binary " + binary.string() + ": " + ec.message() + ".");
    const auto refuse = [&](const std::filesystem::path& p, const std::string& why) {
        return make_error(ErrorCode::UnsafePath, "the appshare startup binary " + binary.string() + " cannot be registered: " +
                                                     p.string() + " " + why +
                                                     ", and libvirtd would run it as root; install appshare in a root-owned location.");
    };
    struct stat st {};
    if (::stat(real.c_str(), &st) != 0) return refuse(real, "cannot be inspected");
    const auto writable_by_others = [](const struct stat& s, bool sticky_ok) {
        const bool sticky = sticky_ok && (s.st_mode & S_ISVTX) != 0;
        return ((s.st_mode & S_IWOTH) != 0 && !sticky) || ((s.st_mode & S_IWGRP) != 0 && s.st_gid != 0 && !sticky);
    };
    if (st.st_uid != 0) return refuse(real, "is not owned by root");
    if (writable_by_others(st, false)) return refuse(real, "is writable by users other than root");
    for (auto dir = real.parent_path();; dir = dir.parent_path()) {
        if (::stat(dir.c_str(), &st) != 0) return refuse(dir, "cannot be inspected");
        if (st.st_uid != 0) return refuse(dir, "is not owned by root");
        if (writable_by_others(st, true)) return refuse(dir, "is writable by users other than root");
        if (dir == dir.root_path() || dir.parent_path() == dir) break;
    }
    return ok();
}

}  // namespace

Result<HookRegistration> register_hook(const std::filesystem::path& hooks_dir, const std::filesystem::path& hook_binary)
{
    HookRegistration reg;
    std::error_code ec;
    reg.target = std::filesystem::absolute(hook_binary, ec).lexically_normal();
    struct stat st {};
    if (hook_binary.empty() || ::stat(reg.target.c_str(), &st) != 0 || !S_ISREG(st.st_mode) ||
        ::access(reg.target.c_str(), X_OK) != 0) {
        return make_error(ErrorCode::Config, "the appshare startup binary " + reg.target.string() +
                                                 " is missing or not executable; reinstall appshare (or set APPSHARE_HOOK_BIN).");
    }
    if (auto c = check_root_controlled(reg.target); !c) return std::move(c).error();
    const auto qemu_d = hooks_dir / "qemu.d";
    if (auto r = make_dirs(qemu_d, 0755); !r) return std::move(r).error();
    reg.link = qemu_d / std::string(kHookLinkName);

    const auto existing = [&]() -> Result<HookRegistration> {
        struct stat lst {};
        if (::lstat(reg.link.c_str(), &lst) != 0) {
            return make_error(ErrorCode::Io, "cannot inspect " + reg.link.string() + ": " + std::strerror(errno) + ".");
        }
        std::error_code eq;
        if (S_ISLNK(lst.st_mode) && std::filesystem::equivalent(reg.link, reg.target, eq) && !eq) return reg;
        const std::string what = S_ISLNK(lst.st_mode) ? "is a link to " + read_link(reg.link) : "is another file";
        return make_error(ErrorCode::AlreadyExists,
                          reg.link.string() + " " + what + ", not to appshare's startup binary " + reg.target.string() +
                              "; appshare never overwrites it: move it away and run 'appshare hook register'.");
    };
    if (::symlink(reg.target.c_str(), reg.link.c_str()) == 0) {
        reg.created = true;
        (void)fsync_dir(qemu_d);
        return reg;
    }
    if (errno == EEXIST) return existing();
    return make_error(ErrorCode::Io, "cannot create " + reg.link.string() + ": " + std::strerror(errno) +
                                         "; run appshare as root (libvirt's hooks belong to root).");
}

Result<HookUnregistration> unregister_hook(const std::filesystem::path& hooks_dir, const std::filesystem::path& hook_binary)
{
    HookUnregistration out;
    out.link = hooks_dir / "qemu.d" / std::string(kHookLinkName);
    std::error_code ec;
    const auto target = std::filesystem::absolute(hook_binary, ec).lexically_normal();
    struct stat lst {};
    if (::lstat(out.link.c_str(), &lst) != 0) {
        if (errno != ENOENT) return make_error(ErrorCode::Io, "cannot inspect " + out.link.string() + ": " + std::strerror(errno) + ".");
    } else {
        const std::string points_at = S_ISLNK(lst.st_mode) ? read_link(out.link) : std::string();
        if (points_at.empty() || std::filesystem::path(points_at).lexically_normal() != target) {
            const std::string what = S_ISLNK(lst.st_mode) ? "is a link to " + points_at : "is another file";
            return make_error(ErrorCode::AlreadyExists, out.link.string() + " " + what + ", not to appshare's startup binary " +
                                                            target.string() + "; appshare leaves it alone: remove it yourself if it is stale.");
        }
        if (::unlink(out.link.c_str()) != 0) {
            return make_error(ErrorCode::Io, "cannot remove " + out.link.string() + ": " + std::strerror(errno) +
                                                 "; run appshare as root (libvirt's hooks belong to root).");
        }
        out.removed = true;
        (void)fsync_dir(out.link.parent_path());
    }
    std::filesystem::remove(marker_path(hooks_dir), ec);
    return out;
}

std::vector<DaemonProcess> find_libvirt_daemons(const std::filesystem::path& proc_root)
{
    std::vector<DaemonProcess> out;
    const auto btime = boot_time(proc_root);
    const long hz = ::sysconf(_SC_CLK_TCK);
    const std::string my_ns = read_link(proc_root / "self" / "ns" / "mnt");
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(proc_root, ec)) {
        const auto pid_text = entry.path().filename().string();
        if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos) continue;
        const std::string comm{trim(read_small(entry.path() / "comm"))};
        if (comm != "libvirtd" && comm != "virtqemud") continue;
        const std::string ns = read_link(entry.path() / "ns" / "mnt");
        if (!my_ns.empty() && !ns.empty() && ns != my_ns) continue;
        const auto ticks = start_ticks_of(read_small(entry.path() / "stat"));
        if (!ticks) continue;
        DaemonProcess d;
        d.pid = std::stol(pid_text);
        d.name = comm;
        d.start_ticks = *ticks;
        d.started_at = (btime ? *btime : 0.0) + static_cast<double>(*ticks) / static_cast<double>(hz > 0 ? hz : 100);
        out.push_back(std::move(d));
    }
    return out;
}

std::vector<DaemonProcess> daemons_needing_reload(const std::filesystem::path& hooks_dir,
                                                  const std::filesystem::path& link,
                                                  const std::vector<DaemonProcess>& daemons)
{
    std::vector<DaemonProcess> out;
    struct stat lst {};
    if (::lstat(link.c_str(), &lst) != 0) return out;  // no link: nothing a reload would show
    const double link_time = ctime_of(lst);

    struct stat mst {};
    const auto marker = marker_path(hooks_dir);
    const bool marker_fresh = ::stat(marker.c_str(), &mst) == 0 && mtime_of(mst) >= link_time;
    const std::string reloaded = marker_fresh ? read_small(marker) : std::string();

    for (const auto& d : daemons) {
        if (d.started_at > link_time + 1.0) continue;  // started after the link: it saw it
        std::istringstream lines(reloaded);
        std::string line;
        bool seen = false;
        while (std::getline(lines, line)) seen = seen || line == marker_line(d);
        if (!seen) out.push_back(d);
    }
    return out;
}

Result<void> record_reload(const std::filesystem::path& hooks_dir, const DaemonProcess& daemon)
{
    // Keeps the last few lines: older ones name daemons long gone.
    std::istringstream old(read_small(marker_path(hooks_dir)));
    std::vector<std::string> lines;
    for (std::string line; std::getline(old, line);) {
        if (!line.empty()) lines.push_back(line);
    }
    lines.push_back(marker_line(daemon));
    if (lines.size() > 16) lines.erase(lines.begin(), lines.end() - 16);
    std::string text;
    for (const auto& l : lines) text += l + "\n";
    return write_file_atomic(marker_path(hooks_dir), text, 0644);
}

Result<void> reload_daemon(const std::filesystem::path& hooks_dir, const DaemonProcess& daemon)
{
    if (::kill(static_cast<pid_t>(daemon.pid), SIGHUP) != 0) {
        return make_error(ErrorCode::Io, "cannot send SIGHUP to " + daemon.name + " (pid " + std::to_string(daemon.pid) +
                                             "): " + std::strerror(errno) + "; run 'systemctl reload " + daemon.name +
                                             "' as root.");
    }
    return record_reload(hooks_dir, daemon);
}

std::string reload_advice(const std::vector<DaemonProcess>& daemons)
{
    if (daemons.empty()) return {};
    std::string who;
    std::string systemctl;
    std::string kill = "kill -HUP";
    for (const auto& d : daemons) {
        if (!who.empty()) who += " and ";
        who += d.name + " (pid " + std::to_string(d.pid) + ")";
        if (systemctl.find(d.name) == std::string::npos) systemctl += (systemctl.empty() ? "" : " ") + d.name;
        kill += " " + std::to_string(d.pid);
    }
    return who + (daemons.size() == 1 ? " was" : " were") +
           " started before the appshare hook was registered and will not run it until reloaded: run 'systemctl reload " +
           systemctl + "' (or '" + kill + "', or 'appshare hook register --reload').";
}

}  // namespace appshare
