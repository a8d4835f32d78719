#include "store/remote_source_limits.hpp"

#include "base/size_units.hpp"
#include "base/time_format.hpp"

#include <memory>

namespace appshare {

Error source_too_large(const std::string& description, std::uint64_t max_bytes)
{
    return make_error(ErrorCode::LoadFailed, description + " is larger than max_base_bytes (" + format_size(max_bytes) +
                                                 "), so it was not copied; raise max_base_bytes in the configuration if the base really is that large.");
}

Error source_too_slow(const std::string& description, bool past_deadline, std::chrono::milliseconds stall_timeout)
{
    return make_error(ErrorCode::Io, past_deadline ? description + " did not end within load_timeout_seconds"
                                                   : description + " gave nothing for " + format_seconds(stall_timeout));
}

ByteSink capped_sink(const ByteSink& sink, std::uint64_t max_bytes, std::string description)
{
    auto seen = std::make_shared<std::uint64_t>(0);
    return [sink, max_bytes, description = std::move(description), seen](std::span<const std::byte> bytes) -> Result<void> {
        if (bytes.size() > max_bytes - *seen) return source_too_large(description, max_bytes);
        *seen += bytes.size();
        return sink(bytes);
    };
}

}  // namespace appshare
