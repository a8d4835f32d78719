#include "session.hpp"

#include "report.hpp"
#include "virt/libvirt_error.hpp"
#include "virt/storage_pools.hpp"

#include <cstdlib>

namespace appshare::cli {

std::shared_ptr<SessionOptions> add_session_options(CLI::App* sub)
{
    auto o = std::make_shared<SessionOptions>();
    sub->add_option("--config", o->config_path, "appshare configuration file (default: $APPSHARE_CONFIG, /etc/appshare/appshare.conf)");
    sub->add_option("-c,--connect", o->connect, "libvirt URI (default: $LIBVIRT_DEFAULT_URI, else the configuration's uri)");
    return o;
}

Result<Config> session_config(const SessionOptions& o) { return load_config(o.config_path); }

std::string session_uri(const SessionOptions& o, const Config& config)
{
    std::string uri = o.connect;
    const char* env = std::getenv("LIBVIRT_DEFAULT_URI");
    if (uri.empty() && (env == nullptr || *env == '\0')) uri = config.uri;
    return uri;
}

Result<Connection> session_connection(const SessionOptions& o, const Config& config)
{
    silence_libvirt_stderr();
    return open_connection(session_uri(o, config));
}

void refresh_pools(const Connection& conn, const Config& config)
{
    report_pool_warnings(refresh_storage_pools(conn, config).warnings);
}

void report_pool_warnings(const std::vector<std::string>& warnings)
{
    for (const auto& w : warnings) report_notice("warning: " + finish_sentence(w));
}

}  // namespace appshare::cli
