#include "bundle/bundle_path.hpp"

namespace appshare {

BundlePath check_bundle_path(std::string_view name, EmptyComponents empty)
{
    BundlePath out;
    const auto refuse = [&out](std::string why) {
        out.problem = std::move(why);
        return out;
    };
    if (name.empty()) return refuse("is empty");
    if (name.find('\0') != std::string_view::npos) return refuse("contains a NUL byte");
    if (name.find('\\') != std::string_view::npos) return refuse("contains a backslash");
    if (name.front() == '/') return refuse("is an absolute path");
    std::string_view last;
    std::size_t pos = 0;
    while (pos <= name.size()) {
        std::size_t end = name.find('/', pos);
        if (end == std::string_view::npos) end = name.size();
        const std::string_view comp = name.substr(pos, end - pos);
        if (comp == "..") return refuse("has a '..' component, which would leave the bundle");
        if (comp.empty() && empty == EmptyComponents::Refuse) {
            return refuse(end == name.size() ? "ends with '/'" : "has an empty component ('//')");
        }
        if (!comp.empty() && comp != ".") {
            if (!out.normalized.empty()) out.normalized += '/';
            out.normalized += comp;
        }
        if (!comp.empty()) last = comp;
        pos = end + 1;
    }
    if (empty == EmptyComponents::Refuse && last == ".") {
        return refuse(out.normalized.empty() ? "names the bundle root" : "names a directory (it ends in '.')");
    }
    return out;
}

}  // namespace appshare
