#include "core/instance_paths.hpp"

#include "core/trusted_paths.hpp"

namespace appshare {
namespace {

Error unsafe(std::string_view domain, const std::string& what)
{
    return make_error(ErrorCode::UnsafePath, "domain " + std::string(domain) + ": " + what +
                                                 "; appshare refuses it, reinstall the instance with 'appshare install'.");
}

Result<void> check_store_path(std::string_view domain, const BlobSpec& spec, const std::filesystem::path& recorded,
                              const Config& config, std::string_view field)
{
    const auto expected = BlobStore(config.shared_root).path_of(spec);
    if (recorded != expected) {
        return unsafe(domain, "the metadata's " + std::string(field) + " path " + recorded.string() +
                                  " is not the shared store's " + expected.string());
    }
    return check_inside_root(expected, config.shared_root, std::string(field));
}

Result<void> check_context_child(std::string_view domain, const std::filesystem::path& p,
                                 const std::filesystem::path& context_dir, std::string_view field)
{
    if (p.parent_path() != context_dir || p.filename().empty() || p.filename() == "." || p.filename() == "..") {
        return unsafe(domain, "the metadata's " + std::string(field) + " " + p.string() +
                                  " is not a file directly inside the context directory " + context_dir.string());
    }
    return ok();
}

}  // namespace

std::vector<const BootFile*> InstancePaths::boot_files() const
{
    std::vector<const BootFile*> out;
    if (kernel) out.push_back(&*kernel);
    if (initrd) out.push_back(&*initrd);
    return out;
}

Result<InstancePaths> trusted_instance_paths(const Config& config, std::string_view domain, const InstanceMetadata& meta)
{
    InstancePaths p;
    p.domain = std::string(domain);
    p.base = BlobSpec{meta.base.sha256, meta.base.format, meta.base.format,
                      meta.base.size > 0 ? std::optional<std::uint64_t>(meta.base.size) : std::nullopt};
    if (auto c = check_store_path(domain, p.base, meta.base.path, config, "base"); !c) return std::move(c).error();

    const auto dir = meta.context_dir;
    if (dir.parent_path() != config.context_root || dir.filename().empty() || dir.filename() == "." ||
        dir.filename() == "..") {
        return unsafe(domain, "the metadata's context directory " + dir.string() +
                                  " is not a directory directly inside the context root " + config.context_root.string());
    }
    if (auto c = check_inside_root(dir, config.context_root, "context directory"); !c) return std::move(c).error();
    p.context_dir = dir;
    if (auto c = check_context_child(domain, meta.overlay, dir, "overlay"); !c) return std::move(c).error();
    if (auto c = check_inside_root(meta.overlay, config.context_root, "overlay"); !c) return std::move(c).error();
    p.overlay = meta.overlay;
    p.lock_file = dir / ".instance.lock";

    const auto boot = [&](const std::optional<StoredFile>& f, const char* kind) -> Result<std::optional<BootFile>> {
        if (!f) return std::optional<BootFile>{};
        BootFile b{BlobSpec{f->sha256, kind, "", f->size > 0 ? std::optional<std::uint64_t>(f->size) : std::nullopt}, f->link};
        if (auto c = check_store_path(domain, b.spec, f->path, config, kind); !c) return std::move(c).error();
        if (auto c = check_context_child(domain, f->link, dir, std::string(kind) + " link"); !c) return std::move(c).error();
        if (f->link == meta.overlay || f->link.filename() == ".instance.lock" || f->link.filename() == "instance.json") {
            return unsafe(domain, "the metadata's " + std::string(kind) + " link " + f->link.string() + " names another context file");
        }
        return std::optional<BootFile>{std::move(b)};
    };
    auto k = boot(meta.kernel, "kernel");
    if (!k) return std::move(k).error();
    p.kernel = std::move(*k);
    auto i = boot(meta.initrd, "initrd");
    if (!i) return std::move(i).error();
    p.initrd = std::move(*i);
    if (p.kernel && p.initrd && p.kernel->link == p.initrd->link) {
        return unsafe(domain, "the kernel and initrd links are the same file " + p.kernel->link.string());
    }
    if (meta.overlay.filename() == ".instance.lock" || meta.overlay.filename() == "instance.json") {
        return unsafe(domain, "the overlay " + meta.overlay.string() + " names another context file");
    }
    p.source_files = meta.source_files;
    p.source_urls = meta.source_urls;
    return p;
}

}  // namespace appshare
