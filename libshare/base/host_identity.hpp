// Who this host is, as appshare records it in lock files, verification records and
// bookkeeping on shared storage (the hosts registry, usage records).
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace appshare {

// This host's name (gethostname); "localhost" when it has none.
[[nodiscard]] std::string this_host_name();

inline constexpr std::string_view kMachineIdFile = "/etc/machine-id";

// This machine's identity: the 32 lowercase hex digits of `file` (systemd's machine-id(5)),
// which tells two machines apart that carry the same host name; empty when the file is
// missing or holds anything else.
[[nodiscard]] std::string this_machine_id(const std::filesystem::path& file = std::string(kMachineIdFile));

// Whether `id` has the form of a machine id: 32 lowercase hex digits.
[[nodiscard]] bool is_machine_id(std::string_view id) noexcept;

// Whether `id` has the form of a domain UUID as libvirt writes it: 8-4-4-4-12 lowercase hex digits.
[[nodiscard]] bool is_domain_uuid(std::string_view id) noexcept;

}  // namespace appshare
