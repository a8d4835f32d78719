// appshare reshare NAME [--connect URI]
#include "commands.hpp"

#include "instance/config.hpp"
#include "virt/connection.hpp"
#include "virt/libvirt_error.hpp"
#include "virt/reshare_domain.hpp"

#include <iostream>
#include <memory>
#include <string>

namespace appshare::cli {

void register_reshare(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("reshare", "Move a stopped instance that runs on a host-local copy back onto the shared base");
    auto name = std::make_shared<std::string>();
    auto uri = std::make_shared<std::string>();
    sub->add_option("NAME", *name, "the domain (instance) name")->required();
    sub->add_option("-c,--connect", *uri, "libvirt URI (default: configuration, then LIBVIRT_DEFAULT_URI)");
    sub->callback([&chosen, name, uri] {
        chosen = [name, uri] {
            auto config = load_config();
            if (!config) {
                std::cerr << "appshare: " << config.error().message << "\n";
                return config.error().exit_status();
            }
            silence_libvirt_stderr();
            auto conn = open_connection(uri->empty() ? config->uri : *uri);
            if (!conn) {
                std::cerr << "appshare: " << conn.error().message << "\n";
                return conn.error().exit_status();
            }
            auto out = reshare_domain(*conn, *name, *config);
            if (!out) {
                std::cerr << "appshare: " << out.error().message << "\n";
                return out.error().exit_status();
            }
            if (out->was_independent) {
                std::cout << *name << " runs on the shared base " << out->base.string() << " again.\n";
            } else {
                std::cout << *name << " already runs on the shared base " << out->base.string() << ".\n";
            }
            return 0;
        };
    });
}

}  // namespace appshare::cli
