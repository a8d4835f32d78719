#include "instance/instance_metadata.hpp"

#include "base/sha256.hpp"
#include "base/text.hpp"
#include "store/blob_store.hpp"
#include "base/unique_handle.hpp"
#include "xml/xml_document.hpp"

#include <charconv>

namespace appshare {
namespace {

// The largest overlay size the metadata may ask for (qcow2 allows more; no appliance needs it).
constexpr std::uint64_t kMaxOverlayBytes = std::uint64_t{1} << 50;

xmlNode* add_child(xmlNode* parent, xmlNs* ns, const char* name)
{
    return xmlNewChild(parent, ns, xml_chars(name), nullptr);
}

void set_attr(xmlNode* node, const char* name, const std::string& value)
{
    xmlSetProp(node, xml_chars(name), xml_chars(value));
}

void add_stored(xmlNode* parent, xmlNs* ns, const char* name, const StoredFile& f)
{
    xmlNode* n = add_child(parent, ns, name);
    set_attr(n, "sha256", f.sha256);
    set_attr(n, "size", std::to_string(f.size));
    if (!f.format.empty()) set_attr(n, "format", f.format);
    set_attr(n, "path", f.path.string());
    if (!f.link.empty()) set_attr(n, "link", f.link.string());
}

bool in_our_namespace(const xmlNode* n)
{
    return n->type == XML_ELEMENT_NODE && n->ns != nullptr && n->ns->href != nullptr &&
           std::string_view(reinterpret_cast<const char*>(n->ns->href)) == kMetadataNamespace;
}

xmlNode* our_child(const xmlNode* parent, std::string_view name)
{
    for (xmlNode* c = parent->children; c != nullptr; c = c->next) {
        if (in_our_namespace(c) && xml_name(c) == name) return c;
    }
    return nullptr;
}

Error bad(std::string_view origin, const std::string& what)
{
    return make_error(ErrorCode::BadManifest, std::string(origin) + ": the appshare metadata " + what +
                                                  "; reinstall the instance with 'appshare install' or fix its <metadata>.");
}

Result<std::string> required_attr(const xmlNode* n, const char* attr, std::string_view origin)
{
    auto v = xml_attribute(n, attr);
    if (!v || v->empty()) return bad(origin, "element <" + std::string(xml_name(n)) + "> lacks attribute '" + attr + "'");
    return *v;
}

Result<std::filesystem::path> absolute_attr(const xmlNode* n, const char* attr, std::string_view origin)
{
    auto v = required_attr(n, attr, origin);
    if (!v) return std::move(v).error();
    std::filesystem::path p(*v);
    if (!p.is_absolute() || p.lexically_normal() != p) {
        return bad(origin, "path " + in_quotes(*v, '\'') + " in <" + std::string(xml_name(n)) + "> is not absolute and normalised");
    }
    return p;
}

Result<StoredFile> read_stored(const xmlNode* n, std::string_view origin, bool is_base)
{
    StoredFile f;
    auto sha = required_attr(n, "sha256", origin);
    if (!sha) return std::move(sha).error();
    auto norm = normalize_sha256(*sha);
    if (!norm) return bad(origin, "digest in <" + std::string(xml_name(n)) + "> is not 64 hex characters");
    f.sha256 = *norm;
    auto size = required_attr(n, "size", origin);
    if (!size) return std::move(size).error();
    const auto [ptr, ec] = std::from_chars(size->data(), size->data() + size->size(), f.size);
    if (ec != std::errc{} || ptr != size->data() + size->size()) {
        return bad(origin, "size in <" + std::string(xml_name(n)) + "> is not a number");
    }
    auto path = absolute_attr(n, "path", origin);
    if (!path) return std::move(path).error();
    f.path = *path;
    if (is_base) {
        auto fmt = required_attr(n, "format", origin);
        if (!fmt) return std::move(fmt).error();
        if (*fmt != "qcow2" && *fmt != "raw") return bad(origin, "base format " + in_quotes(*fmt, '\'') + " is neither qcow2 nor raw");
        f.format = *fmt;
    } else {
        auto link = absolute_attr(n, "link", origin);
        if (!link) return std::move(link).error();
        f.link = *link;
    }
    return f;
}

}  // namespace

void append_instance_metadata(xmlNode* parent, const InstanceMetadata& meta)
{
    xmlNode* root = xmlNewChild(parent, nullptr, xml_chars(std::string(kMetadataElement).c_str()), nullptr);
    xmlNs* ns = xmlNewNs(root, xml_chars(std::string(kMetadataNamespace).c_str()), xml_chars(std::string(kMetadataPrefix).c_str()));
    xmlSetNs(root, ns);
    set_attr(root, "format", "1");
    xmlNode* app = add_child(root, ns, "appliance");
    set_attr(app, "name", meta.appliance_name);
    set_attr(app, "version", meta.appliance_version);
    add_stored(root, ns, "base", meta.base);
    if (meta.kernel) add_stored(root, ns, "kernel", *meta.kernel);
    if (meta.initrd) add_stored(root, ns, "initrd", *meta.initrd);
    for (const auto& f : meta.source_files) set_attr(add_child(root, ns, "source-file"), "path", f);
    for (const auto& u : meta.source_urls) set_attr(add_child(root, ns, "source-url"), "href", u);
    xmlNode* ctx = add_child(root, ns, "context");
    set_attr(ctx, "dir", meta.context_dir.string());
    set_attr(ctx, "overlay", meta.overlay.string());
    if (meta.overlay_size > 0) set_attr(ctx, "size", std::to_string(meta.overlay_size));
    xmlNode* tool = add_child(root, ns, "tool");
    set_attr(tool, "version", meta.tool_version);
    set_attr(tool, "installed", meta.installed_at);
}

std::string instance_metadata_xml(const InstanceMetadata& meta)
{
    UniqueHandle<xmlDoc, xmlFreeDoc> doc(xmlNewDoc(xml_chars("1.0")));
    xmlNode* holder = xmlNewNode(nullptr, xml_chars("metadata"));
    xmlDocSetRootElement(doc.get(), holder);
    append_instance_metadata(holder, meta);
    UniqueHandle<xmlBuffer, xmlBufferFree> buf(xmlBufferCreate());
    xmlNodeDump(buf.get(), doc.get(), holder->children, 0, 1);
    return std::string(reinterpret_cast<const char*>(xmlBufferContent(buf.get())),
                       static_cast<std::size_t>(xmlBufferLength(buf.get())));
}

Result<std::optional<InstanceMetadata>> read_instance_metadata(std::string_view domain_xml, std::string_view origin)
{
    auto doc = parse_xml(domain_xml, origin, ErrorCode::BadManifest);
    if (!doc) return std::move(doc).error();
    const xmlNode* root = doc->root();
    if (root == nullptr || xml_name(root) != "domain") return bad(origin, "is not inside a <domain> document");
    const xmlNode* metadata = first_child_element(root, "metadata");
    if (metadata == nullptr) return std::optional<InstanceMetadata>{};
    const xmlNode* inst = our_child(metadata, kMetadataElement);
    if (inst == nullptr) return std::optional<InstanceMetadata>{};

    InstanceMetadata m;
    const xmlNode* app = our_child(inst, "appliance");
    if (app == nullptr) return bad(origin, "has no <appliance> element");
    auto name = required_attr(app, "name", origin);
    if (!name) return std::move(name).error();
    m.appliance_name = *name;
    m.appliance_version = xml_attribute(app, "version").value_or("");

    const xmlNode* base = our_child(inst, "base");
    if (base == nullptr) return bad(origin, "has no <base> element");
    auto b = read_stored(base, origin, true);
    if (!b) return std::move(b).error();
    m.base = *b;
    if (const xmlNode* k = our_child(inst, "kernel")) {
        auto f = read_stored(k, origin, false);
        if (!f) return std::move(f).error();
        m.kernel = *f;
    }
    if (const xmlNode* i = our_child(inst, "initrd")) {
        auto f = read_stored(i, origin, false);
        if (!f) return std::move(f).error();
        m.initrd = *f;
    }
    for (const xmlNode* c = inst->children; c != nullptr; c = c->next) {
        if (!in_our_namespace(c)) continue;
        if (xml_name(c) == "source-file") {
            auto p = absolute_attr(c, "path", origin);
            if (!p) return std::move(p).error();
            m.source_files.push_back(p->string());
        } else if (xml_name(c) == "source-url") {
            auto u = required_attr(c, "href", origin);
            if (!u) return std::move(u).error();
            m.source_urls.push_back(*u);
        }
    }
    const xmlNode* ctx = our_child(inst, "context");
    if (ctx == nullptr) return bad(origin, "has no <context> element");
    auto dir = absolute_attr(ctx, "dir", origin);
    if (!dir) return std::move(dir).error();
    m.context_dir = *dir;
    auto overlay = absolute_attr(ctx, "overlay", origin);
    if (!overlay) return std::move(overlay).error();
    m.overlay = *overlay;
    if (auto size = xml_attribute(ctx, "size")) {
        const auto [ptr, ec] = std::from_chars(size->data(), size->data() + size->size(), m.overlay_size);
        if (ec != std::errc{} || ptr != size->data() + size->size() || m.overlay_size > kMaxOverlayBytes) {
            return bad(origin, "size in <context> is not a number of bytes up to 1 PiB");
        }
    }
    if (const xmlNode* tool = our_child(inst, "tool")) {
        m.tool_version = xml_attribute(tool, "version").value_or("");
        m.installed_at = xml_attribute(tool, "installed").value_or("");
    }
    return std::optional<InstanceMetadata>{std::move(m)};
}

}  // namespace appshare
