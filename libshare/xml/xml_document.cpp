#include "xml/xml_document.hpp"

#include "base/small_file.hpp"
#include "base/text.hpp"

#include <cerrno>
#include <cstring>
#include <string>
#include <system_error>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/parser.h>
#include <libxml/relaxng.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlsave.h>

namespace appshare {
namespace {

#if LIBXML_VERSION >= 21200
using XmlErrorArg = const xmlError*;
#else
using XmlErrorArg = xmlErrorPtr;
#endif

void ensure_libxml_initialised()
{
    static const bool done = [] {
        xmlInitParser();
        return true;
    }();
    (void)done;
}

std::string_view as_view(const xmlChar* s) noexcept
{
    return s == nullptr ? std::string_view{} : std::string_view{reinterpret_cast<const char*>(s)};
}

// libxml2's message text as one clause: whitespace runs (incl. its trailing newline) collapsed.
std::string clean_message(const char* raw)
{
    std::string out;
    if (raw == nullptr) return out;
    bool space = false;
    for (const char* p = raw; *p != '\0'; ++p) {
        const char c = *p;
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            space = !out.empty();
            continue;
        }
        if (space) out.push_back(' ');
        space = false;
        out.push_back(c);
    }
    return out;
}

// Collects the first error libxml2 reports during one parse or validation.
struct ErrorSink {
    bool have_error = false;
    bool saw_doctype = false;
    int line = 0;
    std::string message;
    std::string element_path;  // of the node the error is about, when libxml2 names one

    void take(XmlErrorArg e)
    {
        if (e == nullptr || have_error || e->level < XML_ERR_ERROR) return;
        have_error = true;
        line = e->line;
        // libxml2 may quote the input (a bad comment's text): shown escaped, as all input is.
        message = printable(clean_message(e->message));
        if (e->node != nullptr) {
            const auto* node = static_cast<const xmlNode*>(e->node);
            if (node->type == XML_ELEMENT_NODE) {
                element_path = xml_element_path(node);
                if (line == 0) line = static_cast<int>(xml_line(node));
            }
        }
    }
};

// Structured handler for a parser context: libxml2 passes ctxt->userData (the context itself).
void parser_error_handler(void* ctx, XmlErrorArg error)
{
    auto* ctxt = static_cast<xmlParserCtxt*>(ctx);
    if (ctxt != nullptr && ctxt->_private != nullptr) static_cast<ErrorSink*>(ctxt->_private)->take(error);
}

// Structured handler for RelaxNG contexts: `data` is the ErrorSink.
void sink_error_handler(void* data, XmlErrorArg error)
{
    if (data != nullptr) static_cast<ErrorSink*>(data)->take(error);
}

// SAX callback for "<!DOCTYPE": remember it and stop before any declaration is read.
void refuse_doctype(void* ctx, const xmlChar* /*name*/, const xmlChar* /*external_id*/,
                    const xmlChar* /*system_id*/)
{
    auto* ctxt = static_cast<xmlParserCtxt*>(ctx);
    if (ctxt == nullptr) return;
    if (ctxt->_private != nullptr) static_cast<ErrorSink*>(ctxt->_private)->saw_doctype = true;
    xmlStopParser(ctxt);
}

void ignore_generic_error(void* /*ctx*/, const char* /*msg*/, ...) {}

// Silences libxml2's generic (stderr) error printer for this thread while alive; restores the
// previous one afterwards. Errors we care about arrive through the structured handlers.
class QuietGenericErrors {
public:
    QuietGenericErrors() noexcept : saved_(xmlGenericError), saved_ctx_(xmlGenericErrorContext)
    {
        xmlSetGenericErrorFunc(nullptr, &ignore_generic_error);
    }
    ~QuietGenericErrors() { xmlSetGenericErrorFunc(saved_ctx_, saved_); }
    QuietGenericErrors(const QuietGenericErrors&) = delete;
    QuietGenericErrors& operator=(const QuietGenericErrors&) = delete;

private:
    xmlGenericErrorFunc saved_;
    void* saved_ctx_;
};

std::string line_part(int line)
{
    return line > 0 ? " line " + std::to_string(line) : std::string{};
}

struct XmlCharFree {
    void operator()(xmlChar* p) const noexcept
    {
        if (p != nullptr) xmlFree(p);
    }
};
using XmlString = std::unique_ptr<xmlChar, XmlCharFree>;

}  // namespace

