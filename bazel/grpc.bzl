"""troupe_cc_grpc_library(): C++ gRPC stubs for a proto_library's services.

Bazel 4.2.3 has no cc_grpc_library and troupe builds offline, so this runs
Debian's protoc with Debian's grpc_cpp_plugin itself. It generates
`<name>.grpc.pb.{h,cc}` for each .proto of `srcs` (a proto_library) and
compiles them against the `cc_proto_library` of the same protos:

    proto_library(name = "wire_proto", srcs = ["wire.proto"])
    cc_proto_library(name = "wire_cc_proto", deps = [":wire_proto"])
    troupe_cc_grpc_library(
        name = "wire_cc_grpc",
        srcs = [":wire_proto"],
        deps = [":wire_cc_proto"],
    )
"""

load("@rules_cc//cc:defs.bzl", "cc_library")

def _import_path(src, proto_info):
    """The path protoc knows `src` by: its path below the proto source root."""
    root = proto_info.proto_source_root
    path = src.path
    if root and root != "." and path.startswith(root + "/"):
        return path[len(root) + 1:]
    if src.root.path and path.startswith(src.root.path + "/"):
        path = path[len(src.root.path) + 1:]
    if src.owner.workspace_root and path.startswith(src.owner.workspace_root + "/"):
        path = path[len(src.owner.workspace_root) + 1:]
    return path

def _grpc_codegen_impl(ctx):
    proto_info = ctx.attr.proto[ProtoInfo]
    headers = []
    sources = []
    import_paths = []
    out_root = None
    for src in proto_info.direct_sources:
        import_path = _import_path(src, proto_info)
        stem = import_path[:-len(".proto")]
        header = ctx.actions.declare_file(src.basename[:-len(".proto")] + ".grpc.pb.h")
        source = ctx.actions.declare_file(src.basename[:-len(".proto")] + ".grpc.pb.cc")
        headers.append(header)
        sources.append(source)
        import_paths.append(import_path)

        # The directory that `stem` is relative to, among the outputs.
        out_root = header.path[:-len(stem + ".grpc.pb.h")].rstrip("/") or "."

    outputs = headers + sources
    descriptor_sets = proto_info.transitive_descriptor_sets.to_list()
    args = ctx.actions.args()
    args.add("--plugin=protoc-gen-grpc=" + ctx.executable._plugin.path)
    args.add("--grpc_out=" + out_root)
    args.add("--descriptor_set_in=" + ":".join([f.path for f in descriptor_sets]))
    args.add_all(import_paths)
    ctx.actions.run(
        executable = ctx.executable._protoc,
        tools = [ctx.executable._plugin],
        inputs = descriptor_sets,
        outputs = outputs,
        arguments = [args],
        mnemonic = "GrpcCodegen",
        progress_message = "Generating gRPC stubs for %s" % ctx.label,
    )
    return [
        DefaultInfo(files = depset(outputs)),
        OutputGroupInfo(headers = depset(headers), sources = depset(sources)),
    ]

_grpc_codegen = rule(
    implementation = _grpc_codegen_impl,
    attrs = {
        "proto": attr.label(mandatory = True, providers = [ProtoInfo]),
        "_protoc": attr.label(
            default = "@com_google_protobuf//:protoc",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
        "_plugin": attr.label(
            default = "@com_github_grpc_grpc//:grpc_cpp_plugin",
            executable = True,
            cfg = "exec",
            allow_single_file = True,
        ),
    },
)

def troupe_cc_grpc_library(name, srcs, deps, visibility = None, **kwargs):
    """A cc_library of the gRPC stubs of `srcs` (one proto_library).

    Args:
      name: the cc_library's name.
      srcs: a list holding one proto_library whose services get stubs.
      deps: the cc_proto_library of the same protos.
      visibility: the cc_library's visibility.
      **kwargs: passed to the cc_library.
    """
    if len(srcs) != 1:
        fail("troupe_cc_grpc_library takes exactly one proto_library in srcs")
    codegen = name + "_codegen"
    _grpc_codegen(name = codegen, proto = srcs[0], visibility = ["//visibility:private"])
    for group in ["headers", "sources"]:
        native.filegroup(
            name = codegen + "_" + group,
            srcs = [":" + codegen],
            output_group = group,
            visibility = ["//visibility:private"],
        )
    cc_library(
        name = name,
        srcs = [":" + codegen + "_sources"],
        hdrs = [":" + codegen + "_headers"],
        deps = deps + ["@com_github_grpc_grpc//:grpc++"],
        visibility = visibility,
        **kwargs
    )
