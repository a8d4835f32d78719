#include "base/error.hpp"

namespace appshare {

std::string_view error_code_name(ErrorCode code) noexcept
{
    switch (code) {
    case ErrorCode::Internal: return "internal";
    case ErrorCode::Usage: return "usage";
    case ErrorCode::BadManifest: return "bad-manifest";
    case ErrorCode::UnsafePath: return "unsafe-path";
    case ErrorCode::DigestMismatch: return "digest-mismatch";
    case ErrorCode::UnsafeImage: return "unsafe-image";
    case ErrorCode::Io: return "io";
    case ErrorCode::Libvirt: return "libvirt";
    case ErrorCode::LockTimeout: return "lock-timeout";
    case ErrorCode::AlreadyExists: return "already-exists";
    case ErrorCode::NotFound: return "not-found";
    case ErrorCode::DomainRunning: return "domain-running";
    case ErrorCode::Config: return "config";
    case ErrorCode::LoadFailed: return "load-failed";
    case ErrorCode::Interrupted: return "interrupted";
    }
    return "internal";
}

std::string finish_sentence(std::string message)
{
    while (!message.empty() && message.back() == ' ') message.pop_back();
    if (message.empty()) return message;
    // The trailing run of stops ("?.", "..", "!.") becomes exactly one: a question or an
    // exclamation keeps its own mark, anything else ends in a full stop.
    const auto run = message.find_last_not_of(".?!");
    const std::size_t start = run == std::string::npos ? 0 : run + 1;
    const std::string_view marks = std::string_view(message).substr(start);
    const char last = marks.find('?') != std::string_view::npos   ? '?'
                      : marks.find('!') != std::string_view::npos ? '!'
                                                                  : '.';
    message.erase(start);
    message += last;
    return message;
}

std::string message_clause(std::string message)
{
    while (!message.empty() && (message.back() == '.' || message.back() == ' ')) message.pop_back();
    return message;
}

std::string message_what_failed(const std::string& message)
{
    int depth = 0;
    std::size_t cut = std::string::npos;
    for (std::size_t i = 0; i + 1 < message.size(); ++i) {
        if (message[i] == '(') ++depth;
        if (message[i] == ')') --depth;
        if (depth == 0 && message[i] == ';' && message[i + 1] == ' ') cut = i;
    }
    return message_clause(cut == std::string::npos ? message : message.substr(0, cut));
}

}  // namespace appshare
