// -----------------------------------------------------------------------------
// File: stringify.h
// -----------------------------------------------------------------------------
//
// How troupe's enums print: one way everywhere. Each public enum `E` comes
// with `std::string_view EName(E)` (lower-case words: "timed out") and an
// `AbslStringify` over it, Abseil's extension point (which newer Abseil's
// StrCat and StrFormat call). This header makes the other two printers in
// the build use that same hook: fmt (troupe's logs and checks) and
// std::ostream (GoogleTest's failure messages).
//
//   enum class Color { kRed, kBlue };
//   std::string_view ColorName(Color color);
//   template <typename Sink>
//   void AbslStringify(Sink& sink, Color color) { sink.Append(ColorName(color)); }
//
//   troupe::ToString(Color::kRed);          // "red"
//   TROUPE_LOG_INFO("painted {}", color);   // "painted red"
//   EXPECT_EQ(color, Color::kBlue);         // "Which is: red"
//
// Only types declared directly in namespace troupe that define AbslStringify
// are affected (argument-dependent lookup looks in the innermost namespace).

#ifndef TROUPE_BASE_STRINGIFY_H_
#define TROUPE_BASE_STRINGIFY_H_

#include <ostream>
#include <string>
#include <string_view>

#include "fmt/format.h"

namespace troupe {
namespace base_internal {

// The sink AbslStringify writes to when troupe prints (Abseil's own sink
// has the same Append).
class StringSink {
 public:
  void Append(std::string_view text) { out_.append(text); }
  void Append(size_t count, char ch) { out_.append(count, ch); }
  std::string& str() { return out_; }

 private:
  std::string out_;
};

}  // namespace base_internal

// Satisfied by a type whose AbslStringify ADL finds.
template <typename T>
concept Stringifiable = requires(base_internal::StringSink& sink, const T& value) {
  AbslStringify(sink, value);
};

// ToString()
//
// The text AbslStringify writes for `value`.
template <Stringifiable T>
std::string ToString(const T& value) {
  base_internal::StringSink sink;
  AbslStringify(sink, value);
  return std::move(sink.str());
}

// For GoogleTest and any ostream; found by ADL for troupe's types only.
template <Stringifiable T>
std::ostream& operator<<(std::ostream& out, const T& value) {
  return out << ToString(value);
}

}  // namespace troupe

// fmt prints anything Stringifiable as its string.
template <troupe::Stringifiable T>
struct fmt::formatter<T> : fmt::formatter<std::string_view> {
  template <typename FormatContext>
  auto format(const T& value, FormatContext& ctx) const {
    return fmt::formatter<std::string_view>::format(troupe::ToString(value), ctx);
  }
};

#endif  // TROUPE_BASE_STRINGIFY_H_
