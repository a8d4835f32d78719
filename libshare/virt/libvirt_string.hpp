// Strings that libvirt allocates (malloc) and hands over to the caller.
#pragma once

#include <cstdlib>
#include <memory>

namespace appshare {

struct MallocFree {
    void operator()(char* p) const noexcept { std::free(p); }  // NOLINT: libvirt allocates with malloc
};

// Owns a char* returned by virConnectGetURI, virDomainGetXMLDesc, ...
using LibvirtString = std::unique_ptr<char, MallocFree>;

}  // namespace appshare
