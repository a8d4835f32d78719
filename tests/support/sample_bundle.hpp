// Builds real appliance bundles at test time: a qcow2 base made by qemu-img (with some data
// written into it), its digest, and a manifest naming it.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

namespace appshare::test {

struct SampleBundle {
    std::filesystem::path dir;        // the bundle directory
    std::filesystem::path image;      // dir/images/base.qcow2
    std::string sha256;
    std::uint64_t image_bytes = 0;
    std::uint64_t virtual_size = 0;
};

struct SampleOptions {
    std::string name = "sample";
    std::string version = "1.0";
    std::string description = "sample appliance";
    std::uint64_t virtual_size = 64ULL << 20;
    std::uint64_t data_bytes = 1ULL << 20;  // written into the base with qemu-io
    std::string extra_base_xml;             // inserted after </image> (e.g. <sources>)

    // A base of `virtual_size` with `data_bytes` written, the rest as above.
    static SampleOptions sized(std::uint64_t virtual_size, std::uint64_t data_bytes)
    {
        SampleOptions o;
        o.virtual_size = virtual_size;
        o.data_bytes = data_bytes;
        return o;
    }
};

// Makes the bundle directory `dir` (created). Fails the current test on any error.
SampleBundle make_sample_bundle(const std::filesystem::path& dir, const SampleOptions& options = {});

// Rewrites dir/appliance.xml with `manifest` text.
void write_manifest(const SampleBundle& b, const std::string& manifest);

// The manifest make_sample_bundle wrote, for tests that change one thing in it.
std::string sample_manifest(const SampleBundle& b, const SampleOptions& options = {});

}  // namespace appshare::test
