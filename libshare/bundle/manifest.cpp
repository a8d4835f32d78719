#include "bundle/manifest.hpp"

#include "base/sha256.hpp"
#include "base/size_units.hpp"
#include "base/text.hpp"
#include "base/url.hpp"
#include "bundle/bundle_path.hpp"
#include "xml/xml_document.hpp"

#include <array>
#include <cctype>
#include <limits>
#include <utility>

namespace appshare {
namespace {

constexpr std::uint64_t kMiB = std::uint64_t{1} << 20;
constexpr std::uint64_t kMaxVcpus = 4096;
constexpr std::size_t kMaxTextChars = 4096;

constexpr std::array<std::string_view, 5> kArches{"x86_64", "aarch64", "i686", "ppc64le", "s390x"};
constexpr std::array<std::string_view, 2> kImageFormats{"qcow2", "raw"};
constexpr std::array<std::string_view, 3> kNetworkTypes{"user", "network", "none"};
constexpr std::array<std::string_view, 2> kConsoleTypes{"serial", "none"};

bool is_alnum(char c) noexcept
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// Characters (UTF-8 code points) in s.
std::size_t utf8_length(std::string_view s) noexcept
{
    std::size_t n = 0;
    for (const char c : s) {
        if ((static_cast<unsigned char>(c) & 0xC0U) != 0x80U) ++n;
    }
    return n;
}

template <std::size_t N>
bool one_of(std::string_view value, const std::array<std::string_view, N>& allowed) noexcept
{
    for (const auto a : allowed) {
        if (a == value) return true;
    }
    return false;
}

template <std::size_t N>
std::string list_of(const std::array<std::string_view, N>& allowed)
{
    std::string out;
    for (const auto a : allowed) {
        if (!out.empty()) out += ", ";
        out += a;
    }
    return out;
}

// Splits a path on '/' (keeps empty components).
std::vector<std::string_view> split_path(std::string_view p)
{
    std::vector<std::string_view> parts;
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = p.find('/', start);
        if (slash == std::string_view::npos) {
            parts.push_back(p.substr(start));
            return parts;
        }
        parts.push_back(p.substr(start, slash - start));
        start = slash + 1;
    }
}

// Reads manifest fields; every message starts "<origin> line N: <field> ...".
class ManifestReader {
public:
    explicit ManifestReader(std::string_view origin) : origin_(origin) {}

    [[nodiscard]] std::string where(const xmlNode* node) const
    {
        const long line = xml_line(node);
        return line > 0 ? origin_ + " line " + std::to_string(line) : origin_;
    }

    [[nodiscard]] Error bad(const xmlNode* node, const std::string& text) const
    {
        return make_error(ErrorCode::BadManifest, where(node) + ": " + text);
    }

    // The required child element `name` of `parent`; `field` is its manifest field name.
    [[nodiscard]] Result<xmlNode*> element(const xmlNode* parent, std::string_view name, std::string_view field,
                                           std::string_view example) const
    {
        xmlNode* child = first_child_element(parent, name);
        if (child != nullptr) return child;
        return bad(parent, "required field " + std::string{field} + " is missing; add a <" + std::string{name} +
                               "> element inside <" + std::string{xml_name(parent)} + ">, e.g. " +
                               std::string{example} + ".");
    }

    // The required attribute `name` of `node`.
    [[nodiscard]] Result<std::string> attribute(const xmlNode* node, std::string_view name,
                                                std::string_view field) const
    {
        auto value = xml_attribute(node, name);
        if (value) return std::move(*value);
        return bad(node, "required field " + std::string{field} + " is missing; add the " + std::string{name} +
                             "=\"...\" attribute to <" + std::string{xml_name(node)} + ">.");
    }

    // Trimmed text of a required element.
    [[nodiscard]] Result<std::string> text(const xmlNode* parent, std::string_view name, std::string_view field,
                                           std::string_view example) const
    {
        auto node = element(parent, name, field, example);
        if (!node) return std::move(node).error();
        return std::string{trim(xml_text(*node))};
    }

