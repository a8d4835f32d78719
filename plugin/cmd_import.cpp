// appshare import FILE.ova|FILE.ovf -o DIR|FILE.tar[.gz|.xz] [--name N] [--version V] [--json]
//                 and the bundle options (plugin/bundle_options.hpp)
#include "arguments.hpp"
#include "commands.hpp"
#include "report.hpp"

#include "bundle/ovf_import.hpp"
#include "bundle_options.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace appshare::cli {
namespace {

struct ImportArgs {
    std::string package;
    std::string output;
    std::optional<std::string> name, version;
    BundleOptions bundle;
    bool json = false;
};

int run_import(const ImportArgs& a)
{
    ImportRequest r;
    r.package = a.package;
    r.output = a.output;
    r.name = a.name;
    r.version = a.version;
    r.show_progress = isatty(STDERR_FILENO) != 0 && !a.json;
    if (auto applied = apply_bundle_options(a.bundle, r.extra); !applied) return report_error(applied.error(), a.json);
    auto result = import_ovf(r);
    if (!result) return report_error(result.error(), a.json);
    for (const auto& w : result->warnings) report_notice(w);
    if (!result->disk_digest_checked) report_notice(a.package + " has no .mf digest for its disk; its content was not checked against one.");
    if (a.json) {
        auto j = bundle_summary_json(result->bundle);
        j["warnings"] = result->warnings;
        j["package_digest_checked"] = result->disk_digest_checked;
        std::cout << j.dump(2) << "\n";
    } else {
        std::cout << bundle_summary(result->bundle);
    }
    return 0;
}

}  // namespace

void register_import(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("import", "Make a verified appliance bundle from an OVA/OVF package (its disk converted to qcow2)");
    auto a = std::make_shared<ImportArgs>();
    sub->add_option("PACKAGE", a->package, "the .ova archive, or the .ovf file with its disk beside it")->required();
    sub->add_option("-o,--output", a->output, "the bundle to write: a new directory, or FILE.tar, .tar.gz or .tar.xz")
        ->required();
    sub->add_option("-n,--name", a->name, "appliance name (default: the OVF's virtual system id)");
    sub->add_option("--version", a->version, "appliance version (default: the OVF's product version, else 1)");
    add_bundle_options(sub, a->bundle);
    sub->add_flag("--json", a->json, "print the summary as JSON");
    set_examples(sub, {"appshare import vendor-appliance.ova -o vendor.tar.xz",
                       "appshare import exported/vm.ovf -o vm-bundle --name vm --version 2.1"});
    sub->callback([&chosen, a] { chosen = interruptible([a] { return run_import(*a); }); });
}

}  // namespace appshare::cli
