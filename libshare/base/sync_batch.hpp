// Flushing a set of new files and folders together, once they are all written.
//
// The durability rule: whatever a writer promises once it returns (a context made, a record
// published) must still hold after a crash, so everything it names is on stable storage first.
// Flushing each file and folder in turn (write, fsync, rename, fsync the folder; then the next)
// makes the file system commit its journal once per step; a writer that makes a whole new folder
// nobody uses yet (an instance's context: no domain names it before install defines one) may
// instead write everything and flush it all at once: write-back of every file is started first,
// then every file and folder is fsynced at the same time, so they share the file system's journal
// commit and the disk's cache flush (instead of one each, in turn: see bench/README.md).
// Until flush() returned, anything added may be missing or empty after a crash: publish nothing
// that names it (no domain defined, no rename over an existing file) before.
// What is derived and made again by the next run (the links of <context_root>/.volumes, remade
// at every pool refresh) is not flushed at all.
#pragma once

#include "base/result.hpp"
#include "base/unique_handle.hpp"

#include <filesystem>
#include <vector>

#include <sys/types.h>

namespace appshare {

class SyncBatch {
public:
    SyncBatch() = default;
    SyncBatch(SyncBatch&&) noexcept = default;
    SyncBatch& operator=(SyncBatch&&) noexcept = default;
    SyncBatch(const SyncBatch&) = delete;
    SyncBatch& operator=(const SyncBatch&) = delete;

    // Adds the open file or folder `fd` (`path` names it in errors); its descriptor is
    // duplicated, so the caller may close its own. The same file added twice is flushed once.
    [[nodiscard]] Result<void> add(int fd, const std::filesystem::path& path);

    // Starts write-back of every file, then fsyncs every file and folder at once (a thread
    // each). Io error naming the first that failed; the batch is empty afterwards either way.
    [[nodiscard]] Result<void> flush();

    [[nodiscard]] std::size_t size() const noexcept { return entries_.size(); }

private:
    struct Entry {
        UniqueFd fd;
        std::filesystem::path path;
        dev_t dev = 0;
        ino_t ino = 0;
        bool folder = false;
    };
    std::vector<Entry> entries_;
};

}  // namespace appshare
