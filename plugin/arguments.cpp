#include "arguments.hpp"

#include "base/size_units.hpp"
#include "base/text.hpp"
#include "instance/context.hpp"
#include "virt/install.hpp"

#include <charconv>

namespace appshare::cli {

CLI::Validator checked_by(std::string name, std::function<Result<void>(const std::string&)> check)
{
    return CLI::Validator(
        [check = std::move(check)](std::string& value) -> std::string {
            auto r = check(value);
            return r ? std::string() : message_clause(r.error().message);
        },
        "", std::move(name));
}

CLI::Validator instance_name_argument()
{
    return checked_by("NAME", [](const std::string& v) { return check_instance_name(v); });
}

CLI::Validator memory_argument()
{
    return checked_by("SIZE", [](const std::string& v) -> Result<void> {
        auto bytes = parse_size_text(v, "MiB", "the command line", "--memory", ErrorCode::Usage);
        if (!bytes) return std::move(bytes).error();
        return check_install_memory(*bytes);
    });
}

CLI::Validator vcpus_argument()
{
    return checked_by("N", [](const std::string& v) -> Result<void> {
        unsigned n = 0;
        const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
        if (ec != std::errc{} || ptr != v.data() + v.size()) {
            return make_error(ErrorCode::Usage, "--vcpus must be a whole number, not " + in_quotes(v, '\''));
        }
        return check_install_vcpus(n);
    });
}

void set_examples(CLI::App* sub, std::initializer_list<std::string> examples)
{
    std::string text = "\nExamples:";
    for (const auto& e : examples) text += "\n  " + e;
    sub->footer(text);
}

std::string usage_failure_message(const CLI::App* /*app*/, const CLI::Error& error)
{
    // CLI11 puts the argument's name before a check's sentence; a sentence that names it already
    // ("--memory must be ...") goes without: "--memory: --memory must be ..." says it twice.
    std::string text = error.what();
    const auto colon = text.find(": ");
    if (colon != std::string::npos && colon > 0 && text.find(text.substr(0, colon), colon + 2) != std::string::npos) {
        text.erase(0, colon + 2);
    }
    return "appshare: " + printable_message(finish_sentence(text)) + "\n";
}

}  // namespace appshare::cli
