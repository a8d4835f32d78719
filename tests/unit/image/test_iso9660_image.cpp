#include "image/iso9660_image.hpp"

#include "support/result_checks.hpp"
#include "support/test_support.hpp"

#include <catch2/catch.hpp>

using namespace appshare;
using namespace appshare::test;

TEST_CASE("make_iso9660_image writes a volume isoinfo reads back", "[iso9660_image]")
{
    TempDir dir;
    const std::string big = pseudo_random(300000, 7);
    auto iso = make_iso9660_image("cidata", {{"user-data", "#cloud-config\nruncmd: [echo hi]\n"},
                                             {"meta-data", "instance-id: x\n"},
                                             {"network-config", big},
                                             {"empty", ""}});
    REQUIRE(iso);
    CHECK(iso->size() % 2048 == 0);
    const auto file = dir / "seed.iso";
    write_file(file, *iso);

    const auto pvd = run_ok({"isoinfo", "-d", "-i", file.string()});
    INFO(pvd);
    CHECK_THAT(pvd, Catch::Contains("Volume id: cidata"));
    CHECK_THAT(pvd, Catch::Contains("Rock Ridge signatures version"));
    CHECK_THAT(pvd, Catch::Contains("Joliet with UCS level"));

    // Rock Ridge and Joliet names are the names given, with their content.
    const auto rr = run_ok({"isoinfo", "-R", "-f", "-i", file.string()});
    CHECK_THAT(rr, Catch::Contains("/user-data") && Catch::Contains("/meta-data") && Catch::Contains("/network-config"));
    const auto joliet = run_ok({"isoinfo", "-J", "-f", "-i", file.string()});
    CHECK_THAT(joliet, Catch::Contains("/user-data"));
    CHECK(run_ok({"isoinfo", "-R", "-x", "/user-data", "-i", file.string()}) == "#cloud-config\nruncmd: [echo hi]\n");
    CHECK(run_ok({"isoinfo", "-R", "-x", "/network-config", "-i", file.string()}) == big);
    CHECK(run_ok({"isoinfo", "-R", "-x", "/empty", "-i", file.string()}).empty());

    SECTION("the same files give the same bytes")
    {
        auto again = make_iso9660_image("cidata", {{"user-data", "#cloud-config\nruncmd: [echo hi]\n"},
                                                   {"meta-data", "instance-id: x\n"},
                                                   {"network-config", big},
                                                   {"empty", ""}});
        REQUIRE(again);
        CHECK(*again == *iso);
    }
}

TEST_CASE("make_iso9660_image refuses bad volume ids and names", "[iso9660_image]")
{
    require_refused(make_iso9660_image("", {}), ErrorCode::Usage, {"volume id"});
    require_refused(make_iso9660_image("a b", {}), ErrorCode::Usage, {"volume id"});
    require_refused(make_iso9660_image(std::string(33, 'a'), {}), ErrorCode::Usage, {"volume id"});
    require_refused(make_iso9660_image("cidata", {{"../x", "a"}}), ErrorCode::Usage, {"file name"});
    require_refused(make_iso9660_image("cidata", {{"a/b", "a"}}), ErrorCode::Usage, {"file name"});
    require_refused(make_iso9660_image("cidata", {{"", "a"}}), ErrorCode::Usage, {"file name"});
}
