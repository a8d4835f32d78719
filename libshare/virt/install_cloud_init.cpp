#include "virt/install_cloud_init.hpp"

#include "base/error.hpp"
#include "base/password_hash.hpp"
#include "base/sha256.hpp"
#include "base/small_file.hpp"
#include "base/ssh_public_key.hpp"

namespace appshare {
namespace {

// A file named on the command line (links followed: it is the user's own file), capped.
Result<SeedInput> read_option_file(const std::filesystem::path& file, std::string_view option, std::size_t cap)
{
    const std::string origin = std::string(option) + " " + file.string();
    auto f = read_small_file(file, cap, FollowLinks::Yes);
    if (f.problem == FileProblem::TooLarge) {
        return make_error(ErrorCode::Usage, origin + " is larger than " + std::to_string(cap >> 10) +
                                                " KiB; give a smaller file.");
    }
    if (!f) return make_error(ErrorCode::Io, "cannot read " + origin + ": it " + f.why() + "; check the path.");
    return SeedInput{std::move(f.text), origin};
}

// The bundle's default user-data, checked against the digest its manifest records.
Result<SeedInput> read_bundle_user_data(const Bundle& bundle, const ManifestFile& file)
{
    std::string text;
    Sha256 hash;
    const std::string origin = "the bundle's cloud-init user-data " + file.path;
    auto streamed = bundle.stream(file.path, [&](std::span<const std::byte> bytes) -> Result<void> {
        if (text.size() + bytes.size() > kMaxUserDataBytes) {
            return make_error(ErrorCode::Usage, origin + " is larger than " + std::to_string(kMaxUserDataBytes >> 10) +
                                                    " KiB; make it smaller or give --user-data.");
        }
        text.append(reinterpret_cast<const char*>(bytes.data()), bytes.size());
        hash.update(bytes);
        return ok();
    });
    if (!streamed) return std::move(streamed).error();
    if (hash.hex_digest() != file.sha256) {
        return make_error(ErrorCode::DigestMismatch, origin + " does not match the SHA-256 its manifest records; "
                                                              "the bundle changed, verify it again.");
    }
    return SeedInput{std::move(text), origin};
}

}  // namespace

Result<CloudInitPlan> plan_cloud_init(const CloudInitOptions& o, const Bundle& bundle, const Manifest& m)
{
    CloudInitPlan plan;
    SeedRequest& r = plan.request;
    for (const auto& file : o.ssh_keys) {
        auto text = read_option_file(file, "--ssh-key", kMaxSshKeyFileBytes);
        if (!text) return std::move(text).error();
        auto keys = parse_ssh_public_keys(text->text, text->origin);
        if (!keys) return std::move(keys).error();
        for (auto& k : *keys) {
            plan.key_fingerprints.push_back(k.type + " SHA256 " + ssh_key_sha256_hex_fingerprint(k));
            r.ssh_keys.push_back(std::move(k));
        }
    }
    if (o.user_data) {
        auto text = read_option_file(*o.user_data, "--user-data", kMaxUserDataBytes);
        if (!text) return std::move(text).error();
        r.user_data = std::move(*text);
    } else if (m.user_data) {
        auto text = read_bundle_user_data(bundle, *m.user_data);
        if (!text) return std::move(text).error();
        r.user_data = std::move(*text);
    }
    if (o.meta_data) {
        auto text = read_option_file(*o.meta_data, "--meta-data", kMaxMetaDataBytes);
        if (!text) return std::move(text).error();
        r.meta_data = std::move(*text);
    }
    if (o.network_config) {
        auto text = read_option_file(*o.network_config, "--network-config", kMaxNetworkConfigBytes);
        if (!text) return std::move(text).error();
        r.network_config = std::move(*text);
    }
    if (o.password_generate) {
        plan.password = generate_password();
        auto hash = sha512_crypt(*plan.password);
        if (!hash) return std::move(hash).error();
        r.password_hash = std::move(*hash);
    }
    // Composed once here with a placeholder identity, so a bad input is refused before
    // anything is made; install composes it again with the instance's own.
    if (wants_seed(r)) {
        auto probe = compose_seed(r, "check", "check");
        if (!probe) return std::move(probe).error();
    }
    return plan;
}

Result<bool> install_cloud_init_seed(const CloudInitPlan& plan, const ContextLayout& context, std::string_view hostname,
                                     std::string_view instance_id)
{
    if (!wants_seed(plan.request)) return false;
    auto files = compose_seed(plan.request, hostname, instance_id);
    if (!files) return std::move(files).error();
    if (auto w = write_seed(context, *files); !w) return std::move(w).error();
    return true;
}

}  // namespace appshare
