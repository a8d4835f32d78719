#include "virt/install.hpp"

#include "store/blob_store.hpp"
#include "bundle/bundle.hpp"
#include "bundle/bundle_verify.hpp"
#include "instance/context.hpp"
#include "instance/domain_xml.hpp"
#include "instance/instance_usage.hpp"
#include "base/interrupt.hpp"
#include "base/installed_files.hpp"
#include "base/progress.hpp"
#include "base/size_units.hpp"
#include "instance/storage_report.hpp"
#include "base/time_format.hpp"
#include "host/virt_type.hpp"
#include "store/host_registry.hpp"
#include "virt/domain.hpp"
#include "instance/stores.hpp"

#include <algorithm>

#include <unistd.h>

namespace appshare {
namespace {

Result<void> stop_if_interrupted(std::string_view name)
{
    if (!interrupted()) return ok();
    return make_error(ErrorCode::Interrupted, "install of '" + std::string(name) +
                                                  "' interrupted; nothing was kept, run the command again.");
}

// Undefines a domain this install defined, unless release()d (all-or-nothing).
class DefinedDomain {
public:
    explicit DefinedDomain(Domain dom) : dom_(std::move(dom)) {}
    DefinedDomain(const DefinedDomain&) = delete;
    DefinedDomain& operator=(const DefinedDomain&) = delete;
    ~DefinedDomain()
    {
        if (dom_) (void)undefine_domain(dom_);
    }
    void release() noexcept { dom_.reset(); }

private:
    Domain dom_;
};

Result<void> check_request(const InstallRequest& r)
{
    if (auto n = check_instance_name(r.name); !n) return n;
    if (r.memory_bytes && *r.memory_bytes < (1ULL << 20)) {
        return make_error(ErrorCode::Usage, "--memory must be at least 1 MiB; give for example --memory 512M.");
    }
    if (r.vcpus && (*r.vcpus < 1 || *r.vcpus > 4096)) {
        return make_error(ErrorCode::Usage, "--vcpus must be between 1 and 4096.");
    }
    return ok();
}

Result<void> check_name_free(const Connection& conn, std::string_view name)
{
    auto existing = lookup_domain(conn, name);
    if (existing) {
        return make_error(ErrorCode::AlreadyExists, "a domain named '" + std::string(name) + "' already exists in libvirt at " +
                                                        connection_uri(conn) +
                                                        "; choose another --name (the existing domain was not touched).");
    }
    if (existing.error().code != ErrorCode::NotFound) return std::move(existing).error();
    return ok();
}

BlobSource bundle_source(const Bundle& bundle, const std::string& member)
{
    return BlobSource{"bundle " + bundle.path().string() + " member " + member,
                      [&bundle, member](const ByteSink& sink) { return bundle.stream(member, sink); }};
}

bool already_in_store(const BlobStore& store, const std::string& sha)
{
    for (const char* kind : {"qcow2", "raw"}) {
        if (store.is_verified(BlobSpec{sha, kind, kind, std::nullopt})) return true;
    }
    for (const char* kind : {"kernel", "initrd"}) {
        if (store.is_verified(BlobSpec{sha, kind, "", std::nullopt})) return true;
    }
    return false;
}

InstallResult::BaseAction base_action(EnsureOutcome::Action a)
{
    switch (a) {
    case EnsureOutcome::Action::Reused: return InstallResult::BaseAction::Reused;
    case EnsureOutcome::Action::Reverified: return InstallResult::BaseAction::Reverified;
    case EnsureOutcome::Action::Loaded: return InstallResult::BaseAction::Loaded;
    }
    return InstallResult::BaseAction::Reused;
}

bool inside(const std::filesystem::path& file, const std::filesystem::path& dir)
{
    const auto rel = file.lexically_normal().lexically_relative(dir.lexically_normal());
    return !rel.empty() && *rel.begin() != "..";
}

// --lazy: the hook must be able to load the base at the first start, so the domain must name a
// source: the image itself when the bundle is a directory, plus the manifest's own sources.
Result<void> add_lazy_sources(const Bundle& bundle, const VerifiedBundle& v, const Config& config, InstallResult& out)
{
    if (!bundle.is_archive()) {
        std::error_code ec;
        const auto image = std::filesystem::canonical(bundle.path() / v.manifest.image.path, ec);
        if (ec) {
            return make_error(ErrorCode::Io, "cannot resolve " + (bundle.path() / v.manifest.image.path).string() + ": " +
                                                 ec.message() + ".");
        }
        out.source_files.insert(out.source_files.begin(), image.string());
        const bool allowed = std::any_of(config.allowed_source_dirs.begin(), config.allowed_source_dirs.end(),
                                         [&](const auto& d) { return inside(image, d); });
        if (!allowed) {
            out.warnings.push_back("the hook loads the base from " + image.string() + " only if allowed_source_dirs in " +
                                   (config.origin.empty() ? std::string(kDefaultConfigPath) : config.origin.string()) +
                                   " includes " + image.parent_path().string() + "; add it there.");
        }
    }
    if (out.source_files.empty() && out.source_urls.empty()) {
        return make_error(ErrorCode::Usage, "--lazy needs a source the hook can load the base from, but " +
                                                bundle.path().string() +
                                                " is an archive whose manifest names no <sources>; unpack it into a directory or install without --lazy.");
    }
    return ok();
}

EnsureOptions ensure_options(const Config& config, const InstallRequest& r, const std::string& purpose)
{
    EnsureOptions o;
    o.lock_wait = std::chrono::duration_cast<std::chrono::milliseconds>(config.lock_wait);
    o.holder = this_process_holder("appshare install " + r.name, purpose);
    if (r.notice) {
        o.on_wait = [notice = r.notice](const std::string& holder) {
            notice("waiting for the lock, held by " + holder);
        };
    }
    return o;
}

// Publishes one bundle member into the store (at most once); returns its store path and what happened.
Result<EnsureOutcome> publish(const BlobStore& store, const Bundle& bundle, const BlobSpec& spec,
                              const std::string& member, const Config& config, const InstallRequest& r)
{
    EnsureOptions o = ensure_options(config, r, "load " + spec.kind);
    std::optional<Progress> progress;
    std::uint64_t last = 0;
    if (r.show_progress && spec.size) {
        progress.emplace("copying " + member, *spec.size);
        o.on_progress = [&](std::uint64_t total) {
            progress->advance(total - last);
            last = total;
        };
    }
    auto outcome = store.ensure(spec, {bundle_source(bundle, member)}, o);
    if (progress) progress->finish();
    return outcome;
}

// On the shared storage: this host as live, and that the new domain uses its base (stopped),
// so gc on any host keeps the base while the domain is defined here. Not being able to write
// them does not undo the install: it is said, and `appshare gc` here writes the record later.
void record_installed(const Config& config, const std::string& name, const InstanceMetadata& meta,
                      std::vector<std::string>& warnings)
{
    if (auto h = refresh_host_record(config.shared_root, std::chrono::seconds(0)); !h) warnings.push_back(h.error().message);
    auto paths = trusted_instance_paths(config, name, meta);
    if (!paths) {
        warnings.push_back(paths.error().message);
        return;
    }
    if (auto w = write_usage_record(config.shared_root, instance_usage_record(config, *paths, "stopped")); !w) {
        warnings.push_back(w.error().message);
    }
}

StoredFile stored(const BlobStore& store, const BlobSpec& spec, std::filesystem::path link = {})
{
    return StoredFile{spec.sha256, spec.size.value_or(0), spec.image_format, store.path_of(spec), std::move(link)};
}

}  // namespace

Result<InstallResult> install_appliance(const Connection& conn, const Config& config, const InstallRequest& r)
{
    if (auto c = check_request(r); !c) return std::move(c).error();
    auto virt_type = choose_virt_type(r.virt_type, config.virt_type);
    if (!virt_type) return std::move(virt_type).error();
    if (auto c = check_name_free(conn, r.name); !c) return std::move(c).error();
    const ContextLayout layout = context_layout(config.context_root, r.name);
    std::error_code ec;
    if (std::filesystem::exists(std::filesystem::symlink_status(layout.dir, ec))) {
        return make_error(ErrorCode::AlreadyExists, "the context directory " + layout.dir.string() +
                                                        " already exists (left by an earlier instance of that name?); remove it or choose another --name.");
    }

    // 1. The bundle, verified; a file the shared store already holds verified is not re-hashed.
    auto bundle = Bundle::open(r.bundle);
    if (!bundle) return std::move(bundle).error();
    const BlobStore store = shared_store(config);
    VerifyOptions vo;
    vo.already_verified = [&store](const std::string& sha) { return already_in_store(store, sha); };
    vo.show_progress = r.show_progress;
    auto v = verify_bundle(*bundle, vo);
    if (!v) return std::move(v).error();
    if (auto c = stop_if_interrupted(r.name); !c) return std::move(c).error();
    const Manifest& m = v->manifest;

    InstallResult out;
    out.name = r.name;
    out.appliance = m.name;
    out.version = m.version;
    out.virt_type = *virt_type;
    out.source_files = m.source_files;
    out.source_urls = m.source_urls;
    if (r.lazy) {
        if (auto c = add_lazy_sources(*bundle, *v, config, out); !c) return std::move(c).error();
    }

    // 2. Shared storage: boot files always (small), the base unless deferred to the first start.
    const BlobSpec base_spec{m.image.sha256, m.image.format, m.image.format, v->image_file.size};
    out.base = store.path_of(base_spec);
    std::optional<BlobSpec> kernel_spec;
    std::optional<BlobSpec> initrd_spec;
    if (v->kernel) kernel_spec = BlobSpec{v->kernel->sha256, "kernel", "", v->kernel->size};
    if (v->initrd) initrd_spec = BlobSpec{v->initrd->sha256, "initrd", "", v->initrd->size};
    const BlobStore local = local_store(config);
    for (auto [spec, file] : {std::pair{&kernel_spec, &v->kernel}, {&initrd_spec, &v->initrd}}) {
        if (!*spec) continue;
        auto published = publish(store, *bundle, **spec, (*file)->path, config, r);
        if (!published) return std::move(published).error();
        // A host-local copy too: the domain boots from it (libvirt chowns the kernel and initrd
        // while it runs, which must never be the shared files), also as an independent entity
        // when the shared storage does not answer (the hook keeps these up to date).
        if (auto kept = publish(local, *bundle, **spec, (*file)->path, config, r); !kept) {
            out.warnings.push_back("no host-local copy of the " + (*spec)->kind + " was kept (" +
                                   message_clause(kept.error().message) +
                                   "); the hook makes it at the instance's first start.");
        }
    }
    if (r.lazy) {
        out.base_action = store.is_verified(base_spec) ? InstallResult::BaseAction::Reused
                                                       : InstallResult::BaseAction::Deferred;
    } else {
        auto published = publish(store, *bundle, base_spec, m.image.path, config, r);
        if (!published) return std::move(published).error();
        out.base_action = base_action(published->action);
    }
    if (auto c = stop_if_interrupted(r.name); !c) return std::move(c).error();

    // 3. The context: overlay over the shared base, boot file links, instance.json.
    ContextSpec cs;
    cs.base = out.base;
    cs.base_format = m.image.format;
    cs.virtual_size = std::max(m.overlay_size, v->image.virtual_size);
    // The boot links name the host-local copies (instance/instance_paths.hpp, context_target).
    if (kernel_spec) cs.kernel = local.path_of(*kernel_spec);
    if (initrd_spec) cs.initrd = local.path_of(*initrd_spec);
    auto ctx = create_context(layout, cs);
    if (!ctx) return std::move(ctx).error();
    out.context_dir = layout.dir;
    out.overlay = layout.overlay;

    // 4. The share application load procedure: the hook registered, every start goes through it.
    auto hook = register_hook(r.hooks_dir, r.hook_binary.empty() ? hook_binary_path() : r.hook_binary);
    if (!hook) return std::move(hook).error();
    out.hook = *hook;

    // 5. The domain: XML from the template, marked with the appshare metadata, defined.
    out.uuid = random_uuid();
    DomainSpec ds;
    ds.name = r.name;
    ds.uuid = out.uuid;
    ds.title = r.title.value_or(m.name + " " + m.version);
    ds.description = r.description.value_or(m.description);
    ds.memory_bytes = r.memory_bytes.value_or(m.memory_bytes);
    ds.vcpus = r.vcpus.value_or(m.vcpus);
    ds.arch = m.arch;
    ds.virt_type = out.virt_type;
    ds.disk = layout.overlay;
    ds.backing = layout.base_link;
    ds.backing_format = m.image.format;
    if (kernel_spec) ds.kernel = layout.kernel_link;
    if (initrd_spec) ds.initrd = layout.initrd_link;
    ds.cmdline = m.cmdline;
    ds.smbios_serial = nocloud_serial(r.name, out.uuid);
    ds.product = m.name;
    ds.product_version = m.version;
    ds.network_type = m.network.type;
    ds.network_name = m.network.name;
    ds.console = m.console;
    // The serial console's output, kept by virtlogd next to libvirt's own per-domain logs.
    if (m.console == "serial") ds.serial_log = "/var/log/libvirt/qemu/" + r.name + "-serial.log";
    InstanceMetadata& meta = ds.metadata;
    meta.appliance_name = m.name;
    meta.appliance_version = m.version;
    meta.base = stored(store, base_spec);
    if (kernel_spec) meta.kernel = stored(store, *kernel_spec, layout.kernel_link);
    if (initrd_spec) meta.initrd = stored(store, *initrd_spec, layout.initrd_link);
    meta.source_files = out.source_files;
    meta.source_urls = out.source_urls;
    meta.context_dir = layout.dir;
    meta.overlay = layout.overlay;
    meta.overlay_size = cs.virtual_size;  // what the hook gives an overlay it makes (a migration's destination)
    meta.tool_version = appshare_version();
    meta.installed_at = utc_timestamp_now();
    auto xml = render_domain_xml(ds, template_dir() / "domain.xml");
    if (!xml) return std::move(xml).error();
    if (auto c = stop_if_interrupted(r.name); !c) return std::move(c).error();

    auto dom = define_domain(conn, *xml);
    if (!dom) return std::move(dom).error();
    DefinedDomain defined(std::move(*dom));
    if (auto c = stop_if_interrupted(r.name); !c) return std::move(c).error();

    // Done: keep everything.
    defined.release();
    ctx->keep();
    record_installed(config, r.name, ds.metadata, out.warnings);
    if (auto bytes = disk_usage_bytes(layout.dir)) out.context_bytes = *bytes;
    out.reload_advice = reload_advice(daemons_needing_reload(r.hooks_dir, out.hook.link, find_libvirt_daemons()));
    return out;
}

std::string install_summary(const InstallResult& r)
{
    std::string base;
    switch (r.base_action) {
    case InstallResult::BaseAction::Reused: base = "already on shared storage, reused"; break;
    case InstallResult::BaseAction::Reverified: base = "already on shared storage, re-verified"; break;
    case InstallResult::BaseAction::Loaded: base = "copied from the bundle and verified"; break;
    case InstallResult::BaseAction::Deferred: base = "loaded by the hook at the first start"; break;
    }
    std::string s = "Installed '" + r.name + "' (" + r.appliance + " " + r.version + "), domain uuid " + r.uuid + ".\n";
    s += "  base:      " + r.base.string() + " (" + base + ")\n";
    s += "  context:   " + r.context_dir.string() + " (" + format_size(r.context_bytes) + " on disk)\n";
    s += "  virt type: " + r.virt_type + (r.virt_type == "qemu" ? " (TCG)" : "") + "\n";
    s += "  hook:      " + r.hook.link.string() + " -> " + r.hook.target.string() +
         (r.hook.created ? " (registered now)" : "") + "\n";
    if (r.base_action == InstallResult::BaseAction::Deferred) {
        for (const auto& f : r.source_files) s += "  source:    " + f + "\n";
        for (const auto& u : r.source_urls) s += "  source:    " + u + "\n";
    }
    for (const auto& w : r.warnings) s += "Note: " + w + "\n";
    if (!r.reload_advice.empty()) s += "Note: " + r.reload_advice + "\n";
    s += "Start it with: virsh start " + r.name + "\n";
    return s;
}

}  // namespace appshare
