// swift-tools-version:6.1
import PackageDescription

// `@available(gRPCSwift 2.x, *)` in our own code needs the macro defined per target.
let grpcAvailability: [SwiftSetting] = (0...4).map { minor in
  .enableExperimentalFeature(
    "AvailabilityMacro=gRPCSwift 2.\(minor):macOS 15.0, iOS 18.0, watchOS 11.0, tvOS 18.0, visionOS 2.0"
  )
}

let package = Package(
  name: "hitech-bases",
  platforms: [.macOS(.v15)],
  products: [
    .library(name: "ZeroMQ", targets: ["ZeroMQ"]),
    .library(name: "ZeroMQTransport", targets: ["ZeroMQTransport"]),
    .library(name: "HiTechSchema", targets: ["HiTechSchema"]),
    .executable(name: "hitech", targets: ["hitech"]),
  ],
  dependencies: [
    .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
    .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-collections", from: "1.1.3"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    .package(url: "https://github.com/apple/swift-configuration", from: "1.4.0"),
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
    .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
    .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
  ],
  targets: [
    // libzmq from the system (Debian: libzmq3-dev). No pkgConfig: zmq.h is in /usr/include,
    // and pkg-config's private flags make every build warn.
    .systemLibrary(
      name: "CZeroMQ",
      providers: [.apt(["libzmq3-dev"])]
    ),
    // A Swift binding of libzmq: context, sockets, multipart messages, polling, options, CURVE, ZAP.
    .target(
      name: "ZeroMQ",
      dependencies: ["CZeroMQ"]
    ),
    // grpc-swift-2 client and server transports carried over ZeroMQ DEALER/ROUTER sockets.
    .target(
      name: "ZeroMQTransport",
      dependencies: [
        "ZeroMQ",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "DequeModule", package: "swift-collections"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: grpcAvailability
    ),
    // Generated from proto-schemas/ by proto-schemas/generate.sh; committed, never built by a plugin.
    .target(
      name: "HiTechSchema",
      dependencies: [
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
      ],
      exclude: ["README.md"]
    ),
    // The programme's domain: reporters, bases, annual reports, derived ratios and the one
    // validation rule set shared by node and aggregator. No I/O, no clock, no generated code.
    .target(
      name: "HiTechDomain"
    ),
    // The log of stored submissions (RFC 9162 Merkle tree), signed receipts and tree heads:
    // encodings, proofs and their verification. No I/O; used by the aggregator, the node and
    // anyone who checks a receipt (proto-schemas/RECEIPTS.md).
    .target(
      name: "TransparencyLog",
      dependencies: [.product(name: "Crypto", package: "swift-crypto")]
    ),
    // The aggregator's durable store: the ReportStore boundary the services use, the rules every
    // backend shares (deduplication and revisions, receipts, group commit), and the embedded
    // backend, SQLite through GRDB (SQLite/).
    .target(
      name: "AggregatorStore",
      dependencies: [
        "HiTechDomain",
        "TransparencyLog",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Crypto", package: "swift-crypto"),
      ]
    ),
    // The same store on PostgreSQL (postgres-nio), for several aggregators sharing one database.
    .target(
      name: "AggregatorStorePostgres",
      dependencies: [
        "AggregatorStore",
        "HiTechDomain",
        "TransparencyLog",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "Logging", package: "swift-log"),
      ]
    ),
    // What every daemon shares: the Diagnostics service, CURVE key files.
    .target(
      name: "DaemonSupport",
      dependencies: [
        "ZeroMQ",
        "ZeroMQTransport",
        "HiTechSchema",
        "HiTechDomain",
        "TransparencyLog",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ],
      swiftSettings: grpcAvailability
    ),
    // The central aggregator: the ReportIngest service (authenticate, authorise, validate,
    // deduplicate, store durably, then receipt), its configuration and its daemon.
    .target(
      name: "Aggregator",
      dependencies: [
        "HiTechDomain",
        "TransparencyLog",
        "AggregatorStore",
        "AggregatorStorePostgres",
        "HiTechSchema",
        "ZeroMQ",
        "ZeroMQTransport",
        "DaemonSupport",
        "Monitoring",
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Crypto", package: "swift-crypto"),
        .product(name: "Configuration", package: "swift-configuration"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ],
      swiftSettings: grpcAvailability
    ),
    // The province node daemon: the durable outbox spool (claim, journal, recovery, local
    // validation), the outbox watcher, the sender, its configuration and status.
    .target(
      name: "ProvinceNode",
      dependencies: [
        "HiTechDomain",
        "TransparencyLog",
        "HiTechSchema",
        "DaemonSupport",
        "ZeroMQ",
        "ZeroMQTransport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Configuration", package: "swift-configuration"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ]
    ),
    // The yearly assessment: indicators derived from stored reports, the scoring rubric
    // (configuration with a documented default), ranks, support tiers, programme tracking and
    // the published results (JSON, CSV, a static HTML page). No network, no clock.
    .target(
      name: "Assessment",
      dependencies: ["HiTechDomain"]
    ),
    // The coordinator daemon: the yearly rounds' durable state machine on an injectable clock,
    // reminders, catch-up after downtime, the assessment and publishing steps, its store (SQLite,
    // or PostgreSQL with an active and a standby daemon: Postgres/) and configuration. It drives
    // the aggregator over the RoundRelay service.
    .target(
      name: "Coordinator",
      dependencies: [
        "Assessment",
        "TransparencyLog",
        "HiTechDomain",
        "HiTechSchema",
        "DaemonSupport",
        "ZeroMQ",
        "ZeroMQTransport",
        "AggregatorStorePostgres",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "Configuration", package: "swift-configuration"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "UnixSignals", package: "swift-service-lifecycle"),
      ],
      swiftSettings: grpcAvailability
    ),
    // Arrival monitoring for operators: the web dashboard and its JSON API (Hummingbird),
    // Prometheus metrics, and the arrival tables the CLI prints.
    .target(
      name: "Monitoring",
      dependencies: [
        "AggregatorStore",
        "HiTechDomain",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ]
    ),
    .executableTarget(
      name: "hitech",
      dependencies: [
        "TransparencyLog",
        "ZeroMQ",
        "ZeroMQTransport",
        "HiTechSchema",
        "DaemonSupport",
        "Aggregator",
        "AggregatorStore",
        "AggregatorStorePostgres",
        "HiTechDomain",
        "ProvinceNode",
        "Assessment",
        "Coordinator",
        "Monitoring",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: grpcAvailability
    ),
    // Fuzzing harnesses (Fuzz/README.md), one executable per parser of hostile bytes. An
    // ordinary build replays inputs (the committed corpus and regressions, in FuzzTests);
    // Fuzz/run.sh builds them with -sanitize=fuzzer,address into .build-fuzz.
    .target(name: "CLibFuzzer", path: "Fuzz/Sources/CLibFuzzer"),
    .target(name: "FuzzSupport", dependencies: ["CLibFuzzer"], path: "Fuzz/Sources/FuzzSupport"),
    .executableTarget(
      name: "fuzz-wire",
      dependencies: ["FuzzSupport", "ZeroMQ", "ZeroMQTransport", .product(name: "GRPCCore", package: "grpc-swift-2")],
      path: "Fuzz/Sources/fuzz-wire",
      swiftSettings: grpcAvailability
    ),
    .executableTarget(
      name: "fuzz-submission",
      dependencies: [
        "FuzzSupport", "HiTechDomain", "HiTechSchema", "DaemonSupport",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      path: "Fuzz/Sources/fuzz-submission"
    ),
    .executableTarget(
      name: "fuzz-message-file",
      dependencies: ["FuzzSupport", "ProvinceNode", "HiTechSchema", "DaemonSupport"],
      path: "Fuzz/Sources/fuzz-message-file"
    ),
    .executableTarget(
      name: "fuzz-sheet",
      dependencies: ["FuzzSupport", "ProvinceNode", "HiTechSchema", "DaemonSupport"],
      path: "Fuzz/Sources/fuzz-sheet"
    ),
    .executableTarget(
      name: "fuzz-registry",
      dependencies: ["FuzzSupport", "Aggregator", "AggregatorStore"],
      path: "Fuzz/Sources/fuzz-registry"
    ),
    .executableTarget(
      name: "fuzz-configuration",
      dependencies: ["FuzzSupport", "Aggregator", "ProvinceNode", "Coordinator"],
      path: "Fuzz/Sources/fuzz-configuration"
    ),
    .testTarget(
      name: "ZeroMQTests",
      dependencies: ["ZeroMQ"]
    ),
    .testTarget(
      name: "ZeroMQTransportTests",
      dependencies: [
        "TestProcesses",
        "ZeroMQ",
        "ZeroMQTransport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: grpcAvailability
    ),
    .testTarget(
      name: "DaemonSupportTests",
      dependencies: [
        "DaemonSupport",
        "ZeroMQ",
        "ZeroMQTransport",
        "HiTechSchema",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
      ],
      swiftSettings: grpcAvailability
    ),
    // Runs a Python client written from proto-schemas/WIRE.md alone against the Swift server.
    .testTarget(
      name: "InteropTests",
      dependencies: [
        "TestProcesses",
        "DaemonSupport",
        "ZeroMQ",
        "ZeroMQTransport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
      ],
      exclude: ["python"],
      swiftSettings: grpcAvailability
    ),
    .testTarget(
      name: "TransparencyLogTests",
      dependencies: ["TransparencyLog", .product(name: "Crypto", package: "swift-crypto")]
    ),
    .testTarget(
      name: "HiTechDomainTests",
      dependencies: ["HiTechDomain", "HiTechSchema", .product(name: "SwiftProtobuf", package: "swift-protobuf")]
    ),
    .testTarget(
      name: "AggregatorStoreTests",
      dependencies: ["AggregatorStore", "HiTechDomain", .product(name: "GRDB", package: "GRDB.swift")]
    ),
    // One contract suite run against every backend (SQLite always; PostgreSQL when
    // HITECH_TEST_POSTGRES_URL names a server, as Tests/run.sh does).
    .testTarget(
      name: "StoreContractTests",
      dependencies: [
        "TestProcesses",
        "AggregatorStore", "AggregatorStorePostgres", "HiTechDomain", "TransparencyLog",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "GRDB", package: "GRDB.swift"),
      ]
    ),
    .testTarget(
      name: "AggregatorTests",
      dependencies: [
        "TestProcesses",
        "Aggregator",
        "HiTechTestSupport",
        "TransparencyLog",
        "AggregatorStore",
        "AggregatorStorePostgres",
        "HiTechDomain",
        "HiTechSchema",
        "DaemonSupport",
        "ZeroMQ",
        "ZeroMQTransport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "GRDB", package: "GRDB.swift"),
      ],
      swiftSettings: grpcAvailability
    ),
    .testTarget(
      name: "ProvinceNodeTests",
      dependencies: [
        "TestProcesses",
        "ProvinceNode", "HiTechSchema", "HiTechDomain", "HiTechTestSupport", "TransparencyLog",
        "Aggregator", "AggregatorStore", "AggregatorStorePostgres", "DaemonSupport", "ZeroMQ", "ZeroMQTransport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
      ]
    ),
    .testTarget(
      name: "AssessmentTests",
      dependencies: ["Assessment", "HiTechDomain"]
    ),
    .testTarget(
      name: "CoordinatorTests",
      dependencies: [
        "TestProcesses",
        "Coordinator", "Assessment", "HiTechDomain", "HiTechSchema", "HiTechTestSupport", "TransparencyLog",
        "Aggregator", "AggregatorStore", "AggregatorStorePostgres", "DaemonSupport", "ZeroMQ", "ZeroMQTransport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Crypto", package: "swift-crypto"),
      ],
      swiftSettings: grpcAvailability
    ),
    .testTarget(
      name: "MonitoringTests",
      dependencies: [
        "TestProcesses",
        "Monitoring", "AggregatorStore", "HiTechDomain",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdTesting", package: "hummingbird"),
        .product(name: "Metrics", package: "swift-metrics"),
        .product(name: "Prometheus", package: "swift-prometheus"),
      ]
    ),
    // Replays Fuzz/corpus/ and Fuzz/regressions/ through the fuzz-* executables built beside it.
    .testTarget(
      name: "FuzzTests",
      dependencies: ["TestProcesses"]
    ),
    // Child processes for the tests, started without Foundation's `Process` (see ChildProcess.swift).
    .target(
      name: "TestProcesses",
      path: "Tests/TestProcesses"
    ),
    // What the end-to-end test targets share: the aggregator process fixture.
    .target(
      name: "HiTechTestSupport",
      dependencies: [
        "TestProcesses", "Aggregator", "AggregatorStore", "AggregatorStorePostgres", "DaemonSupport", "HiTechSchema", "ZeroMQ", "ZeroMQTransport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "GRDB", package: "GRDB.swift"),
      ],
      path: "Tests/HiTechTestSupport",
      swiftSettings: grpcAvailability
    ),
    // A raw DEALER peer that breaks the wire's rules against the real aggregator process.
    .testTarget(
      name: "HostilePeerTests",
      dependencies: [
        "HiTechTestSupport", "HiTechSchema", "DaemonSupport", "ZeroMQ", "ZeroMQTransport",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: grpcAvailability
    ),
    .testTarget(
      name: "HiTechSchemaTests",
      dependencies: [
        "HiTechSchema",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ]
    ),
  ]
)

// The benchmark suite (Benchmarks/README.md), only with HITECH_BENCHMARKS=1 (Benchmarks/run.sh
// sets it): the HTTP/2 transport it compares against stays out of every other build, and the
// suite reuses this package's build of everything else.
if Context.environment["HITECH_BENCHMARKS"] == "1" {
  package.dependencies.append(.package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"))
  package.targets.append(
    .executableTarget(
      name: "hitech-bench",
      dependencies: [
        "ZeroMQ", "ZeroMQTransport", "HiTechSchema", "DaemonSupport", "AggregatorStore", "Aggregator",
        "HiTechTestSupport", "TransparencyLog",
        .product(name: "GRPCCore", package: "grpc-swift-2"),
        .product(name: "GRPCNIOTransportHTTP2Posix", package: "grpc-swift-nio-transport"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "Logging", package: "swift-log"),
      ],
      path: "Benchmarks/Sources/hitech-bench",
      swiftSettings: grpcAvailability
    )
  )
}
