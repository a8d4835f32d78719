#include "virt/install.hpp"

#include "store/blob_store.hpp"
#include "bundle/bundle.hpp"
#include "bundle/bundle_verify.hpp"
#include "instance/context.hpp"
#include "instance/context_volumes.hpp"
#include "instance/domain_xml.hpp"
#include "instance/instance_usage.hpp"
#include "base/interrupt.hpp"
#include "base/installed_files.hpp"
#include "base/progress.hpp"
#include "base/size_units.hpp"
#include "base/sync_batch.hpp"
#include "base/text.hpp"
#include "instance/storage_report.hpp"
#include "base/time_format.hpp"
#include "host/virt_type.hpp"
#include "store/host_registry.hpp"
#include "virt/domain.hpp"
#include "virt/storage_pools.hpp"
#include "instance/stores.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <thread>
#include <set>

#include <unistd.h>

namespace appshare {
namespace {

constexpr std::size_t kMaxInstancesAtOnce = 10000;
constexpr std::size_t kInstallJobs = 4;  // instances made at once by default

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
    if (r.memory_bytes) {
        if (auto c = check_install_memory(*r.memory_bytes); !c) return c;
    }
    if (r.vcpus) {
        if (auto c = check_install_vcpus(*r.vcpus); !c) return c;
    }
    return ok();
}

Error name_taken(const Connection& conn, const std::string& name)
{
    return make_error(ErrorCode::AlreadyExists, "a domain named '" + name + "' already exists in libvirt at " +
                                                    connection_uri(conn) +
                                                    "; choose another --name (the existing domain was not touched).");
}

// No domain of any of `names` in libvirt: one look-up for one name, one listing of all domains
// for more (a single install does not pay for listing a host's every domain).
Result<void> check_names_free(const Connection& conn, const std::vector<std::string>& names)
{
    if (names.size() == 1) {
        auto existing = lookup_domain(conn, names.front());
        if (existing) return name_taken(conn, names.front());
        if (existing.error().code != ErrorCode::NotFound) return std::move(existing).error();
        return ok();
    }
    auto domains = list_domains(conn);
    if (!domains) return std::move(domains).error();
    std::set<std::string> taken;
    for (const auto& d : *domains) taken.insert(domain_name(d));
    for (const auto& name : names) {
        if (taken.count(name) != 0) return name_taken(conn, name);
    }
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

// On the shared storage: that the new domain uses its base (stopped), so gc on any host keeps
// the base while the domain is defined here. Not being able to write it does not undo the
// install: it is said, and `appshare gc` here writes the record later. It is written on a
// thread of its own while libvirtd defines the domain (both mostly wait for storage), and taken
// back unless keep() is called, so an install that fails leaves no record. (A crash between the
// two leaves a record of a domain libvirt does not have, which gc here removes.)
class UsageRecording {
public:
    UsageRecording(const Config& config, const std::string& name, const InstanceMetadata& meta)
        : shared_root_(config.shared_root)
    {
        auto paths = trusted_instance_paths(config, name, meta);
        if (!paths) {
            failure_ = paths.error().message;
            return;
        }
        record_ = instance_usage_record(config, *paths, "stopped");
        writer_ = std::jthread([this]() noexcept {
            try {
                if (auto w = write_usage_record(shared_root_, *record_); !w) failure_ = w.error().message;
            } catch (const std::exception& e) {
                failure_ = "cannot write the usage record of " + record_->domain + " (" + printable(e.what()) +
                           "); run 'appshare gc' to write it.";
            }
        });
    }
    UsageRecording(const UsageRecording&) = delete;
    UsageRecording& operator=(const UsageRecording&) = delete;
    ~UsageRecording()
    {
        if (writer_.joinable()) writer_.join();
        if (!kept_ && record_ && !failure_) {
            (void)remove_usage_record(shared_root_, record_->base_sha256, record_->host, record_->domain);
        }
    }

    // Waits for the record; what went wrong is a warning of the install.
    void keep(std::vector<std::string>& warnings)
    {
        if (writer_.joinable()) writer_.join();
        kept_ = true;
        if (failure_) warnings.push_back(*failure_);
    }

private:
    std::filesystem::path shared_root_;
    std::optional<UsageRecord> record_;
    std::optional<std::string> failure_;
    bool kept_ = false;
    std::jthread writer_;
};

// The storage pools, refreshed once every instance's context is complete: on a thread of its own
// beside the last defines (libvirtd answers both at once), and once more at the end when an
// instance failed, so that `virsh vol-list` shows what install made and nothing it undid. The
// first install on a host with a contexts pool (no <context_root>/.volumes yet) refreshes only at
// the end and only when it made an instance: one that makes nothing leaves no folder behind.
class PoolsRefresh {
public:
    PoolsRefresh(const Connection& conn, const Config& config, std::size_t instances)
        : conn_(conn), config_(config), waiting_(instances)
    {
        std::error_code ec;
        early_ = config.context_pool.empty() || std::filesystem::is_directory(context_volumes_dir(config.context_root), ec);
    }
    PoolsRefresh(const PoolsRefresh&) = delete;
    PoolsRefresh& operator=(const PoolsRefresh&) = delete;

    // One instance's context is complete, or will never be (the instance failed before): the
    // last of them starts the refresh. A thread that cannot be had leaves it to finish().
    void context_settled() noexcept
    {
        if (--waiting_ != 0 || !early_) return;
        try {
            runner_ = std::jthread([this]() noexcept { warnings_ = refresh(); });
            started_ = true;
        } catch (const std::exception&) {
            started_ = false;
        }
    }
    // The refresh's warnings, once it is done, after `made` instances were made and `failed` failed.
    std::vector<std::string> finish(std::size_t made, std::size_t failed)
    {
        if (runner_.joinable()) runner_.join();
        if (started_ ? failed > 0 : made > 0) warnings_ = refresh();
        return warnings_;
    }

private:
    std::vector<std::string> refresh() const noexcept
    {
        try {
            return refresh_storage_pools(conn_, config_).warnings;
        } catch (const std::exception& e) {
            return {"the storage pools were not refreshed (" + printable(e.what()) + "); run 'virsh pool-refresh' on them"};
        }
    }

    const Connection& conn_;
    const Config& config_;
    std::atomic<std::size_t> waiting_;
    bool early_ = false;    // the pools' folder is there: refresh beside the last defines
    bool started_ = false;  // written by the thread that starts it; read after the workers joined
    std::vector<std::string> warnings_;
    std::jthread runner_;
};

// Tells PoolsRefresh once per instance that its context is settled: when called, or at the
// latest when the instance's work ends.
class ContextSettled {
public:
    explicit ContextSettled(PoolsRefresh& pools) : pools_(pools) {}
    ContextSettled(const ContextSettled&) = delete;
    ContextSettled& operator=(const ContextSettled&) = delete;
    ~ContextSettled() { (*this)(); }
    void operator()() noexcept
    {
        if (told_) return;
        told_ = true;
        pools_.context_settled();
    }

private:
    PoolsRefresh& pools_;
    bool told_ = false;
};

StoredFile stored(const BlobStore& store, const BlobSpec& spec, std::filesystem::path link = {})
{
    return StoredFile{spec.sha256, spec.size.value_or(0), spec.image_format, store.path_of(spec), std::move(link)};
}

}  // namespace

Result<void> check_install_memory(std::uint64_t bytes)
{
    if (bytes < (1ULL << 20)) return make_error(ErrorCode::Usage, "--memory must be at least 1 MiB; give for example --memory 512M.");
    return ok();
}

Result<void> check_install_vcpus(unsigned vcpus)
{
    if (vcpus < 1 || vcpus > 4096) return make_error(ErrorCode::Usage, "--vcpus must be between 1 and 4096.");
    return ok();
}

namespace {

// What every instance of one install shares: the bundle verified, its base and boot files
// published (or deferred), the hook registered; `common` is the result each instance starts from.
struct Prepared {
    VerifiedBundle verified;
    BlobSpec base_spec;
    std::optional<BlobSpec> kernel_spec;
    std::optional<BlobSpec> initrd_spec;
    std::filesystem::path local_kernel;  // the host-local boot files the links name
    std::filesystem::path local_initrd;
    CloudInitPlan cloud_init;  // the same inputs for every instance; each seed has its own identity
    InstallResult common;
};

Result<Prepared> prepare_install(const Config& config, const InstallRequest& r, std::string virt_type)
{
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
    // The cloud-init inputs, read and checked before anything is made.
    auto cloud_init = plan_cloud_init(r.cloud_init, *bundle, v->manifest);
    if (!cloud_init) return std::move(cloud_init).error();
    // The base as the store knows it: digest, format, size.
    BlobSpec base_spec{v->manifest.image.sha256, v->manifest.image.format, v->manifest.image.format, v->image_file.size};
    Prepared p{std::move(*v), std::move(base_spec), {}, {}, {}, {}, std::move(*cloud_init), {}};
    const VerifiedBundle& vb = p.verified;
    const Manifest& m = vb.manifest;
    InstallResult& out = p.common;
    out.appliance = m.name;
    out.version = m.version;
    out.virt_type = std::move(virt_type);
    out.source_files = m.source_files;
    out.source_urls = m.source_urls;
    if (r.lazy) {
        if (auto c = add_lazy_sources(*bundle, vb, config, out); !c) return std::move(c).error();
    }

    // 2. Shared storage: boot files always (small), the base unless deferred to the first start.
    out.base = store.path_of(p.base_spec);
    if (vb.kernel) p.kernel_spec = BlobSpec{vb.kernel->sha256, "kernel", "", vb.kernel->size};
    if (vb.initrd) p.initrd_spec = BlobSpec{vb.initrd->sha256, "initrd", "", vb.initrd->size};
    const BlobStore local = local_store(config);
    for (auto [spec, file] : {std::pair{&p.kernel_spec, &vb.kernel}, {&p.initrd_spec, &vb.initrd}}) {
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
    // The boot links name the host-local copies (instance/instance_paths.hpp, context_target).
    if (p.kernel_spec) p.local_kernel = local.path_of(*p.kernel_spec);
    if (p.initrd_spec) p.local_initrd = local.path_of(*p.initrd_spec);
    if (r.lazy) {
        out.base_action = store.is_verified(p.base_spec) ? InstallResult::BaseAction::Reused
                                                         : InstallResult::BaseAction::Deferred;
    } else {
        auto published = publish(store, *bundle, p.base_spec, m.image.path, config, r);
        if (!published) return std::move(published).error();
        out.base_action = base_action(published->action);
    }
    if (auto c = stop_if_interrupted(r.name); !c) return std::move(c).error();

    // 3. The share application load procedure: the hook registered, every start goes through it.
    auto hook = register_hook(r.hooks_dir, r.hook_binary.empty() ? hook_binary_path() : r.hook_binary);
    if (!hook) return std::move(hook).error();
    out.hook = *hook;
    out.reload_advice = reload_advice(daemons_needing_reload(r.hooks_dir, out.hook.link, find_libvirt_daemons()));
    return p;
}

// One instance over what prepare_install made: its context, then its domain. All or nothing.
Result<InstallResult> install_instance(const Connection& conn, const Config& config, const InstallRequest& r,
                                       const Prepared& p, const std::string& name, ContextSettled& settled)
{
    if (auto c = stop_if_interrupted(name); !c) return std::move(c).error();
    const Manifest& m = p.verified.manifest;
    const BlobStore store = shared_store(config);
    const ContextLayout layout = context_layout(config.context_root, name);
    InstallResult out = p.common;
    out.name = name;

    // 4. The context: overlay over the shared base, boot file links, instance.json.
    ContextSpec cs;
    cs.base = out.base;
    cs.base_format = m.image.format;
    cs.virtual_size = std::max(m.overlay_size, p.verified.image.virtual_size);
    if (p.kernel_spec) cs.kernel = p.local_kernel;
    if (p.initrd_spec) cs.initrd = p.local_initrd;
    SyncBatch durable;  // the context's files and folders, flushed while libvirtd defines the domain
    auto ctx = create_context(layout, cs, &durable);
    if (!ctx) return std::move(ctx).error();
    out.context_dir = layout.dir;
    out.overlay = layout.overlay;
    out.uuid = random_uuid();
    // The cloud-init seed, with the identity the SMBIOS serial carries too.
    auto seeded = install_cloud_init_seed(p.cloud_init, layout, name, out.uuid);
    if (!seeded) return std::move(seeded).error();
    if (*seeded) out.seed_iso = layout.seed_iso;
    out.key_fingerprints = p.cloud_init.key_fingerprints;
    out.password = p.cloud_init.password;

    // 5. The domain: XML from the template, marked with the appshare metadata, defined.
    DomainSpec ds;
    ds.name = name;
    ds.uuid = out.uuid;
    ds.title = r.title.value_or(instance_title(name, m.name, m.version));
    ds.description = r.description.value_or(instance_description(m.description, name, m.name, m.version, layout.dir,
                                                                 m.image.sha256));
    ds.memory_bytes = r.memory_bytes.value_or(m.memory_bytes);
    ds.vcpus = r.vcpus.value_or(m.vcpus);
    ds.arch = m.arch;
    ds.virt_type = out.virt_type;
    ds.disk = layout.overlay;
    ds.backing = layout.base_link;
    ds.backing_format = m.image.format;
    if (p.kernel_spec) ds.kernel = layout.kernel_link;
    if (p.initrd_spec) ds.initrd = layout.initrd_link;
    ds.cmdline = m.cmdline;
    ds.seed_iso = out.seed_iso;
    ds.smbios_serial = nocloud_serial(name, out.uuid);
    ds.product = m.name;
    ds.product_version = m.version;
    ds.network_type = m.network.type;
    ds.network_name = m.network.name;
    ds.console = m.console;
    // The serial console's output, kept by virtlogd next to libvirt's own per-domain logs.
    if (m.console == "serial") ds.serial_log = "/var/log/libvirt/qemu/" + name + "-serial.log";
    InstanceMetadata& meta = ds.metadata;
    meta.appliance_name = m.name;
    meta.appliance_version = m.version;
    meta.base = stored(store, p.base_spec);
    if (p.kernel_spec) meta.kernel = stored(store, *p.kernel_spec, layout.kernel_link);
    if (p.initrd_spec) meta.initrd = stored(store, *p.initrd_spec, layout.initrd_link);
    meta.source_files = out.source_files;
    meta.source_urls = out.source_urls;
    meta.context_dir = layout.dir;
    meta.overlay = layout.overlay;
    meta.overlay_size = cs.virtual_size;  // what the hook gives an overlay it makes (a migration's destination)
    meta.tool_version = appshare_version();
    meta.installed_at = utc_timestamp_now();
    auto xml = render_domain_xml(ds, template_dir() / "domain.xml");
    if (!xml) return std::move(xml).error();
    if (auto c = stop_if_interrupted(name); !c) return std::move(c).error();

    // The context reaches stable storage, and the usage record the shared storage, while
    // libvirtd defines the domain (all three mostly wait for storage). The install succeeds only
    // once the context is durable: a flush that fails undoes the domain and the context.
    UsageRecording usage(config, name, ds.metadata);
    settled();  // the context is complete: the pools may list it
    std::optional<Error> unflushed;
    auto dom = [&] {
        std::jthread flusher([&]() noexcept {
            try {
                if (auto f = durable.flush(); !f) unflushed = std::move(f).error();
            } catch (const std::exception& e) {
                unflushed = make_error(ErrorCode::Io, "cannot flush the context " + layout.dir.string() + " (" +
                                                          printable(e.what()) + "); run the command again.");
            }
        });
        return define_domain(conn, *xml);
    }();
    if (!dom) return std::move(dom).error();
    DefinedDomain defined(std::move(*dom));
    if (unflushed) return std::move(*unflushed);
    if (auto c = stop_if_interrupted(name); !c) return std::move(c).error();

    // Done: keep everything.
    defined.release();
    ctx->keep();
    usage.keep(out.warnings);
    if (auto bytes = disk_usage_bytes(layout.dir)) out.context_bytes = *bytes;
    return out;
}

}  // namespace

Result<std::vector<std::string>> numbered_instance_names(std::string_view prefix, unsigned count)
{
    if (count < 1 || count > kMaxInstancesAtOnce) {
        return make_error(ErrorCode::Usage, "--count must be between 1 and " + std::to_string(kMaxInstancesAtOnce) +
                                                ", not " + std::to_string(count) + ".");
    }
    std::vector<std::string> names;
    names.reserve(count);
    for (unsigned i = 1; i <= count; ++i) {
        names.push_back(std::string(prefix) + std::to_string(i));
        if (auto c = check_instance_name(names.back()); !c) return std::move(c).error();
    }
    return names;
}

Result<void> check_instance_names(const Config& config, const std::vector<std::string>& names)
{
    if (names.empty()) return make_error(ErrorCode::Usage, "install needs at least one --name or a --count; give for example --name web1.");
    if (names.size() > kMaxInstancesAtOnce) {
        return make_error(ErrorCode::Usage, "install makes at most " + std::to_string(kMaxInstancesAtOnce) +
                                                " instances at once, not " + std::to_string(names.size()) + "; split the names over several runs.");
    }
    std::set<std::string_view> seen;
    for (const auto& name : names) {
        if (auto n = check_instance_name(name); !n) return n;
        if (!seen.insert(name).second) {
            return make_error(ErrorCode::Usage, "the instance name '" + name + "' is given twice; give each --name once.");
        }
        const ContextLayout layout = context_layout(config.context_root, name);
        std::error_code ec;
        if (std::filesystem::exists(std::filesystem::symlink_status(layout.dir, ec))) {
            return make_error(ErrorCode::AlreadyExists, "the context directory " + layout.dir.string() +
                                                            " already exists (left by an earlier instance of that name?); remove it or choose another --name.");
        }
    }
    return ok();
}

Result<BulkInstallResult> install_appliances(const Connection& conn, const Config& config, const InstallRequest& r,
                                             const std::vector<std::string>& names, const InstanceDoneFn& on_done)
{
    if (auto c = check_request(r); !c) return std::move(c).error();
    auto virt_type = choose_virt_type(r.virt_type, config.virt_type);
    if (!virt_type) return std::move(virt_type).error();
    if (auto c = check_instance_names(config, names); !c) return std::move(c).error();
    if (r.cloud_init.password_generate && names.size() > 1) {
        return make_error(ErrorCode::Usage, "--password-generate makes one password shown once, so it installs one "
                                            "instance at a time; give a single --name, or --ssh-key for several instances.");
    }
    if (auto c = check_names_free(conn, names); !c) return std::move(c).error();
    InstallRequest shared = r;
    if (names.size() == 1) shared.name = names.front();
    else shared.name = std::to_string(names.size()) + " instances";
    auto prepared = prepare_install(config, shared, std::move(*virt_type));
    if (!prepared) return std::move(prepared).error();

    // Instances are made `jobs` at a time: most of an instance's time is waiting for libvirtd's
    // define and for fsyncs, which overlap well. Results are kept in the order of the names.
    const std::size_t total = names.size();
    const std::size_t jobs = std::min<std::size_t>(r.jobs == 0 ? kInstallJobs : r.jobs, total);
    std::vector<std::optional<InstallResult>> made(total);
    std::vector<std::optional<Error>> failed(total);
    std::atomic<std::size_t> next{0};
    std::mutex told;
    std::size_t done = 0;
    // This host as live on the shared storage (gc on other hosts reads it), written while the
    // instances are made; not being able to write it undoes nothing: it is said, and `appshare
    // gc` here writes it later.
    std::optional<std::string> host_failure;
    std::jthread host_recorder([&]() noexcept {
        try {
            if (auto h = refresh_host_record(config.shared_root, std::chrono::seconds(0)); !h) host_failure = h.error().message;
        } catch (const std::exception& e) {
            host_failure = "cannot record this host on the shared storage (" + printable(e.what()) + "); run 'appshare gc' here.";
        }
    });
    PoolsRefresh pools(conn, config, total);
    const auto work = [&]() noexcept {
        for (std::size_t i = next++; i < total; i = next++) {
            ContextSettled settled(pools);
            try {
                auto one = install_instance(conn, config, r, *prepared, names[i], settled);
                if (one) made[i] = std::move(*one);
                else failed[i] = std::move(one).error();
            } catch (const std::exception& e) {
                failed[i] = make_error(ErrorCode::Internal, "install of '" + names[i] + "' failed unexpectedly (" +
                                                                printable(e.what()) + "); please report this.");
            }
            std::lock_guard lock(told);
            ++done;
            if (on_done) on_done(done, total, names[i], failed[i] ? &*failed[i] : nullptr);
        }
    };
    {
        std::vector<std::jthread> helpers;
        for (std::size_t j = 1; j < jobs; ++j) helpers.emplace_back(work);
        work();
    }
    host_recorder.join();
    BulkInstallResult out;
    for (std::size_t i = 0; i < total; ++i) {
        if (made[i]) out.made.push_back(std::move(*made[i]));
        if (failed[i]) out.failed.push_back({names[i], std::move(*failed[i])});
    }
    out.pool_warnings = pools.finish(out.made.size(), out.failed.size());
    if (host_failure) {
        for (auto& m : out.made) m.warnings.push_back(*host_failure);
    }
    return out;
}

Result<InstallResult> install_appliance(const Connection& conn, const Config& config, const InstallRequest& r)
{
    auto bulk = install_appliances(conn, config, r, {r.name});
    if (!bulk) return std::move(bulk).error();
    if (!bulk->failed.empty()) return std::move(bulk->failed.front().error);
    InstallResult out = std::move(bulk->made.front());
    out.pool_warnings = std::move(bulk->pool_warnings);
    return out;
}

namespace {

std::string base_action_text(InstallResult::BaseAction action)
{
    switch (action) {
    case InstallResult::BaseAction::Reused: return "already on shared storage, reused";
    case InstallResult::BaseAction::Reverified: return "already on shared storage, re-verified";
    case InstallResult::BaseAction::Loaded: return "copied from the bundle and verified";
    case InstallResult::BaseAction::Deferred: return "loaded by the hook at the first start";
    }
    return {};
}

// The lines every instance of one install shares: base, virt type, hook, sources.
std::string shared_lines(const InstallResult& r)
{
    std::string s = "  base:      " + r.base.string() + " (" + base_action_text(r.base_action) + ")\n";
    s += "  virt type: " + r.virt_type + (r.virt_type == "qemu" ? " (TCG)" : "") + "\n";
    s += "  hook:      " + r.hook.link.string() + " -> " + r.hook.target.string() +
         (r.hook.created ? " (registered now)" : "") + "\n";
    if (r.base_action == InstallResult::BaseAction::Deferred) {
        for (const auto& f : r.source_files) s += "  source:    " + f + "\n";
        for (const auto& u : r.source_urls) s += "  source:    " + u + "\n";
    }
    return s;
}

}  // namespace

std::string install_summary(const InstallResult& r)
{
    std::string s = "Installed '" + r.name + "' (" + r.appliance + " " + r.version + "), domain uuid " + r.uuid + ".\n";
    s += "  context:   " + r.context_dir.string() + " (" + format_size(r.context_bytes) + " on disk)\n";
    s += shared_lines(r);
    if (r.seed_iso) s += "  cloud-init: " + r.seed_iso->string() + " (NoCloud seed)\n";
    for (const auto& k : r.key_fingerprints) s += "  ssh key:   " + k + "\n";
    if (r.password) {
        s += "  password:  " + *r.password +
             " (the default user's; shown only now: appshare keeps only its SHA-512 crypt hash)\n";
    }
    for (const auto& w : r.warnings) s += "Note: " + w + "\n";
    if (!r.reload_advice.empty()) s += "Note: " + r.reload_advice + "\n";
    s += "Start it with: virsh start " + r.name + "\n";
    return s;
}

std::string bulk_install_summary(const BulkInstallResult& b)
{
    const std::size_t total = b.made.size() + b.failed.size();
    std::string s;
    if (!b.made.empty()) {
        const InstallResult& first = b.made.front();
        s += "Installed " + std::to_string(b.made.size()) + " of " + std::to_string(total) + " instances of " +
             first.appliance + " " + first.version + ":\n";
        s += shared_lines(first);
        for (const auto& m : b.made) {
            s += "  " + m.name + "  uuid " + m.uuid + "  context " + m.context_dir.string() + " (" +
                 format_size(m.context_bytes) + " on disk)\n";
        }
    }
    if (!b.failed.empty()) {
        s += "Failed " + std::to_string(b.failed.size()) + " of " + std::to_string(total) +
             " instances (nothing of them was kept):\n";
        for (const auto& f : b.failed) s += "  " + f.name + ": " + f.error.message + "\n";
    }
    std::set<std::string> said;
    for (const auto& m : b.made) {
        for (const auto& w : m.warnings) {
            if (said.insert(w).second) s += "Note: " + w + "\n";
        }
    }
    if (!b.made.empty()) {
        if (!b.made.front().reload_advice.empty()) s += "Note: " + b.made.front().reload_advice + "\n";
        s += "Start one with: virsh start " + b.made.front().name + "\n";
    }
    return s;
}

}  // namespace appshare
