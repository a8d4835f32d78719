// URLs from outside (manifests, domain metadata): the one place that splits them, judges their
// basic shape and decides how a message shows them (never with credentials).
#pragma once

#include <string>
#include <string_view>

namespace appshare {

enum class UrlProblem {
    None,
    ControlCharacter,  // white space or a control character anywhere
    NoScheme,          // no "scheme://"
    NotHttp,           // a scheme other than http or https
    UserInfo,          // "user:password@" in the authority
    NoHost,            // nothing between "://" and the path
};

struct UrlParts {
    std::string scheme;          // lowercased; empty without "://"
    std::string_view authority;  // between "://" and the first '/', '?' or '#'
    std::string_view rest;       // from there on: path, query, fragment
    UrlProblem problem = UrlProblem::None;
};

// Splits `url` and judges its shape: an http(s) URL with a host, without user information,
// white space or control characters. The first problem found is reported.
[[nodiscard]] UrlParts split_url(std::string_view url);

// The problem as a clause for messages: "contains white space or a control character", ...
[[nodiscard]] std::string_view url_problem_text(UrlProblem problem) noexcept;

// The URL as messages and logs show it: user information replaced by "***@", then printable().
[[nodiscard]] std::string url_for_message(std::string_view url);

}  // namespace appshare
