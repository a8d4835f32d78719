// An instance's context on the host: the directory <context_root>/<NAME>/ holding its qcow2
// overlay (backed by the shared base, backing format recorded), for direct-kernel-boot
// appliances the links the domain XML names for kernel and initrd (pointing at the shared boot
// files; the hook may re-point them at host-local copies), and instance.json (shared or
// independent, written by install and by the hook).
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace appshare {

// Where each part of an instance's context lives.
struct ContextLayout {
    std::filesystem::path dir;          // <context_root>/<NAME>
    std::filesystem::path overlay;      // dir/disk.qcow2
    std::filesystem::path kernel_link;  // dir/vmlinuz
    std::filesystem::path initrd_link;  // dir/initrd.img
    std::filesystem::path state_file;   // dir/instance.json
};

[[nodiscard]] ContextLayout context_layout(const std::filesystem::path& context_root, std::string_view name);

// Instance (domain) names: 1 to 63 characters of letters, digits, '.', '_' and '-', starting
// with a letter or digit, without ".." (the name is a directory name and the guest's hostname).
// Errors: Usage.
[[nodiscard]] Result<void> check_instance_name(std::string_view name);

// What a new context is made of.
struct ContextSpec {
    std::filesystem::path base;          // the shared base (need not exist yet: lazy install)
    std::string base_format;             // "qcow2" / "raw"
    std::uint64_t virtual_size = 0;      // the overlay's virtual size
    std::optional<std::filesystem::path> kernel;  // shared boot files the links point to
    std::optional<std::filesystem::path> initrd;
};

// A context made by create_context(); removed with everything in it when destroyed, unless
// keep() was called (all-or-nothing install).
class NewContext {
public:
    NewContext(NewContext&& o) noexcept;
    NewContext& operator=(NewContext&&) = delete;
    NewContext(const NewContext&) = delete;
    ~NewContext();

    [[nodiscard]] const ContextLayout& layout() const noexcept { return layout_; }
    void keep() noexcept { keep_ = true; }

private:
    friend Result<NewContext> create_context(const ContextLayout&, const ContextSpec&);
    explicit NewContext(ContextLayout layout) : layout_(std::move(layout)) {}
    ContextLayout layout_;
    bool keep_ = false;
};

// Creates layout.dir (its parent, the context root, is created if missing; the directory
// itself must not exist: AlreadyExists), the overlay (qemu-img, -F recorded, -u), the boot
// file links, and instance.json (core/instance_state.hpp: shared, reason "installed").
// Stops with Interrupted when Ctrl-C arrived. On any error nothing is left behind.
[[nodiscard]] Result<NewContext> create_context(const ContextLayout& layout, const ContextSpec& spec);

// Removes an instance's context directory `dir` and everything in it, only if it is a real
// directory (not a symlink) directly inside `context_root`; a missing directory is fine.
// Errors: UnsafePath for a directory elsewhere, Io when it cannot be removed.
[[nodiscard]] Result<void> remove_context(const std::filesystem::path& context_root, const std::filesystem::path& dir);

}  // namespace appshare
