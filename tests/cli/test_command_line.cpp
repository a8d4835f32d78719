// The command line as a user meets it first: --version, every subcommand's --help, and bad
// arguments named before anything is contacted (here no libvirt daemon is reachable at all).
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <regex>
#include <set>

using namespace appshare::test;

namespace {

// No daemon: a socket that does not exist, and a configuration that names nothing else.
RunResult appshare_without_daemon(const std::vector<std::string>& args)
{
    static const TempDir dir;
    static const auto config = [] {
        write_file(dir / "appshare.conf", "# defaults\n");
        return (dir / "appshare.conf").string();
    }();
    std::vector<std::string> argv{"env", "LIBVIRT_DEFAULT_URI=qemu+unix:///system?socket=/nonexistent/appshare-cli.sock",
                                  "APPSHARE_CONFIG=" + config, appshare_bin().string()};
    argv.insert(argv.end(), args.begin(), args.end());
    return run(argv);
}

void check_usage_sentence(const RunResult& r, const std::string& needle)
{
    INFO("output: " << r.output);
    CHECK(r.status == 2);
    CHECK_THAT(r.output, Catch::StartsWith("appshare: ") && Catch::Contains(needle));
    CHECK_FALSE(has(r.output, "connect"));
    CHECK(std::count(r.output.begin(), r.output.end(), '\n') == 1);
    REQUIRE(r.output.size() > 2);
    CHECK(std::string(".?!").find(r.output[r.output.size() - 2]) != std::string::npos);
    CHECK(std::string(".?!").find(r.output[r.output.size() - 3]) == std::string::npos);
}

// The subcommands `appshare [path] --help` lists.
std::vector<std::string> subcommands_of(const std::vector<std::string>& path)
{
    auto args = path;
    args.push_back("--help");
    const auto help = appshare_without_daemon(args).output;
    std::vector<std::string> out;
    const auto at = help.find("Subcommands:");
    if (at == std::string::npos) return out;
    const std::regex line(R"(^  ([a-z][a-z-]*) )");
    std::istringstream in(help.substr(at));
    std::string l;
    std::getline(in, l);
    while (std::getline(in, l) && !l.empty()) {  // the section ends at its first empty line
        std::smatch m;
        if (std::regex_search(l, m, line)) out.push_back(m[1]);
    }
    return out;
}

}  // namespace

TEST_CASE("appshare --version names appshare, libvirt, QEMU and libxml2, and answers without a daemon", "[cli][version]")
{
    const auto start = std::chrono::steady_clock::now();
    const auto r = appshare_without_daemon({"--version"});
    const auto took = std::chrono::steady_clock::now() - start;
    INFO(r.output);
    CHECK(r.status == 0);
    CHECK(took < std::chrono::seconds(10));
    CHECK(std::regex_search(r.output, std::regex(R"(^appshare \d+\.\d+\.\d+\n)")));
    CHECK(std::regex_search(r.output, std::regex(R"(libvirt library \d+\.\d+\.\d+; daemon: not reachable)")));
    CHECK(std::regex_search(r.output, std::regex(R"(QEMU: .*version \d+\.\d+)")));
    CHECK(std::regex_search(r.output, std::regex(R"(libxml2 \d+\.\d+\.\d+\n)")));
}

TEST_CASE("every subcommand's --help ends with an example", "[cli][help]")
{
    std::vector<std::vector<std::string>> todo{{}};
    std::set<std::string> seen;
    while (!todo.empty()) {
        const auto path = todo.back();
        todo.pop_back();
        for (const auto& sub : subcommands_of(path)) {
            auto child = path;
            child.push_back(sub);
            todo.push_back(child);
            auto args = child;
            args.push_back("--help");
            const auto r = appshare_without_daemon(args);
            std::string joined;
            for (const auto& p : child) joined += p + " ";
            seen.insert(joined);
            INFO("appshare " << joined << "--help:\n" << r.output);
            CHECK(r.status == 0);
            CHECK(has(r.output, "Examples:\n  appshare "));
        }
    }
    // The walk really found the subcommands (and a nested one).
    CHECK(seen.count("install ") == 1);
    CHECK(seen.count("hook register ") == 1);
    CHECK(seen.size() >= 8);
}

TEST_CASE("arguments are checked before anything is contacted", "[cli][arguments]")
{
    TempDir dir;
    std::filesystem::create_directories(dir / "bundle");
    const std::string bundle = (dir / "bundle").string();

    SECTION("install --name") {
        check_usage_sentence(appshare_without_daemon({"install", bundle, "--name", "bad name!"}), "'bad name!'");
    }
    SECTION("install --memory and --vcpus") {
        check_usage_sentence(appshare_without_daemon({"install", bundle, "--name", "ok", "--memory", "12 parsecs"}), "--memory");
        check_usage_sentence(appshare_without_daemon({"install", bundle, "--name", "ok", "--memory", "512K"}), "at least 1 MiB");
        check_usage_sentence(appshare_without_daemon({"install", bundle, "--name", "ok", "--vcpus", "0"}), "--vcpus");
        check_usage_sentence(appshare_without_daemon({"install", bundle, "--name", "ok", "--vcpus", "two"}), "--vcpus");
    }
    SECTION("install BUNDLE that is not there") {
        check_usage_sentence(appshare_without_daemon({"install", (dir / "missing").string(), "--name", "ok"}), "missing");
    }
    SECTION("uninstall and reshare NAME") {
        check_usage_sentence(appshare_without_daemon({"uninstall", "bad name!"}), "'bad name!'");
        check_usage_sentence(appshare_without_daemon({"reshare", "../etc"}), "'../etc'");
    }
    SECTION("gc --grace") {
        check_usage_sentence(appshare_without_daemon({"gc", "--grace", "-1"}), "--grace");
    }
    SECTION("a missing required argument") {
        check_usage_sentence(appshare_without_daemon({"install", bundle}), "--name");
    }
    SECTION("good arguments do reach libvirt, and that error ends with one mark") {
        const auto r = appshare_without_daemon({"uninstall", "web1"});
        INFO(r.output);
        CHECK(r.status == 8);
        CHECK(has(r.output, "may this user use it?\n"));
    }
}
