// Safe XML parsing with libxml2 (as libvirt does it), RelaxNG validation, and small helpers
// for reading elements.
//
// Safety contract of every parse here: no network access (XML_PARSE_NONET), no entity
// substitution, no DTD loading or default attributes, no XInclude; any document with a
// DOCTYPE (internal or external subset) is refused as soon as the DOCTYPE is seen, before its
// declarations are read (so XXE and "billion laughs" documents never expand); input larger
// than kMaxXmlBytes is refused unread. libxml2 never prints to stderr: its errors are
// collected per parse and turned into one sentence naming the origin and the line.
#pragma once

#include "base/error.hpp"
#include "base/result.hpp"
#include "base/unique_handle.hpp"

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <libxml/tree.h>

namespace appshare {

// Our UTF-8 text as libxml2's `xmlChar` (unsigned char) string: the one cast between them.
inline const xmlChar* xml_chars(const char* s) noexcept { return reinterpret_cast<const xmlChar*>(s); }
inline const xmlChar* xml_chars(const std::string& s) noexcept { return xml_chars(s.c_str()); }

// Largest XML document (manifest, template) appshare reads: 1 MiB.
inline constexpr std::size_t kMaxXmlBytes = std::size_t{1} << 20;

// An owned, parsed XML document. Move-only; never null once returned by parse_xml*.
class XmlDocument {
public:
    explicit XmlDocument(UniqueHandle<xmlDoc, xmlFreeDoc> doc) noexcept : doc_(std::move(doc)) {}

    [[nodiscard]] xmlDoc* get() const noexcept { return doc_.get(); }
    // The root element (never null for a document returned by parse_xml*).
    [[nodiscard]] xmlNode* root() const noexcept { return xmlDocGetRootElement(doc_.get()); }

private:
    UniqueHandle<xmlDoc, xmlFreeDoc> doc_;
};

// Parses `text` safely (see the contract above). `origin` names the input in messages
// ("bundle/appliance.xml"). Failures carry `code` (BadManifest by default; pass e.g. Internal
// for appshare's own templates): not well-formed (message names the line and libxml2's
// reason), a DTD present, too large, or empty.
[[nodiscard]] Result<XmlDocument> parse_xml(std::string_view text, std::string_view origin,
                                            ErrorCode code = ErrorCode::BadManifest);

// Reads a regular file of at most kMaxXmlBytes and parses it as parse_xml does, with the file
// path as origin. A file that cannot be opened or read, or is not a regular file, fails with
// ErrorCode::Io; everything else as parse_xml with `code`. Use this for templates too.
[[nodiscard]] Result<XmlDocument> parse_xml_file(const std::filesystem::path& file,
                                                 ErrorCode code = ErrorCode::BadManifest);

// Validates `doc` against the RelaxNG schema in file `schema` (read with parse_xml_file).
// On failure the first validation error becomes the message, naming `origin`, the line and
// the element path ("appliance/base/image"), with code BadManifest. A schema that is missing
// fails with Io, one that does not compile with Internal.
[[nodiscard]] Result<void> validate_relaxng(const XmlDocument& doc, const std::filesystem::path& schema,
                                            std::string_view origin);

// Serialises the document (UTF-8, with an XML declaration, indented).
[[nodiscard]] std::string serialize_xml(const XmlDocument& doc);

// --- Reading helpers (element names compared without namespace) ---

// The first child element of `parent` called `name`, or nullptr.
[[nodiscard]] xmlNode* first_child_element(const xmlNode* parent, std::string_view name) noexcept;

// All child elements of `parent` called `name` (all child elements if `name` is empty), in
// document order.
[[nodiscard]] std::vector<xmlNode*> child_elements(const xmlNode* parent, std::string_view name = {});

// The value of attribute `name` (no namespace) of `node`, or nullopt if absent.
[[nodiscard]] std::optional<std::string> xml_attribute(const xmlNode* node, std::string_view name);

// The text content of `node` and its descendants, as stored (not trimmed).
[[nodiscard]] std::string xml_text(const xmlNode* node);

// The element's name as a std::string_view (empty for a null node).
[[nodiscard]] std::string_view xml_name(const xmlNode* node) noexcept;

// The source line of `node` (0 if unknown).
[[nodiscard]] long xml_line(const xmlNode* node) noexcept;

// Slash-separated element names from the root to `node`: "appliance/base/image".
[[nodiscard]] std::string xml_element_path(const xmlNode* node);

}  // namespace appshare
