#include "samples/http_hello/http_parser.h"

#include <algorithm>
#include <cctype>

namespace http_hello {
namespace {

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool IsToken(std::string_view text) {
  if (text.empty()) return false;
  for (unsigned char c : text) {
    if (!std::isalnum(c) &&
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) == std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<HttpParser::Request> HttpParser::Next() {
  if (error_ != 0) return std::nullopt;
  // Requests are taken from `consumed_` on, and the buffer is compacted once
  // per Push(): erasing each request from the front would cost a pipelined
  // burst quadratic time (a slow-down one client could inflict on all).
  const std::string_view pending = std::string_view(buffer_).substr(consumed_);
  const size_t end = pending.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (pending.size() > kMaxHead) error_ = 431;
    return std::nullopt;
  }
  if (end + 4 > kMaxHead) {
    error_ = 431;
    return std::nullopt;
  }
  const std::string head(pending.substr(0, end));
  consumed_ += end + 4;

  // Request line: METHOD SP TARGET SP HTTP/1.x
  const size_t line_end = head.find("\r\n");
  const std::string_view line = std::string_view(head).substr(0, line_end);
  const size_t sp1 = line.find(' ');
  const size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
    error_ = 400;
    return std::nullopt;
  }
  Request request;
  request.method = std::string(line.substr(0, sp1));
  request.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
  const std::string_view version = line.substr(sp2 + 1);
  // A target is visible ASCII only (RFC 9112): a bare CR or LF in it would
  // read as a line break to another parser on the way (request smuggling).
  // Found by http_parser_fuzz.
  const bool visible_target = std::all_of(request.target.begin(), request.target.end(), [](char c) {
    return static_cast<unsigned char>(c) > 0x20 && c != 0x7f;
  });
  if (!IsToken(request.method) || request.target.empty() || !visible_target ||
      (version != "HTTP/1.1" && version != "HTTP/1.0")) {
    error_ = 400;
    return std::nullopt;
  }
  request.keep_alive = version == "HTTP/1.1";

  // Headers: "Name: value" lines; only Connection matters here.
  size_t at = line_end == std::string::npos ? head.size() : line_end + 2;
  while (at < head.size()) {
    size_t next = head.find("\r\n", at);
    if (next == std::string::npos) next = head.size();
    const std::string_view header = std::string_view(head).substr(at, next - at);
    const size_t colon = header.find(':');
    if (colon == std::string_view::npos || !IsToken(header.substr(0, colon))) {
      error_ = 400;
      return std::nullopt;
    }
    if (Lower(header.substr(0, colon)) == "connection") {
      const std::string value = Lower(header.substr(colon + 1));
      if (value.find("close") != std::string::npos) request.keep_alive = false;
      if (value.find("keep-alive") != std::string::npos) request.keep_alive = true;
    }
    at = next + 2;
  }
  return request;
}

std::string Response(int status, std::string_view reason, std::string_view body, bool keep_alive) {
  std::string out = "HTTP/1.1 " + std::to_string(status) + " " + std::string(reason) + "\r\n";
  out += "Content-Type: text/plain\r\nContent-Length: " + std::to_string(body.size()) + "\r\n";
  if (!keep_alive) out += "Connection: close\r\n";
  out += "\r\n";
  out += body;
  return out;
}

std::string Answer(const HttpParser::Request& request) {
  if (request.method != "GET") {
    return Response(405, "Method Not Allowed", "GET only\n", request.keep_alive);
  }
  return Response(200, "OK", "Hello, World!", request.keep_alive);
}

}  // namespace http_hello
