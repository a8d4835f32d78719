#include "base/url.hpp"

#include <catch2/catch.hpp>

using namespace appshare;

TEST_CASE("split_url judges a URL's shape", "[url]")
{
    const auto parts = split_url("HTTPS://Mirror.example.org:8443/a/b?x=1#f");
    CHECK(parts.problem == UrlProblem::None);
    CHECK(parts.scheme == "https");
    CHECK(parts.authority == "Mirror.example.org:8443");
    CHECK(parts.rest == "/a/b?x=1#f");

    CHECK(split_url("http://h").problem == UrlProblem::None);
    CHECK(split_url("http://h/a b").problem == UrlProblem::ControlCharacter);
    CHECK(split_url("http://h/a\x7f").problem == UrlProblem::ControlCharacter);
    CHECK(split_url("mirror.example.org/x").problem == UrlProblem::NoScheme);
    CHECK(split_url("file:///etc/passwd").problem == UrlProblem::NotHttp);
    CHECK(split_url("ftp://h/x").problem == UrlProblem::NotHttp);
    CHECK(split_url("https://bob:pw@h/x").problem == UrlProblem::UserInfo);
    CHECK(split_url("https://bob@h/x").problem == UrlProblem::UserInfo);
    CHECK(split_url("https:///x").problem == UrlProblem::NoHost);
    // An '@' after the authority is part of the path or query, not user information.
    CHECK(split_url("https://h/x?mail=a@b").problem == UrlProblem::None);
}

TEST_CASE("url_for_message never shows credentials or control characters", "[url]")
{
    CHECK(url_for_message("https://h/x") == "https://h/x");
    CHECK(url_for_message("https://bob:s3cret@h/x") == "https://***@h/x");
    CHECK(url_for_message("https://a@b:c@h/x") == "https://***@h/x");
    CHECK(url_for_message("https://h/x?mail=a@b") == "https://h/x?mail=a@b");
    CHECK(url_for_message("https://h/\x1b[2J") == "https://h/\\x1b[2J");
    CHECK(url_for_message("not a url") == "not a url");
}
