// appshare: install virtual appliances as thin contexts over one shared base.
#include "commands.hpp"
#include "report.hpp"
#include "arguments.hpp"
#include "session.hpp"
#include "virt/versions.hpp"

#include <iostream>

int main(int argc, char** argv)
{
    CLI::App app{"appshare: install virtual appliances as thin contexts over one shared, read-only base"};
    app.require_subcommand(1);
    // Versions of appshare and of what it runs against; the daemon is asked with a deadline, so
    // --version answers without one too. An unreadable configuration only loses its uri.
    app.set_version_flag("--version", [] {
        const auto config = appshare::load_config();
        appshare::VersionQuery q;
        q.uri = appshare::cli::session_uri({}, config ? *config : appshare::Config{});
        auto text = appshare::versions_report(q);
        if (!text.empty() && text.back() == '\n') text.pop_back();
        return text;
    });
    // A bad argument is one sentence on one line, like every other error (exit 2).
    app.failure_message(appshare::cli::usage_failure_message);

    appshare::cli::Action chosen;
    appshare::cli::register_verify(app, chosen);
    appshare::cli::register_pack(app, chosen);
    appshare::cli::register_capture(app, chosen);
    appshare::cli::register_import(app, chosen);
    appshare::cli::register_reshare(app, chosen);
    appshare::cli::register_install(app, chosen);
    appshare::cli::register_uninstall(app, chosen);
    appshare::cli::register_list(app, chosen);
    appshare::cli::register_gc(app, chosen);
    appshare::cli::register_hook_command(app, chosen);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        // CLI11 prints help/version on stdout and returns 0 for them; usage errors get exit 2.
        const int rc = app.exit(e);
        return rc == 0 ? 0 : 2;
    }
    if (!chosen) return 2;
    return appshare::cli::report_exceptions(chosen);
}
