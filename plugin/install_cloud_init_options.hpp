// appshare install's cloud-init options, in the spirit of virt-install --cloud-init:
//   --ssh-key FILE (repeatable)  --user-data FILE  --meta-data FILE  --network-config FILE
//   --password-generate
#pragma once

#include "virt/install_cloud_init.hpp"

#include <CLI/CLI.hpp>

namespace appshare::cli {

void add_cloud_init_options(CLI::App* install, CloudInitOptions& options);

}  // namespace appshare::cli
