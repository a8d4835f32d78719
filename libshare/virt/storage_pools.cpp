#include "virt/storage_pools.hpp"

#include "base/installed_files.hpp"
#include "base/text.hpp"
#include "instance/context_volumes.hpp"
#include "virt/libvirt_error.hpp"
#include "virt/libvirt_string.hpp"
#include "xml/xml_document.hpp"

#include <libvirt/virterror.h>

#include <thread>

namespace appshare {
namespace {

using Pool = UniqueHandle<virStoragePool, virStoragePoolFree>;

struct PoolWanted {
    std::string name;
    std::filesystem::path target;
    const char* key;  // the configuration key naming it
};

std::string config_file(const Config& config)
{
    return config.origin.empty() ? std::string(kDefaultConfigPath) : config.origin.string();
}

std::string warning_from(const Error& e) { return message_clause(e.message); }

Result<void> start_and_refresh(virStoragePool* pool, const std::string& name)
{
    const auto refresh_failed = [&](const LibvirtFailure& failure) {
        return libvirt_error(failure, "cannot refresh the storage pool " + in_quotes(name, '\''),
                             "see 'virsh pool-refresh " + name + "'");
    };
    // A running pool (the usual case) is refreshed in one call; only when that fails is it
    // asked whether it runs, and started.
    if (virStoragePoolRefresh(pool, 0) == 0) return ok();
    const auto failure = take_libvirt_failure();
    if (virStoragePoolIsActive(pool) != 0) {
        (void)take_libvirt_failure();
        return refresh_failed(failure);
    }
    if (virStoragePoolCreate(pool, 0) != 0) {
        return libvirt_error(take_libvirt_failure(), "cannot start the storage pool " + in_quotes(name, '\''),
                             "see 'virsh pool-start " + name + "'");
    }
    if (virStoragePoolRefresh(pool, 0) != 0) return refresh_failed(take_libvirt_failure());
    return ok();
}

Result<Pool> define_pool(const Connection& conn, const PoolWanted& w)
{
    auto xml = render_pool_xml(w.name, w.target, template_dir() / "pool.xml");
    if (!xml) return std::move(xml).error();
    Pool pool(virStoragePoolDefineXML(conn.get(), xml->c_str(), 0));
    if (!pool) {
        return libvirt_error(take_libvirt_failure(), "cannot define the storage pool " + in_quotes(w.name, '\''),
                             "define it by hand, or set " + std::string(w.key) + " = \"\" to do without");
    }
    if (virStoragePoolSetAutostart(pool.get(), 1) != 0) (void)take_libvirt_failure();
    return pool;
}

// One pool: used, defined, or left alone; then started and refreshed.
void keep_pool(const Connection& conn, const Config& config, const PoolWanted& w, PoolRefresh& out)
{
    std::error_code ec;
    if (w.name.empty() || !std::filesystem::is_directory(w.target, ec)) return;
    // The pool over the very folder, of this name or another (libvirt allows one per folder):
    // one call finds the pool appshare defined at its first run.
    Pool pool(virStoragePoolLookupByTargetPath(conn.get(), w.target.c_str()));
    std::string known_as = w.name;
    if (pool) {
        if (const char* n = virStoragePoolGetName(pool.get()); n != nullptr) known_as = n;
    } else {
        (void)take_libvirt_failure();
        // None covers the folder: a pool of this name covers another one, and is left alone.
        if (Pool named(virStoragePoolLookupByName(conn.get(), w.name.c_str())); named) {
            const LibvirtString xml(virStoragePoolGetXMLDesc(named.get(), 0));
            const std::string path = xml ? pool_target_path(xml.get()) : std::string();
            out.warnings.push_back("the storage pool " + in_quotes(w.name, '\'') + " covers " +
                                   (path.empty() ? std::string("another folder") : printable(path)) + ", not " +
                                   w.target.string() + ", so appshare leaves it alone; set " + w.key + " in " +
                                   config_file(config) + " to another name, or to \"\" for no pool");
            return;
        }
        (void)take_libvirt_failure();
        auto made = define_pool(conn, w);
        if (!made) {
            out.warnings.push_back(warning_from(made.error()));
            return;
        }
        pool = std::move(*made);
        out.defined.push_back(w.name);
    }
    if (auto r = start_and_refresh(pool.get(), known_as); !r) {
        out.warnings.push_back(warning_from(r.error()));
        return;
    }
    out.refreshed.push_back(known_as);
}

}  // namespace

std::filesystem::path shared_pool_target(const Config& config) { return config.shared_root; }

std::filesystem::path context_pool_target(const Config& config) { return context_volumes_dir(config.context_root); }

Result<std::string> render_pool_xml(const std::string& name, const std::filesystem::path& target,
                                    const std::filesystem::path& template_file)
{
    auto doc = parse_xml_file(template_file, ErrorCode::Internal);
    if (!doc) return std::move(doc).error();
    xmlNode* name_node = first_child_element(doc->root(), "name");
    xmlNode* target_node = first_child_element(doc->root(), "target");
    xmlNode* path_node = target_node != nullptr ? first_child_element(target_node, "path") : nullptr;
    if (name_node == nullptr || path_node == nullptr) {
        return make_error(ErrorCode::Internal, "the pool template " + template_file.string() +
                                                   " has no <name> or <target><path>; reinstall appshare.");
    }
    for (auto [node, text] : {std::pair{name_node, name}, {path_node, target.string()}}) {
        xmlNodeSetContent(node, nullptr);
        xmlNodeAddContent(node, xml_chars(text));  // AddContent escapes
    }
    return serialize_xml(*doc);
}

std::string pool_target_path(std::string_view pool_xml)
{
    auto doc = parse_xml(pool_xml, "storage pool XML", ErrorCode::Libvirt);
    if (!doc) return {};
    xmlNode* target = first_child_element(doc->root(), "target");
    xmlNode* path = target != nullptr ? first_child_element(target, "path") : nullptr;
    return path != nullptr ? std::string(trim(xml_text(path))) : std::string();
}

PoolRefresh refresh_storage_pools(const Connection& conn, const Config& config)
{
    PoolRefresh out;
    std::error_code ec;
    if (!config.context_pool.empty() && std::filesystem::is_directory(config.context_root, ec)) {
        if (auto links = sync_context_volumes(config.context_root); !links) {
            out.warnings.push_back(warning_from(links.error()));
        }
    }
    // Both pools at once (each is a few calls to libvirtd, which answers them in parallel), each
    // into its own result, put together in this order.
    PoolRefresh contexts;
    {
        std::jthread other([&]() noexcept {
            try {
                keep_pool(conn, config, {config.context_pool, context_pool_target(config), "context_pool"}, contexts);
            } catch (const std::exception& e) {
                contexts.warnings.push_back("the storage pool " + config.context_pool + " was not refreshed (" +
                                            printable(e.what()) + "); run 'virsh pool-refresh " + config.context_pool + "'");
            }
        });
        keep_pool(conn, config, {config.shared_pool, shared_pool_target(config), "shared_pool"}, out);
    }
    for (auto v : {&PoolRefresh::defined, &PoolRefresh::refreshed, &PoolRefresh::warnings}) {
        (out.*v).insert((out.*v).end(), (contexts.*v).begin(), (contexts.*v).end());
    }
    return out;
}

}  // namespace appshare
