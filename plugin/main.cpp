// appshare: install virtual appliances as thin contexts over one shared base.
#include "commands.hpp"
#include "report.hpp"
#include "base/installed_files.hpp"

#include <iostream>

int main(int argc, char** argv)
{
    CLI::App app{"appshare: install virtual appliances as thin contexts over one shared, read-only base"};
    app.require_subcommand(1);
    app.set_version_flag("--version", appshare::appshare_version());

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
