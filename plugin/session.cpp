#include "session.hpp"

#include "virt/libvirt_error.hpp"

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

Result<Connection> session_connection(const SessionOptions& o, const Config& config)
{
    silence_libvirt_stderr();
    std::string uri = o.connect;
    const char* env = std::getenv("LIBVIRT_DEFAULT_URI");
    if (uri.empty() && (env == nullptr || *env == '\0')) uri = config.uri;
    return open_connection(uri);
}

}  // namespace appshare::cli
