#include "report.hpp"

#include "base/text.hpp"

namespace appshare::cli {

int report_error(const Error& error)
{
    std::cerr << "appshare: " << printable_message(finish_sentence(error.message)) << "\n";
    return error.exit_status();
}

int report_error(const Error& error, bool as_json)
{
    if (as_json) std::cout << error_json(error).dump(2) << "\n";
    return report_error(error);
}

nlohmann::json error_json(const Error& error)
{
    return {{"error",
             {{"code", std::string(error_code_name(error.code))},
              {"exit_status", error.exit_status()},
              {"message", printable_message(finish_sentence(error.message))}}}};
}

void report_notice(const std::string& line) { std::cerr << "appshare: " << printable_message(line) << "\n"; }

int report_exceptions(const std::function<int()>& action) noexcept
{
    try {
        return action();
    } catch (const std::exception& e) {
        try {
            std::cerr << "appshare: failed unexpectedly (" << printable(e.what()) << "); please report this.\n";
            return 1;
        } catch (...) {
        }
    } catch (...) {
    }
    try {
        std::cerr << "appshare: failed unexpectedly; please report this.\n";
    } catch (...) {
    }
    return 1;
}

}  // namespace appshare::cli
