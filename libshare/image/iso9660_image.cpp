#include "image/iso9660_image.hpp"

#include "base/error.hpp"

// struct burn_source (libburn's) is declared by libisofs itself without libburn.
#define LIBISOFS_WITHOUT_LIBBURN yes
#include <libisofs/libisofs.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>

namespace appshare {
namespace {

constexpr std::time_t kFixedTime = 1704067200;

struct ImageUnref {
    void operator()(IsoImage* i) const noexcept { iso_image_unref(i); }
};
struct OptsFree {
    void operator()(IsoWriteOpts* o) const noexcept { iso_write_opts_free(o); }
};
struct SourceFree {
    void operator()(burn_source* s) const noexcept
    {
        s->free_data(s);
        std::free(s);
    }
};

// libisofs keeps process-wide state: initialised once, its messages kept off stderr (its
// errors come back as return values, which are turned into appshare errors here).
bool init_libisofs()
{
    static std::once_flag once;
    static int status = 0;
    std::call_once(once, [] {
        status = iso_init();
        if (status >= 0) {
            char never[] = "NEVER";
            char prefix[] = "libisofs";
            (void)iso_set_msgs_severities(never, never, prefix);
        }
    });
    return status >= 0;
}

Error libisofs_error(std::string_view what, int code)
{
    return make_error(ErrorCode::Internal, "libisofs could not " + std::string(what) + " (" +
                                               (iso_error_to_msg(code) ? iso_error_to_msg(code) : "unknown error") +
                                               "); check free memory and report this if it persists.");
}

bool plain(std::string_view s, bool dots)
{
    if (s.empty()) return false;
    for (char c : s) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                        (dots && (c == '.' || c == '-'));
        if (!ok) return false;
    }
    return s != "." && s != "..";
}

}  // namespace

Result<std::string> make_iso9660_image(std::string_view volume_id, const std::vector<IsoMember>& files)
{
    if (volume_id.size() > 32 || !plain(volume_id, false)) {
        return make_error(ErrorCode::Usage, "the ISO 9660 volume id '" + std::string(volume_id) +
                                                "' is not 1 to 32 letters, digits or '_'; choose another.");
    }
    for (const auto& f : files) {
        if (f.name.size() > 64 || !plain(f.name, true)) {
            return make_error(ErrorCode::Usage, "the ISO 9660 file name '" + f.name +
                                                    "' is not 1 to 64 letters, digits, '.', '_' or '-'; choose another.");
        }
    }
    if (!init_libisofs()) return make_error(ErrorCode::Internal, "libisofs could not be initialised; check free memory.");

    IsoImage* raw_image = nullptr;
    const std::string vid(volume_id);
    if (int r = iso_image_new(vid.c_str(), &raw_image); r < 0) return libisofs_error("create an image", r);
    const std::unique_ptr<IsoImage, ImageUnref> image(raw_image);
    IsoDir* root = iso_image_get_root(image.get());
    for (const auto& f : files) {
        // The stream owns (and free()s) its buffer.
        auto* buf = static_cast<unsigned char*>(std::malloc(f.content.empty() ? 1 : f.content.size()));
        if (buf == nullptr) return make_error(ErrorCode::Internal, "out of memory while making an ISO 9660 image.");
        std::memcpy(buf, f.content.data(), f.content.size());
        IsoStream* stream = nullptr;
        if (int r = iso_memory_stream_new(buf, f.content.size(), &stream); r < 0) {
            std::free(buf);
            return libisofs_error("hold the file " + f.name, r);
        }
        ::IsoFile* node = nullptr;
        // On success the new file takes over the stream's reference.
        if (int r = iso_image_add_new_file(image.get(), root, f.name.c_str(), stream, &node); r < 0) {
            iso_stream_unref(stream);
            return libisofs_error("add the file " + f.name, r);
        }
        iso_node_set_permissions(reinterpret_cast<IsoNode*>(node), 0444);
        iso_node_set_uid(reinterpret_cast<IsoNode*>(node), 0);
        iso_node_set_gid(reinterpret_cast<IsoNode*>(node), 0);
    }

    IsoWriteOpts* raw_opts = nullptr;
    if (int r = iso_write_opts_new(&raw_opts, 0); r < 0) return libisofs_error("set up writing", r);
    const std::unique_ptr<IsoWriteOpts, OptsFree> opts(raw_opts);
    iso_write_opts_set_rockridge(opts.get(), 1);
    iso_write_opts_set_joliet(opts.get(), 1);
    iso_write_opts_set_always_gmt(opts.get(), 1);
    // The volume id exactly as given (lower case "cidata", as genisoimage -V writes it and
    // blkid reports it), not folded to ISO 9660's upper-case d-characters.
    iso_write_opts_set_relaxed_vol_atts(opts.get(), 1);
    iso_write_opts_set_replace_timestamps(opts.get(), 2);
    // Fixed times (2024-01-01 00:00 UTC), so the same files give the same bytes.
    iso_write_opts_set_default_timestamp(opts.get(), kFixedTime);
    char volume_time[] = "2024010100000000";
    iso_write_opts_set_pvd_times(opts.get(), kFixedTime, kFixedTime, 0, 0, volume_time);
    iso_write_opts_set_dir_rec_mtime(opts.get(), 0);

    burn_source* raw_source = nullptr;
    if (int r = iso_image_create_burn_source(image.get(), opts.get(), &raw_source); r < 0) {
        return libisofs_error("lay out the image", r);
    }
    const std::unique_ptr<burn_source, SourceFree> source(raw_source);
    std::string out;
    unsigned char block[2048];
    for (;;) {
        const int n = source->read_xt(source.get(), block, sizeof block);
        if (n < 0) return libisofs_error("write the image", n);
        if (n == 0) break;
        out.append(reinterpret_cast<const char*>(block), static_cast<std::size_t>(n));
        if (n < static_cast<int>(sizeof block)) break;
    }
    return out;
}

}  // namespace appshare
