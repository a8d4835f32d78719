// Test fixture for the hook's tests (unit and integration): configured roots under one
// directory, a real qcow2 base in an allowed source directory, and appshare metadata / domain
// XML for instances of it. Header-only so both test binaries can use it.
#pragma once

#include "store/blob_store.hpp"
#include "instance/config.hpp"
#include "instance/domain_xml.hpp"
#include "instance/instance_metadata.hpp"
#include "instance/instance_paths.hpp"
#include "instance/instance_state.hpp"
#include "instance/lock_and_load.hpp"
#include "instance/stores.hpp"
#include "base/file_lock.hpp"
#include "base/installed_files.hpp"
#include "base/sha256.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <string>
#include <vector>

#include <sys/stat.h>
#include <unistd.h>

namespace appshare::test {

struct HookFixture {
    std::filesystem::path root;
    Config config;
    std::filesystem::path source_dir;
    std::filesystem::path source_base;  // the base image in an allowed source directory
    std::string base_sha;
    std::uint64_t base_size = 0;

    // Roots under `root_dir`; a qcow2 base of `virtual_size` with `data_mib` MiB written.
    explicit HookFixture(std::filesystem::path root_dir, int data_mib = 1, std::string virtual_size = "64M")
        : root(std::move(root_dir))
    {
        config.shared_root = root / "shared";
        config.context_root = root / "contexts";
        config.local_root = root / "local";
        config.lock_wait = std::chrono::seconds(2);
        source_dir = root / "sources";
        config.allowed_source_dirs = {source_dir};
        config.log = (root / "hook.log").string();
        std::filesystem::create_directories(source_dir);
        std::filesystem::create_directories(config.context_root);
        source_base = source_dir / "base.qcow2";
        run_ok({"qemu-img", "create", "-q", "-f", "qcow2", source_base.string(), virtual_size});
        run_ok({"qemu-io", "-f", "qcow2", "-c", "write -P 0x5a 0 " + std::to_string(data_mib) + "M", source_base.string()});
        auto sha = sha256_file(source_base);
        REQUIRE(sha);
        base_sha = *sha;
        base_size = std::filesystem::file_size(source_base);
    }

    [[nodiscard]] BlobSpec base_spec() const { return BlobSpec{base_sha, "qcow2", "qcow2", base_size}; }
    [[nodiscard]] std::filesystem::path shared_base() const { return shared_store(config).path_of(base_spec()); }
    [[nodiscard]] std::filesystem::path local_base() const { return local_store(config).path_of(base_spec()); }
    [[nodiscard]] std::filesystem::path context_dir(const std::string& name) const { return config.context_root / name; }
    [[nodiscard]] std::filesystem::path overlay(const std::string& name) const { return context_dir(name) / "disk.qcow2"; }
    [[nodiscard]] std::filesystem::path log_file() const { return config.log; }

    [[nodiscard]] InstanceMetadata metadata(const std::string& name) const
    {
        InstanceMetadata m;
        m.appliance_name = "hooktest";
        m.appliance_version = "1.0";
        m.base = StoredFile{base_sha, base_size, "qcow2", shared_base(), {}};
        m.source_files = {source_base.string()};
        m.context_dir = context_dir(name);
        m.overlay = overlay(name);
        m.tool_version = "test";
        m.installed_at = "2026-01-01T00:00:00Z";
        return m;
    }

    // The context's link to the base, which the overlay is backed by.
    [[nodiscard]] std::filesystem::path base_link(const std::string& name) const { return context_dir(name) / "base"; }

