// Which libvirt domain type (virt type) an instance runs with: "kvm" or "qemu" (TCG).
#pragma once

#include "base/result.hpp"

#include <functional>
#include <string>
#include <string_view>

namespace appshare {

// Answers "does KVM really run guests on this host?"; the default boots a tiny guest under
// KVM and TCG (host/kvm_probe.hpp, cached per boot in /run/appshare/kvm-probe).
using KvmCheck = std::function<bool()>;

// Chooses the domain type from the command line's `requested` (empty: not given) and the
// configuration's `configured` value, each one of "kvm", "qemu" or "auto"; the command line wins.
// "auto" means KVM only where it really runs guests: /dev/kvm existing is not proof of that
// (on some hosts, nested ones among them, KVM guests hang), so `kvm_runs_guests` is asked, and TCG is the answer
// otherwise. Errors: Usage for an unknown requested value, Config for an unknown configured value.
[[nodiscard]] Result<std::string> choose_virt_type(std::string_view requested, std::string_view configured,
                                                   const KvmCheck& kvm_runs_guests = {});

}  // namespace appshare
