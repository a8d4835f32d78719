#include "base/ssh_public_key.hpp"

#include "base/error.hpp"
#include "base/sha256.hpp"
#include "base/text.hpp"

#include <array>
#include <cstdint>
#include <optional>

namespace appshare {
namespace {

constexpr std::size_t kMaxKeys = 100;
constexpr std::size_t kMaxBlobChars = 16384;

constexpr std::array<std::string_view, 8> kKeyTypes{
    "ssh-ed25519", "ssh-rsa", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
    "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com", "ssh-dss"};

int base64_value(char c)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

// Strict base64 (padding required, nothing else in it), or nullopt.
std::optional<std::string> base64_decode(std::string_view s)
{
    if (s.empty() || s.size() % 4 != 0) return std::nullopt;
    std::string out;
    for (std::size_t i = 0; i < s.size(); i += 4) {
        std::uint32_t v = 0;
        int pad = 0;
        for (std::size_t j = 0; j < 4; ++j) {
            const char c = s[i + j];
            if (c == '=' && i + 4 == s.size() && j >= 2) {
                ++pad;
                v <<= 6;
                continue;
            }
            const int d = base64_value(c);
            if (d < 0 || pad > 0) return std::nullopt;
            v = (v << 6) | static_cast<std::uint32_t>(d);
        }
        out += static_cast<char>((v >> 16) & 0xff);
        if (pad < 2) out += static_cast<char>((v >> 8) & 0xff);
        if (pad < 1) out += static_cast<char>(v & 0xff);
    }
    return out;
}

// The first length-prefixed string of an SSH key blob (its key type), or nullopt.
std::optional<std::string> blob_type(const std::string& blob)
{
    if (blob.size() < 4) return std::nullopt;
    const auto b = [&](std::size_t i) { return static_cast<std::uint32_t>(static_cast<unsigned char>(blob[i])); };
    const std::uint32_t n = (b(0) << 24) | (b(1) << 16) | (b(2) << 8) | b(3);
    if (n > blob.size() - 4) return std::nullopt;
    return blob.substr(4, n);
}

bool known_type(std::string_view t)
{
    for (auto k : kKeyTypes) {
        if (k == t) return true;
    }
    return false;
}

bool printable_ascii(std::string_view s)
{
    for (char c : s) {
        if (c < 0x20 || c > 0x7e) return false;
    }
    return true;
}

}  // namespace

Result<std::vector<SshPublicKey>> parse_ssh_public_keys(std::string_view text, std::string_view origin)
{
    const auto refuse = [&](std::size_t line, const std::string& why) {
        return make_error(ErrorCode::Usage, std::string(origin) + (line ? " line " + std::to_string(line) : "") + " " +
                                                why + "; give an OpenSSH public key file such as ~/.ssh/id_ed25519.pub.");
    };
    if (text.find("PRIVATE KEY") != std::string_view::npos) {
        return refuse(0, "holds a private key, which must never leave your machine");
    }
    std::vector<SshPublicKey> keys;
    std::size_t number = 0;
    while (!text.empty()) {
        const auto nl = text.find('\n');
        std::string_view raw = text.substr(0, nl);
        text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
        ++number;
        const std::string_view line = trim(raw);
        if (line.empty() || line.front() == '#') continue;
        if (!printable_ascii(line)) return refuse(number, "has characters that are not printable ASCII");
        const auto sp1 = line.find(' ');
        if (sp1 == std::string_view::npos) return refuse(number, "is not 'TYPE KEY [COMMENT]'");
        SshPublicKey k;
        k.type = std::string(line.substr(0, sp1));
        std::string_view rest = trim(line.substr(sp1 + 1));
        const auto sp2 = rest.find(' ');
        k.base64 = std::string(rest.substr(0, sp2));
        if (sp2 != std::string_view::npos) k.comment = std::string(trim(rest.substr(sp2 + 1)));
        if (!known_type(k.type)) {
            return refuse(number, "does not start with a public key type (ssh-ed25519, ssh-rsa, ecdsa-sha2-nistp256, ...)");
        }
        if (k.base64.size() > kMaxBlobChars) return refuse(number, "has a key longer than any SSH public key");
        const auto blob = base64_decode(k.base64);
        if (!blob) return refuse(number, "has a key that is not valid base64");
        if (blob_type(*blob) != k.type) return refuse(number, "has a key whose content is not a " + k.type + " key");
        if (keys.size() == kMaxKeys) return refuse(number, "has more than " + std::to_string(kMaxKeys) + " keys");
        keys.push_back(std::move(k));
    }
    if (keys.empty()) return refuse(0, "holds no public key");
    return keys;
}

std::string ssh_key_sha256_hex_fingerprint(const SshPublicKey& key)
{
    const auto blob = base64_decode(key.base64).value_or("");
    Sha256 h;
    h.update(blob);
    const std::string hex = h.hex_digest();
    std::string out;
    for (std::size_t i = 0; i < hex.size(); i += 2) {
        if (!out.empty()) out += ':';
        out += hex.substr(i, 2);
    }
    return out;
}

}  // namespace appshare
