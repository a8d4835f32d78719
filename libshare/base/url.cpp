#include "base/url.hpp"

#include "base/text.hpp"

namespace appshare {
namespace {

constexpr std::string_view kSchemeEnd = "://";

char lower(char c) noexcept
{
    return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

UrlParts split_url(std::string_view url)
{
    UrlParts parts;
    const auto scheme_end = url.find(kSchemeEnd);
    const auto after = scheme_end == std::string_view::npos ? url : url.substr(scheme_end + kSchemeEnd.size());
    parts.authority = after.substr(0, after.find_first_of("/?#"));
    parts.rest = after.substr(parts.authority.size());
    if (scheme_end != std::string_view::npos) {
        for (const char c : url.substr(0, scheme_end)) parts.scheme.push_back(lower(c));
    }
    const auto problem = [&] {
        for (const char c : url) {
            if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7f) return UrlProblem::ControlCharacter;
        }
        if (scheme_end == std::string_view::npos) return UrlProblem::NoScheme;
        if (parts.authority.find('@') != std::string_view::npos) return UrlProblem::UserInfo;
        if (parts.scheme != "http" && parts.scheme != "https") return UrlProblem::NotHttp;
        if (parts.authority.empty()) return UrlProblem::NoHost;
        return UrlProblem::None;
    };
    parts.problem = problem();
    return parts;
}

std::string_view url_problem_text(UrlProblem problem) noexcept
{
    switch (problem) {
        case UrlProblem::None: return "is acceptable";
        case UrlProblem::ControlCharacter: return "contains white space or a control character";
        case UrlProblem::NoScheme: return "has no scheme (http:// or https://)";
        case UrlProblem::NotHttp: return "is not an http:// or https:// URL";
        case UrlProblem::UserInfo: return "carries user credentials (\"user:password@\")";
        case UrlProblem::NoHost: return "has no host name";
    }
    return "is not a URL appshare can use";
}

std::string url_for_message(std::string_view url)
{
    const auto scheme_end = url.find(kSchemeEnd);
    if (scheme_end == std::string_view::npos) return printable(url);
    const auto after = url.substr(scheme_end + kSchemeEnd.size());
    const auto authority = after.substr(0, after.find_first_of("/?#"));
    const auto at = authority.rfind('@');
    if (at == std::string_view::npos) return printable(url);
    return printable(url.substr(0, scheme_end + kSchemeEnd.size())) + "***@" + printable(after.substr(at + 1));
}

}  // namespace appshare
