#include "store/trusted_paths.hpp"

#include "base/url.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include <sys/stat.h>

namespace appshare {
namespace {

std::string lower(std::string_view s)
{
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

Error url_refused(std::string_view url, const std::string& why)
{
    return make_error(ErrorCode::UnsafePath, "source URL " + url_for_message(url) + " is refused: " + why +
                                                 "; use a URL under one of allowed_url_prefixes in the appshare configuration.");
}

bool has_dot_segment(std::string_view path)
{
    // Percent-decoded dots count too: "%2e%2E" is "..".
    std::string decoded;
    for (std::size_t i = 0; i < path.size(); ++i) {
        if (path[i] == '%' && i + 2 < path.size() && path[i + 1] == '2' && (path[i + 2] == 'e' || path[i + 2] == 'E')) {
            decoded.push_back('.');
            i += 2;
        } else {
            decoded.push_back(path[i]);
        }
    }
    std::size_t start = 0;
    while (start <= decoded.size()) {
        auto end = decoded.find_first_of("/?#", start);
        if (end == std::string::npos) end = decoded.size();
        const auto seg = std::string_view(decoded).substr(start, end - start);
        if (seg == "." || seg == "..") return true;
        if (end >= decoded.size() || decoded[end] != '/') break;
        start = end + 1;
    }
    return false;
}

}  // namespace

bool is_within(const std::filesystem::path& p, const std::filesystem::path& root)
{
    auto pi = p.begin();
    for (auto ri = root.begin(); ri != root.end(); ++ri, ++pi) {
        if (ri->empty() && std::next(ri) == root.end()) break;  // trailing separator of root
        if (pi == p.end() || *pi != *ri) return false;
    }
    return true;
}

Result<void> check_inside_root(const std::filesystem::path& p, const std::filesystem::path& root, std::string_view what)
{
    const auto refuse = [&](const std::string& why) {
        return make_error(ErrorCode::UnsafePath, std::string(what) + " " + p.string() + " " + why +
                                                     "; appshare only uses paths inside " + root.string() +
                                                     ", reinstall the instance with 'appshare install'.");
    };
    if (!p.is_absolute() || p.lexically_normal() != p) return refuse("is not an absolute, normalised path");
    if (p == root || !is_within(p, root)) return refuse("is outside the configured root");
    std::filesystem::path walk = root;
    const auto rel = p.lexically_relative(root);
    for (const auto& part : rel) {
        if (part == "." || part == ".." || part.empty()) return refuse("has a '.' or '..' component");
        walk /= part;
        struct stat st {};
        if (::lstat(walk.c_str(), &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) return ok();  // nothing there to escape through
            return make_error(ErrorCode::Io, "cannot inspect " + walk.string() + ": " + std::strerror(errno) +
                                                 "; check the permissions of " + root.string() + ".");
        }
        if (S_ISLNK(st.st_mode)) return refuse("goes through the symbolic link " + walk.string());
    }
    return ok();
}

Result<std::filesystem::path> resolve_allowed_source_file(const std::filesystem::path& p,
                                                          const std::vector<std::filesystem::path>& allowed_dirs)
{
    if (allowed_dirs.empty()) {
        return make_error(ErrorCode::UnsafePath, "source file " + p.string() +
                                                     " is refused: no allowed_source_dirs are configured; add its directory to allowed_source_dirs in the appshare configuration.");
    }
    std::error_code ec;
    const auto resolved = std::filesystem::canonical(p, ec);
    if (ec) {
        return make_error(ErrorCode::Io, "source file " + p.string() + " cannot be resolved: " + ec.message() +
                                             "; check that it exists and is readable.");
    }
    bool inside = false;
    for (const auto& dir : allowed_dirs) {
        const auto rdir = std::filesystem::canonical(dir, ec);
        if (!ec && resolved != rdir && is_within(resolved, rdir)) inside = true;
    }
    if (!inside) {
        return make_error(ErrorCode::UnsafePath, "source file " + p.string() + " (resolved to " + resolved.string() +
                                                     ") is refused: it is not inside any of allowed_source_dirs; move it there or add its directory to the appshare configuration.");
    }
    struct stat st {};
    if (::stat(resolved.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::UnsafePath, "source file " + resolved.string() + " is not a regular file; point the source at the image file itself.");
    }
    return resolved;
}

Result<void> check_allowed_url(std::string_view url, const std::vector<std::string>& prefixes)
{
    const UrlParts parts = split_url(url);
    if (parts.problem != UrlProblem::None) return url_refused(url, "it " + std::string(url_problem_text(parts.problem)));
    if (has_dot_segment(parts.rest)) return url_refused(url, "it has a '.' or '..' path segment");
    for (const auto& prefix : prefixes) {
        if (prefix.empty() || url.size() < prefix.size()) continue;
        // Scheme and host compare case-insensitively, the path exactly.
        const auto pre_scheme_end = prefix.find("://");
        if (pre_scheme_end == std::string::npos) continue;
        const auto pre_auth_end = prefix.find_first_of("/?#", pre_scheme_end + 3);
        const auto head_len = pre_auth_end == std::string::npos ? prefix.size() : pre_auth_end;
        if (lower(url.substr(0, head_len)) != lower(std::string_view(prefix).substr(0, head_len))) continue;
        if (url.substr(head_len, prefix.size() - head_len) != std::string_view(prefix).substr(head_len)) continue;
        if (prefix.back() == '/' || url.size() == prefix.size() || url[prefix.size()] == '/' || url[prefix.size()] == '?') {
            return ok();
        }
    }
    if (prefixes.empty()) return url_refused(url, "no allowed_url_prefixes are configured");
    return url_refused(url, "it is not under an allowed prefix");
}

}  // namespace appshare
