#include "base/password_hash.hpp"

#include "base/error.hpp"

#include <crypt.h>
#include <sys/random.h>

#include <array>
#include <cstring>
#include <memory>

namespace appshare {

std::string generate_password(std::size_t length)
{
    static constexpr std::string_view alphabet = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    std::string out;
    while (out.size() < length) {
        unsigned char b = 0;
        if (getrandom(&b, 1, 0) != 1) continue;
        // Rejection sampling keeps every character equally likely.
        if (b >= 256 - 256 % alphabet.size()) continue;
        out += alphabet[b % alphabet.size()];
    }
    return out;
}

Result<std::string> sha512_crypt(std::string_view password)
{
    std::array<char, CRYPT_GENSALT_OUTPUT_SIZE> salt{};
    if (crypt_gensalt_rn("$6$", 0, nullptr, 0, salt.data(), static_cast<int>(salt.size())) == nullptr) {
        return make_error(ErrorCode::Internal, std::string("cannot make a salt for a SHA-512 crypt hash: ") +
                                                   std::strerror(errno) + "; check that libxcrypt is installed.");
    }
    const auto data = std::make_unique<crypt_data>();
    const std::string pw(password);
    const char* h = crypt_rn(pw.c_str(), salt.data(), data.get(), sizeof(crypt_data));
    if (h == nullptr || h[0] != '$') {
        return make_error(ErrorCode::Internal, "cannot compute a SHA-512 crypt hash; check that libxcrypt is installed.");
    }
    return std::string(h);
}

bool crypt_matches(std::string_view password, const std::string& hash)
{
    const auto data = std::make_unique<crypt_data>();
    const std::string pw(password);
    const char* h = crypt_rn(pw.c_str(), hash.c_str(), data.get(), sizeof(crypt_data));
    return h != nullptr && hash == h;
}

}  // namespace appshare
