#include "instance/instance_state.hpp"

#include "base/atomic_file.hpp"
#include "base/json_text.hpp"
#include "base/small_file.hpp"
#include "base/text.hpp"

#include <nlohmann/json.hpp>

namespace appshare {
namespace {

constexpr std::size_t kMaxStateBytes = 64 * 1024;

Error bad_state(std::string_view origin, const std::string& what)
{
    return make_error(ErrorCode::BadManifest, std::string(origin) + " " + what +
                                                  "; remove it and start the domain again to have it rewritten.");
}

}  // namespace

std::string_view instance_mode_name(InstanceMode mode) noexcept
{
    return mode == InstanceMode::Shared ? "shared" : "independent";
}

Result<InstanceState> parse_instance_state(std::string_view text, std::string_view origin)
{
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return bad_state(origin, "is not a JSON object");
    InstanceState s;
    if (!j.contains("mode") || !j["mode"].is_string()) return bad_state(origin, "has no \"mode\"");
    const auto mode = j["mode"].get<std::string>();
    if (mode == "shared") {
        s.mode = InstanceMode::Shared;
    } else if (mode == "independent") {
        s.mode = InstanceMode::Independent;
    } else {
        return bad_state(origin, "has mode " + quoted_value(mode) + " (expected \"shared\" or \"independent\")");
    }
    const auto str = [&](const char* key, std::string& out) -> bool {
        if (!j.contains(key)) return true;
        if (!j[key].is_string()) return false;
        out = j[key].get<std::string>();
        return true;
    };
    std::string base;
    if (!str("since", s.since) || !str("reason", s.reason) || !str("base", base) || !str("host", s.host)) {
        return bad_state(origin, "has a field that is not a string");
    }
    s.base = base;
    return s;
}

std::string format_instance_state(const InstanceState& state)
{
    nlohmann::json j = {{"mode", std::string(instance_mode_name(state.mode))},
                        {"since", state.since},
                        {"reason", state.reason},
                        {"base", state.base.string()}};
    if (!state.host.empty()) j["host"] = state.host;
    return json_text(j) + "\n";
}

Result<std::optional<InstanceState>> load_instance_state(const std::filesystem::path& context_dir)
{
    const auto file = context_dir / kInstanceStateFile;
    const SmallFile text = read_small_file(file, kMaxStateBytes);
    if (text.problem == FileProblem::Missing) return std::optional<InstanceState>{};
    if (text.problem == FileProblem::TooLarge) return bad_state(file.string(), "is larger than 64 KiB");
    if (!text) {
        return make_error(ErrorCode::Io, "cannot read " + file.string() + ": it " + text.why() +
                                             "; check the context directory's permissions.");
    }
    auto s = parse_instance_state(text.text, file.string());
    if (!s) return std::move(s).error();
    return std::optional<InstanceState>{std::move(*s)};
}

Result<void> save_instance_state(const std::filesystem::path& context_dir, const InstanceState& state, SyncBatch* batch)
{
    return write_file_atomic(context_dir / kInstanceStateFile, format_instance_state(state), 0600, batch);
}

}  // namespace appshare
