#include "support/skip.hpp"

// For Catch::TestEventListenerBase outside the translation unit that holds Catch2's main.
#define CATCH_CONFIG_EXTERNAL_INTERFACES
#include <catch2/catch.hpp>

#include <vector>

namespace {

std::vector<std::string>& skip_reasons()
{
    static std::vector<std::string> reasons;
    return reasons;
}

// Prints the skip marker at the end of a run in which nothing failed.
class SkipMarker : public Catch::TestEventListenerBase {
public:
    using TestEventListenerBase::TestEventListenerBase;

    void testRunEnded(const Catch::TestRunStats& stats) override
    {
        if (stats.aborting || stats.totals.assertions.failed > 0 || stats.totals.testCases.failed > 0) return;
        for (const auto& reason : skip_reasons()) Catch::cout() << "SKIPPED: " << reason << '\n';
        Catch::cout().flush();
    }
};

}  // namespace

CATCH_REGISTER_LISTENER(SkipMarker)

namespace appshare::test {

void skip(const std::string& reason)
{
    WARN("skipped: " << reason);
    skip_reasons().push_back(reason);
}

}  // namespace appshare::test
