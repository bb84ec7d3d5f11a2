"""troupe_dependencies(): the external repositories troupe needs.

Each repository is declared only where the workspace has not declared it
already, so a monorepo that builds Abseil, protobuf or googletest from source
under their canonical names keeps its own. Here they are backed by Debian's
packages (see third_party/README.md), which is what lets Bazel 4.2.3 from
`bazel-bootstrap` build troupe without a network.

Labels in this file are written `@troupe//...`: a macro's labels resolve in the
workspace that calls it, which is a consumer's when troupe is a dependency.
"""

load("@troupe//bazel:system_repository.bzl", "overlay_repository", "system_repository")

# 'package:target' in the real Abseil -> the pkg-config module behind it.
_ABSL_TARGETS = {
    "absl/algorithm:container": ["absl_algorithm_container"],
    "absl/base:base": ["absl_base"],
    "absl/base:core_headers": ["absl_core_headers"],
    "absl/cleanup:cleanup": ["absl_cleanup"],
    "absl/container:btree": ["absl_btree"],
    "absl/container:fixed_array": ["absl_fixed_array"],
    "absl/container:flat_hash_map": ["absl_flat_hash_map"],
    "absl/container:flat_hash_set": ["absl_flat_hash_set"],
    "absl/container:inlined_vector": ["absl_inlined_vector"],
    "absl/container:node_hash_map": ["absl_node_hash_map"],
    "absl/functional:any_invocable": ["absl_any_invocable"],
    "absl/functional:function_ref": ["absl_function_ref"],
    "absl/hash:hash": ["absl_hash"],
    "absl/random:random": ["absl_random_random"],
    "absl/status:status": ["absl_status"],
    "absl/status:statusor": ["absl_statusor"],
    "absl/strings:strings": ["absl_strings"],
    "absl/strings:str_format": ["absl_str_format"],
    "absl/time:time": ["absl_time"],
    "absl/types:span": ["absl_span"],
}

_GOOGLETEST_TARGETS = {
    ":gtest": ["gtest"],
    ":gtest_main": ["gtest_main"],
    ":gmock": ["gmock"],
    ":gmock_main": ["gmock_main"],
}

_BENCHMARK_TARGETS = {
    ":benchmark": ["benchmark"],
    ":benchmark_main": ["-lbenchmark_main", "benchmark"],
}

# Well-known protos that troupe's messages may import. They are compiled into
# libprotobuf already, so the toolchain blacklists them (third_party/protobuf.BUILD).
_PROTOBUF_WELL_KNOWN = ["any", "duration", "empty", "timestamp", "wrappers", "struct"]

def _maybe(rule, name, **kwargs):
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def troupe_dependencies():
    """Declares the repositories troupe needs, unless the workspace has them."""

    # --- Bazel's own rule sets, which Bazel 4.2.3 would otherwise download. ---

    # Debian's bazel-rules-cc (0.0.4) needs a newer Bazel than 4.2.3, so
    # rules_cc is a two-file overlay that re-exports the native cc_* rules.
    _maybe(
        overlay_repository,
        name = "rules_cc",
        files = {
            "@troupe//third_party/rules_cc:root.BUILD": "BUILD.bazel",
            "@troupe//third_party/rules_cc:cc_package.BUILD": "cc/BUILD.bazel",
            "@troupe//third_party/rules_cc:defs.bzl": "cc/defs.bzl",
        },
    )

    # `bazel test` asks for the coverage tools' repository even without
    # --coverage; two empty filegroups satisfy it.
    _maybe(
        overlay_repository,
        name = "remote_coverage_tools",
        files = {"@troupe//third_party/remote_coverage_tools:root.BUILD": "BUILD.bazel"},
    )

    # The rest ship with Debian (bazel-bootstrap-data, bazel-platforms,
    # bazel-skylib, bazel-rules-proto, bazel-rules-java).
    _maybe(native.local_repository, name = "platforms", path = "/usr/share/bazel/platforms")
    _maybe(native.local_repository, name = "bazel_skylib", path = "/usr/share/bazel/tools/skylib")
    _maybe(native.local_repository, name = "rules_proto", path = "/usr/share/bazel/rules/proto")
    _maybe(native.local_repository, name = "rules_java", path = "/usr/share/bazel/rules/java")

    # --- Libraries, from Debian's -dev packages. ---
    _maybe(system_repository, name = "com_google_absl", targets = _ABSL_TARGETS)
    _maybe(system_repository, name = "com_google_googletest", targets = _GOOGLETEST_TARGETS)
    _maybe(system_repository, name = "com_google_benchmark", targets = _BENCHMARK_TARGETS)
    _maybe(system_repository, name = "fmt", targets = {":fmt": ["fmt"]})
    _maybe(system_repository, name = "spdlog", targets = {":spdlog": ["spdlog"]})
    _maybe(
        system_repository,
        name = "com_google_protobuf",
        targets = {":protobuf": ["protobuf"]},
        symlinks = dict(
            [("bin/protoc", "/usr/bin/protoc")] +
            [
                ("src/google/protobuf/%s.proto" % p, "/usr/include/google/protobuf/%s.proto" % p)
                for p in _PROTOBUF_WELL_KNOWN
            ],
        ),
        build_file = "@troupe//third_party:protobuf.BUILD",
    )

    # gRPC, for remote/ only (libgrpc++-dev, protobuf-compiler-grpc). Like
    # every repository here it is read only when a target being built needs
    # it, so a workspace that never builds remote/ needs neither package.
    _maybe(
        system_repository,
        name = "com_github_grpc_grpc",
        targets = {":grpc++": ["grpc++"]},
        symlinks = {"bin/grpc_cpp_plugin": "/usr/bin/grpc_cpp_plugin"},
        build_file = "@troupe//third_party:grpc.BUILD",
    )
