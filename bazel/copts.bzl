"""Compiler flags for troupe's own code, referred to by name from BUILD files.

-Werror applies to troupe's sources only: flags set in .bazelrc reach external
repositories too, whose warnings are not ours to fix.
"""

TROUPE_DEFAULT_COPTS = [
    "-Wall",
    "-Wextra",
    "-Werror",
    "-Wno-unused-parameter",
]

TROUPE_TEST_COPTS = TROUPE_DEFAULT_COPTS + [
    "-Wno-sign-compare",  # EXPECT_EQ(size_t, int) is the common case in tests.
]
