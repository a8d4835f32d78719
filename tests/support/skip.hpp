// Skipping a test visibly. Catch2 v2 has no SKIP: a test that cannot run here calls
// skip("reason") instead of its checks. The reason is printed at once (as a Catch2 warning), and
// when the run ends without a failure the line "SKIPPED: <reason>" is printed, which ctest reports
// as "Skipped" instead of "Passed" (SKIP_REGULAR_EXPRESSION in tests/CMakeLists.txt). A run with a
// failure prints no such line, so a skip never hides a failure.
//
// Inside a SECTION, put the checks in an else branch rather than `return` after skip(): Catch2
// learns of a test case's later sections only by running past them, so after a `return` they
// would silently not run at all.
#pragma once

#include <string>

namespace appshare::test {

void skip(const std::string& reason);

}  // namespace appshare::test
