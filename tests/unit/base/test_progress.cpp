#include "base/progress.hpp"
#include "base/size_units.hpp"

#include <catch2/catch.hpp>

#include <cstdlib>

using namespace appshare;

TEST_CASE("Progress formats sizes and rates and stays silent when asked", "[progress]")
{
    SECTION("byte sizes") {
        CHECK(format_size(0, SizeStyle::Compact) == "0 B");
        CHECK(format_size(1023, SizeStyle::Compact) == "1023 B");
        CHECK(format_size(1024, SizeStyle::Compact) == "1.0 KiB");
        CHECK(format_size(460ull << 20, SizeStyle::Compact) == "460 MiB");
        CHECK(format_size(1ull << 30, SizeStyle::Compact) == "1.0 GiB");
        CHECK(format_size((1ull << 30) + (1ull << 29), SizeStyle::Compact) == "1.5 GiB");
        // Rounding never shows 1024 of a unit: it rolls over to the next one.
        CHECK(format_size((1ull << 20) - 1, SizeStyle::Compact) == "1.0 MiB");
        CHECK(format_size(1023ull << 10, SizeStyle::Compact) == "1023 KiB");
    }
    SECTION("a line with a known total") {
        CHECK(format_progress_line("base.qcow2", 460ull << 20, 1ull << 30, 0.375) ==
              "base.qcow2   44% 460 MiB/1.0 GiB 1.2 GiB/s");
    }
    SECTION("a line without a total or rate") {
        CHECK(format_progress_line("x", 2048, 0, 0.0) == "x  2.0 KiB");
    }
    SECTION("APPSHARE_NO_PROGRESS silences it; it still counts") {
        ::setenv("APPSHARE_NO_PROGRESS", "1", 1);
        Progress p("label", 100);
        ::unsetenv("APPSHARE_NO_PROGRESS");
        CHECK_FALSE(p.enabled());
        const ProgressFn fn = p.callback();
        fn(40);
        p.advance(2);
        CHECK(p.done() == 42);
        p.finish();
    }
}
