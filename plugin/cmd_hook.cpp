// appshare hook register [--reload]: registers the startup binary in libvirt's qemu.d/ and says
// (or, with --reload, does) what the running daemon needs to see it.
// appshare hook unregister: removes that registration (the package's prerm runs it).
#include "arguments.hpp"
#include "commands.hpp"
#include "report.hpp"

#include "hook/hook_registration.hpp"
#include "base/installed_files.hpp"

#include <iostream>
#include <memory>

namespace appshare::cli {

void register_hook_command(CLI::App& app, Action& chosen)
{
    auto* hook = app.add_subcommand("hook", "Manage the startup binary libvirt runs at every start");
    hook->require_subcommand(1);
    set_examples(hook, {"appshare hook register --reload"});
    auto* reg = hook->add_subcommand("register", "Register the startup binary as a libvirt qemu hook (qemu.d/appshare)");
    auto reload = std::make_shared<bool>(false);
    reg->add_flag("--reload", *reload, "reload (SIGHUP) a running libvirt daemon that cannot see the hook yet");
    set_examples(reg, {"appshare hook register", "appshare hook register --reload"});
    reg->callback([&chosen, reload] {
        chosen = [reload]() -> int {
            const std::filesystem::path hooks_dir(kLibvirtHooksDir);
            auto r = register_hook(hooks_dir, hook_binary_path());
            if (!r) return report_error(r.error());
            std::cout << r->link.string() << " -> " << r->target.string()
                      << (r->created ? " (registered now)" : " (already registered)") << "\n";
            const auto stale = daemons_needing_reload(hooks_dir, r->link, find_libvirt_daemons());
            if (stale.empty()) return 0;
            if (!*reload) {
                std::cout << "Note: " << reload_advice(stale) << "\n";
                return 0;
            }
            for (const auto& d : stale) {
                if (auto h = reload_daemon(hooks_dir, d); !h) return report_error(h.error());
                std::cout << "reloaded " << d.name << " (pid " << d.pid << ")\n";
            }
            return 0;
        };
    });
    auto* unreg = hook->add_subcommand("unregister", "Remove appshare's libvirt qemu hook (qemu.d/appshare), never another file");
    set_examples(unreg, {"appshare hook unregister"});
    unreg->callback([&chosen] {
        chosen = []() -> int {
            auto r = unregister_hook(std::filesystem::path(kLibvirtHooksDir), hook_binary_path());
            if (!r) return report_error(r.error());
            std::cout << r->link.string() << (r->removed ? " removed" : " was not registered") << "\n";
            return 0;
        };
    });
}

}  // namespace appshare::cli
