#include "bundle/bundle_writer.hpp"

#include "bundle/bundle_archive_writer.hpp"
#include "bundle/manifest_writer.hpp"
#include "bundle/staging_folder.hpp"
#include "image/backing_chain.hpp"
#include "base/atomic_file.hpp"
#include "base/byte_stream.hpp"
#include "base/installed_files.hpp"
#include "base/interrupt.hpp"
#include "base/progress.hpp"
#include "base/sha256.hpp"
#include "base/write_all.hpp"

#include <fcntl.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <system_error>

namespace appshare {
namespace {

constexpr const char* kImageMember = "images/base.qcow2";
constexpr const char* kKernelMember = "boot/vmlinuz";
constexpr const char* kInitrdMember = "boot/initrd.img";
constexpr const char* kUserDataMember = "cloud-init/user-data";

Error io_error(const std::string& what, const std::filesystem::path& p, int err, const std::string& advice)
{
    return make_error(ErrorCode::Io, "cannot " + what + " " + p.string() + ": " + std::strerror(err) + "; " + advice);
}

Error interrupted_error(const std::filesystem::path& output)
{
    return make_error(ErrorCode::Interrupted, "making the bundle " + output.string() +
                                                  " was interrupted; nothing was kept, run it again.");
}

struct Copied {
    std::string sha256;
    std::uint64_t size = 0;
};

// Copies the regular file `from` to the new file `to` (0644), hashing in the same pass.
Result<Copied> copy_hashing(const std::filesystem::path& from, const std::filesystem::path& to, const std::string& label,
                            bool show_progress, const std::filesystem::path& output)
{
    UniqueFd in(::open(from.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK));
    if (!in.valid()) return io_error("open", from, errno, "check the path and that it is readable.");
    struct stat st {};
    if (::fstat(in.get(), &st) != 0) return io_error("examine", from, errno, "check the path.");
    if (!S_ISREG(st.st_mode)) {
        return make_error(ErrorCode::Io, from.string() + " is not a regular file; give the path of a file.");
    }
    UniqueFd out(::open(to.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!out.valid()) return io_error("create", to, errno, "check free space and permissions in the output's folder.");
    Sha256 hash;
    Copied copied;
    std::optional<Progress> progress;
    if (show_progress) progress.emplace(label, static_cast<std::uint64_t>(st.st_size));
    auto streamed = stream_fd(
        in.get(),
        [&](std::span<const std::byte> chunk) -> Result<void> {
            if (interrupted()) return interrupted_error(output);
            if (const int err = write_all(out.get(), chunk.data(), chunk.size()); err != 0) {
                return io_error("write", to, err, "check free space in the output's folder.");
            }
            hash.update(chunk);
            copied.size += chunk.size();
            if (progress) progress->advance(chunk.size());
            return ok();
        },
        [&](int err) { return io_error("read", from, err, "check the file and retry."); });
    if (!streamed) return std::move(streamed).error();
    if (::fsync(out.get()) != 0) return io_error("write", to, errno, "check free space in the output's folder.");
    copied.sha256 = hash.hex_digest();
    return copied;
}

Result<void> make_folder(const std::filesystem::path& dir)
{
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
        return io_error("create the folder", dir, errno, "check free space and permissions in the output's folder.");
    }
    return ok();
}

// The manifest as the content gives it, with the image's facts and the bundle's member names;
// digests are placeholders until the files are written.
Manifest planned_manifest(const BundleContent& content, const ChainLevel& top)
{
    Manifest m = content.manifest;
    const std::string placeholder(64, '0');
    m.image = Manifest::Image{kImageMember, "qcow2", placeholder, top.facts.virtual_size, std::nullopt};
    if (m.overlay_size == 0) m.overlay_size = m.image.virtual_size;
    m.kernel.reset();
    m.initrd.reset();
    m.user_data.reset();
    if (content.kernel) m.kernel = ManifestFile{kKernelMember, placeholder};
    if (content.initrd) m.initrd = ManifestFile{kInitrdMember, placeholder};
    if (content.user_data) m.user_data = ManifestFile{kUserDataMember, placeholder};
    if (!content.kernel) m.cmdline.reset();
    return m;
}

// The base image in `stage`: a self-contained qcow2 copied as it is, anything else flattened.
Result<Copied> stage_image(const std::vector<ChainLevel>& chain, const std::filesystem::path& stage,
                           bool show_progress, const std::filesystem::path& output)
{
    const auto target = stage / kImageMember;
    if (chain.size() == 1 && chain.front().format == "qcow2") {
        return copy_hashing(chain.front().file, target, "copying " + chain.front().file.filename().string(),
                            show_progress, output);
    }
    // qemu-img's own progress goes to its captured output; a line says what is going on meanwhile.
    const bool on_terminal = show_progress && Progress("", 0).enabled();
    if (on_terminal) {
        std::fprintf(stderr, "flattening %s (%zu level%s) with qemu-img...", chain.front().file.filename().c_str(),
                     chain.size(), chain.size() == 1 ? "" : "s");
    }
    auto flat = flatten_chain(chain, target);
    if (on_terminal) std::fprintf(stderr, "\r\033[K");
    if (!flat) return std::move(flat).error();
    std::optional<Progress> progress;
    ProgressFn fn;
    if (show_progress) {
        progress.emplace("hashing " + std::string(kImageMember), std::filesystem::file_size(target));
        fn = progress->callback();
    }
    auto digest = sha256_file(target, show_progress ? &fn : nullptr);
    if (progress) progress->finish();
    if (!digest) return std::move(digest).error();
    return Copied{*digest, std::filesystem::file_size(target)};
}

// Publishes the finished staging folder (or an archive written from it) at `output`.
Result<VerifiedBundle> publish(StagingFolder& stage, const std::vector<std::string>& members,
                               const std::filesystem::path& output, bool show_progress)
{
    const VerifyOptions verify_options{{}, show_progress};
    if (!is_archive_name(output)) {
        auto bundle = Bundle::open(stage.path());
        if (!bundle) return std::move(bundle).error();
        auto verified = verify_bundle(*bundle, verify_options);
        if (!verified) return std::move(verified).error();
        if (::chmod(stage.path().c_str(), 0755) != 0) return io_error("set the mode of", stage.path(), errno, "retry.");
        if (::renameat2(AT_FDCWD, stage.path().c_str(), AT_FDCWD, output.c_str(), RENAME_NOREPLACE) != 0) {
            if (errno == EEXIST || errno == ENOTEMPTY) {
                return make_error(ErrorCode::AlreadyExists, output.string() +
                                                                " appeared while the bundle was being made; remove it or "
                                                                "choose another output.");
            }
            return io_error("rename the finished bundle to", output, errno, "check the output's folder.");
        }
        stage.release();
        if (auto r = fsync_dir(output.parent_path().empty() ? "." : output.parent_path()); !r) return std::move(r).error();
        verified->bundle = output;
        return verified;
    }
    auto temp = TempFile::create_beside(std::filesystem::absolute(output));
    if (!temp) return std::move(temp).error();
    if (auto r = write_bundle_archive(stage.path(), members, temp->fd(), output, show_progress); !r) {
        return std::move(r).error();
    }
    if (::fsync(temp->fd()) != 0) return io_error("write", temp->path(), errno, "check free space in its folder.");
    auto bundle = Bundle::open(temp->path());
    if (!bundle) return std::move(bundle).error();
    auto verified = verify_bundle(*bundle, verify_options);
    if (!verified) return std::move(verified).error();
    if (auto r = temp->commit_no_replace(0644); !r) return std::move(r).error();
    verified->bundle = output;
    verified->archive = true;
    return verified;
}

}  // namespace

bool is_archive_name(const std::filesystem::path& output)
{
    const std::string name = output.filename().string();
    for (const std::string_view tail : {".tar", ".tar.gz", ".tgz", ".tar.xz", ".txz"}) {
        if (name.size() > tail.size() && name.compare(name.size() - tail.size(), tail.size(), tail) == 0) return true;
    }
    return false;
}

Result<VerifiedBundle> write_bundle(const BundleContent& content, const std::filesystem::path& output,
                                    bool show_progress)
{
    std::error_code ec;
    if (std::filesystem::symlink_status(output, ec).type() != std::filesystem::file_type::not_found) {
        return make_error(ErrorCode::AlreadyExists,
                          output.string() + " already exists; remove it or choose another output.");
    }
    if (content.initrd && !content.kernel) {
        return make_error(ErrorCode::Usage, "an initrd needs a kernel to boot with; give the kernel too.");
    }
    auto chain = inspect_backing_chain(content.image, content.image_format);
    if (!chain) return std::move(chain).error();

    // Every field is checked before anything is copied, by the parser that reads it back.
    const std::string origin = output.string() + " (manifest to be written)";
    const auto schema = template_dir() / "appliance.rng";
    Manifest m = planned_manifest(content, chain->front());
    if (auto r = parse_manifest(render_manifest(m), origin, schema); !r) return std::move(r).error();

    auto stage = StagingFolder::create_beside(output);
    if (!stage) return std::move(stage).error();
    const auto& dir = stage->path();
    std::vector<std::string> members{std::string(kManifestFileName)};
    if (auto r = make_folder(dir / "images"); !r) return std::move(r).error();
    auto image = stage_image(*chain, dir, show_progress, output);
    if (!image) return std::move(image).error();
    m.image.sha256 = image->sha256;
    m.image.file_size = image->size;

    const auto stage_file = [&](const std::filesystem::path& from, const char* member,
                                std::optional<ManifestFile>& entry) -> Result<void> {
        if (auto r = make_folder((dir / member).parent_path()); !r) return r;
        auto copied = copy_hashing(from, dir / member, std::string("copying ") + member, show_progress, output);
        if (!copied) return std::move(copied).error();
        entry = ManifestFile{member, copied->sha256};
        members.emplace_back(member);
        return ok();
    };
    if (content.kernel) {
        if (auto r = stage_file(*content.kernel, kKernelMember, m.kernel); !r) return std::move(r).error();
    }
    if (content.initrd) {
        if (auto r = stage_file(*content.initrd, kInitrdMember, m.initrd); !r) return std::move(r).error();
    }
    if (content.user_data) {
        if (auto r = stage_file(*content.user_data, kUserDataMember, m.user_data); !r) return std::move(r).error();
    }
    members.emplace_back(kImageMember);  // last in an archive: the small members are found first
    if (interrupted()) return interrupted_error(output);

    UniqueFd manifest(::open((dir / kManifestFileName).c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
    if (!manifest.valid()) return io_error("create", dir / kManifestFileName, errno, "check free space.");
    if (const int err = write_all(manifest.get(), render_manifest(m)); err != 0 || ::fsync(manifest.get()) != 0) {
        return io_error("write", dir / kManifestFileName, err != 0 ? err : errno, "check free space.");
    }
    return publish(*stage, members, output, show_progress);
}

}  // namespace appshare
