#include "bundle/ovf_import.hpp"

#include "bundle/bundle.hpp"
#include "bundle/manifest.hpp"
#include "bundle/ovf_envelope.hpp"
#include "bundle/staging_folder.hpp"
#include "image/backing_chain.hpp"
#include "base/interrupt.hpp"
#include "base/sha256.hpp"
#include "base/text.hpp"
#include "base/write_all.hpp"
#include "xml/xml_document.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>

namespace appshare {
namespace {

constexpr std::size_t kMaxMfBytes = 64 * 1024;

bool ends_with(const std::string& s, std::string_view tail)
{
    return s.size() >= tail.size() && s.compare(s.size() - tail.size(), tail.size(), tail) == 0;
}

// The package and the names of its envelope and .mf in it.
struct Package {
    Bundle files;
    std::string ovf;
    std::optional<std::string> mf;
};

Result<Package> open_ovf_package(const std::filesystem::path& path)
{
    const std::string name = path.filename().string();
    if (ends_with(name, ".ovf")) {
        auto folder = Bundle::open_package(path.parent_path().empty() ? "." : path.parent_path());
        if (!folder) return std::move(folder).error();
        Package p{std::move(*folder), name, std::nullopt};
        const std::string mf = name.substr(0, name.size() - 4) + ".mf";
        if (p.files.member_size(mf)) p.mf = mf;
        return p;
    }
    auto archive = Bundle::open_package(path);
    if (!archive) return std::move(archive).error();
    if (!archive->is_archive()) {
        return make_error(ErrorCode::BadManifest, path.string() + " is a folder; give the .ovf file in it or an .ova archive.");
    }
    std::vector<std::string> ovfs, mfs;
    for (const auto& f : archive->archive_files()) {
        if (f.find('/') != std::string::npos) continue;
        if (ends_with(f, ".ovf")) ovfs.push_back(f);
        if (ends_with(f, ".mf")) mfs.push_back(f);
    }
    if (ovfs.size() != 1) {
        return make_error(ErrorCode::BadManifest, path.string() + " holds " + std::to_string(ovfs.size()) +
                                                      " .ovf envelopes at its root, and an OVA holds one; is it an OVA?");
    }
    Package p{std::move(*archive), ovfs.front(), std::nullopt};
    if (mfs.size() > 1) {
        return make_error(ErrorCode::BadManifest, path.string() + " holds several .mf manifests; an OVA holds at most one.");
    }
    if (!mfs.empty()) p.mf = mfs.front();
    return p;
}

// Checks `actual` (computed with `algorithm`) against the .mf entry for `file`, if there is one.
Result<void> check_digest(const std::vector<OvfDigest>& digests, const std::string& file, const std::string& algorithm,
                          const std::string& actual, const std::filesystem::path& package)
{
    for (const auto& d : digests) {
        if (d.file != file || d.algorithm != algorithm) continue;
        if (d.hex != actual) {
            return make_error(ErrorCode::DigestMismatch, package.string() + ": " + file + " has " + algorithm + " " +
                                                             actual + " but its .mf says " + d.hex +
                                                             "; the package is damaged or was changed, fetch it again.");
        }
    }
    return ok();
}

std::string algorithm_for(const std::vector<OvfDigest>& digests, const std::string& file)
{
    for (const auto& d : digests) {
        if (d.file == file) return d.algorithm;
    }
    return "SHA256";
}

Sha256 hasher(const std::string& algorithm)
{
    return Sha256(algorithm == "SHA1" ? DigestAlgorithm::Sha1 : DigestAlgorithm::Sha256);
}

// Copies the disk member out to `to`, hashing it with the .mf's algorithm for it.
Result<std::string> copy_disk(const Package& p, const std::string& member, const std::string& algorithm,
                              const std::filesystem::path& to, const std::filesystem::path& package)
{
    UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!out.valid()) {
        const int err = errno;
        return make_error(ErrorCode::Io, "cannot create " + to.string() + ": " + std::strerror(err) +
                                             "; check free space in the output's folder.");
    }
    Sha256 hash = hasher(algorithm);
    auto streamed = p.files.stream(member, [&](std::span<const std::byte> chunk) -> Result<void> {
        if (interrupted()) {
            return make_error(ErrorCode::Interrupted, "importing " + package.string() + " was interrupted; nothing was kept, run it again.");
        }
        if (const int err = write_all(out.get(), chunk.data(), chunk.size()); err != 0) {
            return make_error(ErrorCode::Io, "cannot write " + to.string() + ": " + std::strerror(err) +
                                                 "; check free space in the output's folder.");
        }
        hash.update(chunk);
        return ok();
    });
    if (!streamed) return std::move(streamed).error();
    return hash.hex_digest();
}

// A VMDK that qemu-img may open with nothing but itself: a sparse extent ("KDMV"), not a text
// descriptor that names other files, nor the old COWD format.
Result<void> check_self_contained_vmdk(const std::filesystem::path& file, const std::string& shown)
{
    auto prefix = read_file_prefix(file, 4);
    if (!prefix) return std::move(prefix).error();
    const bool sparse = prefix->bytes.size() == 4 && std::memcmp(prefix->bytes.data(), "KDMV", 4) == 0;
    if (!sparse) {
        return make_error(ErrorCode::UnsafeImage, shown + " is not a self-contained sparse VMDK (monolithicSparse or "
                                                          "streamOptimized); a descriptor VMDK names other files, so export "
                                                          "the disk as one streamOptimized VMDK.");
    }
    return ok();
}

}  // namespace

