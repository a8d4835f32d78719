// appshare-hook: the startup binary libvirt runs as a qemu hook (registered in
// /etc/libvirt/hooks/qemu.d/) at every operation on every domain of the host.
//
// It stays cheap for everything that is not its business: it links no library of its own and
// decides from its arguments and a plain string search of stdin (hook/hook_call.hpp) whether
// the call needs work. Only then does it load libappshare-core (dlopen) and hand over to the
// library (hook/hook_dispatch.hpp), which does lock-and-load and prints the one sentence libvirt
// shows on failure. Never links or calls libvirt.
#include "base/write_all.hpp"
#include "hook/hook_call.hpp"

#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>

namespace {

// Reads all of stdin, keeping at most `cap` bytes (the rest is drained so libvirt's write
// never fails). Returns true when it had to cut.
bool read_stdin(std::string& out, std::size_t cap)
{
    bool truncated = false;
    char buf[65536];
    for (;;) {
        const ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return truncated;
        const std::size_t room = cap - std::min(cap, out.size());
        if (static_cast<std::size_t>(n) > room) truncated = true;
        out.append(buf, std::min(room, static_cast<std::size_t>(n)));
    }
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 4) {
        std::fputs("usage: appshare-hook DOMAIN OP SUBOP [EXTRA] < domain.xml (run by libvirt as a qemu hook)\n", stderr);
        return 2;
    }
    const auto action = appshare::classify_hook_call(argv[2], argv[3]);
    std::string xml;
    if (action == appshare::HookAction::PassThrough) {
        read_stdin(xml, 0);
        return 0;
    }
    const bool truncated = read_stdin(xml, appshare::kHookStdinCap);
    const bool ours = xml.find(appshare::kHookMetadataMarker) != std::string::npos;
    const bool filter = action == appshare::HookAction::EchoXml || action == appshare::HookAction::Migrate;
    if (filter && !(ours && action == appshare::HookAction::Migrate)) {
        // A filter operation: print the XML back unchanged (empty output also means
        // unchanged, which is what a truncated input gets).
        if (!truncated) static_cast<void>(appshare::write_all(STDOUT_FILENO, xml));
        return 0;
    }
    if (!ours) return 0;  // not an appshare domain

    void* core = dlopen(APPSHARE_CORE_SONAME, RTLD_NOW | RTLD_LOCAL);
    auto entry = core != nullptr ? reinterpret_cast<appshare::HookEntryFn>(dlsym(core, appshare::kHookEntrySymbol)) : nullptr;
    if (entry == nullptr) {
        const char* why = dlerror();
        std::fprintf(stderr, "appshare-hook cannot load %s (%s); reinstall appshare.\n", APPSHARE_CORE_SONAME,
                     why != nullptr ? why : "entry point missing");
        // Refuse only a start (prepare) or an incoming migration; bookkeeping calls never fail a domain.
        return action == appshare::HookAction::Prepare || action == appshare::HookAction::Migrate ? 1 : 0;
    }
    return entry(argv[1], argv[2], argv[3], argc > 4 ? argv[4] : "", xml.data(), xml.size(), truncated ? 1 : 0);
}
