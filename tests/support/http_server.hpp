// A real web server on 127.0.0.1 for tests of http sources: python3's http.server serving a
// directory, or a small throttled variant (rate in bytes/s) that also answers
// /…/redirect?to=PATH with a 302 to PATH, /…/endless-error with a 500 whose body never ends,
// /…/huge with a Content-Length of 1 PiB and no body, and /nolength/NAME with NAME's content
// but no Content-Length (its end is the connection's). Stopped (SIGKILL) on destruction. Header-only.
#pragma once

#include "support/test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

namespace appshare::test {

inline int free_tcp_port()
{
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(s >= 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    REQUIRE(::getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    ::close(s);
    return ntohs(a.sin_port);
}

inline bool port_answers(int port)
{
    const int s = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool ok = ::connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(s);
    return ok;
}

inline constexpr const char* kThrottledServer = R"PY(
import http.server, socketserver, sys, time, os, urllib.parse
root, port, rate = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        if url.path.endswith('/endless-error'):
            # An error page that never ends, sent as fast as the client takes it.
            self.send_response(500); self.end_headers()
            try:
                while True:
                    self.wfile.write(b'x' * 65536)
            except (BrokenPipeError, ConnectionResetError):
                return
        if url.path.endswith('/huge'):
            # Announces far more than any limit, then sends nothing.
            self.send_response(200); self.send_header('Content-Length', str(1 << 50)); self.end_headers()
            try:
                time.sleep(60)
            except Exception:
                pass
            return
        if url.path.endswith('/redirect'):
            to = urllib.parse.parse_qs(url.query).get('to', ['/'])[0]
            self.send_response(302); self.send_header('Location', to); self.send_header('Content-Length', '0'); self.end_headers()
            return
        try:
            data = open(os.path.join(root, os.path.basename(url.path)), 'rb').read()
        except OSError:
            self.send_error(404); return
        self.send_response(200)
        if not url.path.startswith('/nolength/'):
            self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        chunk = 65536
        try:
            for i in range(0, len(data), chunk):
                self.wfile.write(data[i:i + chunk]); self.wfile.flush()
                time.sleep(chunk / rate)
        except (BrokenPipeError, ConnectionResetError):
            pass
    def log_message(self, *args):
        pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True
S(('127.0.0.1', port), H).serve_forever()
)PY";

class HttpServer {
public:
    // python3 -m http.server serving `dir`.
    static HttpServer plain(const std::filesystem::path& dir)
    {
        const int port = free_tcp_port();
        return HttpServer({"python3", "-m", "http.server", "--bind", "127.0.0.1", "--directory", dir.string(),
                           std::to_string(port)},
                          port);
    }
    // The throttled server above serving `dir` at `bytes_per_second`; its script is written to `scratch`.
    static HttpServer throttled(const std::filesystem::path& dir, double bytes_per_second, const std::filesystem::path& scratch)
    {
        const int port = free_tcp_port();
        const auto script = scratch / "throttled_server.py";
        write_file(script, kThrottledServer);
        return HttpServer({"python3", script.string(), dir.string(), std::to_string(port), std::to_string(bytes_per_second)}, port);
    }

    HttpServer(HttpServer&& o) noexcept : pid_(o.pid_), port_(o.port_) { o.pid_ = -1; }
    HttpServer(const HttpServer&) = delete;
    ~HttpServer()
    {
        if (pid_ > 0) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
    }
    [[nodiscard]] int port() const noexcept { return port_; }
    [[nodiscard]] std::string url(const std::string& path = "") const
    {
        return "http://127.0.0.1:" + std::to_string(port_) + "/" + path;
    }

private:
    HttpServer(const std::vector<std::string>& argv, int port) : pid_(spawn(argv)), port_(port)
    {
        for (int i = 0; i < 100 && !port_answers(port_); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
        REQUIRE(port_answers(port_));
    }
    pid_t pid_ = -1;
    int port_ = 0;
};

}  // namespace appshare::test
