#include "base/sha256.hpp"

#include "base/byte_stream.hpp"
#include "base/unique_handle.hpp"

#include <openssl/evp.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {

namespace {

using MdCtx = UniqueHandle<EVP_MD_CTX, EVP_MD_CTX_free>;

void init_ctx(EVP_MD_CTX* ctx, DigestAlgorithm algorithm)
{
    const EVP_MD* md = algorithm == DigestAlgorithm::Sha1 ? EVP_sha1() : EVP_sha256();
    if (EVP_DigestInit_ex(ctx, md, nullptr) != 1) {
        throw std::runtime_error("OpenSSL could not initialise a digest");
    }
}

int hex_value(char c) noexcept
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}
}  // namespace

struct Sha256::Ctx {
    MdCtx md;
    DigestAlgorithm algorithm = DigestAlgorithm::Sha256;
};

Sha256::Sha256(DigestAlgorithm algorithm) : ctx_(std::make_unique<Ctx>())
{
    ctx_->md.reset(EVP_MD_CTX_new());
    if (!ctx_->md) throw std::runtime_error("OpenSSL could not allocate a digest context");
    ctx_->algorithm = algorithm;
    init_ctx(ctx_->md.get(), algorithm);
}

Sha256::~Sha256() = default;
Sha256::Sha256(Sha256&&) noexcept = default;
Sha256& Sha256::operator=(Sha256&&) noexcept = default;

void Sha256::update(std::span<const std::byte> data)
{
    if (data.empty()) return;
    if (EVP_DigestUpdate(ctx_->md.get(), data.data(), data.size()) != 1) {
        throw std::runtime_error("OpenSSL SHA-256 update failed");
    }
}

std::string Sha256::hex_digest()
{
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    if (EVP_DigestFinal_ex(ctx_->md.get(), md.data(), &len) != 1) {
        throw std::runtime_error("OpenSSL SHA-256 final failed");
    }
    init_ctx(ctx_->md.get(), ctx_->algorithm);
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex;
    hex.reserve(std::size_t{len} * 2);
    for (unsigned int i = 0; i < len; ++i) {
        hex += digits[md[i] >> 4];
        hex += digits[md[i] & 0x0f];
    }
    return hex;
}

Result<std::string> sha256_fd(int fd, const std::string& what, const ProgressFn* progress)
{
    Sha256 hash;
    const auto hash_chunk = [&](std::span<const std::byte> chunk) -> Result<void> {
        hash.update(chunk);
        if (progress != nullptr && *progress) (*progress)(chunk.size());
        return ok();
    };
    const auto read_error = [&what](int err) {
        return make_error(ErrorCode::Io, "cannot read " + what + " to compute its SHA-256: " + std::strerror(err) +
                                             "; check the file and its storage");
    };
    if (::lseek(fd, 0, SEEK_SET) < 0 && errno != ESPIPE) return read_error(errno);
    if (auto r = stream_fd(fd, hash_chunk, read_error); !r) return std::move(r).error();
    return hash.hex_digest();
}

Result<std::string> sha256_file(const std::filesystem::path& path, const ProgressFn* progress)
{
    const auto fail = [&path](const char* what, int err) {
        return make_error(ErrorCode::Io, std::string("cannot ") + what + " " + path.string() + " to compute its SHA-256: " +
                                             std::strerror(err) + "; check that the file exists and is readable");
    };
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!fd.valid()) return fail("open", errno);
    struct stat st{};
    if (::fstat(fd.get(), &st) != 0) return fail("stat", errno);
    if (S_ISDIR(st.st_mode)) return fail("read", EISDIR);
    if (!S_ISREG(st.st_mode) && !S_ISBLK(st.st_mode)) {
        return make_error(ErrorCode::Io, "cannot compute the SHA-256 of " + path.string() +
                                             ": it is not a regular file; point at the image file itself");
    }
    // O_NONBLOCK only kept the open from hanging on a FIFO; drop it for the reads.
    if (const int fl = ::fcntl(fd.get(), F_GETFL); fl >= 0) (void)::fcntl(fd.get(), F_SETFL, fl & ~O_NONBLOCK);
    return sha256_fd(fd.get(), path.string(), progress);
}

std::optional<std::string> normalize_sha256(std::string_view hex)
{
    if (hex.size() != 64) return std::nullopt;
    std::string out;
    out.reserve(hex.size());
    for (const char c : hex) {
        const int v = hex_value(c);
        if (v < 0) return std::nullopt;
        out.push_back("0123456789abcdef"[v]);
    }
    return out;
}

bool is_sha256_digest(std::string_view hex)
{
    const auto n = normalize_sha256(hex);
    return n && *n == hex;
}

}  // namespace appshare
