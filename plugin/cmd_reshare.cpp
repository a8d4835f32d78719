// appshare reshare NAME [--connect URI] [--config FILE]
#include "arguments.hpp"
#include "commands.hpp"
#include "report.hpp"
#include "session.hpp"

#include "virt/reshare_domain.hpp"

#include <iostream>
#include <memory>
#include <string>

namespace appshare::cli {
namespace {

int run_reshare(const std::string& name, const SessionOptions& s)
{
    auto config = session_config(s);
    if (!config) return report_error(config.error());
    auto conn = session_connection(s, *config);
    if (!conn) return report_error(conn.error());
    auto out = reshare_domain(*conn, name, *config, report_notice);
    if (!out) return report_error(out.error());
    refresh_pools(*conn, *config);
    if (out->was_independent) {
        std::cout << name << " runs on the shared base " << out->base.string() << " again.\n";
    } else {
        std::cout << name << " already runs on the shared base " << out->base.string() << ".\n";
    }
    if (out->definition_updated) {
        std::cout << name << "'s definition now spells out its backing chain: libvirt no longer relabels the base.\n";
    }
    return 0;
}

}  // namespace

void register_reshare(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("reshare", "Move a stopped instance that runs on a host-local copy back onto the shared base");
    auto name = std::make_shared<std::string>();
    auto s = add_session_options(sub);
    sub->add_option("NAME", *name, "the domain (instance) name")->required()->check(instance_name_argument());
    set_examples(sub, {"appshare reshare web1    # once web1 is shut off (virsh shutdown web1)"});
    sub->callback([&chosen, name, s] { chosen = interruptible([name, s] { return run_reshare(*name, *s); }); });
}

}  // namespace appshare::cli
