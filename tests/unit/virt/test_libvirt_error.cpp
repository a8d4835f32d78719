// libvirt_error: libvirt's failure and appshare's hint as one sentence, whatever ends them.
#include "virt/libvirt_error.hpp"

#include <catch2/catch.hpp>

#include <libvirt/virterror.h>

using namespace appshare;

TEST_CASE("libvirt_error makes one sentence of what failed, libvirt's text and the hint", "[virt][errors]")
{
    const LibvirtFailure failure{VIR_ERR_OPERATION_FAILED, "operation failed: it broke"};

    SECTION("a hint without a stop gets a full stop")
    {
        const Error e = libvirt_error(failure, "cannot start domain 'a'", "see its log");
        CHECK(e.code == ErrorCode::Libvirt);
        CHECK(e.message == "cannot start domain 'a': operation failed: it broke; see its log.");
    }

    SECTION("a hint that asks ends the sentence with its question mark")
    {
        const Error e = libvirt_error(failure, "cannot connect to libvirt at x", "is libvirtd running?");
        CHECK(e.message == "cannot connect to libvirt at x: operation failed: it broke; is libvirtd running?");
    }

    SECTION("libvirt's own stop ends the sentence when there is no hint, and is dropped before one")
    {
        const LibvirtFailure stopped{VIR_ERR_OPERATION_FAILED, "it broke."};
        CHECK(libvirt_error(stopped, "cannot x", "").message == "cannot x: it broke.");
        CHECK(libvirt_error(stopped, "cannot x", "try y").message == "cannot x: it broke; try y.");
    }

    SECTION("the code can be chosen")
    {
        CHECK(libvirt_error(failure, "cannot x", "try y", ErrorCode::NotFound).code == ErrorCode::NotFound);
    }
}
