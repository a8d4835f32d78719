#include "image/image_check.hpp"

#include "base/text.hpp"

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstring>

namespace appshare {
namespace {

struct Magic {
    std::size_t offset;
    std::string_view bytes;
    std::string_view format;
};

using namespace std::string_view_literals;

// Leading signatures of disk image formats QEMU can open. qcow and qcow2 share a magic and are
// told apart by the version field below.
constexpr std::array kMagics{
    Magic{0, "QFI\xfb"sv, "qcow2"sv},
    Magic{0, "QED\0"sv, "QED"sv},
    Magic{0, "KDMV"sv, "VMDK"sv},
    Magic{0, "COWD"sv, "VMDK"sv},
    Magic{0, "# Disk DescriptorFile"sv, "VMDK"sv},
    Magic{0x40, "\x7f\x10\xda\xbe"sv, "VDI"sv},
    Magic{0, "vhdxfile"sv, "VHDX"sv},
    Magic{0, "conectix"sv, "VHD"sv},
    Magic{0, "LUKS\xba\xbe"sv, "LUKS"sv},
    Magic{0, "WithoutFreeSpace"sv, "Parallels"sv},
    Magic{0, "WithouFreSpacExt"sv, "Parallels"sv},
    Magic{0, "Bochs Virtual HD Image"sv, "Bochs"sv},
};

bool has_bytes_at(std::span<const std::byte> prefix, std::size_t offset, std::string_view bytes)
{
    if (offset > prefix.size() || bytes.size() > prefix.size() - offset) return false;
    return std::memcmp(prefix.data() + offset, bytes.data(), bytes.size()) == 0;
}

Error refuse(std::string_view origin, const std::string& what)
{
    return make_error(ErrorCode::UnsafeImage, std::string(origin) + " " + what);
}

std::string hex64(std::uint64_t v)
{
    char buf[24];
    std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
    return buf;
}

constexpr std::string_view kFlatten =
    "a shared base must be self-contained: flatten it with 'qemu-img convert -O qcow2 IMAGE NEW.qcow2' "
    "and update the manifest.";

Result<ImageFacts> check_qcow2(std::span<const std::byte> prefix, std::uint64_t file_size, std::string_view origin,
                               BackingFile backing)
{
    if (file_size >= 4 && !has_bytes_at(prefix, 0, "QFI\xfb"sv)) {
        if (auto other = detect_image_magic(prefix)) {
            return refuse(origin, "is a " + *other +
                                      " image, but the manifest declares format qcow2; convert it with "
                                      "'qemu-img convert -O qcow2' and update the manifest.");
        }
        return refuse(origin, "has no qcow2 header (it looks like raw data), but the manifest declares "
                              "format qcow2; set format=\"raw\" in the manifest if it is a raw disk image, "
                              "or convert it with 'qemu-img convert -O qcow2'.");
    }
    auto parsed = parse_qcow2_header(prefix, file_size, origin);
    if (!parsed) return std::move(parsed).error();
    const Qcow2Header& h = *parsed;

    if (h.backing_file && backing == BackingFile::Refuse) {
        std::string what = h.backing_file->empty()
                               ? std::string("has its own backing file")
                               : "has its own backing file '" + printable(*h.backing_file) + "'";
        if (h.backing_format) what += " (format '" + printable(*h.backing_format) + "')";
        return refuse(origin, what + "; " + std::string(kFlatten));
    }
    if (h.external_data_file || h.data_file) {
        std::string what = h.data_file && !h.data_file->empty()
                               ? "uses the external data file '" + printable(*h.data_file) + "'"
                               : std::string("uses an external data file");
        return refuse(origin, what + "; a shared base must be self-contained: copy it into a single file "
                                     "with 'qemu-img convert -O qcow2 IMAGE NEW.qcow2' and update the manifest.");
    }
    if (h.crypt_method != 0) {
        const char* method = h.crypt_method == 1 ? "AES" : "LUKS";
        return refuse(origin, std::string("is encrypted (") + method +
                                  "), and a shared base must be readable by every instance without a key: "
                                  "decrypt it with 'qemu-img convert -O qcow2' and update the manifest.");
    }
    const std::uint64_t unknown = h.incompatible_features & ~kQcow2IncompatKnown;
    if (unknown != 0) {
        return refuse(origin, "uses qcow2 features appshare does not know (incompatible feature bits " +
                                  hex64(unknown) + "); convert it with this host's 'qemu-img convert -O qcow2' "
                                                   "and update the manifest.");
    }
    if ((h.incompatible_features & kQcow2IncompatCorrupt) != 0) {
        return refuse(origin, "is marked corrupt by QEMU; repair it with 'qemu-img check -r all IMAGE' "
                              "(or rebuild it) and update the manifest.");
    }
    if ((h.incompatible_features & kQcow2IncompatDirty) != 0) {
        return refuse(origin, "was not closed cleanly (its dirty bit is set), so its metadata may be "
                              "inconsistent; repair it with 'qemu-img check -r all IMAGE' and update the manifest.");
    }
    if (h.compression_type > 1) {
        return refuse(origin, "uses compression type " + std::to_string(h.compression_type) +
                                  ", which appshare does not know (only zlib and zstd); convert it with "
                                  "'qemu-img convert -O qcow2' and update the manifest.");
    }

    ImageFacts facts;
    facts.format = "qcow2";
    facts.virtual_size = h.virtual_size;
    facts.file_size = file_size;
    facts.qcow2 = std::move(parsed).value();
    return facts;
}

Result<ImageFacts> check_raw(std::span<const std::byte> prefix, std::uint64_t file_size, std::string_view origin)
{
    if (file_size == 0) {
        return refuse(origin, "is empty, so it cannot be a raw disk image; fetch or copy the image again.");
    }
    if (auto other = detect_image_magic(prefix)) {
        if (*other == "qcow2") {
            return refuse(origin, "is a qcow2 image, but the manifest declares format raw; set "
                                  "format=\"qcow2\" in the manifest so its header is checked.");
        }
        return refuse(origin, "is a " + *other +
                                  " image, but the manifest declares format raw; convert it with "
                                  "'qemu-img convert -O qcow2' and update the manifest.");
    }
    ImageFacts facts;
    facts.format = "raw";
    facts.virtual_size = file_size;
    facts.file_size = file_size;
    return facts;
}

}  // namespace

std::optional<std::string> detect_image_magic(std::span<const std::byte> prefix)
{
    for (const Magic& m : kMagics) {
        if (!has_bytes_at(prefix, m.offset, m.bytes)) continue;
        if (m.format == "qcow2" && has_bytes_at(prefix, 4, "\0\0\0\1"sv)) return std::string("qcow");
        return std::string(m.format);
    }
    return std::nullopt;
}

Result<ImageFacts> check_image_prefix(std::span<const std::byte> prefix, std::uint64_t file_size,
                                      std::string_view declared_format, std::string_view origin, BackingFile backing)
{
    if (declared_format != "qcow2" && declared_format != "raw") {
        return make_error(ErrorCode::BadManifest,
                          std::string(origin) + " is declared as format '" + printable(declared_format) +
                              "', but appshare accepts only 'qcow2' and 'raw'; convert the image with "
                              "'qemu-img convert -O qcow2' and set format=\"qcow2\" in the manifest.");
    }
    const std::uint64_t needed = std::min<std::uint64_t>(kImageCheckPrefixBytes, file_size);
    if (prefix.size() < needed) {
        return make_error(ErrorCode::Internal, "only " + std::to_string(prefix.size()) + " bytes of " +
                                                   std::string(origin) + " were given to the image check, which needs " +
                                                   std::to_string(needed) + "; this is a bug in appshare, please report it.");
    }
    const auto bytes = prefix.first(static_cast<std::size_t>(needed));
    if (declared_format == "qcow2") return check_qcow2(bytes, file_size, origin, backing);
    return check_raw(bytes, file_size, origin);
}

Result<ImageFacts> check_image_file(const std::filesystem::path& file, std::string_view declared_format,
                                    BackingFile backing)
{
    auto prefix = read_file_prefix(file, kImageCheckPrefixBytes);
    if (!prefix) return std::move(prefix).error();
    return check_image_prefix(prefix->bytes, prefix->file_size, declared_format, file.string(), backing);
}

Result<ImageFacts> check_image_fd(int fd, std::string_view declared_format, std::string_view origin)
{
    auto prefix = read_fd_prefix(fd, kImageCheckPrefixBytes, origin);
    if (!prefix) return std::move(prefix).error();
    return check_image_prefix(prefix->bytes, prefix->file_size, declared_format, origin);
}

}  // namespace appshare
