#pragma once

#include <expat.h>

#include <memory>  // unique_ptr
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

// S3's responses (listings, errors, multi-delete results) are small XML
// documents; expat reads them into a tiny tree, entities and all.
namespace strata::detail::s3 {

struct XmlError : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct XmlNode {
    std::string name;  // local name: S3's namespace prefix is dropped
    std::string text;
    std::vector<XmlNode> children;

    const XmlNode* child(std::string_view n) const noexcept {
        for (const auto& c : children)
            if (c.name == n) return &c;
        return nullptr;
    }

    // The text of a direct child, or nullopt when it is absent.
    std::optional<std::string> child_text(std::string_view n) const {
        const XmlNode* c = child(n);
        return c ? std::optional<std::string>(c->text) : std::nullopt;
    }
};

namespace xml_impl {

struct Builder {
    XML_Parser parser = nullptr;
    XmlNode root;
    std::vector<XmlNode*> stack;
    std::size_t nodes = 0;
    bool too_big = false;
};

// Bounds how much a hostile or broken server can make us allocate.
inline constexpr std::size_t max_nodes = 1'000'000;
inline constexpr int max_depth = 64;

inline std::string_view local_name(const XML_Char* name) {
    std::string_view n(name);
    const auto sep = n.rfind('|');
    return sep == std::string_view::npos ? n : n.substr(sep + 1);
}

inline void on_start(void* data, const XML_Char* name, const XML_Char**) {
    auto* b = static_cast<Builder*>(data);
    XmlNode* parent = b->stack.back();
    if (b->stack.size() > static_cast<std::size_t>(max_depth) || ++b->nodes > max_nodes) {
        b->too_big = true;
        XML_StopParser(b->parser, XML_FALSE);
        b->stack.push_back(parent);  // keeps on_end balanced until the parser stops
        return;
    }
    parent->children.push_back(XmlNode{std::string(local_name(name)), {}, {}});
    b->stack.push_back(&parent->children.back());
}

inline void on_end(void* data, const XML_Char*) { static_cast<Builder*>(data)->stack.pop_back(); }

inline void on_text(void* data, const XML_Char* s, int len) {
    auto* b = static_cast<Builder*>(data);
    b->stack.back()->text.append(s, static_cast<std::size_t>(len));
}

}  // namespace xml_impl

// Parses a whole document and returns its root element. Throws XmlError on
// malformed input, with expat's message and line.
inline XmlNode parse_xml(std::string_view doc) {
    struct Free {
        void operator()(XML_Parser p) const noexcept { XML_ParserFree(p); }
    };
    // '|' separates namespace URI and local name, so <ListBucketResult
    // xmlns="..."> and a plain <ListBucketResult> read the same.
    std::unique_ptr<XML_ParserStruct, Free> parser(XML_ParserCreateNS(nullptr, '|'));
    if (!parser) throw XmlError("cannot create an XML parser");
    xml_impl::Builder b;
    b.parser = parser.get();
    b.stack.push_back(&b.root);
    XML_SetUserData(parser.get(), &b);
    XML_SetElementHandler(parser.get(), xml_impl::on_start, xml_impl::on_end);
    XML_SetCharacterDataHandler(parser.get(), xml_impl::on_text);
    const auto status = XML_Parse(parser.get(), doc.data(), static_cast<int>(doc.size()), XML_TRUE);
    if (b.too_big) throw XmlError("XML document is too deep or has too many elements");
    if (status != XML_STATUS_OK)
        throw XmlError(std::string("malformed XML: ") + XML_ErrorString(XML_GetErrorCode(parser.get())) +
                       " at line " + std::to_string(XML_GetCurrentLineNumber(parser.get())));
    if (b.root.children.size() != 1) throw XmlError("XML document has no root element");
    return std::move(b.root.children.front());
}

// Escapes text for an element's content or an attribute value.
inline std::string xml_escape(std::string_view s) {
    std::string out;
    out.reserve(s.size() + 16);
    for (const char c : s) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            case '\'': out += "&apos;"; break;
            case '\r': out += "&#13;"; break;  // kept: a bare CR would be normalised away
            default: out += c;
        }
    }
    return out;
}

}  // namespace strata::detail::s3
