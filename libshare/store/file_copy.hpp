// Copying a local file into a file being loaded, at about the speed of `cp`: in the kernel where
// source and destination share a file system, and the bytes hashed are the bytes the
// destination holds.
#pragma once

#include "base/byte_stream.hpp"
#include "base/result.hpp"

#include <cstdint>
#include <string>

namespace appshare {

struct CopyEnds {
    int src = -1;          // read from its current offset (not owned)
    int dst = -1;          // written from its current offset (not owned)
    std::string src_name;  // for messages
    std::string dst_name;
};

// Copies at most `limit` bytes of ends.src into ends.dst and feeds the bytes written, in order,
// in chunks of at most kStreamChunk, to `written`. On one file system: copy_file_range in pieces
// of 8 MiB (no copy through user space; a reflink or a server-side copy where the file system
// has one), each piece then read back from ends.dst for `written`, so what is hashed is what the
// file holds. Across file systems, or when the kernel refuses such a copy: read and write in user
// space (store/write_back.hpp), and `written` gets the buffer written. Write-back is started as it
// goes (store/write_back.hpp). Every piece is bounded, so a caller that stops taking chunks
// (returns an error from `written`) stops the copy within one piece. Returns `written`'s error,
// or Io naming the file that could not be read or written.
[[nodiscard]] Result<void> copy_into_file(const CopyEnds& ends, std::uint64_t limit, const ByteSink& written);

}  // namespace appshare