    template <std::size_t N>
    [[nodiscard]] Result<void> enumerated(const xmlNode* node, std::string_view value, std::string_view field,
                                          const std::array<std::string_view, N>& allowed) const
    {
        if (one_of(value, allowed)) return ok();
        return bad(node, std::string{field} + " " + quoted_value(value) + " is not supported; use one of " +
                             list_of(allowed) + ".");
    }

    [[nodiscard]] Result<std::string> sha256(const xmlNode* parent, std::string_view field) const
    {
        auto node = element(parent, "sha256", field, "<sha256>(64 hex digits)</sha256>");
        if (!node) return std::move(node).error();
        const std::string text = std::string{trim(xml_text(*node))};
        auto digest = normalize_sha256(text);
        if (!digest) {
            return bad(*node, std::string{field} + " " + quoted_value(text) + " is not a SHA-256 digest (it has " +
                                  std::to_string(text.size()) +
                                  " characters); write the 64 hex digits printed by sha256sum.");
        }
        return std::move(*digest);
    }

    // A number with an optional unit attribute, in bytes.
    [[nodiscard]] Result<std::uint64_t> size(const xmlNode* node, std::string_view field,
                                             std::string_view default_unit) const
    {
        const std::string unit = std::string{trim(xml_attribute(node, "unit").value_or(std::string{}))};
        return parse_size(xml_text(node), unit, default_unit, where(node), field);
    }

