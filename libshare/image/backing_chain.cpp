#include "image/backing_chain.hpp"

#include "base/process.hpp"
#include "base/text.hpp"

#include <nlohmann/json.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>

#include <algorithm>

namespace appshare {
namespace {

Error refuse(const ChainLevel& level, const std::string& what)
{
    return make_error(ErrorCode::UnsafeImage, level.file.string() + " " + what);
}

// QEMU's path_has_protocol(): a ':' before any '/' makes the name a protocol ("nbd:", "json:").
bool names_protocol(std::string_view name)
{
    const auto stop = name.find_first_of(":/");
    return stop != std::string_view::npos && name[stop] == ':';
}

// The level below `level`, from its header's backing file and backing format.
Result<ChainLevel> backing_level(const ChainLevel& level)
{
    const Qcow2Header& h = *level.facts.qcow2;
    const std::string& name = *h.backing_file;
    if (name.empty()) {
        return refuse(level, "has a backing file name appshare cannot read (it lies beyond the first 64 KiB); "
                             "flatten it yourself with 'qemu-img convert -O qcow2' and pack the result.");
    }
    if (names_protocol(name)) {
        return refuse(level, "has the backing file " + quoted_value(name) +
                                 ", which QEMU reads as a protocol or json: name, not a local file; point it at a "
                                 "local file with 'qemu-img rebase -u -b FILE -F FORMAT' or flatten it yourself.");
    }
    if (!h.backing_format || (*h.backing_format != "qcow2" && *h.backing_format != "raw")) {
        const std::string recorded = h.backing_format ? "records the format " + quoted_value(*h.backing_format)
                                                      : std::string("records no format");
        return refuse(level, "has the backing file " + quoted_value(name) + " but " + recorded +
                                 " for it, so QEMU would have to guess; record it with 'qemu-img rebase -u -b " +
                                 printable(name) + " -F qcow2' (or -F raw) and pack again.");
    }
    ChainLevel below;
    const std::filesystem::path named(name);
    below.file = (named.is_absolute() ? named : level.file.parent_path() / named).lexically_normal();
    below.format = *h.backing_format;
    return below;
}

}  // namespace

Result<std::vector<ChainLevel>> inspect_backing_chain(const std::filesystem::path& top, std::string_view format)
{
    std::vector<ChainLevel> chain;
    ChainLevel level;
    level.file = std::filesystem::absolute(top).lexically_normal();
    level.format = std::string(format);
    std::vector<std::pair<dev_t, ino_t>> seen;
    for (;;) {
        struct stat st {};
        if (::stat(level.file.c_str(), &st) != 0) {
            const int err = errno;
            const std::string who = chain.empty() ? std::string("the image ") + level.file.string()
                                                  : chain.back().file.string() + "'s backing file " + level.file.string();
            return make_error(ErrorCode::Io, who + " cannot be opened (" + std::string(std::strerror(err)) +
                                                 "); check the path and that it is readable.");
        }
        if (std::find(seen.begin(), seen.end(), std::pair{st.st_dev, st.st_ino}) != seen.end()) {
            return refuse(chain.back(), "has a backing chain that loops back to " + level.file.string() +
                                            "; repair the chain with 'qemu-img rebase -u'.");
        }
        seen.emplace_back(st.st_dev, st.st_ino);
        auto facts = check_image_file(level.file, level.format, BackingFile::Allow);
        if (!facts) return std::move(facts).error();
        level.facts = std::move(*facts);
        const bool has_backing = level.facts.qcow2 && level.facts.qcow2->backing_file;
        chain.push_back(level);
        if (!has_backing) return chain;
        if (chain.size() == kMaxChainDepth) {
            return refuse(chain.front(), "has a backing chain deeper than " + std::to_string(kMaxChainDepth) +
                                             " levels; flatten part of it with 'qemu-img commit' first.");
        }
        auto below = backing_level(chain.back());
        if (!below) return std::move(below).error();
        level = std::move(*below);
    }
}

std::string qemu_image_spec(const std::vector<ChainLevel>& chain)
{
    nlohmann::json spec = nullptr;
    for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
        nlohmann::json level{{"driver", it->format}, {"file", {{"driver", "file"}, {"filename", it->file.string()}}}};
        if (it->format != "raw") level["backing"] = spec;  // null at the bottom: no backing at all
        spec = std::move(level);
    }
    return "json:" + spec.dump();
}

Result<void> flatten_chain(const std::vector<ChainLevel>& chain, const std::filesystem::path& output)
{
    RunOptions options;
    options.stop_on_interrupt = true;
    auto run = run_program({"qemu-img", "convert", "-O", "qcow2", "-o", "compat=1.1", qemu_image_spec(chain),
                            output.string()},
                           options);
    if (!run) return std::move(run).error();
    if (run->end == RunEnd::Interrupted) {
        return make_error(ErrorCode::Interrupted, "flattening " + chain.front().file.string() +
                                                      " was interrupted; nothing was kept, run it again.");
    }
    if (run->end != RunEnd::Exited || run->status != 0) {
        std::string last = std::string(trim(run->output));
        if (const auto nl = last.rfind('\n'); nl != std::string::npos) last = last.substr(nl + 1);
        return make_error(ErrorCode::Io, "qemu-img could not flatten " + chain.front().file.string() + " (" +
                                             printable(last) + "); check free space in the output's folder and retry.");
    }
    return ok();
}

}  // namespace appshare
