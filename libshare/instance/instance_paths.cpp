#include "instance/instance_paths.hpp"

#include "base/text.hpp"
#include "store/trusted_paths.hpp"
#include "instance/stores.hpp"

namespace appshare {
namespace {

// The domain's name comes from whoever defined it: libvirt refuses a new line in it, not a tab.
Error unsafe(std::string_view domain, const std::string& what)
{
    return make_error(ErrorCode::UnsafePath, "domain " + printable(domain) + ": " + what +
                                                 "; appshare refuses it, reinstall the instance with 'appshare install'.");
}

Result<void> check_store_path(std::string_view domain, const BlobSpec& spec, const std::filesystem::path& recorded,
                              const Config& config, std::string_view field)
{
    // Lexical only, and that is enough: the path must be exactly the store's name for the digest,
    // a direct child of shared_root. Whatever is at that name (a link, a device) is the store's
    // business, under the file's lock, in the start's worker: a look at the shared storage from
    // here would block the start when that storage stops answering.
    const auto expected = shared_store(config).path_of(spec);
    if (recorded != expected) {
        return unsafe(domain, "the metadata's " + std::string(field) + " path " + printable(recorded.string()) +
                                  " is not the shared store's " + expected.string());
    }
    return ok();
}

// The metadata must name exactly the path the layout gives: no other file, no other context.
Result<void> check_exact(std::string_view domain, std::string_view field, const std::filesystem::path& named,
                         const std::filesystem::path& expected)
{
    if (named == expected) return ok();
    return unsafe(domain, "the metadata's " + std::string(field) + " " + printable(named.string()) + " is not " +
                              expected.string() + ", the " + std::string(field) + " of domain " + printable(domain) +
                              " (a copy of another domain's definition keeps that domain's metadata)");
}

Result<std::uint64_t> required_size(std::string_view domain, const StoredFile& f, std::string_view field)
{
    if (f.size > 0) return f.size;
    return make_error(ErrorCode::BadManifest, "domain " + printable(domain) + ": the metadata's " +
                                                  std::string(field) + " has no size; reinstall the instance with 'appshare install'.");
}

}  // namespace

std::vector<const BootFile*> InstancePaths::boot_files() const
{
    std::vector<const BootFile*> out;
    if (kernel) out.push_back(&*kernel);
    if (initrd) out.push_back(&*initrd);
    return out;
}

ContextTarget context_target(const InstancePaths& paths, const BlobStore& store, const BlobStore& other,
                             const BlobStore& local)
{
    ContextTarget t;
    t.base = store.path_of(paths.base);
    t.base_format = paths.base.image_format;
    t.known_bases = {other.path_of(paths.base)};
    t.base_label = "base " + paths.base.sha256.substr(0, 12);
    t.overlay_size = paths.overlay_size;
    for (const auto* boot : paths.boot_files()) t.boot_links.push_back({boot->link, local.path_of(boot->spec)});
    return t;
}

Result<ContextLayout> trusted_context_layout(const Config& config, std::string_view domain, const InstanceMetadata& meta)
{
    if (auto n = check_instance_name(domain); !n) {
        return unsafe(domain, "the domain's name is not a valid instance name (1 to 63 letters, digits, '.', '_' or '-', "
                              "starting with a letter or digit), so it cannot name a context directory");
    }
    const auto layout = context_layout(config.context_root, domain);
    if (auto c = check_exact(domain, "context directory", meta.context_dir, layout.dir); !c) return std::move(c).error();
    if (auto c = check_exact(domain, "overlay", meta.overlay, layout.overlay); !c) return std::move(c).error();
    if (meta.kernel) {
        if (auto c = check_exact(domain, "kernel link", meta.kernel->link, layout.kernel_link); !c) return std::move(c).error();
    }
    if (meta.initrd) {
        if (auto c = check_exact(domain, "initrd link", meta.initrd->link, layout.initrd_link); !c) return std::move(c).error();
    }
    if (auto c = check_inside_root(layout.dir, config.context_root, "context directory"); !c) return std::move(c).error();
    return layout;
}

Result<InstancePaths> trusted_instance_paths(const Config& config, std::string_view domain, const InstanceMetadata& meta)
{
    auto layout = trusted_context_layout(config, domain, meta);
    if (!layout) return std::move(layout).error();

    InstancePaths p;
    p.domain = std::string(domain);
    auto base_size = required_size(domain, meta.base, "base");
    if (!base_size) return std::move(base_size).error();
    p.base = BlobSpec{meta.base.sha256, meta.base.format, meta.base.format, *base_size};
    if (auto c = check_store_path(domain, p.base, meta.base.path, config, "base"); !c) return std::move(c).error();
    p.context = *layout;

    const auto boot = [&](const std::optional<StoredFile>& f, const char* kind,
                          const std::filesystem::path& link) -> Result<std::optional<BootFile>> {
        if (!f) return std::optional<BootFile>{};
        auto size = required_size(domain, *f, kind);
        if (!size) return std::move(size).error();
        BootFile b{BlobSpec{f->sha256, kind, "", *size}, link};
        if (auto c = check_store_path(domain, b.spec, f->path, config, kind); !c) return std::move(c).error();
        return std::optional<BootFile>{std::move(b)};
    };
    auto k = boot(meta.kernel, "kernel", layout->kernel_link);
    if (!k) return std::move(k).error();
    p.kernel = std::move(*k);
    auto i = boot(meta.initrd, "initrd", layout->initrd_link);
    if (!i) return std::move(i).error();
    p.initrd = std::move(*i);
    p.source_files = meta.source_files;
    p.source_urls = meta.source_urls;
    p.overlay_size = meta.overlay_size;
    return p;
}

}  // namespace appshare
