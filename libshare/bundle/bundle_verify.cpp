#include "bundle/bundle_verify.hpp"

#include "base/installed_files.hpp"
#include "xml/xml_document.hpp"
#include "base/progress.hpp"
#include "base/size_units.hpp"

#include <sstream>

namespace appshare {
namespace {

std::string where(const Bundle& b, std::string_view member)
{
    return b.path().string() + (b.is_archive() ? ":" : "/") + std::string(member);
}

// Size and digest of one member against the manifest.
Result<VerifiedFile> verify_member(const Bundle& bundle, const std::string& member, const std::string& sha256,
                                   std::optional<std::uint64_t> expected_size, const VerifyOptions& options)
{
    VerifiedFile f{member, sha256, 0, false};
    auto size = bundle.member_size(member);
    if (!size) return std::move(size).error();
    f.size = *size;
    if (expected_size && *expected_size != f.size) {
        return make_error(ErrorCode::DigestMismatch, where(bundle, member) + " has " + std::to_string(f.size) +
                                                         " bytes but the manifest says " + std::to_string(*expected_size) +
                                                         "; the bundle is incomplete or the manifest is stale, rebuild it.");
    }
    if (options.already_verified && options.already_verified(sha256)) return f;

    std::optional<Progress> progress;
    ProgressFn fn;
    if (options.show_progress) {
        progress.emplace("verifying " + member, f.size);
        fn = progress->callback();
    }
    auto digest = bundle.member_sha256(member, options.show_progress ? &fn : nullptr);
    if (progress) progress->finish();
    if (!digest) return std::move(digest).error();
    if (*digest != sha256) {
        return make_error(ErrorCode::DigestMismatch, where(bundle, member) + " has SHA-256 " + *digest +
                                                         " but the manifest says " + sha256 +
                                                         "; the file is damaged or the manifest is stale, rebuild the bundle.");
    }
    f.digest_checked = true;
    return f;
}

}  // namespace

Result<VerifiedBundle> verify_bundle(const Bundle& bundle, const VerifyOptions& options)
{
    VerifiedBundle v;
    v.bundle = bundle.path();
    v.archive = bundle.is_archive();

    const std::string manifest_origin = where(bundle, kManifestFileName);
    auto text = bundle.read_text(kManifestFileName, kMaxXmlBytes);
    if (!text) return std::move(text).error();
    auto manifest = parse_manifest(*text, manifest_origin, template_dir() / "appliance.rng");
    if (!manifest) return std::move(manifest).error();
    v.manifest = std::move(*manifest);
    const auto& m = v.manifest;

    // The image header first: cheap, and it refuses unsafe images before any long hashing.
    auto head = bundle.read_head(m.image.path, kImageCheckPrefixBytes);
    if (!head) return std::move(head).error();
    auto size = bundle.member_size(m.image.path);
    if (!size) return std::move(size).error();
    auto facts = check_image_prefix(std::as_bytes(std::span(head->data(), head->size())), *size, m.image.format,
                                    where(bundle, m.image.path));
    if (!facts) return std::move(facts).error();
    v.image = std::move(*facts);
    if (v.image.virtual_size != m.image.virtual_size) {
        return make_error(ErrorCode::BadManifest, manifest_origin + ": base/image/virtual-size is " +
                                                      std::to_string(m.image.virtual_size) + " bytes but " +
                                                      where(bundle, m.image.path) + " has a virtual size of " +
                                                      std::to_string(v.image.virtual_size) +
                                                      " bytes; set <virtual-size> to the image's size.");
    }

    auto image_file = verify_member(bundle, m.image.path, m.image.sha256, m.image.file_size, options);
    if (!image_file) return std::move(image_file).error();
    v.image_file = std::move(*image_file);
    if (m.kernel) {
        auto k = verify_member(bundle, m.kernel->path, m.kernel->sha256, std::nullopt, options);
        if (!k) return std::move(k).error();
        v.kernel = std::move(*k);
    }
    if (m.initrd) {
        auto i = verify_member(bundle, m.initrd->path, m.initrd->sha256, std::nullopt, options);
        if (!i) return std::move(i).error();
        v.initrd = std::move(*i);
    }
    if (m.user_data) {
        auto u = verify_member(bundle, m.user_data->path, m.user_data->sha256, std::nullopt, options);
        if (!u) return std::move(u).error();
        v.user_data = std::move(*u);
    }
    return v;
}

std::string bundle_summary(const VerifiedBundle& v)
{
    const auto& m = v.manifest;
    std::ostringstream out;
    const auto digest_note = [](const VerifiedFile& f) {
        return f.digest_checked ? std::string("verified") : std::string("already verified in the shared store");
    };
    out << "appliance    " << m.name << " " << m.version << " (" << m.arch << ")\n";
    if (!m.description.empty()) out << "description  " << m.description << "\n";
    out << "resources    " << format_size(m.memory_bytes) << " memory, " << m.vcpus << (m.vcpus == 1 ? " vCPU" : " vCPUs") << "\n";
    out << "base         " << v.image_file.path << ": " << v.image.format;
    if (v.image.qcow2) out << " v" << v.image.qcow2->version;
    out << ", virtual " << format_size(v.image.virtual_size) << ", file " << format_size(v.image_file.size) << "\n";
    out << "             sha256 " << v.image_file.sha256 << " (" << digest_note(v.image_file) << ")\n";
    if (v.kernel) out << "kernel       " << v.kernel->path << " (" << format_size(v.kernel->size) << ", " << digest_note(*v.kernel) << ")\n";
    if (v.initrd) out << "initrd       " << v.initrd->path << " (" << format_size(v.initrd->size) << ", " << digest_note(*v.initrd) << ")\n";
    if (m.cmdline) out << "cmdline      " << *m.cmdline << "\n";
    if (v.user_data) out << "cloud-init   user-data " << v.user_data->path << " (" << format_size(v.user_data->size) << ", " << digest_note(*v.user_data) << ")\n";
    for (const auto& f : m.source_files) out << "source       file " << f << "\n";
    for (const auto& u : m.source_urls) out << "source       url " << u << "\n";
    out << "context      overlay of " << format_size(m.overlay_size) << " per instance\n";
    out << "devices      network " << m.network.type << (m.network.name.empty() ? "" : " (" + m.network.name + ")")
        << ", console " << m.console << "\n";
    out << "bundle " << v.bundle.string() << " is valid\n";
    return out.str();
}

nlohmann::json bundle_summary_json(const VerifiedBundle& v)
{
    const auto& m = v.manifest;
    const auto file_json = [](const VerifiedFile& f) {
        return nlohmann::json{{"path", f.path}, {"sha256", f.sha256}, {"size", f.size}, {"digest_checked", f.digest_checked}};
    };
    nlohmann::json j{
        {"bundle", v.bundle.string()},
        {"archive", v.archive},
        {"valid", true},
        {"name", m.name},
        {"version", m.version},
        {"description", m.description},
        {"arch", m.arch},
        {"memory_bytes", m.memory_bytes},
        {"vcpus", m.vcpus},
        {"base", file_json(v.image_file)},
        {"overlay_size", m.overlay_size},
        {"network", {{"type", m.network.type}, {"name", m.network.name}}},
        {"console", m.console},
        {"sources", {{"files", m.source_files}, {"urls", m.source_urls}}},
    };
    j["base"]["format"] = v.image.format;
    j["base"]["virtual_size"] = v.image.virtual_size;
    if (v.image.qcow2) j["base"]["qcow2_version"] = v.image.qcow2->version;
    if (v.kernel) j["kernel"] = file_json(*v.kernel);
    if (v.initrd) j["initrd"] = file_json(*v.initrd);
    if (m.cmdline) j["cmdline"] = *m.cmdline;
    if (v.user_data) j["user_data"] = file_json(*v.user_data);
    return j;
}

}  // namespace appshare
