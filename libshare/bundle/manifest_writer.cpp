#include "bundle/manifest_writer.hpp"

#include "xml/xml_document.hpp"

#include <libxml/tree.h>

namespace appshare {
namespace {

xmlNode* child(xmlNode* parent, const std::string& name, const std::string& text = {})
{
    return xmlNewTextChild(parent, nullptr, xml_chars(name), text.empty() ? nullptr : xml_chars(text));
}

void attribute(xmlNode* node, const std::string& name, const std::string& value)
{
    xmlNewProp(node, xml_chars(name), xml_chars(value));
}

void bytes(xmlNode* parent, const std::string& name, std::uint64_t value)
{
    attribute(child(parent, name, std::to_string(value)), "unit", "B");
}

void bundle_file(xmlNode* parent, const std::string& name, const ManifestFile& f)
{
    xmlNode* node = child(parent, name);
    attribute(node, "path", f.path);
    child(node, "sha256", f.sha256);
}

}  // namespace

std::string render_manifest(const Manifest& m)
{
    XmlDocument doc(UniqueHandle<xmlDoc, xmlFreeDoc>(xmlNewDoc(xml_chars("1.0"))));
    xmlNode* root = xmlNewNode(nullptr, xml_chars("appliance"));
    xmlDocSetRootElement(doc.get(), root);
    attribute(root, "format", "1");
    child(root, "name", m.name);
    child(root, "version", m.version);
    child(root, "description", m.description);
    child(root, "arch", m.arch);
    bytes(root, "memory", m.memory_bytes);
    child(root, "vcpus", std::to_string(m.vcpus));

    xmlNode* base = child(root, "base");
    xmlNode* image = child(base, "image");
    attribute(image, "path", m.image.path);
    attribute(image, "format", m.image.format);
    child(image, "sha256", m.image.sha256);
    bytes(image, "virtual-size", m.image.virtual_size);
    if (m.image.file_size) child(image, "size", std::to_string(*m.image.file_size));
    if (m.kernel) {
        xmlNode* boot = child(base, "boot");
        bundle_file(boot, "kernel", *m.kernel);
        if (m.initrd) bundle_file(boot, "initrd", *m.initrd);
        if (m.cmdline) child(boot, "cmdline", *m.cmdline);
    }
    if (!m.source_files.empty() || !m.source_urls.empty()) {
        xmlNode* sources = child(base, "sources");
        for (const auto& f : m.source_files) attribute(child(sources, "file"), "path", f);
        for (const auto& u : m.source_urls) attribute(child(sources, "url"), "href", u);
    }
    if (m.overlay_size > m.image.virtual_size) bytes(child(root, "context"), "overlay-size", m.overlay_size);

    xmlNode* network = child(root, "network");
    attribute(network, "type", m.network.type);
    if (m.network.type == "network") attribute(network, "name", m.network.name);
    attribute(child(root, "console"), "type", m.console);
    if (m.user_data) bundle_file(child(root, "cloud-init"), "user-data", *m.user_data);
    return serialize_xml(doc);
}

}  // namespace appshare
