// What the startup binary must know before loading any library: which (op, subop) pairs need
// work, the marker that tells an appshare domain's XML from any other, and the C entry point
// into libappshare-core. Header-only on purpose: hooks/appshare_hook.cpp handles
// pass-through calls (every start of every domain on the host) without loading the library
// and its dependencies, which costs milliseconds (see bench/).
#pragma once

#include <cstddef>
#include <string_view>

namespace appshare {

enum class HookAction { PassThrough, Prepare, Migrate, Started, Release, Reconnect, EchoXml };

// Which action an (op, subop) pair calls for.
[[nodiscard]] constexpr HookAction classify_hook_call(std::string_view op, std::string_view subop) noexcept
{
    if (op == "prepare" && subop == "begin") return HookAction::Prepare;
    if (op == "started" && subop == "begin") return HookAction::Started;
    if (op == "release" && subop == "end") return HookAction::Release;
    if (op == "reconnect" && subop == "begin") return HookAction::Reconnect;
    if (op == "migrate" && subop == "begin") return HookAction::Migrate;  // on the destination
    if (op == "restore" && subop == "begin") return HookAction::EchoXml;
    return HookAction::PassThrough;
}

// Stdin is read up to this many bytes (domain XML is small; more is not a domain).
inline constexpr std::size_t kHookStdinCap = 16 * 1024 * 1024;

// The appshare metadata namespace (instance/instance_metadata.hpp): a domain XML without this
// string is not an appshare domain.
inline constexpr std::string_view kHookMetadataMarker = "urn:appshare:domain:1";

// The C entry point libappshare-core exports for the startup binary (hook/hook_entry.cpp):
//   int appshare_hook_entry(const char* domain, const char* op, const char* subop,
//                           const char* extra, const char* xml, size_t xml_len, int truncated);
// It handles the call, writes its stdout/stderr and returns the exit status.
inline constexpr const char* kHookEntrySymbol = "appshare_hook_entry";
using HookEntryFn = int (*)(const char*, const char*, const char*, const char*, const char*, std::size_t, int);

}  // namespace appshare
