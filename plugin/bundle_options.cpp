#include "bundle_options.hpp"

#include "base/size_units.hpp"

namespace appshare::cli {

void add_bundle_options(CLI::App* sub, BundleOptions& o)
{
    sub->add_option("--description", o.description, "one-line description");
    sub->add_option("--arch", o.arch, "guest architecture (default x86_64)");
    sub->add_option("--memory", o.memory, "memory, e.g. 512M or 2G (default unit MiB)");
    sub->add_option("--vcpus", o.vcpus, "virtual CPUs");
    sub->add_option("--kernel", o.kernel, "kernel for direct kernel boot (else the disk boots through firmware)");
    sub->add_option("--initrd", o.initrd, "initrd for direct kernel boot");
    sub->add_option("--cmdline", o.cmdline, "kernel command line for direct kernel boot");
    sub->add_option("--user-data", o.user_data, "the appliance's default cloud-init user-data file");
    sub->add_option("--overlay-size", o.overlay_size, "each instance's disk size (default unit GiB; default: the image's)");
    sub->add_option("--network", o.network, "user (default), none, or network:NAME for a libvirt network");
    sub->add_option("--console", o.console, "serial (default) or none")->check(CLI::IsMember({"serial", "none"}));
    sub->add_option("--source-file", o.source_files, "absolute path the hook may re-load the base from (repeatable)");
    sub->add_option("--source-url", o.source_urls, "http(s) URL the hook may re-load the base from (repeatable)");
}

Result<void> apply_bundle_options(const BundleOptions& o, BundleContent& c)
{
    Manifest& m = c.manifest;
    if (o.description) m.description = *o.description;
    if (o.arch) m.arch = *o.arch;
    if (o.memory) {
        auto memory = parse_size_text(*o.memory, "MiB", "the command line", "--memory", ErrorCode::Usage);
        if (!memory) return std::move(memory).error();
        m.memory_bytes = *memory;
    }
    if (o.vcpus) m.vcpus = *o.vcpus;
    if (o.overlay_size) {
        auto size = parse_size_text(*o.overlay_size, "GiB", "the command line", "--overlay-size", ErrorCode::Usage);
        if (!size) return std::move(size).error();
        m.overlay_size = *size;
    }
    if ((o.initrd || o.cmdline) && !o.kernel) {
        return make_error(ErrorCode::Usage, "--initrd and --cmdline are for direct kernel boot; give --kernel too.");
    }
    if (o.kernel) c.kernel = *o.kernel;
    if (o.initrd) c.initrd = *o.initrd;
    if (o.cmdline) m.cmdline = *o.cmdline;
    if (o.user_data) c.user_data = *o.user_data;
    if (o.network.rfind("network:", 0) == 0) {
        m.network = {"network", o.network.substr(8)};
    } else if (o.network == "user" || o.network == "none") {
        m.network = {o.network, ""};
    } else {
        return make_error(ErrorCode::Usage, "--network " + o.network +
                                                " is not understood; use user, none or network:NAME (a libvirt network).");
    }
    m.console = o.console;
    m.source_files = o.source_files;
    m.source_urls = o.source_urls;
    return ok();
}

}  // namespace appshare::cli