    // A bundle file element: path attribute and <sha256> child.
    [[nodiscard]] Result<ManifestFile> bundle_file(const xmlNode* node, const std::string& field) const
    {
        auto path = attribute(node, "path", field + "/@path");
        if (!path) return std::move(path).error();
        if (auto r = check_bundle_relative_path(*path, where(node), field + "/@path"); !r) return std::move(r).error();
        auto digest = sha256(node, field + "/sha256");
        if (!digest) return std::move(digest).error();
        return ManifestFile{std::move(*path), std::move(*digest)};
    }

private:
    std::string origin_;
};

Result<void> check_name(const ManifestReader& rd, const xmlNode* node, const std::string& value, std::string_view field,
                        std::string_view extra_chars, std::size_t max_len, std::string_view what)
{
    bool good = !value.empty() && value.size() <= max_len && is_alnum(value.front());
    for (const char c : value) {
        good = good && (is_alnum(c) || extra_chars.find(c) != std::string_view::npos);
    }
    if (good) return ok();
    return rd.bad(node, std::string{field} + " " + quoted_value(value) + " is not a valid " + std::string{what} + "; use 1-" +
                            std::to_string(max_len) + " letters, digits or any of \"" + std::string{extra_chars} +
                            "\", starting with a letter or digit.");
}

Result<void> read_identity(const ManifestReader& rd, const xmlNode* root, Manifest& m)
{
    auto name = rd.text(root, "name", "name", "<name>my-appliance</name>");
    if (!name) return std::move(name).error();
    if (auto r = check_name(rd, first_child_element(root, "name"), *name, "name", "._-", 63, "appliance name"); !r) {
        return r;
    }
    m.name = std::move(*name);

    auto version = rd.text(root, "version", "version", "<version>1.0.0</version>");
    if (!version) return std::move(version).error();
    if (auto r = check_name(rd, first_child_element(root, "version"), *version, "version", ".+~_-", 64, "version");
        !r) {
        return r;
    }
    m.version = std::move(*version);

    auto description = rd.text(root, "description", "description", "<description>What it does</description>");
    if (!description) return std::move(description).error();
    if (utf8_length(*description) > kMaxTextChars) {
        return rd.bad(first_child_element(root, "description"),
                      "description is longer than " + std::to_string(kMaxTextChars) + " characters; shorten it.");
    }
    m.description = std::move(*description);

    auto arch = rd.text(root, "arch", "arch", "<arch>x86_64</arch>");
    if (!arch) return std::move(arch).error();
    if (auto r = rd.enumerated(first_child_element(root, "arch"), *arch, "arch", kArches); !r) return r;
    m.arch = std::move(*arch);
    return ok();
}

Result<void> read_resources(const ManifestReader& rd, const xmlNode* root, Manifest& m)
{
    auto memory = rd.element(root, "memory", "memory", "<memory unit=\"MiB\">256</memory>");
    if (!memory) return std::move(memory).error();
    auto bytes = rd.size(*memory, "memory", "MiB");
    if (!bytes) return std::move(bytes).error();
    if (*bytes < kMiB) {
        return rd.bad(*memory, "memory is " + std::to_string(*bytes) +
                                   " bytes, below the minimum of 1 MiB; give at least <memory unit=\"MiB\">1</memory>.");
    }
    m.memory_bytes = *bytes;

    auto vcpus_node = rd.element(root, "vcpus", "vcpus", "<vcpus>1</vcpus>");
    if (!vcpus_node) return std::move(vcpus_node).error();
    auto vcpus = parse_decimal(xml_text(*vcpus_node), rd.where(*vcpus_node), "vcpus");
    if (!vcpus) return std::move(vcpus).error();
    if (*vcpus < 1 || *vcpus > kMaxVcpus) {
        return rd.bad(*vcpus_node, "vcpus " + std::to_string(*vcpus) + " is out of range; use 1 to " +
                                       std::to_string(kMaxVcpus) + ".");
    }
    m.vcpus = static_cast<unsigned>(*vcpus);
    return ok();
}

Result<void> read_image(const ManifestReader& rd, const xmlNode* base, Manifest& m)
{
    auto image = rd.element(base, "image", "base/image", "<image path=\"images/base.qcow2\" format=\"qcow2\">");
    if (!image) return std::move(image).error();

    auto path = rd.attribute(*image, "path", "base/image/@path");
    if (!path) return std::move(path).error();
    if (auto r = check_bundle_relative_path(*path, rd.where(*image), "base/image/@path"); !r) return r;
    m.image.path = std::move(*path);

    auto format = rd.attribute(*image, "format", "base/image/@format");
    if (!format) return std::move(format).error();
    const std::string fmt = std::string{trim(*format)};
    if (auto r = rd.enumerated(*image, fmt, "base/image/@format", kImageFormats); !r) return r;
    m.image.format = fmt;

    auto digest = rd.sha256(*image, "base/image/sha256");
    if (!digest) return std::move(digest).error();
    m.image.sha256 = std::move(*digest);

    auto vsize_node = rd.element(*image, "virtual-size", "base/image/virtual-size",
                                 "<virtual-size unit=\"GiB\">4</virtual-size>");
    if (!vsize_node) return std::move(vsize_node).error();
    auto vsize = rd.size(*vsize_node, "base/image/virtual-size", "B");
    if (!vsize) return std::move(vsize).error();
    if (*vsize == 0) return rd.bad(*vsize_node, "base/image/virtual-size is 0; give the image's virtual size.");
    m.image.virtual_size = *vsize;

    if (const xmlNode* size_node = first_child_element(*image, "size"); size_node != nullptr) {
        auto size = parse_decimal(xml_text(size_node), rd.where(size_node), "base/image/size");
        if (!size) return std::move(size).error();
        if (*size == 0) {
            return rd.bad(size_node, "base/image/size is 0; give the image file's size in bytes or leave <size> out.");
        }
        m.image.file_size = *size;
    }
    return ok();
}

Result<void> read_boot(const ManifestReader& rd, const xmlNode* base, Manifest& m)
{
    const xmlNode* boot = first_child_element(base, "boot");
    if (boot == nullptr) return ok();
    auto kernel_node = rd.element(boot, "kernel", "base/boot/kernel",
                                  "<kernel path=\"boot/vmlinuz\"><sha256>...</sha256></kernel>");
    if (!kernel_node) return std::move(kernel_node).error();
    auto kernel = rd.bundle_file(*kernel_node, "base/boot/kernel");
    if (!kernel) return std::move(kernel).error();
    m.kernel = std::move(*kernel);

    if (const xmlNode* initrd_node = first_child_element(boot, "initrd"); initrd_node != nullptr) {
        auto initrd = rd.bundle_file(initrd_node, "base/boot/initrd");
        if (!initrd) return std::move(initrd).error();
        m.initrd = std::move(*initrd);
    }
    if (const xmlNode* cmdline = first_child_element(boot, "cmdline"); cmdline != nullptr) {
        std::string text = std::string{trim(xml_text(cmdline))};
        if (utf8_length(text) > kMaxTextChars) {
            return rd.bad(cmdline, "base/boot/cmdline is longer than " + std::to_string(kMaxTextChars) +
                                       " characters; shorten it.");
        }
        m.cmdline = std::move(text);
    }
    return ok();
}

Result<void> read_sources(const ManifestReader& rd, const xmlNode* base, Manifest& m)
{
    const xmlNode* sources = first_child_element(base, "sources");
    if (sources == nullptr) return ok();
    for (const xmlNode* child : child_elements(sources)) {
        if (xml_name(child) == "file") {
            auto path = rd.attribute(child, "path", "base/sources/file/@path");
            if (!path) return std::move(path).error();
            if (auto r = check_source_file_path(*path, rd.where(child), "base/sources/file/@path"); !r) return r;
            m.source_files.push_back(std::move(*path));
        } else if (xml_name(child) == "url") {
            auto href = rd.attribute(child, "href", "base/sources/url/@href");
            if (!href) return std::move(href).error();
            if (auto r = check_source_url(*href, rd.where(child), "base/sources/url/@href"); !r) return r;
            m.source_urls.push_back(std::move(*href));
        }
        // Anything else is left to the schema, which names it.
    }
    return ok();
}

Result<void> read_context(const ManifestReader& rd, const xmlNode* root, Manifest& m)
{
    m.overlay_size = m.image.virtual_size;
    const xmlNode* context = first_child_element(root, "context");
    const xmlNode* overlay = first_child_element(context, "overlay-size");
    if (overlay == nullptr) return ok();
    auto size = rd.size(overlay, "context/overlay-size", "B");
    if (!size) return std::move(size).error();
    if (*size < m.image.virtual_size) {
        return rd.bad(overlay, "context/overlay-size (" + format_size(*size) + ", " + std::to_string(*size) +
                                   " bytes) is smaller than base/image/virtual-size (" +
                                   format_size(m.image.virtual_size) + ", " + std::to_string(m.image.virtual_size) +
                                   " bytes); make it at least the base's virtual size or leave it out.");
    }
    m.overlay_size = *size;
    return ok();
}

Result<void> read_devices(const ManifestReader& rd, const xmlNode* root, Manifest& m)
{
    if (const xmlNode* network = first_child_element(root, "network"); network != nullptr) {
        const std::string type = std::string{trim(xml_attribute(network, "type").value_or("user"))};
        if (auto r = rd.enumerated(network, type, "network/@type", kNetworkTypes); !r) return r;
        auto name = xml_attribute(network, "name");
        if (type == "network") {
            if (!name || name->empty()) {
                return rd.bad(network, "required field network/@name is missing; with type=\"network\" name the "
                                       "libvirt network, e.g. <network type=\"network\" name=\"default\"/>.");
            }
            m.network.name = std::move(*name);
        } else if (name) {
            return rd.bad(network, "network/@name is only allowed with type=\"network\"; remove it or set "
                                   "type=\"network\".");
        }
        m.network.type = type;
    }
    if (const xmlNode* console = first_child_element(root, "console"); console != nullptr) {
        const std::string type = std::string{trim(xml_attribute(console, "type").value_or("serial"))};
        if (auto r = rd.enumerated(console, type, "console/@type", kConsoleTypes); !r) return r;
        m.console = type;
    }
    return ok();
}

Result<void> read_cloud_init(const ManifestReader& rd, const xmlNode* root, Manifest& m)
{
    const xmlNode* user_data = first_child_element(first_child_element(root, "cloud-init"), "user-data");
    if (user_data == nullptr) return ok();
    auto file = rd.bundle_file(user_data, "cloud-init/user-data");
    if (!file) return std::move(file).error();
    m.user_data = std::move(*file);
    return ok();
}

}  // namespace

