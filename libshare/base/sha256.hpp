// Streaming SHA-256 (OpenSSL EVP, which uses the CPU's SHA extensions where present).
#pragma once

#include "base/progress.hpp"
#include "base/result.hpp"

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace appshare {

// The digests appshare computes: SHA-256 everywhere; SHA-1 only to check what others recorded
// with it (an OVF package's .mf manifest).
enum class DigestAlgorithm { Sha256, Sha1 };

// Incremental SHA-256:  Sha256 h; h.update(a); h.update(b); h.hex_digest() == sha256(a + b).
// Move-only. Failures of OpenSSL itself (out of memory) throw std::runtime_error.
// Sha256(DigestAlgorithm::Sha1) streams SHA-1 the same way.
class Sha256 {
public:
    explicit Sha256(DigestAlgorithm algorithm = DigestAlgorithm::Sha256);
    ~Sha256();
    Sha256(Sha256&&) noexcept;
    Sha256& operator=(Sha256&&) noexcept;
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void update(std::span<const std::byte> data);
    void update(std::string_view text) { update(std::as_bytes(std::span(text.data(), text.size()))); }
    // The digest of everything passed to update() since construction or the last hex_digest(),
    // as 64 lowercase hex characters. Resets the object, so it can hash the next input.
    [[nodiscard]] std::string hex_digest();

private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
};

// The SHA-256 of a file's contents, read sequentially in 1 MiB chunks. `progress`, if given, is
// called after each chunk with the number of bytes just read. Fails with Io (naming the path)
// when the file cannot be opened or read, or is not a regular file or block device (a FIFO is
// refused, never waited on).
[[nodiscard]] Result<std::string> sha256_file(const std::filesystem::path& path,
                                              const ProgressFn* progress = nullptr);

// The SHA-256 of what an open descriptor holds, read from offset 0 to its end (the caller
// opened and checked it: store files are hashed through the descriptor that is then published
// or recorded, never reopened by name). `what` names it in messages.
[[nodiscard]] Result<std::string> sha256_fd(int fd, const std::string& what, const ProgressFn* progress = nullptr);

// `hex` lowercased if it is a SHA-256 digest (64 hex digits, either case); nullopt otherwise.
// The one check of a digest read from outside (manifests, domain metadata, store names).
[[nodiscard]] std::optional<std::string> normalize_sha256(std::string_view hex);

// Whether `hex` is a digest as appshare writes them: 64 lowercase hex digits (store and record
// names on shared storage).
[[nodiscard]] bool is_sha256_digest(std::string_view hex);

}  // namespace appshare
