// appshare verify BUNDLE [--json]
#include "commands.hpp"

#include <iostream>
#include <memory>
#include <string>

namespace appshare::cli {

void register_verify(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("verify", "Check an appliance bundle: schema, paths, digests, image safety");
    auto bundle = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    sub->add_option("BUNDLE", *bundle, "bundle directory or tar archive")->required();
    sub->add_flag("--json", *json, "print the summary as JSON");
    sub->callback([&chosen, bundle, json] {
        chosen = [bundle, json] {
            std::cerr << "appshare: verify is not built yet.\n";
            return 1;
        };
    });
}

}  // namespace appshare::cli