Result<void> check_bundle_relative_path(std::string_view path, std::string_view origin, std::string_view field)
{
    const std::string head = std::string{origin} + ": " + std::string{field} + " ";
    auto unsafe = [&](const std::string& why) {
        return make_error(ErrorCode::UnsafePath, head + why + "; give a relative path inside the bundle such as "
                                                              "\"images/base.qcow2\".");
    };
    if (const auto checked = check_bundle_path(path, EmptyComponents::Refuse); !checked) {
        return unsafe(quoted_value(path) + " " + checked.problem);
    }
    return ok();
}

Result<void> check_source_file_path(std::string_view path, std::string_view origin, std::string_view field)
{
    const std::string head = std::string{origin} + ": " + std::string{field} + " ";
    auto unsafe = [&](const std::string& why) {
        return make_error(ErrorCode::UnsafePath, head + why + "; give an absolute, normalised host path such as "
                                                              "\"/srv/appliances/base.qcow2\".");
    };
    if (path.empty()) return unsafe("is empty");
    if (path.find('\0') != std::string_view::npos) return unsafe("contains a NUL character");
    if (path.find('\\') != std::string_view::npos) return unsafe(quoted_value(path) + " contains a backslash");
    if (path.front() != '/') return unsafe(quoted_value(path) + " is not absolute");
    if (path == "/") return unsafe("is the root directory, not a file");
    for (const auto part : split_path(path.substr(1))) {
        if (part.empty()) return unsafe(quoted_value(path) + " has an empty component (\"//\" or a trailing \"/\")");
        if (part == "." || part == "..") return unsafe(quoted_value(path) + " is not normalised (it has a \"" +
                                                       std::string{part} + "\" component)");
    }
    return ok();
}

