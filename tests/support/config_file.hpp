// The one way the tests write an appshare.conf: from the settings of a Config, by name.
#pragma once

#include "instance/config.hpp"

#include <filesystem>
#include <string>

namespace appshare::test {

// appshare.conf text for `settings`: one `key = value` line for every setting that differs from
// Config{} (the parser's defaults), so the text parses back to `settings`.
std::string config_file_text(const Config& settings);

// Writes config_file_text(settings) to `file`, making its folder; fails the test unless appshare
// parses the text back to the same settings.
void write_config_file(const std::filesystem::path& file, const Config& settings);

}  // namespace appshare::test
