// appshare list [--all-hosts] [--json] [--connect URI] [--config FILE]
#include "arguments.hpp"
#include "commands.hpp"
#include "report.hpp"
#include "session.hpp"

#include "instance/all_hosts_list.hpp"
#include "virt/instance_list.hpp"

#include <memory>

namespace appshare::cli {
namespace {

Result<InstanceListing> listing(const SessionOptions& s)
{
    auto config = session_config(s);
    if (!config) return std::move(config).error();
    auto conn = session_connection(s, *config);
    if (!conn) return std::move(conn).error();
    return list_instances(*conn, *config);
}

// Only the shared storage: no libvirt connection.
Result<AllHostsListing> all_hosts_listing(const SessionOptions& s)
{
    auto config = session_config(s);
    if (!config) return std::move(config).error();
    return list_all_hosts(*config);
}

}  // namespace

void register_list(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("list", "List appshare instances and the storage sharing saves");
    auto json = std::make_shared<bool>(false);
    auto all_hosts = std::make_shared<bool>(false);
    auto s = add_session_options(sub);
    sub->add_flag("--json", *json, "print as JSON");
    sub->add_flag("--all-hosts", *all_hosts, "every instance the shared storage knows of, on every host, and whether each host is live");
    set_examples(sub, {"appshare list", "appshare list --all-hosts --json"});
    sub->callback([&chosen, json, all_hosts, s] {
        chosen = [json, all_hosts, s] {
            if (*all_hosts) return report_result(all_hosts_listing(*s), *json, all_hosts_json, all_hosts_text);
            return report_result(listing(*s), *json, instance_listing_json, instance_listing_text);
        };
    });
}

}  // namespace appshare::cli
