// appshare-hook: the startup binary libvirt runs as a qemu hook (registered in
// /etc/libvirt/hooks/qemu.d/). Reads its arguments and the domain XML, lets the library decide
// (core/hook_dispatch.hpp), prints what it says, exits with its status. Never links libvirt.
#include "core/hook_dispatch.hpp"
#include "core/interrupt.hpp"

#include <array>
#include <cerrno>
#include <cstdio>
#include <string>

#include <unistd.h>

namespace {

// Reads all of stdin, keeping at most `cap` bytes (the rest is drained so libvirt's write
// never fails).
void read_stdin(appshare::HookRequest& request, std::size_t cap)
{
    std::array<char, 65536> buf{};
    for (;;) {
        const ssize_t n = ::read(STDIN_FILENO, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        const auto room = cap - std::min(cap, request.stdin_xml.size());
        if (static_cast<std::size_t>(n) > room) request.stdin_truncated = true;
        request.stdin_xml.append(buf.data(), std::min(room, static_cast<std::size_t>(n)));
    }
}

void write_all(int fd, const std::string& text)
{
    std::size_t off = 0;
    while (off < text.size()) {
        const ssize_t n = ::write(fd, text.data() + off, text.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        off += static_cast<std::size_t>(n);
    }
}

}  // namespace

int main(int argc, char** argv)
{
    if (argc < 4) {
        std::fputs("usage: appshare-hook DOMAIN OP SUBOP [EXTRA] < domain.xml (run by libvirt as a qemu hook)\n", stderr);
        return 2;
    }
    appshare::HookRequest request;
    request.domain = argv[1];
    request.op = argv[2];
    request.subop = argv[3];
    request.extra = argc > 4 ? argv[4] : "";
    if (appshare::classify_hook_call(request.op, request.subop) == appshare::HookAction::PassThrough) {
        // Cheapest path: nothing to do. Drain stdin anyway so libvirt's write never fails.
        read_stdin(request, 0);
        return 0;
    }
    appshare::install_interrupt_handlers();
    read_stdin(request, appshare::kHookStdinCap);
    const auto response = appshare::run_hook(request);
    write_all(STDOUT_FILENO, response.stdout_text);
    write_all(STDERR_FILENO, response.stderr_text);
    return response.exit_status;
}
