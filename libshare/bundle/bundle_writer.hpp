// Making a bundle from an image: the one mechanism behind `appshare pack`, `capture` and
// `import`. The image's backing chain is judged natively (image/backing_chain.hpp) and, when it
// has more than one level or is raw, flattened into one self-contained qcow2 by qemu-img with
// every format fixed; a self-contained qcow2 is copied as it is. Digests and sizes come from the
// same pass that copies (or, after a flatten, from one read of its result), the manifest from
// bundle/manifest_writer.hpp, and the result is verified as `appshare verify` does before it
// appears at its name: everything is written to a temporary name in the output's folder and
// renamed at the end, so a failure or Ctrl-C leaves nothing half-made.
#pragma once

#include "bundle/bundle_verify.hpp"
#include "bundle/manifest.hpp"
#include "base/result.hpp"

#include <filesystem>
#include <optional>
#include <string>

namespace appshare {

struct BundleContent {
    // Everything but the files: name, version, description, arch, memory, vCPUs, cmdline,
    // sources, overlay size (0: the base's virtual size), network, console. The image, boot
    // and user-data entries (paths, digests, sizes) are filled in by write_bundle.
    Manifest manifest;
    std::filesystem::path image;         // the image to pack: the top of its backing chain
    std::string image_format = "qcow2";  // its format, as declared (never probed): qcow2 | raw
    std::optional<std::filesystem::path> kernel, initrd, user_data;
};

// Whether `output` names a tar archive (.tar, .tar.gz, .tgz, .tar.xz, .txz) rather than a directory.
[[nodiscard]] bool is_archive_name(const std::filesystem::path& output);

// Writes the bundle of `content` at `output` (a directory, or an archive by its name), which
// must not exist yet (AlreadyExists) and whose folder must. Checks the manifest fields before
// copying anything (BadManifest / UnsafePath as parse_manifest says), refuses an unsafe image
// or chain (UnsafeImage), and returns what the verification of the written bundle found, its
// `bundle` being `output`. `show_progress`: progress lines on stderr when it is a terminal.
// Errors: also Io, Interrupted (Ctrl-C / SIGTERM); in every case nothing is left at `output`
// nor beside it.
[[nodiscard]] Result<VerifiedBundle> write_bundle(const BundleContent& content, const std::filesystem::path& output,
                                                  bool show_progress);

}  // namespace appshare
