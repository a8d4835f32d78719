// appshare install BUNDLE --name NAME [--memory SIZE] [--vcpus N] [--virt-type kvm|qemu|auto]
//                  [--lazy] [--title T] [--description D] [--connect URI] [--config FILE]
//                  [--ssh-key FILE]... [--user-data FILE] [--meta-data FILE] [--network-config FILE]
//                  [--password-generate]
#include "commands.hpp"
#include "install_cloud_init_options.hpp"
#include "report.hpp"
#include "session.hpp"

#include "base/size_units.hpp"
#include "virt/install.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>

namespace appshare::cli {
namespace {

struct InstallArgs {
    std::string bundle;
    std::string name;
    std::string memory;
    std::optional<unsigned> vcpus;
    std::string virt_type;
    bool lazy = false;
    std::optional<std::string> title;
    std::optional<std::string> description;
    CloudInitOptions cloud_init;
};

int run_install(const InstallArgs& a, const SessionOptions& s)
{
    auto config = session_config(s);
    if (!config) return report_error(config.error());
    InstallRequest r;
    r.bundle = a.bundle;
    r.name = a.name;
    if (!a.memory.empty()) {
        auto bytes = parse_size_text(a.memory, "MiB", "the command line", "--memory", ErrorCode::Usage);
        if (!bytes) return report_error(bytes.error());
        r.memory_bytes = *bytes;
    }
    r.vcpus = a.vcpus;
    r.virt_type = a.virt_type;
    r.lazy = a.lazy;
    r.title = a.title;
    r.description = a.description;
    r.cloud_init = a.cloud_init;
    r.show_progress = isatty(STDERR_FILENO) != 0;
    r.notice = report_notice;
    auto conn = session_connection(s, *config);
    if (!conn) return report_error(conn.error());
    auto result = install_appliance(*conn, *config, r);
    if (!result) return report_error(result.error());
    std::cout << install_summary(*result);
    return 0;
}

}  // namespace

void register_install(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("install", "Install an appliance bundle as a new instance: a thin context over the shared base");
    auto a = std::make_shared<InstallArgs>();
    auto s = add_session_options(sub);
    sub->add_option("BUNDLE", a->bundle, "bundle directory or tar archive")->required();
    sub->add_option("-n,--name", a->name, "instance name: libvirt domain name and guest hostname")->required();
    sub->add_option("--memory", a->memory, "memory, e.g. 512M or 2G (default unit MiB; default: the manifest's)");
    sub->add_option("--vcpus", a->vcpus, "virtual CPUs (default: the manifest's)");
    sub->add_option("--virt-type", a->virt_type, "kvm, qemu (TCG) or auto (default: the configuration's virt_type)")
        ->check(CLI::IsMember({"kvm", "qemu", "auto"}));
    sub->add_flag("--lazy", a->lazy, "do not copy the base now: the hook loads it at the first start");
    sub->add_option("--title", a->title, "title libvirt tools show (default: '<appliance> <version>')");
    sub->add_option("--description", a->description, "description (default: the manifest's)");
    add_cloud_init_options(sub, a->cloud_init);
    sub->callback([&chosen, a, s] { chosen = interruptible([a, s] { return run_install(*a, *s); }); });
}

}  // namespace appshare::cli
