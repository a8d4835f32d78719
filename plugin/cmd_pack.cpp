// appshare pack IMAGE --name N --version V -o DIR|FILE.tar[.gz|.xz] [--format qcow2|raw] [--json]
//               and the bundle options (plugin/bundle_options.hpp)
#include "arguments.hpp"
#include "commands.hpp"
#include "report.hpp"

#include "bundle_options.hpp"

#include <unistd.h>

#include <memory>
#include <string>

namespace appshare::cli {
namespace {

struct PackArgs {
    std::string image;
    std::string format = "qcow2";
    std::string output;
    std::string name;
    std::string version;
    BundleOptions bundle;
    bool json = false;
};

int run_pack(const PackArgs& a)
{
    BundleContent c;
    c.image = a.image;
    c.image_format = a.format;
    c.manifest.name = a.name;
    c.manifest.version = a.version;
    c.manifest.arch = "x86_64";
    c.manifest.memory_bytes = std::uint64_t{1} << 30;
    c.manifest.vcpus = 1;
    if (auto r = apply_bundle_options(a.bundle, c); !r) return report_error(r.error(), a.json);
    return report_result(write_bundle(c, a.output, isatty(STDERR_FILENO) != 0 && !a.json), a.json, bundle_summary_json,
                         bundle_summary);
}

}  // namespace

void register_pack(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("pack", "Make a verified appliance bundle from a disk image (its backing chain flattened)");
    auto a = std::make_shared<PackArgs>();
    sub->add_option("IMAGE", a->image, "the disk image (the top of its backing chain)")->required();
    sub->add_option("-o,--output", a->output, "the bundle to write: a new directory, or FILE.tar, .tar.gz or .tar.xz")
        ->required();
    sub->add_option("-n,--name", a->name, "appliance name")->required();
    sub->add_option("--version", a->version, "appliance version")->required();
    sub->add_option("--format", a->format, "the image's format, never guessed (default qcow2)")
        ->check(CLI::IsMember({"qcow2", "raw"}));
    add_bundle_options(sub, a->bundle);
    sub->add_flag("--json", a->json, "print the summary as JSON");
    set_examples(sub, {"appshare pack debian-12-genericcloud-amd64.qcow2 --name debian12 --version 20261101 -o debian12.tar.xz",
                       "appshare pack disk.qcow2 --name vm-app --version 1.0 --kernel vmlinuz --initrd initrd.img "
                       "--cmdline 'console=ttyS0' -o vm-app-bundle"});
    sub->callback([&chosen, a] { chosen = interruptible([a] { return run_pack(*a); }); });
}

}  // namespace appshare::cli
