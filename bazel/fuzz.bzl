"""troupe_fuzz_test(): a libFuzzer target that is also a test.

In ordinary builds (plain, tsan, asan) the target is a cc_test whose main
(//testing:fuzz_replay_main) replays the seed corpus through
LLVMFuzzerTestOneInput, so every seed keeps being checked in every config.
Built with --config=fuzz (clang, -fsanitize=fuzzer,address) it links
libFuzzer's main instead and fuzzes:

    bazel run --config=fuzz //net/fuzz:line_framer_fuzz -- -max_total_time=10 DIR

tools/test.sh does that for every target, for a few seconds each, starting
from a copy of the seeds.
"""

load("@rules_cc//cc:defs.bzl", "cc_test")
load("//bazel:copts.bzl", "TROUPE_TEST_COPTS")

def troupe_fuzz_test(name, srcs, corpus, deps = []):
    """A fuzz target `name` over `srcs`, seeded with the files `corpus`."""
    native.filegroup(
        name = name + "_corpus",
        srcs = corpus,
    )
    cc_test(
        name = name,
        size = "small",
        srcs = srcs,
        args = ["$(locations :%s_corpus)" % name],
        data = [":%s_corpus" % name],
        copts = TROUPE_TEST_COPTS,
        linkopts = select({
            "@troupe//bazel:fuzzing": ["-fsanitize=fuzzer"],
            "//conditions:default": [],
        }),
        deps = deps + select({
            "@troupe//bazel:fuzzing": [],
            "//conditions:default": ["@troupe//testing:fuzz_replay_main"],
        }),
    )
