// Fuzz target: what the startup binary parses from the domain XML libvirt gives it on stdin —
// whoever may define a domain controls it. As hook/hook_dispatch.cpp does: the appshare metadata
// (instance/instance_metadata.hpp), then the instance's paths checked against the configured
// roots (instance/instance_paths.hpp) for the domain's name (libvirt passes the XML's <name> as
// the hook's first argument). The roots do not exist: the checks are lexical plus lstat.
#include "fuzz_support.hpp"
#include "instance/config.hpp"
#include "instance/instance_metadata.hpp"
#include "instance/instance_paths.hpp"
#include "xml/xml_document.hpp"

#include <string>

namespace {

// The <name> of the domain, as libvirt would pass it; empty when the XML has none.
std::string domain_name(std::string_view xml)
{
    auto doc = appshare::parse_xml(xml, "fuzz:domain.xml");
    if (!doc || doc->root() == nullptr) return {};
    return appshare::xml_text(appshare::first_child_element(doc->root(), "name"));
}

const appshare::Config& fuzz_config()
{
    static const appshare::Config config = [] {
        appshare::Config c;
        c.shared_root = "/nonexistent/appshare-fuzz/shared";
        c.context_root = "/nonexistent/appshare-fuzz/contexts";
        c.local_root = "/nonexistent/appshare-fuzz/local";
        return c;
    }();
    return config;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    using namespace appshare;
    const auto xml = fuzz::as_text(data, size);
    const auto meta = read_instance_metadata(xml, "fuzz:domain.xml");
    if (!meta) {
        fuzz::require_message(meta.error());
        return 0;
    }
    if (!*meta) return 0;  // not an appshare domain
    const std::string name = domain_name(xml);
    const auto paths = trusted_instance_paths(fuzz_config(), name, **meta);
    if (!paths) {
        fuzz::require_message(paths.error());
        return 0;
    }
    fuzz::require(paths->context.dir.parent_path() == fuzz_config().context_root,
                  "accepted a context that is not a direct child of context_root");
    fuzz::require(paths->base.size.value_or(0) > 0, "accepted a base without a size");
    return 0;
}