Result<ImportResult> import_ovf(const ImportRequest& request)
{
    auto package = open_ovf_package(request.package);
    if (!package) return std::move(package).error();
    const std::string origin = request.package.string() + ":" + package->ovf;
    auto envelope_text = package->files.read_text(package->ovf, kMaxXmlBytes);
    if (!envelope_text) return std::move(envelope_text).error();
    auto ovf = parse_ovf_envelope(*envelope_text, origin);
    if (!ovf) return std::move(ovf).error();

    std::vector<OvfDigest> digests;
    if (package->mf) {
        auto mf_text = package->files.read_text(*package->mf, kMaxMfBytes);
        if (!mf_text) return std::move(mf_text).error();
        auto parsed = parse_ovf_digests(*mf_text, request.package.string() + ":" + *package->mf);
        if (!parsed) return std::move(parsed).error();
        digests = std::move(*parsed);
        const std::string algorithm = algorithm_for(digests, package->ovf);
        Sha256 h = hasher(algorithm);
        h.update(*envelope_text);
        if (auto r = check_digest(digests, package->ovf, algorithm, h.hex_digest(), request.package); !r) {
            return std::move(r).error();
        }
    }
    if (auto r = check_bundle_relative_path(ovf->disk.href, origin, "References/File/@href"); !r) return std::move(r).error();

    auto work = StagingFolder::create_beside(request.output);
    if (!work) return std::move(work).error();
    const auto disk = work->path() / ("disk." + ovf->disk.format);
    const std::string algorithm = algorithm_for(digests, ovf->disk.href);
    auto digest = copy_disk(*package, ovf->disk.href, algorithm, disk, request.package);
    if (!digest) return std::move(digest).error();
    if (auto r = check_digest(digests, ovf->disk.href, algorithm, *digest, request.package); !r) {
        return std::move(r).error();
    }

    BundleContent content = request.extra;
    content.image = disk;
    content.image_format = ovf->disk.format;
    if (ovf->disk.format == "vmdk") {
        const std::string shown = request.package.string() + ":" + ovf->disk.href;
        if (auto r = check_self_contained_vmdk(disk, shown); !r) return std::move(r).error();
        const auto converted = work->path() / "disk.qcow2";
        if (auto r = flatten_chain({ChainLevel{disk, "vmdk", {}}}, converted); !r) return std::move(r).error();
        content.image = converted;
        content.image_format = "qcow2";
    } else if (auto facts = check_image_file(disk, ovf->disk.format); !facts) {
        return std::move(facts).error();  // a qcow2 in a package must not name files outside it
    }

    Manifest& m = content.manifest;
    m.name = request.name.value_or(ovf->name);
    m.version = request.version.value_or(ovf->version.empty() ? "1" : ovf->version);
    // The envelope's values where the request gives none; 1 GiB and 1 vCPU where neither does.
    if (m.description.empty()) m.description = ovf->description;
    if (m.arch.empty()) m.arch = "x86_64";
    if (m.memory_bytes == 0) m.memory_bytes = ovf->memory_bytes != 0 ? ovf->memory_bytes : std::uint64_t{1} << 30;
    if (m.vcpus == 0) m.vcpus = ovf->vcpus != 0 ? ovf->vcpus : 1;
    auto written = write_bundle(content, request.output, request.show_progress);
    if (!written) {
        Error e = std::move(written).error();
        if (!request.name && e.code == ErrorCode::BadManifest && e.message.find("name") != std::string::npos) {
            return make_error(ErrorCode::Usage, origin + " names the appliance " + quoted_value(ovf->name) +
                                                    ", which is not an appliance name (letters, digits, '.', '_', '-'); "
                                                    "give one with --name.");
        }
        if (!request.version && e.code == ErrorCode::BadManifest && e.message.find("version") != std::string::npos) {
            return make_error(ErrorCode::Usage, origin + " gives the version " + quoted_value(m.version) +
                                                    ", which is not an appliance version; give one with --version.");
        }
        return e;
    }
    bool disk_listed = false;
    for (const auto& d : digests) disk_listed = disk_listed || d.file == ovf->disk.href;
    return ImportResult{std::move(*written), std::move(ovf->warnings), disk_listed};
}

}  // namespace appshare
