// appshare uninstall NAME [--force] [--connect URI] [--config FILE]
#include "arguments.hpp"
#include "commands.hpp"
#include "report.hpp"
#include "session.hpp"

#include "virt/uninstall.hpp"

#include <iostream>
#include <memory>

namespace appshare::cli {

void register_uninstall(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("uninstall", "Remove an instance: its domain and its context (never a shared base)");
    auto r = std::make_shared<UninstallRequest>();
    auto s = add_session_options(sub);
    sub->add_option("NAME", r->name, "instance (domain) name")->required()->check(instance_name_argument());
    sub->add_flag("-f,--force", r->force, "stop a running instance at once first (like pulling the plug)");
    set_examples(sub, {"appshare uninstall web2", "appshare uninstall --force web1"});
    sub->callback([&chosen, r, s] {
        chosen = [r, s]() -> int {
            auto config = session_config(*s);
            if (!config) return report_error(config.error());
            auto conn = session_connection(*s, *config);
            if (!conn) return report_error(conn.error());
            auto done = uninstall_instance(*conn, *config, *r);
            if (!done) return report_error(done.error());
            refresh_pools(*conn, *config);
            std::cout << "Uninstalled '" << done->name << "'" << (done->stopped ? " (stopped it first)" : "")
                      << "; removed its context " << done->context_dir.string() << "; the shared base "
                      << done->base.string() << " stays.\n";
            for (const auto& w : done->warnings) report_notice("warning: " + w);
            return 0;
        };
    });
}

}  // namespace appshare::cli
