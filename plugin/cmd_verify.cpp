// appshare verify BUNDLE [--json]
#include "arguments.hpp"
#include "commands.hpp"
#include "report.hpp"

#include "bundle/bundle_verify.hpp"

#include <unistd.h>

#include <memory>
#include <string>

namespace appshare::cli {
namespace {

Result<VerifiedBundle> verified(const std::string& path)
{
    auto bundle = Bundle::open(path);
    if (!bundle) return std::move(bundle).error();
    return verify_bundle(*bundle, VerifyOptions{{}, isatty(STDERR_FILENO) != 0});
}

}  // namespace

void register_verify(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("verify", "Check an appliance bundle: manifest schema, paths, image safety, digests");
    auto bundle_path = std::make_shared<std::string>();
    auto json = std::make_shared<bool>(false);
    sub->add_option("BUNDLE", *bundle_path, "bundle directory or tar archive")->required();
    sub->add_flag("--json", *json, "print the summary as JSON");
    set_examples(sub, {"appshare verify ./vm-app-bundle", "appshare verify --json vm-app-1.0.tar.xz"});
    sub->callback([&chosen, bundle_path, json] {
        chosen = [bundle_path, json] { return report_result(verified(*bundle_path), *json, bundle_summary_json, bundle_summary); };
    });
}

}  // namespace appshare::cli
