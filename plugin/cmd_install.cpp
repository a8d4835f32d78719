// appshare install BUNDLE (--name NAME [--name NAME...] | --count N --name-prefix P) [--memory SIZE] [--vcpus N] [--virt-type kvm|qemu|auto]
//                  [--lazy] [--title T] [--description D] [--connect URI] [--config FILE]
//                  [--ssh-key FILE]... [--user-data FILE] [--meta-data FILE] [--network-config FILE]
//                  [--password-generate]
#include "arguments.hpp"
#include "commands.hpp"
#include "install_cloud_init_options.hpp"
#include "report.hpp"
#include "session.hpp"

#include "base/size_units.hpp"
#include "virt/install.hpp"

#include <unistd.h>

#include <iostream>
#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace appshare::cli {
namespace {

struct InstallArgs {
    std::string bundle;
    std::vector<std::string> names;
    std::optional<unsigned> count;
    std::string name_prefix;
    std::string memory;
    std::optional<unsigned> vcpus;
    std::string virt_type;
    bool lazy = false;
    std::optional<std::string> title;
    std::optional<std::string> description;
    CloudInitOptions cloud_init;
};

// On a terminal, one line redrawn per instance done: "installing: 37/100 (web37)".
InstanceDoneFn terminal_progress()
{
    if (isatty(STDERR_FILENO) == 0 || std::getenv("APPSHARE_NO_PROGRESS") != nullptr) return {};
    return [](std::size_t done, std::size_t total, const std::string& name, const Error* failure) {
        std::cerr << "\r\x1b[Kinstalling: " << done << "/" << total << " (" << name << (failure ? " failed" : "") << ")"
                  << (done == total ? "\r\x1b[K" : "") << std::flush;
    };
}

Result<std::vector<std::string>> instance_names(const InstallArgs& a)
{
    if (!a.count) return a.names;
    return numbered_instance_names(a.name_prefix, *a.count);
}

int run_install(const InstallArgs& a, const SessionOptions& s)
{
    auto config = session_config(s);
    if (!config) return report_error(config.error());
    // Every name is checked before libvirt is asked anything.
    auto names = instance_names(a);
    if (!names) return report_error(names.error());
    if (auto c = check_instance_names(*config, *names); !c) return report_error(c.error());
    InstallRequest r;
    r.bundle = a.bundle;
    r.name = names->front();
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
    const bool one = names->size() == 1;
    auto result = install_appliances(*conn, *config, r, *names, one ? InstanceDoneFn{} : terminal_progress());
    if (!result) return report_error(result.error());
    // Also when an instance failed: the refresh that took its overlay out of the pool may not have worked.
    report_pool_warnings(result->pool_warnings);
    if (one) {
        if (!result->failed.empty()) return report_error(result->failed.front().error);
        std::cout << install_summary(result->made.front());
        return 0;
    }
    std::cout << bulk_install_summary(*result);
    // Non-zero when any instance failed: the first failure's status.
    return result->failed.empty() ? 0 : result->failed.front().error.exit_status();
}

}  // namespace

void register_install(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("install", "Install an appliance bundle as a new instance: a thin context over the shared base");
    auto a = std::make_shared<InstallArgs>();
    auto s = add_session_options(sub);
    sub->add_option("BUNDLE", a->bundle, "bundle directory or tar archive")->required()->check(CLI::ExistingPath);
    auto* name = sub->add_option("-n,--name", a->names,
                                 "instance name: libvirt domain name and guest hostname; repeat it to install several "
                                 "instances at once (one verification, one base, all or nothing per instance)")
                     ->check(instance_name_argument());
    auto* count = sub->add_option("--count", a->count,
                                  "install N instances named <prefix>1 .. <prefix>N (with --name-prefix; refused "
                                  "before anything is made if any of those names is taken)");
    auto* prefix = sub->add_option("--name-prefix", a->name_prefix, "prefix of the names --count makes, e.g. web");
    count->needs(prefix)->excludes(name);
    prefix->needs(count);

    sub->add_option("--memory", a->memory, "memory, e.g. 512M or 2G (default unit MiB; default: the manifest's)")
        ->check(memory_argument());
    sub->add_option("--vcpus", a->vcpus, "virtual CPUs (default: the manifest's)")->check(vcpus_argument());
    sub->add_option("--virt-type", a->virt_type, "kvm, qemu (TCG) or auto (default: the configuration's virt_type)")
        ->check(CLI::IsMember({"kvm", "qemu", "auto"}));
    sub->add_flag("--lazy", a->lazy, "do not copy the base now: the hook loads it at the first start");
    sub->add_option("--title", a->title, "title libvirt tools show (default: '<name> — <appliance> <version>')");
    sub->add_option("--description", a->description, "description (default: the manifest's)");
    add_cloud_init_options(sub, a->cloud_init);
    set_examples(sub, {"appshare install ./vm-app-bundle --name web1",
                       "appshare install vm-app-1.0.tar.xz --name web2 --memory 1G --vcpus 2 --lazy",
                       "appshare install ./vm-app-bundle --count 20 --name-prefix web",
                       "appshare install ./debian-cloud --name web3 --ssh-key ~/.ssh/id_ed25519.pub --user-data web3.yaml"});
    sub->callback([&chosen, a, s] { chosen = interruptible([a, s] { return run_install(*a, *s); }); });
}

}  // namespace appshare::cli
