// appshare list [--json] [--connect URI] [--config FILE]
#include "commands.hpp"
#include "report.hpp"
#include "session.hpp"

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

}  // namespace

void register_list(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("list", "List appshare instances and the storage sharing saves");
    auto json = std::make_shared<bool>(false);
    auto s = add_session_options(sub);
    sub->add_flag("--json", *json, "print as JSON");
    sub->callback([&chosen, json, s] {
        chosen = [json, s] { return report_result(listing(*s), *json, instance_listing_json, instance_listing_text); };
    });
}

}  // namespace appshare::cli
