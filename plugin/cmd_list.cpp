// appshare list [--json] [--connect URI] [--config FILE]
#include "commands.hpp"
#include "report.hpp"
#include "session.hpp"

#include "virt/instance_list.hpp"

#include <iostream>
#include <memory>

namespace appshare::cli {

void register_list(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("list", "List appshare instances and the storage sharing saves");
    auto json = std::make_shared<bool>(false);
    auto s = add_session_options(sub);
    sub->add_flag("--json", *json, "print as JSON");
    sub->callback([&chosen, json, s] {
        chosen = [json, s]() -> int {
            auto fail = [&](const Error& e) {
                if (*json) std::cout << error_json(e).dump(2) << "\n";
                return report_error(e);
            };
            auto config = session_config(*s);
            if (!config) return fail(config.error());
            auto conn = session_connection(*s, *config);
            if (!conn) return fail(conn.error());
            auto listing = list_instances(*conn, *config);
            if (!listing) return fail(listing.error());
            if (*json) {
                std::cout << instance_listing_json(*listing).dump(2) << "\n";
            } else {
                std::cout << instance_listing_text(*listing);
            }
            return 0;
        };
    });
}

}  // namespace appshare::cli
