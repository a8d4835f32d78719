// The hook's log: one line per event, tagged with the domain, to syslog/journald (ident
// "appshare-hook"), to stderr, or appended to a file, as the `log` setting of the configuration
// says. stderr is otherwise reserved for the one sentence libvirt shows the user.
#pragma once

#include <string>
#include <string_view>

namespace appshare {

class HookLog {
public:
    // `destination`: "syslog", "stderr", or an absolute file path (appended to, created 0644).
    HookLog(std::string destination, std::string domain);
    ~HookLog();
    HookLog(const HookLog&) = delete;
    HookLog& operator=(const HookLog&) = delete;

    void info(std::string_view message) const;
    void warning(std::string_view message) const;
    void error(std::string_view message) const;

private:
    void write(int priority, std::string_view level, std::string_view message) const;
    std::string destination_;
    std::string domain_;
    bool syslog_open_ = false;
};

}  // namespace appshare