    // A TCG domain XML of 32 MiB without network, from the real template, its disk's backing
    // chain spelled out (the base link, relabel='no') as install writes it; with Chain::Legacy, as an
    // older appshare wrote it: no <backingStore>, libvirt probes the overlay's header.
    enum class Chain { Spelled, Legacy };
    [[nodiscard]] std::string domain_xml(const std::string& name, const InstanceMetadata& meta,
                                         Chain chain = Chain::Spelled) const
    {
        DomainSpec s;
        s.name = name;
        s.uuid = random_uuid();
        s.title = "hooktest 1.0";
        s.memory_bytes = 32ULL << 20;
        s.vcpus = 1;
        s.virt_type = "qemu";
        s.disk = meta.overlay;
        if (chain == Chain::Spelled) s.backing = base_link(name);
        s.smbios_serial = nocloud_serial(name, s.uuid);
        s.product = "hooktest";
        s.product_version = "1.0";
        s.network_type = "none";
        s.metadata = meta;
        auto xml = render_domain_xml(s, template_dir() / "domain.xml");
        INFO((xml ? std::string() : xml.error().message));
        REQUIRE(xml);
        return *xml;
    }
    [[nodiscard]] std::string domain_xml(const std::string& name, Chain chain = Chain::Spelled) const
    {
        return domain_xml(name, metadata(name), chain);
    }

    // The base's lock in the shared store (the store's folder made, so another process can hold it).
    [[nodiscard]] std::filesystem::path shared_base_lock() const
    {
        std::filesystem::create_directories(config.shared_root);
        return shared_store(config).lock_path_of(base_spec());
    }

    // The instance paths the hook would use for domain `name` with `meta` (checked, must pass).
    [[nodiscard]] InstancePaths paths(const std::string& name, const InstanceMetadata& meta) const
    {
        auto p = trusted_instance_paths(config, name, meta);
        INFO((p ? std::string() : p.error().message));
        REQUIRE(p);
        return *p;
    }
    [[nodiscard]] InstancePaths paths(const std::string& name) const { return paths(name, metadata(name)); }

    // The recorded state of domain `name`'s instance (there must be one).
    [[nodiscard]] InstanceState state(const std::string& name) const
    {
        auto s = load_instance_state(context_dir(name));
        INFO((s ? std::string() : s.error().message));
        REQUIRE(s);
        REQUIRE(*s);
        return **s;
    }

    // How many lines of the hook log contain `needle`.
    [[nodiscard]] int log_count(const std::string& needle) const
    {
        if (!std::filesystem::exists(log_file())) return 0;
        const auto text = read_file(log_file());
        int n = 0;
        for (std::size_t pos = 0; (pos = text.find(needle, pos)) != std::string::npos; pos += needle.size()) ++n;
        return n;
    }
};

// Options for prepare_instance() as the hook of domain `who` on this host; `lines` collects the log.
inline LoadOptions load_options(std::vector<std::string>* lines = nullptr, const std::string& who = "web1")
{
    LoadOptions o;
    o.holder = LockHolder{"testhost", static_cast<long>(::getpid()), who, ""};
    if (lines != nullptr) o.log = [lines](const std::string& l) { lines->push_back(l); };
    return o;
}

// The backing file the overlay's header names (via qemu-img info, independent of our reader).
inline std::string header_backing_of(const std::filesystem::path& overlay)
{
    const auto out = run_ok({"qemu-img", "info", "-U", "--output=json", overlay.string()});
    const auto key = std::string("\"backing-filename\": \"");
    const auto pos = out.find(key);
    if (pos == std::string::npos) return "";
    const auto end = out.find('"', pos + key.size());
    return out.substr(pos + key.size(), end - pos - key.size());
}

// The file the overlay is really backed by: the header's backing file, through the context's
// base link when the header names that link (it must: a test fails otherwise).
inline std::string backing_of(const std::filesystem::path& overlay)
{
    const std::string named = header_backing_of(overlay);
    const auto link = overlay.parent_path() / "base";
    INFO("the overlay " << overlay << " must be backed by its context's base link " << link);
    CHECK(named == link.string());
    std::error_code ec;
    const auto target = std::filesystem::read_symlink(link, ec);
    return ec ? named : target.string();
}

}  // namespace appshare::test
