#include "hook/hook_log.hpp"

#include "base/text.hpp"
#include "base/time_format.hpp"

#include <iostream>

#include <fcntl.h>
#include <syslog.h>
#include <unistd.h>

namespace appshare {

HookLog::HookLog(std::string destination, std::string domain)
    : destination_(std::move(destination)), domain_(std::move(domain))
{
    if (destination_ == "syslog") {
        openlog("appshare-hook", LOG_PID, LOG_DAEMON);
        syslog_open_ = true;
    }
}

HookLog::~HookLog()
{
    if (syslog_open_) closelog();
}

void HookLog::info(std::string_view message) const { write(LOG_INFO, "info", message); }
void HookLog::warning(std::string_view message) const { write(LOG_WARNING, "warning", message); }
void HookLog::error(std::string_view message) const { write(LOG_ERR, "error", message); }

void HookLog::write(int priority, std::string_view level, std::string_view message) const
{
    // Domain names, metadata, lock notes and URLs are not ours: nothing in a line may forge
    // another line or drive the terminal that shows the log.
    const std::string tagged = "domain " + printable(domain_) + ": " + printable_message(message);
    if (syslog_open_) {
        syslog(priority, "%s", tagged.c_str());
        return;
    }
    const std::string line = utc_timestamp_now() + " appshare-hook[" + std::to_string(::getpid()) + "] " +
                             std::string(level) + ": " + tagged + "\n";
    if (destination_ == "stderr") {
        std::cerr << line << std::flush;
        return;
    }
    // One write() per line on an O_APPEND descriptor: lines of parallel hooks never interleave.
    const int fd = ::open(destination_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return;  // logging must never break a start
    [[maybe_unused]] const auto n = ::write(fd, line.data(), line.size());
    ::close(fd);
}

}  // namespace appshare
