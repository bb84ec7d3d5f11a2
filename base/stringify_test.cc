#include "base/stringify.h"

#include <sstream>
#include <string>
#include <string_view>

#include "fmt/format.h"
#include "gtest/gtest.h"

namespace troupe {

// In namespace troupe itself, as troupe's enums are: ADL looks for the
// printers in the enum's innermost namespace only.
enum class Weather { kSunny, kStormy };

std::string_view WeatherName(Weather weather) {
  return weather == Weather::kSunny ? "sunny" : "stormy";
}

template <typename Sink>
void AbslStringify(Sink& sink, Weather weather) {
  sink.Append(WeatherName(weather));
}

enum class Unprintable { kA };

namespace {

TEST(StringifyTest, EveryPrinterUsesTheOneHook) {
  EXPECT_EQ(ToString(Weather::kStormy), "stormy");
  EXPECT_EQ(fmt::format("[{}]", Weather::kSunny), "[sunny]");
  EXPECT_EQ(fmt::format("[{:>8}]", Weather::kSunny), "[   sunny]");  // format specs still apply
  std::ostringstream out;
  out << Weather::kStormy;
  EXPECT_EQ(out.str(), "stormy");
  EXPECT_EQ(::testing::PrintToString(Weather::kSunny), "sunny");
}

TEST(StringifyTest, OnlyTypesWithTheHookAreStringifiable) {
  static_assert(Stringifiable<Weather>);
  static_assert(!Stringifiable<Unprintable>);
  static_assert(!Stringifiable<int>);
}

}  // namespace
}  // namespace troupe
