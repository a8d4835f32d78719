// Which libvirt domain type (virt type) an instance runs with: "kvm" or "qemu" (TCG).
#pragma once

#include "core/result.hpp"

#include <string>
#include <string_view>

namespace appshare {

// Chooses the domain type from the command line's `requested` (empty: not given) and the
// configuration's `configured` value, each one of "kvm", "qemu" or "auto"; the command line wins.
// "auto" means KVM only where it really runs guests. /dev/kvm existing is not proof of that
// (see DESIGN.md), and no real probe exists yet, so "auto" chooses "qemu" (TCG) for now; this
// function is the one place to add a probe. Errors: Usage for an unknown requested value,
// Config for an unknown configured value.
[[nodiscard]] Result<std::string> choose_virt_type(std::string_view requested, std::string_view configured);

}  // namespace appshare
