// appshare verify BUNDLE [--json]
#include "commands.hpp"
#include "report.hpp"

#include "bundle/bundle_verify.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <string>

namespace appshare::cli {

void register_verify(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("verify", "Check an appliance bundle: manifest schema, paths, image safety, digests");
    auto bundle_path = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    sub->add_option("BUNDLE", *bundle_path, "bundle directory or tar archive")->required();
    sub->add_flag("--json", *json, "print the summary as JSON");
    sub->callback([&chosen, bundle_path, json] {
        chosen = [bundle_path, json]() -> int {
            auto bundle = Bundle::open(*bundle_path);
            auto verified = bundle ? verify_bundle(*bundle, VerifyOptions{{}, isatty(STDERR_FILENO) != 0})
                                   : Result<VerifiedBundle>(bundle.error());
            if (!verified) {
                if (*json) std::cout << error_json(verified.error()).dump(2) << "\n";
                return report_error(verified.error());
            }
            if (*json) {
                std::cout << bundle_summary_json(*verified).dump(2) << "\n";
            } else {
                std::cout << bundle_summary(*verified);
            }
            return 0;
        };
    });
}

}  // namespace appshare::cli
