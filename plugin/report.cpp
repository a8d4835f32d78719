#include "report.hpp"

#include <iostream>

namespace appshare::cli {

std::string sentence(std::string message)
{
    const bool finished = !message.empty() && (message.back() == '.' || message.back() == '?' || message.back() == '!');
    if (!finished) message += '.';
    return message;
}

int report_error(const Error& error)
{
    std::cerr << "appshare: " << sentence(error.message) << "\n";
    return error.exit_status();
}

nlohmann::json error_json(const Error& error)
{
    return {{"error",
             {{"code", std::string(error_code_name(error.code))},
              {"exit_status", error.exit_status()},
              {"message", sentence(error.message)}}}};
}

}  // namespace appshare::cli
