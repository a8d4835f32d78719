#include "instance/cloud_init_seed.hpp"

#include "base/atomic_file.hpp"
#include "base/dir_handle.hpp"
#include "base/error.hpp"
#include "base/small_file.hpp"
#include "base/text.hpp"
#include "image/iso9660_image.hpp"

#include <array>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace appshare {
namespace {

constexpr std::string_view kVolumeId = "cidata";
constexpr mode_t kSeedDirMode = 0700;
constexpr mode_t kSeedFileMode = 0600;
constexpr std::string_view kUserData = "user-data";
constexpr std::string_view kMetaData = "meta-data";
constexpr std::string_view kNetworkConfig = "network-config";

Error refuse(const SeedInput& in, const std::string& why, const std::string& todo)
{
    return make_error(ErrorCode::Usage, in.origin + " " + why + "; " + todo + ".");
}

Result<void> check_text(const SeedInput& in, std::size_t cap)
{
    if (in.text.size() > cap) {
        return refuse(in, "is larger than " + std::to_string(cap >> 10) + " KiB", "give a smaller file");
    }
    if (in.text.find('\0') != std::string::npos) {
        return refuse(in, "is not text (it holds NUL bytes)", "give a YAML or script file");
    }
    return ok();
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

// The MIME type cloud-init gives a user-data by its first line (longest prefix first).
std::optional<std::string> user_data_type(std::string_view text)
{
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 7> kinds{{
        {"#cloud-config-archive", "text/cloud-config-archive"},
        {"#cloud-config", "text/cloud-config"},
        {"#cloud-boothook", "text/cloud-boothook"},
        {"#include", "text/x-include-url"},
        {"#part-handler", "text/part-handler"},
        {"## template: jinja", "text/jinja2"},
        {"#!", "text/x-shellscript"},
    }};
    for (const auto& [prefix, type] : kinds) {
        if (starts_with(text, prefix)) return std::string(type);
    }
    return std::nullopt;
}

std::string yaml_quoted(std::string_view s)
{
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string password_part(const std::string& hash)
{
    return "#cloud-config\n"
           "# appshare install --password-generate: the default user's password, as a SHA-512 crypt hash\n"
           "merge_how: 'dict(replace,recurse_list)+list(append)+str()'\n"
           "password: " + yaml_quoted(hash) + "\n"
           "chpasswd:\n  expire: false\n"
           "ssh_pwauth: true\n";
}

Result<std::string> compose_user_data(const SeedRequest& r)
{
    if (!r.password_hash) return r.user_data ? r.user_data->text : std::string("#cloud-config\n");
    const std::string own = password_part(*r.password_hash);
    if (!r.user_data) return own;
    const auto type = user_data_type(r.user_data->text);
    if (!type) {
        return refuse(*r.user_data, "is neither #cloud-config nor a script (#!), so appshare cannot add the password to it",
                      "start it with #cloud-config or #!, or leave out --password-generate");
    }
    std::string boundary = "==appshare-seed-boundary==";
    for (int n = 0; r.user_data->text.find(boundary) != std::string::npos || own.find(boundary) != std::string::npos; ++n) {
        boundary = "==appshare-seed-boundary-" + std::to_string(n) + "==";
    }
    const auto part = [&](const std::string& type_name, const std::string& file, const std::string& body) {
        return "--" + boundary + "\nContent-Type: " + type_name + "; charset=\"utf-8\"\nMIME-Version: 1.0\n" +
               "Content-Transfer-Encoding: 8bit\nContent-Disposition: attachment; filename=\"" + file + "\"\n\n" + body +
               (body.empty() || body.back() == '\n' ? "" : "\n");
    };
    return "Content-Type: multipart/mixed; boundary=\"" + boundary + "\"\nMIME-Version: 1.0\n\n" +
           part(*type, "user-data", r.user_data->text) + part("text/cloud-config", "appshare-password", own) + "--" +
           boundary + "--\n";
}

// The column-0 key of a YAML block mapping line ("key: ..."), or "".
std::string_view top_level_key(std::string_view line)
{
    if (line.empty() || line.front() == ' ' || line.front() == '\t' || line.front() == '#' || line.front() == '-') return {};
    const auto colon = line.find(':');
    if (colon == std::string_view::npos) return {};
    std::string_view key = trim(line.substr(0, colon));
    if (key.size() >= 2 && (key.front() == '"' || key.front() == '\'') && key.back() == key.front()) {
        key = key.substr(1, key.size() - 2);
    }
    return key;
}

Result<std::string> compose_meta_data(const SeedRequest& r, std::string_view hostname, std::string_view instance_id)
{
    std::string out;
    if (r.meta_data) {
        const std::string_view text = r.meta_data->text;
        const std::string_view first = trim(text);
        if (!first.empty() && (first.front() == '{' || first.front() == '[' || starts_with(first, "---"))) {
            return refuse(*r.meta_data, "is not a plain YAML block mapping (key: value lines)",
                          "write it as 'key: value' lines, without {…} or ---");
        }
        std::string_view rest = text;
        while (!rest.empty()) {
            const auto nl = rest.find('\n');
            const std::string_view key = top_level_key(rest.substr(0, nl));
            if (key == "instance-id" || key == "local-hostname" || key == "public-keys") {
                return refuse(*r.meta_data, "sets " + std::string(key) + ", which appshare sets itself",
                              "remove it (appshare writes instance-id and local-hostname from the instance, public-keys from --ssh-key)");
            }
            rest = nl == std::string_view::npos ? std::string_view() : rest.substr(nl + 1);
        }
        out = r.meta_data->text;
        if (!out.empty() && out.back() != '\n') out += '\n';
    }
    out += "instance-id: " + yaml_quoted(instance_id) + "\n";
    out += "local-hostname: " + yaml_quoted(hostname) + "\n";
    if (!r.ssh_keys.empty()) {
        out += "public-keys:\n";
        for (const auto& k : r.ssh_keys) out += "  - " + yaml_quoted(k.line()) + "\n";
    }
    return out;
}

std::vector<std::pair<std::string_view, const std::string*>> named_files(const SeedFiles& f)
{
    std::vector<std::pair<std::string_view, const std::string*>> v{{kUserData, &f.user_data}, {kMetaData, &f.meta_data}};
    if (f.network_config) v.emplace_back(kNetworkConfig, &*f.network_config);
    return v;
}

Result<void> write_private_file(const DirHandle& dir, std::string_view name, std::string_view content)
{
    auto tmp = TempFile::create_in(dir, name, kSeedFileMode);
    if (!tmp) return std::move(tmp).error();
    if (auto w = tmp->write(content); !w) return w;
    return tmp->commit(kSeedFileMode);
}

// A seed file's text (no links, regular, capped); nullopt when it is missing.
Result<std::optional<std::string>> read_seed_file(const DirHandle& dir, std::string_view name, std::size_t cap)
{
    auto fd = dir.open_file(name, O_RDONLY);
    if (!fd) {
        if (fd.error().code == ErrorCode::NotFound) return std::optional<std::string>{};
        return std::move(fd).error();
    }
    std::string text;
    if (int err = read_fd_head(fd->get(), cap + 1, text); err != 0) {
        return make_error(ErrorCode::Io, "cannot read " + (dir / name).string() + ": " + std::strerror(err) + ".");
    }
    if (text.size() > cap) {
        return make_error(ErrorCode::BadManifest, (dir / name).string() + " is larger than " + std::to_string(cap >> 10) +
                                                      " KiB; reinstall the instance to make its cloud-init seed again.");
    }
    return std::optional<std::string>{std::move(text)};
}

}  // namespace

bool wants_seed(const SeedRequest& r)
{
    return r.user_data || r.meta_data || r.network_config || !r.ssh_keys.empty() || r.password_hash;
}

Result<SeedFiles> compose_seed(const SeedRequest& r, std::string_view hostname, std::string_view instance_id)
{
    if (r.user_data) {
        if (auto c = check_text(*r.user_data, kMaxUserDataBytes); !c) return std::move(c).error();
    }
    if (r.meta_data) {
        if (auto c = check_text(*r.meta_data, kMaxMetaDataBytes); !c) return std::move(c).error();
    }
    if (r.network_config) {
        if (auto c = check_text(*r.network_config, kMaxNetworkConfigBytes); !c) return std::move(c).error();
    }
    SeedFiles f;
    auto user = compose_user_data(r);
    if (!user) return std::move(user).error();
    f.user_data = std::move(*user);
    auto meta = compose_meta_data(r, hostname, instance_id);
    if (!meta) return std::move(meta).error();
    f.meta_data = std::move(*meta);
    if (r.network_config) f.network_config = r.network_config->text;
    return f;
}

Result<std::string> make_seed_iso(const SeedFiles& files)
{
    std::vector<IsoMember> iso;
    for (const auto& [name, text] : named_files(files)) iso.push_back(IsoMember{std::string(name), *text});
    return make_iso9660_image(kVolumeId, iso);
}

Result<void> write_seed(const ContextLayout& context, const SeedFiles& files)
{
    auto iso = make_seed_iso(files);
    if (!iso) return std::move(iso).error();
    auto dir = DirHandle::open(context.dir);
    if (!dir) return std::move(dir).error();
    auto seed_dir = dir->sub(context.seed_dir.filename().string(), DirHandle::Create::Yes, kSeedDirMode);
    if (!seed_dir) return std::move(seed_dir).error();
    for (const auto& [name, text] : named_files(files)) {
        if (auto w = write_private_file(*seed_dir, name, *text); !w) return w;
    }
    if (auto s = seed_dir->sync(); !s) return s;
    return write_private_file(*dir, context.seed_iso.filename().string(), *iso);
}

Result<std::optional<SeedFiles>> read_seed(const ContextLayout& context)
{
    auto dir = DirHandle::open(context.seed_dir);
    if (!dir) {
        if (dir.error().code == ErrorCode::NotFound) return std::optional<SeedFiles>{};
        return std::move(dir).error();
    }
    SeedFiles f;
    auto user = read_seed_file(*dir, kUserData, kMaxUserDataBytes * 2);  // a password part may be added
    if (!user) return std::move(user).error();
    auto meta = read_seed_file(*dir, kMetaData, kMaxMetaDataBytes * 2);  // appshare's keys are added
    if (!meta) return std::move(meta).error();
    auto net = read_seed_file(*dir, kNetworkConfig, kMaxNetworkConfigBytes);
    if (!net) return std::move(net).error();
    if (!*user || !*meta) {
        return make_error(ErrorCode::Io, "the cloud-init seed in " + context.seed_dir.string() +
                                             " lacks user-data or meta-data; reinstall the instance to make it again.");
    }
    f.user_data = std::move(**user);
    f.meta_data = std::move(**meta);
    f.network_config = std::move(*net);
    return std::optional<SeedFiles>{std::move(f)};
}

bool has_seed(const ContextLayout& context)
{
    auto st = stat_no_links(context.seed_dir);
    return st && *st && S_ISDIR((*st)->st_mode);
}

Result<bool> reclaim_seed_iso(const ContextLayout& context)
{
    struct stat st {};
    auto fd = open_checked(context.seed_iso, O_RDONLY, FileType::Regular, &st);
    if (!fd) return fd.error().code == ErrorCode::NotFound ? Result<bool>(false) : Result<bool>(std::move(fd).error());
    if (st.st_uid == 0 && st.st_gid == 0 && (st.st_mode & 07777) == kSeedFileMode) return false;
    if (::fchown(fd->get(), 0, 0) != 0 || ::fchmod(fd->get(), kSeedFileMode) != 0) {
        return make_error(ErrorCode::Io, "cannot give the cloud-init seed " + context.seed_iso.string() + " back to root: " +
                                             std::strerror(errno) + "; check the context's file system.");
    }
    return true;
}

Result<bool> restore_seed_iso(const ContextLayout& context)
{
    auto files = read_seed(context);
    if (!files) return std::move(files).error();
    if (!*files) return false;
    auto dir = DirHandle::open(context.dir);
    if (!dir) return std::move(dir).error();
    const std::string name = context.seed_iso.filename().string();
    auto st = dir->stat(name);
    if (!st) return std::move(st).error();
    if (*st) {
        if (S_ISREG((*st)->st_mode)) return false;
        return make_error(ErrorCode::UnsafePath, "the cloud-init seed " + context.seed_iso.string() +
                                                     " is not a regular file; remove it, and the next start makes it again.");
    }
    auto iso = make_seed_iso(**files);
    if (!iso) return std::move(iso).error();
    if (auto w = write_private_file(*dir, name, *iso); !w) return std::move(w).error();
    return true;
}

}  // namespace appshare
