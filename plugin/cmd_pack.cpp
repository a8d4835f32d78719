// appshare pack IMAGE --name N --version V -o DIR|FILE.tar[.gz|.xz] [--format qcow2|raw]
//               [--description D] [--arch A] [--memory SIZE] [--vcpus N] [--kernel F [--initrd F]
//               [--cmdline C]] [--user-data F] [--overlay-size SIZE] [--network user|none|network:NAME]
//               [--console serial|none] [--source-file PATH]... [--source-url URL]... [--json]
#include "commands.hpp"
#include "report.hpp"

#include "base/size_units.hpp"
#include "bundle/bundle_writer.hpp"

#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace appshare::cli {
namespace {

struct PackArgs {
    std::string image;
    std::string format = "qcow2";
    std::string output;
    std::string name;
    std::string version;
    std::string description;
    std::string arch = "x86_64";
    std::string memory = "1G";
    unsigned vcpus = 1;
    std::optional<std::string> kernel, initrd, cmdline, user_data;
    std::string overlay_size;
    std::string network = "user";
    std::string console = "serial";
    std::vector<std::string> source_files, source_urls;
    bool json = false;
};

Result<BundleContent> content_of(const PackArgs& a)
{
    BundleContent c;
    c.image = a.image;
    c.image_format = a.format;
    Manifest& m = c.manifest;
    m.name = a.name;
    m.version = a.version;
    m.description = a.description;
    m.arch = a.arch;
    auto memory = parse_size_text(a.memory, "MiB", "the command line", "--memory", ErrorCode::Usage);
    if (!memory) return std::move(memory).error();
    m.memory_bytes = *memory;
    m.vcpus = a.vcpus;
    if (!a.overlay_size.empty()) {
        auto size = parse_size_text(a.overlay_size, "GiB", "the command line", "--overlay-size", ErrorCode::Usage);
        if (!size) return std::move(size).error();
        m.overlay_size = *size;
    }
    if ((a.initrd || a.cmdline) && !a.kernel) {
        return make_error(ErrorCode::Usage, "--initrd and --cmdline are for direct kernel boot; give --kernel too.");
    }
    if (a.kernel) c.kernel = *a.kernel;
    if (a.initrd) c.initrd = *a.initrd;
    if (a.user_data) c.user_data = *a.user_data;
    m.cmdline = a.cmdline;
    if (a.network.rfind("network:", 0) == 0) {
        m.network = {"network", a.network.substr(8)};
    } else if (a.network == "user" || a.network == "none") {
        m.network = {a.network, ""};
    } else {
        return make_error(ErrorCode::Usage, "--network " + a.network +
                                                " is not understood; use user, none or network:NAME (a libvirt network).");
    }
    m.console = a.console;
    m.source_files = a.source_files;
    m.source_urls = a.source_urls;
    return c;
}

int run_pack(const PackArgs& a)
{
    auto content = content_of(a);
    if (!content) return report_error(content.error(), a.json);
    return report_result(write_bundle(*content, a.output, isatty(STDERR_FILENO) != 0 && !a.json), a.json,
                         bundle_summary_json, bundle_summary);
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
    sub->add_option("--description", a->description, "one-line description");
    sub->add_option("--arch", a->arch, "guest architecture (default x86_64)");
    sub->add_option("--memory", a->memory, "memory, e.g. 512M or 2G (default unit MiB; default 1G)");
    sub->add_option("--vcpus", a->vcpus, "virtual CPUs (default 1)");
    sub->add_option("--kernel", a->kernel, "kernel for direct kernel boot (else the disk boots through firmware)");
    sub->add_option("--initrd", a->initrd, "initrd for direct kernel boot");
    sub->add_option("--cmdline", a->cmdline, "kernel command line for direct kernel boot");
    sub->add_option("--user-data", a->user_data, "the appliance's default cloud-init user-data file");
    sub->add_option("--overlay-size", a->overlay_size, "each instance's disk size (default unit GiB; default: the image's)");
    sub->add_option("--network", a->network, "user (default), none, or network:NAME for a libvirt network");
    sub->add_option("--console", a->console, "serial (default) or none")->check(CLI::IsMember({"serial", "none"}));
    sub->add_option("--source-file", a->source_files, "absolute path the hook may re-load the base from (repeatable)");
    sub->add_option("--source-url", a->source_urls, "http(s) URL the hook may re-load the base from (repeatable)");
    sub->add_flag("--json", a->json, "print the summary as JSON");
    sub->callback([&chosen, a] { chosen = interruptible([a] { return run_pack(*a); }); });
}

}  // namespace appshare::cli
