#include "core/virt_type.hpp"

namespace appshare {
namespace {

bool known(std::string_view v) { return v == "kvm" || v == "qemu" || v == "auto"; }

// Where a real "does KVM run guests here" probe belongs. Until there is one, TCG: it always works.
std::string auto_virt_type() { return "qemu"; }

}  // namespace

Result<std::string> choose_virt_type(std::string_view requested, std::string_view configured)
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
    if (choice == "auto") return auto_virt_type();
    return std::string(choice);
}

}  // namespace appshare
