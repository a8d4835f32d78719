// RAII for C handles: a move-only owner with a one-word functor deleter, and a file descriptor.
#pragma once

#include <memory>
#include <utility>

#include <unistd.h>

namespace appshare {

// Deleter from a free function: UniqueHandle<xmlDoc, xmlFreeDoc>.
template <auto FreeFn>
struct FnDeleter {
    template <class T>
    void operator()(T* p) const noexcept
    {
        if (p != nullptr) FreeFn(p);
    }
};

template <class T, auto FreeFn>
using UniqueHandle = std::unique_ptr<T, FnDeleter<FreeFn>>;

// An owned file descriptor; closes on destruction.
class UniqueFd {
public:
    UniqueFd() = default;
    explicit UniqueFd(int fd) noexcept : fd_(fd) {}
    UniqueFd(UniqueFd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
    UniqueFd& operator=(UniqueFd&& o) noexcept
    {
        if (this != &o) reset(std::exchange(o.fd_, -1));
        return *this;
    }
    UniqueFd(const UniqueFd&) = delete;
    UniqueFd& operator=(const UniqueFd&) = delete;
    ~UniqueFd() { reset(); }

    [[nodiscard]] int get() const noexcept { return fd_; }
    [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
    int release() noexcept { return std::exchange(fd_, -1); }
    void reset(int fd = -1) noexcept
    {
        if (fd_ >= 0) ::close(fd_);
        fd_ = fd;
    }

private:
    int fd_ = -1;
};

}  // namespace appshare