Result<XmlDocument> parse_xml(std::string_view text, std::string_view origin, ErrorCode code)
{
    const std::string where{origin};
    if (text.size() > kMaxXmlBytes) {
        return make_error(code, where + " is larger than " + std::to_string(kMaxXmlBytes) +
                                    " bytes; an XML document for appshare must be smaller.");
    }
    ensure_libxml_initialised();
    QuietGenericErrors quiet;

    UniqueHandle<xmlParserCtxt, xmlFreeParserCtxt> ctxt(xmlNewParserCtxt());
    if (!ctxt || ctxt->sax == nullptr) {
        return make_error(ErrorCode::Internal, "could not create an XML parser for " + where + " (out of memory?).");
    }
    ErrorSink sink;
    ctxt->_private = &sink;
    ctxt->sax->serror = &parser_error_handler;
    ctxt->sax->internalSubset = &refuse_doctype;
    ctxt->sax->externalSubset = nullptr;

    // Never XML_PARSE_NOENT (entity substitution), XML_PARSE_DTDLOAD, XML_PARSE_DTDATTR,
    // XML_PARSE_DTDVALID or XML_PARSE_XINCLUDE; NONET forbids any network access.
    constexpr int options = XML_PARSE_NONET | XML_PARSE_NOBLANKS | XML_PARSE_NOCDATA;
    UniqueHandle<xmlDoc, xmlFreeDoc> doc(xmlCtxtReadMemory(ctxt.get(), text.data(), static_cast<int>(text.size()),
                                                           where.c_str(), nullptr, options));

    if (sink.saw_doctype || (doc && (doc->intSubset != nullptr || doc->extSubset != nullptr))) {
        return make_error(code, where + " contains a DOCTYPE (DTD), which appshare refuses for safety; "
                                        "remove the <!DOCTYPE ...> declaration and any entities it defines.");
    }
    if (!doc || !ctxt->wellFormed) {
        std::string reason = sink.have_error ? sink.message : std::string{"the parser gave no reason"};
        return make_error(code, where + line_part(sink.line) + ": the XML is not well-formed (" + reason +
                                    "); fix the XML syntax there.");
    }
    if (xmlDocGetRootElement(doc.get()) == nullptr) {
        return make_error(code, where + " has no root element; it must hold one XML document.");
    }
    return XmlDocument(std::move(doc));
}

Result<XmlDocument> parse_xml_file(const std::filesystem::path& file, ErrorCode code)
{
    const std::string where = file.string();
    const SmallFile text = read_small_file(file, kMaxXmlBytes, FollowLinks::Yes);
    switch (text.problem) {
        case FileProblem::None: return parse_xml(text.text, where, code);
        case FileProblem::NotRegular:
            return make_error(ErrorCode::Io, where + " is not a regular file; give the path of an XML file.");
        case FileProblem::TooLarge:
            return make_error(code, where + " is larger than " + std::to_string(kMaxXmlBytes) +
                                        " bytes; an XML document for appshare must be smaller.");
        case FileProblem::Missing:
        case FileProblem::Link:
            return make_error(ErrorCode::Io, "cannot open " + where + " (" + text.why() +
                                                 "); check that the file exists and is readable.");
        case FileProblem::Unreadable: break;
    }
    return make_error(ErrorCode::Io, "cannot read " + where + " (" + text.why() + "); check the file and the disk.");
}

