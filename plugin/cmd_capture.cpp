// appshare capture DOMAIN -o DIR|FILE.tar[.gz|.xz] [--name N] [--version V] [--replace]
//                  [--connect URI] [--config FILE]
#include "arguments.hpp"
#include "commands.hpp"
#include "report.hpp"
#include "session.hpp"

#include "virt/capture.hpp"

#include <unistd.h>

#include <iostream>
#include <memory>
#include <optional>

namespace appshare::cli {
namespace {

struct CaptureArgs {
    std::string domain;
    std::string output;
    std::optional<std::string> name, version;
    bool replace = false;
};

int run_capture(const CaptureArgs& a, const SessionOptions& s)
{
    auto config = session_config(s);
    if (!config) return report_error(config.error());
    auto conn = session_connection(s, *config);
    if (!conn) return report_error(conn.error());
    CaptureRequest r;
    r.domain = a.domain;
    r.output = a.output;
    r.name = a.name;
    r.version = a.version;
    r.replace = a.replace;
    r.show_progress = isatty(STDERR_FILENO) != 0;
    r.notice = report_notice;
    auto result = capture_domain(*conn, *config, r);
    if (!result) return report_error(result.error());
    if (result->replaced) report_pool_warnings(result->replaced->pool_warnings);
    std::cout << capture_summary(*result);
    return 0;
}

}  // namespace

void register_capture(CLI::App& app, Action& chosen)
{
    auto* sub = app.add_subcommand("capture", "Make a verified appliance bundle from a stopped libvirt domain "
                                              "(its disk's backing chain flattened); --replace makes the domain an instance of it");
    auto a = std::make_shared<CaptureArgs>();
    auto s = add_session_options(sub);
    sub->add_option("DOMAIN", a->domain, "the libvirt domain, shut off")->required();
    sub->add_option("-o,--output", a->output, "the bundle to write: a new directory, or FILE.tar, .tar.gz or .tar.xz")
        ->required();
    sub->add_option("-n,--name", a->name, "appliance name (default: the domain's name)");
    sub->add_option("--version", a->version, "appliance version (default 1)");
    sub->add_flag("--replace", a->replace,
                  "make the domain itself an appshare instance of the new appliance (its old disk is kept, unused)");
    set_examples(sub, {"appshare capture myvm -o myvm.tar.xz --name myvm --version 1.0",
                       "appshare capture myvm -o myvm-bundle --replace    # myvm itself becomes an instance"});
    sub->callback([&chosen, a, s] { chosen = interruptible([a, s] { return run_capture(*a, *s); }); });
}

}  // namespace appshare::cli
