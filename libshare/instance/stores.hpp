// The two blob stores of a host, as its configuration places them: the shared store (bases and
// boot files on shared storage) and the host-local store (independent copies). The shared
// store's verification records live on this host, under local_root, where writers of the shared
// storage cannot forge them (store/verification_record.hpp); the local store keeps its own.
#pragma once

#include "instance/config.hpp"
#include "store/blob_store.hpp"

namespace appshare {

// The folder of this host's records of shared files: <local_root>/verified-shared.
[[nodiscard]] std::filesystem::path shared_records_dir(const Config& config);

[[nodiscard]] BlobStore shared_store(const Config& config);
[[nodiscard]] BlobStore local_store(const Config& config);

}  // namespace appshare