Result<void> validate_relaxng(const XmlDocument& doc, const std::filesystem::path& schema, std::string_view origin)
{
    auto schema_doc = parse_xml_file(schema, ErrorCode::Internal);
    if (!schema_doc) {
        Error e = std::move(schema_doc).error();
        e.message = finish_sentence("cannot load the schema: " + message_clause(e.message) +
                                    " (set APPSHARE_TEMPLATE_DIR or reinstall appshare)");
        return e;
    }
    ensure_libxml_initialised();
    QuietGenericErrors quiet;
    ErrorSink schema_sink;
    UniqueHandle<xmlRelaxNGParserCtxt, xmlRelaxNGFreeParserCtxt> pctxt(xmlRelaxNGNewDocParserCtxt(schema_doc->get()));
    if (!pctxt) return make_error(ErrorCode::Internal, "could not create a RelaxNG parser for " + schema.string() + ".");
    xmlRelaxNGSetParserStructuredErrors(pctxt.get(), &sink_error_handler, &schema_sink);
    UniqueHandle<xmlRelaxNG, xmlRelaxNGFree> rng(xmlRelaxNGParse(pctxt.get()));
    if (!rng) {
        return make_error(ErrorCode::Internal, "the schema " + schema.string() + line_part(schema_sink.line) +
                                                   " does not compile (" + schema_sink.message +
                                                   "); reinstall appshare or fix the schema.");
    }
    UniqueHandle<xmlRelaxNGValidCtxt, xmlRelaxNGFreeValidCtxt> vctxt(xmlRelaxNGNewValidCtxt(rng.get()));
    if (!vctxt) return make_error(ErrorCode::Internal, "could not create a RelaxNG validator for " + schema.string() + ".");
    ErrorSink sink;
    xmlRelaxNGSetValidStructuredErrors(vctxt.get(), &sink_error_handler, &sink);
    const int rc = xmlRelaxNGValidateDoc(vctxt.get(), doc.get());
    if (rc == 0) return ok();
    if (rc < 0) {
        return make_error(ErrorCode::Internal, "RelaxNG validation of " + std::string{origin} +
                                                   " failed inside libxml2 (" + sink.message + ").");
    }
    const std::string element = sink.element_path.empty() ? std::string{"the document"}
                                                          : "element <" + sink.element_path + ">";
    const std::string reason = sink.have_error ? sink.message : std::string{"no reason given"};
    return make_error(ErrorCode::BadManifest, std::string{origin} + line_part(sink.line) + ": " + element +
                                                  " does not match the schema " + schema.filename().string() + " (" +
                                                  reason + "); correct it as that schema describes.");
}

std::string serialize_xml(const XmlDocument& doc)
{
    xmlChar* mem = nullptr;
    int size = 0;
    xmlDocDumpFormatMemoryEnc(doc.get(), &mem, &size, "UTF-8", 1);
    XmlString owned(mem);
    if (!owned || size <= 0) return {};
    return std::string(reinterpret_cast<const char*>(owned.get()), static_cast<std::size_t>(size));
}

xmlNode* first_child_element(const xmlNode* parent, std::string_view name) noexcept
{
    if (parent == nullptr) return nullptr;
    for (xmlNode* c = parent->children; c != nullptr; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && as_view(c->name) == name) return c;
    }
    return nullptr;
}

std::vector<xmlNode*> child_elements(const xmlNode* parent, std::string_view name)
{
    std::vector<xmlNode*> out;
    if (parent == nullptr) return out;
    for (xmlNode* c = parent->children; c != nullptr; c = c->next) {
        if (c->type == XML_ELEMENT_NODE && (name.empty() || as_view(c->name) == name)) out.push_back(c);
    }
    return out;
}

std::optional<std::string> xml_attribute(const xmlNode* node, std::string_view name)
{
    if (node == nullptr) return std::nullopt;
    const std::string key{name};
    XmlString value(xmlGetNoNsProp(node, xml_chars(key)));
    if (!value) return std::nullopt;
    return std::string{as_view(value.get())};
}

std::string xml_text(const xmlNode* node)
{
    if (node == nullptr) return {};
    XmlString content(xmlNodeGetContent(node));
    return std::string{as_view(content.get())};
}

std::string_view xml_name(const xmlNode* node) noexcept
{
    return node == nullptr ? std::string_view{} : as_view(node->name);
}

long xml_line(const xmlNode* node) noexcept
{
    if (node == nullptr) return 0;
    const long line = xmlGetLineNo(node);
    return line > 0 ? line : 0;
}

std::string xml_element_path(const xmlNode* node)
{
    std::string path;
    for (const xmlNode* n = node; n != nullptr && n->type == XML_ELEMENT_NODE; n = n->parent) {
        path = path.empty() ? std::string{as_view(n->name)} : std::string{as_view(n->name)} + "/" + path;
    }
    return path;
}

}  // namespace appshare
