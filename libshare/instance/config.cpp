#include "instance/config.hpp"

#include "base/small_file.hpp"
#include "base/text.hpp"

#include <charconv>
#include <cstdlib>

namespace appshare {
namespace {

constexpr std::size_t kMaxConfigBytes = 1024 * 1024;

Error config_error(std::string_view origin, int line, const std::string& what)
{
    return make_error(ErrorCode::Config, std::string(origin) + ":" + std::to_string(line) + ": " + what +
                                             "; fix the configuration file (see README, \"Configuration\").");
}

// Parses one "quoted string" starting at s[pos]; advances pos past it.
bool parse_string(std::string_view s, std::size_t& pos, std::string& out)
{
    if (pos >= s.size() || s[pos] != '"') return false;
    ++pos;
    out.clear();
    while (pos < s.size() && s[pos] != '"') {
        if (s[pos] == '\\' && pos + 1 < s.size()) ++pos;
        out.push_back(s[pos++]);
    }
    if (pos >= s.size()) return false;
    ++pos;
    return true;
}

Result<std::string> string_value(std::string_view v, std::string_view origin, int line, std::string_view key)
{
    std::size_t pos = 0;
    std::string out;
    if (!parse_string(v, pos, out) || !trim(v.substr(pos)).empty()) {
        return config_error(origin, line, "'" + std::string(key) + "' must be a double-quoted string");
    }
    return out;
}

Result<std::vector<std::string>> list_value(std::string_view v, std::string_view origin, int line, std::string_view key)
{
    const auto bad = [&] {
        return config_error(origin, line, "'" + std::string(key) + "' must be a list of quoted strings like [\"a\", \"b\"]");
    };
    if (v.size() < 2 || v.front() != '[' || v.back() != ']') return bad();
    std::vector<std::string> out;
    std::string_view inner = trim(v.substr(1, v.size() - 2));
    std::size_t pos = 0;
    while (pos < inner.size()) {
        std::string item;
        if (!parse_string(inner, pos, item)) return bad();
        out.push_back(std::move(item));
        while (pos < inner.size() && (inner[pos] == ' ' || inner[pos] == '\t')) ++pos;
        if (pos < inner.size()) {
            if (inner[pos] != ',') return bad();
            ++pos;
            while (pos < inner.size() && (inner[pos] == ' ' || inner[pos] == '\t')) ++pos;
        }
    }
    return out;
}

Result<std::filesystem::path> absolute_dir(std::string_view v, std::string_view origin, int line, std::string_view key)
{
    auto s = string_value(v, origin, line, key);
    if (!s) return std::move(s).error();
    std::filesystem::path p(*s);
    if (!p.is_absolute() || p.lexically_normal() != p || s->find("..") != std::string::npos) {
        return config_error(origin, line, "'" + std::string(key) + "' must be an absolute, normalised path, not " + in_quotes(*s, '\''));
    }
    return p;
}

Result<std::chrono::seconds> seconds_value(std::string_view v, std::string_view origin, int line, std::string_view key,
                                           long long min, long long max)
{
    long long secs = -1;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), secs);
    if (ec != std::errc{} || ptr != v.data() + v.size() || secs < min || secs > max) {
        return config_error(origin, line, "'" + std::string(key) + "' must be a whole number of seconds from " +
                                              std::to_string(min) + " to " + std::to_string(max));
    }
    return std::chrono::seconds(secs);
}

// A size in bytes from `min` up, without units (the key's name says bytes).
Result<std::uint64_t> bytes_value(std::string_view v, std::string_view origin, int line, std::string_view key,
                                  std::uint64_t min)
{
    std::uint64_t bytes = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), bytes);
    if (ec != std::errc{} || ptr != v.data() + v.size() || bytes < min) {
        return config_error(origin, line, "'" + std::string(key) + "' must be a whole number of bytes, at least " +
                                              std::to_string(min));
    }
    return bytes;
}

constexpr long long kTenYears = 10LL * 366 * 86400;

}  // namespace

