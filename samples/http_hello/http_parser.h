// samples/http_hello: just enough of HTTP/1.1 for "Hello, World!": request
// heads cut from a byte stream, checked, and answered; shared by the actor
// server and the thread-per-connection one.
//
//   HttpParser parser;
//   parser.Push(bytes);
//   while (std::optional<HttpParser::Request> r = parser.Next()) Answer(*r);
//   if (parser.failed()) SendError(parser.error_status());   // 400 or 431

#ifndef TROUPE_SAMPLES_HTTP_HELLO_HTTP_PARSER_H_
#define TROUPE_SAMPLES_HTTP_HELLO_HTTP_PARSER_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace http_hello {

class HttpParser {
 public:
  static constexpr size_t kMaxHead = 8 << 10;  // request line and headers

  struct Request {
    std::string method;
    std::string target;
    bool keep_alive = true;
  };

  void Push(std::string_view bytes) {
    buffer_.erase(0, consumed_);  // what earlier Next() calls took, once per push
    consumed_ = 0;
    buffer_.append(bytes);
  }

  // The next complete request head, or nullopt (incomplete, or failed).
  std::optional<Request> Next();

  bool failed() const { return error_ != 0; }
  // Bytes of a request not yet complete.
  size_t partial() const { return buffer_.size() - consumed_; }
  int error_status() const { return error_; }  // 400 or 431

 private:
  std::string buffer_;
  size_t consumed_ = 0;  // bytes of buffer_ that Next() has taken
  int error_ = 0;
};

// A complete response with a text body.
std::string Response(int status, std::string_view reason, std::string_view body, bool keep_alive);

// The response to a parsed request: 200 "Hello, World!" for GET, 405 else.
std::string Answer(const HttpParser::Request& request);

}  // namespace http_hello

#endif  // TROUPE_SAMPLES_HTTP_HELLO_HTTP_PARSER_H_
