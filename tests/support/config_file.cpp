#include "support/config_file.hpp"

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <vector>

namespace appshare::test {
namespace {

std::string quoted(const std::string& s) { return "\"" + s + "\""; }

template <class T>
std::string quoted_list(const std::vector<T>& items)
{
    std::string out = "[";
    for (std::size_t i = 0; i < items.size(); ++i) {
        out += (i > 0 ? ", " : "") + quoted(std::filesystem::path(items[i]).string());
    }
    return out + "]";
}

}  // namespace

std::string config_file_text(const Config& s)
{
    const Config d;  // the parser's defaults
    std::string text;
    const auto key = [&text](bool differs, const char* name, const std::string& value) {
        if (differs) text += std::string(name) + " = " + value + "\n";
    };
    key(s.shared_root != d.shared_root, "shared_root", quoted(s.shared_root.string()));
    key(s.context_root != d.context_root, "context_root", quoted(s.context_root.string()));
    key(s.local_root != d.local_root, "local_root", quoted(s.local_root.string()));
    key(s.lock_wait != d.lock_wait, "lock_wait_seconds", std::to_string(s.lock_wait.count()));
    key(s.load_timeout != d.load_timeout, "load_timeout_seconds", std::to_string(s.load_timeout.count()));
    key(s.max_base_bytes != d.max_base_bytes, "max_base_bytes", std::to_string(s.max_base_bytes));
    key(s.storage_timeout != d.storage_timeout, "storage_timeout_seconds", std::to_string(s.storage_timeout.count()));
    key(s.uri != d.uri, "uri", quoted(s.uri));
    key(s.virt_type != d.virt_type, "virt_type", quoted(s.virt_type));
    key(s.allowed_source_dirs != d.allowed_source_dirs, "allowed_source_dirs", quoted_list(s.allowed_source_dirs));
    key(s.allowed_url_prefixes != d.allowed_url_prefixes, "allowed_url_prefixes", quoted_list(s.allowed_url_prefixes));
    key(s.log != d.log, "log", quoted(s.log));
    key(s.gc_grace != d.gc_grace, "gc_grace_seconds", std::to_string(s.gc_grace.count()));
    key(s.host_gone != d.host_gone, "host_gone_seconds", std::to_string(s.host_gone.count()));
    key(s.shared_pool != d.shared_pool, "shared_pool", quoted(s.shared_pool));
    key(s.context_pool != d.context_pool, "context_pool", quoted(s.context_pool));
    return text;
}

void write_config_file(const std::filesystem::path& file, const Config& settings)
{
    const auto text = config_file_text(settings);
    // What the tests write must mean what they asked for: appshare reads it back the same.
    const auto back = parse_config(text, file.string());
    INFO(file.string() << ":\n" << text << (back ? std::string() : back.error().message));
    REQUIRE(back);
    REQUIRE(config_file_text(*back) == text);
    if (file.has_parent_path()) std::filesystem::create_directories(file.parent_path());
    write_file(file, text);
}

}  // namespace appshare::test
