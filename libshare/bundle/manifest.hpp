// The appliance bundle manifest (appliance.xml, format v1): parsing and path rules.
//
// The format is defined by xml-templates/appliance.rng; parse_manifest validates against it
// and also checks what the schema cannot say (overflow after units, memory >= 1 MiB,
// sizes > 0, vcpus 1..4096, bundle path rules, absolute normalised source paths, http(s)
// URLs without credentials, overlay size >= base virtual size).
#pragma once

#include "base/result.hpp"

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace appshare {

// A file shipped in the bundle: its path relative to the bundle root (as written in the
// manifest) and its SHA-256 (lowercase hex).
struct ManifestFile {
    std::string path;
    std::string sha256;
};

struct Manifest {
    std::string name;         // [A-Za-z0-9][A-Za-z0-9._-]{0,62}
    std::string version;      // [A-Za-z0-9][A-Za-z0-9.+~_-]{0,63}
    std::string description;  // surrounding whitespace trimmed; may be empty
    std::string arch;         // x86_64 | aarch64 | i686 | ppc64le | s390x
    std::uint64_t memory_bytes = 0;  // >= 1 MiB
    unsigned vcpus = 0;              // 1..4096

    struct Image {
        std::string path;    // relative to the bundle root
        std::string format;  // "qcow2" | "raw"
        std::string sha256;  // lowercase hex
        std::uint64_t virtual_size = 0;         // bytes, > 0
        std::optional<std::uint64_t> file_size;  // bytes, > 0, from <size>
    } image;

    std::optional<ManifestFile> kernel, initrd;  // initrd only with a kernel
    std::optional<std::string> cmdline;          // trimmed

    std::vector<std::string> source_files;  // absolute, normalised host paths, document order
    std::vector<std::string> source_urls;   // http(s), no credentials, document order

    std::uint64_t overlay_size = 0;  // bytes; defaults to image.virtual_size, never smaller

    struct Network {
        std::string type = "user";  // "user" | "network" | "none"
        std::string name;           // libvirt network name when type == "network", else empty
    } network;

    std::string console = "serial";  // "serial" | "none"

    // <cloud-init><user-data path="..."><sha256>...</sha256></user-data></cloud-init>: the
    // appliance's default cloud-init user-data, a file in the bundle verified like the boot files.
    std::optional<ManifestFile> user_data;
};

// Parses and validates manifest `text`; `origin` names it in messages (e.g.
// "bundle.tar.gz:appliance.xml"); `schema` is the RelaxNG file (template_dir() /
// "appliance.rng"). Errors: ErrorCode::UnsafePath for a path that breaks the path rules,
// ErrorCode::BadManifest for everything else in the manifest (each message names the origin,
// the line, the field such as `base/image/@path` or `memory`, and what to do); Io/Internal
// only if the schema itself cannot be loaded.
[[nodiscard]] Result<Manifest> parse_manifest(std::string_view text, std::string_view origin,
                                              const std::filesystem::path& schema);

// The bundle path rules (bundle/bundle_path.hpp, EmptyComponents::Refuse) for a path the
// manifest gives. Fails with ErrorCode::UnsafePath, the message naming `origin` and `field`.
[[nodiscard]] Result<void> check_bundle_relative_path(std::string_view path, std::string_view origin,
                                                      std::string_view field);

// Rules for a host path in <sources><file path=...>: absolute, normalised (no empty, "." or
// ".." components, no trailing '/'), no NUL or backslash, not "/" itself. Fails with
// ErrorCode::UnsafePath.
[[nodiscard]] Result<void> check_source_file_path(std::string_view path, std::string_view origin,
                                                  std::string_view field);

// Rules for a <sources><url href=...>: scheme http or https (any case), a non-empty host, no
// user information ("user:pass@"), no whitespace or control characters. Fails with
// ErrorCode::BadManifest; the message never repeats credentials.
[[nodiscard]] Result<void> check_source_url(std::string_view url, std::string_view origin, std::string_view field);

}  // namespace appshare