Result<Config> parse_config(std::string_view text, std::string_view origin)
{
    Config cfg;
    cfg.origin = std::string(origin);
    std::istringstream in{std::string(text)};
    std::string raw;
    int line = 0;
    while (std::getline(in, raw)) {
        ++line;
        std::string_view l = raw;
        // A '#' starts a comment unless it is inside a quoted string.
        bool quoted = false;
        for (std::size_t i = 0; i < l.size(); ++i) {
            if (l[i] == '"') quoted = !quoted;
            if (l[i] == '#' && !quoted) { l = l.substr(0, i); break; }
        }
        l = trim(l);
        if (l.empty()) continue;
        const auto eq = l.find('=');
        if (eq == std::string_view::npos) return config_error(origin, line, "expected 'key = value'");
        const std::string_view key = trim(l.substr(0, eq));
        const std::string_view value = trim(l.substr(eq + 1));

        if (key == "shared_root" || key == "context_root" || key == "local_root") {
            auto p = absolute_dir(value, origin, line, key);
            if (!p) return std::move(p).error();
            (key == "shared_root" ? cfg.shared_root : key == "context_root" ? cfg.context_root : cfg.local_root) = *p;
        } else if (key == "lock_wait_seconds" || key == "load_timeout_seconds" || key == "storage_timeout_seconds") {
            // A storage timeout of 0 would abandon the shared storage before it could answer.
            auto secs = seconds_value(value, origin, line, key, key == "storage_timeout_seconds" ? 1 : 0, 86400);
            if (!secs) return std::move(secs).error();
            (key == "lock_wait_seconds"      ? cfg.lock_wait
             : key == "load_timeout_seconds" ? cfg.load_timeout
                                             : cfg.storage_timeout) = *secs;
        } else if (key == "max_base_bytes") {
            // Below 1 MiB no real base (a qcow2 header and its tables) would ever load.
            auto bytes = bytes_value(value, origin, line, key, std::uint64_t{1} << 20);
            if (!bytes) return std::move(bytes).error();
            cfg.max_base_bytes = *bytes;
        } else if (key == "gc_grace_seconds") {
            auto secs = seconds_value(value, origin, line, key, 0, kTenYears);
            if (!secs) return std::move(secs).error();
            cfg.gc_grace = *secs;
        } else if (key == "host_gone_seconds") {
            // Hosts refresh their registry entry only now and then (at most every 10 minutes,
            // and only when something happens): a shorter time would take live hosts as gone.
            auto secs = seconds_value(value, origin, line, key, 3600, kTenYears);
            if (!secs) return std::move(secs).error();
            cfg.host_gone = *secs;
        } else if (key == "uri" || key == "virt_type" || key == "log") {
            auto s = string_value(value, origin, line, key);
            if (!s) return std::move(s).error();
            if (key == "virt_type" && *s != "auto" && *s != "kvm" && *s != "qemu") {
                return config_error(origin, line, "'virt_type' must be \"auto\", \"kvm\" or \"qemu\", not " + in_quotes(*s));
            }
            if (key == "log" && *s != "syslog" && *s != "stderr" && !std::filesystem::path(*s).is_absolute()) {
                return config_error(origin, line, "'log' must be \"syslog\", \"stderr\" or an absolute file path");
            }
            (key == "uri" ? cfg.uri : key == "virt_type" ? cfg.virt_type : cfg.log) = *s;
        } else if (key == "shared_pool" || key == "context_pool") {
            auto s = string_value(value, origin, line, key);
            if (!s) return std::move(s).error();
            if (!s->empty() && !is_plain_name(*s, 63)) {
                return config_error(origin, line, "'" + std::string(key) +
                                                      "' must be \"\" (no pool) or a pool name of 1 to 63 letters, digits, '.', '_' or '-', not " +
                                                      in_quotes(*s));
            }
            (key == "shared_pool" ? cfg.shared_pool : cfg.context_pool) = *s;
        } else if (key == "allowed_source_dirs") {
            auto items = list_value(value, origin, line, key);
            if (!items) return std::move(items).error();
            cfg.allowed_source_dirs.clear();
            for (const auto& item : *items) {
                std::filesystem::path p(item);
                if (!p.is_absolute() || item.find("..") != std::string::npos) {
                    return config_error(origin, line, "'allowed_source_dirs' entries must be absolute paths, not " + in_quotes(item, '\''));
                }
                cfg.allowed_source_dirs.push_back(p.lexically_normal());
            }
        } else if (key == "allowed_url_prefixes") {
            auto items = list_value(value, origin, line, key);
            if (!items) return std::move(items).error();
            for (const auto& item : *items) {
                if (item.rfind("http://", 0) != 0 && item.rfind("https://", 0) != 0) {
                    return config_error(origin, line, "'allowed_url_prefixes' entries must start with http:// or https://, not " + in_quotes(item, '\''));
                }
            }
            cfg.allowed_url_prefixes = std::move(*items);
        } else {
            return config_error(origin, line, "unknown key " + in_quotes(key, '\''));
        }
    }
    return cfg;
}

Result<Config> load_config(const std::filesystem::path& explicit_path)
{
    std::filesystem::path path = explicit_path;
    bool must_exist = !path.empty();
    if (path.empty()) {
        if (const char* env = std::getenv("APPSHARE_CONFIG"); env != nullptr && *env != '\0') {
            path = env;
            must_exist = true;
        } else {
            path = std::string(kDefaultConfigPath);
        }
    }
    // /etc/appshare/appshare.conf may be a link (configuration management does that).
    const SmallFile file = read_small_file(path, kMaxConfigBytes, FollowLinks::Yes);
    if (file.problem == FileProblem::Missing && !must_exist) return Config{};
    if (file.problem == FileProblem::TooLarge) {
        return make_error(ErrorCode::Config, "configuration file " + path.string() + " is larger than 1 MiB; it is not an appshare configuration.");
    }
    if (!file) {
        return make_error(ErrorCode::Config, "cannot read the configuration file " + path.string() + " (it " +
                                                 file.why() + "); check the path given with --config or APPSHARE_CONFIG.");
    }
    return parse_config(file.text, path.string());
}

}  // namespace appshare
