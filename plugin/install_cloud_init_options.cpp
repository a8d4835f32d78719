#include "install_cloud_init_options.hpp"

namespace appshare::cli {

void add_cloud_init_options(CLI::App* install, CloudInitOptions& o)
{
    install->add_option("--ssh-key", o.ssh_keys,
                        "OpenSSH public key file to authorise for the guest's default user (repeatable)")
        ->allow_extra_args(false);  // `--ssh-key a.pub BUNDLE`: BUNDLE stays the positional
    install->add_option("--user-data", o.user_data, "cloud-init user-data file (replaces the bundle's default)");
    install->add_option("--meta-data", o.meta_data,
                        "cloud-init meta-data file: extra keys (appshare sets instance-id, local-hostname, public-keys)");
    install->add_option("--network-config", o.network_config, "cloud-init network-config file (v1 or v2)");
    install->add_flag("--password-generate", o.password_generate,
                      "generate a password for the guest's default user, print it once; only its hash is kept");
}

}  // namespace appshare::cli
