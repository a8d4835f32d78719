// An owned connection to a libvirt daemon.
#pragma once

#include "base/result.hpp"
#include "base/unique_handle.hpp"

#include <libvirt/libvirt.h>

#include <string>
#include <string_view>

namespace appshare {

// Closes the connection (virConnectClose) when it goes out of scope; move-only.
using Connection = UniqueHandle<virConnect, virConnectClose>;

// Opens a read-write connection to `uri` (e.g. "qemu:///system"). An empty uri means libvirt's
// default, which honours $LIBVIRT_DEFAULT_URI. Fails with ErrorCode::Libvirt, naming the URI.
[[nodiscard]] Result<Connection> open_connection(std::string_view uri);

// The URI the connection is really talking to (virConnectGetURI), for messages; "libvirt" if
// libvirt cannot say.
[[nodiscard]] std::string connection_uri(const Connection& conn);

}  // namespace appshare
