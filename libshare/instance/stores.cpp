#include "instance/stores.hpp"

namespace appshare {

std::filesystem::path shared_records_dir(const Config& config) { return config.local_root / "verified-shared"; }

BlobStore shared_store(const Config& config) { return BlobStore(config.shared_root, shared_records_dir(config)); }

BlobStore local_store(const Config& config) { return BlobStore(config.local_root); }

}  // namespace appshare
