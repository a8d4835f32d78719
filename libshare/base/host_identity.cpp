#include "base/host_identity.hpp"

#include "base/small_file.hpp"
#include "base/text.hpp"

#include <array>

#include <unistd.h>

namespace appshare {

std::string this_host_name()
{
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "localhost";
    return buf.data();
}

bool is_machine_id(std::string_view id) noexcept
{
    if (id.size() != 32) return false;
    for (const char c : id) {
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

bool is_domain_uuid(std::string_view id) noexcept
{
    if (id.size() != 36) return false;
    for (std::size_t i = 0; i < id.size(); ++i) {
        const char c = id[i];
        const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

std::string this_machine_id(const std::filesystem::path& file)
{
    // The file may be a link (to /run/machine-id on some systems); it is this host's own.
    const SmallFile f = read_small_file(file, 128, FollowLinks::Yes);
    if (!f) return {};
    const std::string id(trim(f.text));
    return is_machine_id(id) ? id : std::string();
}

}  // namespace appshare
