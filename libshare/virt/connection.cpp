#include "virt/connection.hpp"

#include "virt/libvirt_error.hpp"
#include "virt/libvirt_string.hpp"

#include <libvirt/virterror.h>

#include <cstdlib>

namespace appshare {

namespace {

// How a message names the URI asked for: the default is spelled out so the user knows where to look.
std::string describe_uri(std::string_view uri)
{
    if (!uri.empty()) return std::string(uri);
    if (const char* env = std::getenv("LIBVIRT_DEFAULT_URI"); env != nullptr && *env != '\0') {
        return std::string(env) + " (from LIBVIRT_DEFAULT_URI)";
    }
    return "libvirt's default URI";
}

}  // namespace

Result<Connection> open_connection(std::string_view uri)
{
    const std::string owned(uri);
    Connection conn(virConnectOpen(uri.empty() ? nullptr : owned.c_str()));
    if (!conn) {
        const LibvirtFailure failure = take_libvirt_failure();
        return libvirt_error(failure, "cannot connect to libvirt at " + describe_uri(uri),
                             "is libvirtd running, and may this user use it?");
    }
    return conn;
}

std::string connection_uri(const Connection& conn)
{
    const LibvirtString uri(virConnectGetURI(conn.get()));
    if (!uri) {
        virResetLastError();
        return "libvirt";
    }
    return uri.get();
}

}  // namespace appshare
