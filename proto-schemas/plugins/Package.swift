// swift-tools-version:6.1
//
// The two protoc plugins used by ../generate.sh, pinned to exact versions so that regenerating
// the committed Swift is reproducible (../check-generated.sh compares byte for byte).
//
// A separate package, not the root one, so that:
//   - building the plugins never depends on the state of the other targets of the root package;
//   - the plugin versions are pinned exactly (the root package says `from:`);
//   - a normal `swift build` of the root package never builds a plugin.
//
// Keep these versions equal to the minimum versions in the root Package.swift: the generated code
// must not be newer than the SwiftProtobuf / GRPCProtobuf runtime it compiles against.
import PackageDescription

let package = Package(
  name: "hitech-protoc-plugins",
  dependencies: [
    .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf", exact: "2.4.1"),
  ],
  targets: []
)
