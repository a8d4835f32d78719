#include "report.hpp"

#include <iostream>

namespace appshare::cli {

int report_error(const Error& error)
{
    std::cerr << "appshare: " << error.message << "\n";
    return error.exit_status();
}

nlohmann::json error_json(const Error& error)
{
    return {{"error",
             {{"code", std::string(error_code_name(error.code))}, {"exit_status", error.exit_status()}, {"message", error.message}}}};
}

}  // namespace appshare::cli
