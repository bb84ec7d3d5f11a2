# rules_cc stand-in: //cc exports defs.bzl.
exports_files(["defs.bzl"])
