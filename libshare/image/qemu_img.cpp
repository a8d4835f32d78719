#include "image/qemu_img.hpp"

#include "base/process.hpp"
#include "base/text.hpp"

#include <string>

namespace appshare {
namespace {

Result<void> run_qemu_img(const std::vector<std::string>& argv, const std::string& what)
{
    auto out = run_program(argv);
    if (!out) return std::move(out).error();
    if (out->status != 0) {
        std::string text{trim(out->output)};
        if (const auto nl = text.rfind('\n'); nl != std::string::npos) text = text.substr(nl + 1);
        return make_error(ErrorCode::Io, what + " failed: " + printable(text) + "; check free space and permissions there.");
    }
    return ok();
}

}  // namespace

Result<void> qemu_img_rebase_unsafe(const std::filesystem::path& overlay, const std::filesystem::path& backing,
                                    std::string_view backing_format)
{
    return run_qemu_img({"qemu-img", "rebase", "-q", "-f", "qcow2", "-u", "-F", std::string(backing_format), "-b",
                         backing.string(), overlay.string()},
                        "re-pointing " + overlay.string() + " at " + backing.string());
}

}  // namespace appshare