Result<void> check_source_url(std::string_view url, std::string_view origin, std::string_view field)
{
    const UrlProblem problem = split_url(url).problem;
    std::string_view advice;
    switch (problem) {
        case UrlProblem::None: return ok();
        case UrlProblem::ControlCharacter: advice = "percent-encode it"; break;
        case UrlProblem::UserInfo: advice = "a manifest must not hold them: use a URL that needs no login"; break;
        case UrlProblem::NoScheme:
        case UrlProblem::NotHttp:
            advice = "use http:// or https://, or a <file path=\"/absolute/path\"/> source for a file on the host";
            break;
        case UrlProblem::NoHost: advice = "write https://host/path"; break;
    }
    return make_error(ErrorCode::BadManifest, std::string{origin} + ": " + std::string{field} + " " +
                                                  quoted_value(url_for_message(url)) + " " +
                                                  std::string{url_problem_text(problem)} + "; " + std::string{advice} + ".");
}

Result<Manifest> parse_manifest(std::string_view text, std::string_view origin, const std::filesystem::path& schema)
{
    auto doc = parse_xml(text, origin, ErrorCode::BadManifest);
    if (!doc) return std::move(doc).error();
    const ManifestReader rd(origin);
    const xmlNode* root = doc->root();

    if (xml_name(root) != "appliance" || root->ns != nullptr) {
        return rd.bad(root, "the root element is <" + std::string{xml_name(root)} +
                                ">, not <appliance> (without a namespace); this is not an appliance manifest.");
    }
    auto format = rd.attribute(root, "format", "@format");
    if (!format) return std::move(format).error();
    if (trim(*format) != "1") {
        return rd.bad(root, "manifest format " + quoted_value(*format) +
                                " is not supported; this appshare reads format=\"1\" (upgrade appshare for newer ones).");
    }

    Manifest m;
    if (auto r = read_identity(rd, root, m); !r) return std::move(r).error();
    if (auto r = read_resources(rd, root, m); !r) return std::move(r).error();
    auto base = rd.element(root, "base", "base", "<base><image .../></base>");
    if (!base) return std::move(base).error();
    if (auto r = read_image(rd, *base, m); !r) return std::move(r).error();
    if (auto r = read_boot(rd, *base, m); !r) return std::move(r).error();
    if (auto r = read_sources(rd, *base, m); !r) return std::move(r).error();
    if (auto r = read_context(rd, root, m); !r) return std::move(r).error();
    if (auto r = read_devices(rd, root, m); !r) return std::move(r).error();
    if (auto r = read_cloud_init(rd, root, m); !r) return std::move(r).error();

    // Everything the checks above do not look at (unknown elements or attributes, order,
    // duplicates) is left to the schema.
    if (auto r = validate_relaxng(*doc, schema, origin); !r) return std::move(r).error();
    return m;
}

}  // namespace appshare
