// Blob sources the hook may load a base from: files and http(s) URLs named in the domain
// metadata (untrusted: checked against the configuration when streamed, so a refused source
// fails like an unreachable one and its refusal is named in the load error), and files inside
// appshare's own stores (the shared base, a host-local copy), which are trusted paths.
//
// Every source obeys its SourceLimits (store/remote_source_limits.hpp): one larger than
// max_bytes is refused before copying when its size is known and never copies more than
// max_bytes; files are opened, checked and read on a reader thread bounded by the same stall
// timeout and deadline as an http fetch (store/remote_source_reader.hpp), so a FIFO, a device
// or a file on a mount that stops answering cannot hold the base's lock for ever.
#pragma once

#include "store/blob_store.hpp"
#include "store/http_fetcher.hpp"
#include "store/remote_source_limits.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace appshare {

// Streams a file appshare itself manages (its path built from the configured roots). Opens it
// with O_NOFOLLOW|O_NONBLOCK and refuses anything but a regular file.
[[nodiscard]] BlobSource store_file_source(std::filesystem::path file, SourceLimits limits = {});

// A file named in domain metadata: when streamed, it is resolved with
// resolve_allowed_source_file(path, allowed_dirs) and then read like store_file_source.
[[nodiscard]] BlobSource allowed_file_source(std::filesystem::path path, std::vector<std::filesystem::path> allowed_dirs,
                                             SourceLimits limits = {});

// An http(s) URL named in domain metadata, fetched by libappshare-http (store/http_fetcher.hpp,
// loaded on first use). Before the request, and again for every redirect target (followed by
// hand, at most max_redirects), the URL must pass check_allowed_url(url, prefixes). Only a 200
// answer's body reaches the sink; options.limits bound it.
[[nodiscard]] BlobSource http_source(std::string url, std::vector<std::string> prefixes, HttpOptions options = {});

}  // namespace appshare
