// Who this host is, as appshare records it in lock files, verification records and
// bookkeeping on shared storage.
#pragma once

#include <string>

namespace appshare {

// This host's name (gethostname); "localhost" when it has none.
[[nodiscard]] std::string this_host_name();

}  // namespace appshare
