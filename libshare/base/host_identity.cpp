#include "base/host_identity.hpp"

#include <array>

#include <unistd.h>

namespace appshare {

std::string this_host_name()
{
    std::array<char, 256> buf{};
    if (::gethostname(buf.data(), buf.size() - 1) != 0 || buf[0] == '\0') return "localhost";
    return buf.data();
}

}  // namespace appshare
