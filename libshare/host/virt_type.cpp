#include "host/virt_type.hpp"

#include "host/kvm_probe.hpp"

namespace appshare {
namespace {

bool known(std::string_view v) { return v == "kvm" || v == "qemu" || v == "auto"; }

std::string auto_virt_type(const KvmCheck& kvm_runs_guests)
{
    const bool kvm = kvm_runs_guests ? kvm_runs_guests() : probe_kvm().kvm_runs_guests;
    return kvm ? "kvm" : "qemu";
}

}  // namespace

Result<std::string> choose_virt_type(std::string_view requested, std::string_view configured,
                                     const KvmCheck& kvm_runs_guests)
{
    if (!requested.empty() && !known(requested)) {
        return make_error(ErrorCode::Usage, "--virt-type '" + std::string(requested) +
                                                "' is not one of kvm, qemu, auto; choose one of those.");
    }
    if (requested.empty() && !configured.empty() && !known(configured)) {
        return make_error(ErrorCode::Config, "virt_type '" + std::string(configured) +
                                                 "' in the appshare configuration is not one of kvm, qemu, auto; fix it.");
    }
    const std::string_view choice = !requested.empty() ? requested : (!configured.empty() ? configured : "auto");
    if (choice == "auto") return auto_virt_type(kvm_runs_guests);
    return std::string(choice);
}

}  // namespace appshare
