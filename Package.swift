// swift-tools-version:6.0
import PackageDescription

// swift-subprocess takes file paths and descriptors as swift-system's types: the System framework on Apple
// platforms, the SystemPackage module elsewhere.
let systemPackage: Target.Dependency = .product(name: "SystemPackage", package: "swift-system",
                                                condition: .when(platforms: [.linux]))

// Upcoming language features every Swift target (test, executable and build-tool targets included) builds with
// (issue 9): ExistentialAny, and MemberImportVisibility (a file uses members of the modules it imports itself, and a
// target declares what it imports). Plugin targets take no swiftSettings. Not enabled: InternalImportsByDefault (it
// would make every public dependency a `public import`).
let ottoSwiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "otto",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "otto", targets: ["otto"]),
        // The fake DigitalOcean API v2 on its own, for benchmarks and manual runs (`otto-fake-do --help`).
        .executable(name: "otto-fake-do", targets: ["OttoFakeDigitalOcean"]),
        // moto_server's EC2 instances as real local machines, behind a proxy, for benchmarks and manual runs (`otto-moto-proxy --help`).
        .executable(name: "otto-moto-proxy", targets: ["OttoMotoProxy"]),
        // The HTTP load generator (Tests/Support/LoadGenerator.swift) on its own, for benchmarks and demos (`otto-loadgen --help`).
        .executable(name: "otto-loadgen", targets: ["OttoLoadGenerator"]),
        // State writes per second against a state URL, for bench/state-pg (`otto-state-bench --url URL --writers N`).
        .executable(name: "otto-state-bench", targets: ["OttoStateBench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.4.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.6.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.0.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.5.0"),
        // The API is generated from Sources/OttoServer/openapi.yaml (issue 9): types and routing by the generator's
        // build plugin, served over Hummingbird; Yams turns the same file into the served /openapi.json at build time.
        .package(url: "https://github.com/apple/swift-openapi-generator", from: "1.14.3"),
        .package(url: "https://github.com/apple/swift-openapi-runtime", from: "1.13.4"),
        .package(url: "https://github.com/hummingbird-project/swift-openapi-hummingbird", from: "2.1.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Templates (`templates:` in a site): parsed at load time (OttoConfig), rendered by the host provider.
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        // The PostgreSQL state backend (`--state postgres://…`, issue 14): one dedicated connection per process for the
        // session advisory locks of its sites, one for reads and writes.
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    ],
    targets: [
        // C libraries: one system-library module per library, each imported by exactly one adapter.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLibSSH2", pkgConfig: "libssh2", providers: [.apt(["libssh2-1-dev"])]),

        .target(name: "OttoCore", swiftSettings: ottoSwiftSettings),
        .target(name: "OttoConfig", dependencies: ["OttoCore", "CYAML", .product(name: "Mustache", package: "swift-mustache"),
                                                  .product(name: "Crypto", package: "swift-crypto")], swiftSettings: ottoSwiftSettings),
        .target(name: "OttoPlan", dependencies: ["OttoCore"], swiftSettings: ottoSwiftSettings),
        .target(name: "OttoState", dependencies: ["OttoCore", "OttoPlan", .product(name: "GRDB", package: "GRDB.swift"),
                                                 .product(name: "GRDBSQLite", package: "GRDB.swift"),
                                                 .product(name: "PostgresNIO", package: "postgres-nio"),
                                                 .product(name: "NIOCore", package: "swift-nio"),
                                                 .product(name: "NIOPosix", package: "swift-nio"),
                                                 .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                 .product(name: "Logging", package: "swift-log")], swiftSettings: ottoSwiftSettings),
        .target(name: "OttoHTTP", dependencies: ["CCurl", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: ottoSwiftSettings),
        .target(name: "OttoSSH", dependencies: ["CLibSSH2", .product(name: "Crypto", package: "swift-crypto")], swiftSettings: ottoSwiftSettings),
        .target(name: "OttoProviders", dependencies: ["OttoCore", "OttoHTTP", "OttoSSH",
                                                     .product(name: "Mustache", package: "swift-mustache"),
                                                     .product(name: "Crypto", package: "swift-crypto"),
                                                     .product(name: "Subprocess", package: "swift-subprocess"),
                                                     systemPackage], swiftSettings: ottoSwiftSettings),
        .target(name: "OttoEngine", dependencies: ["OttoCore", "OttoPlan", "OttoState",
                                                  .product(name: "Metrics", package: "swift-metrics"),
                                                  .product(name: "Logging", package: "swift-log"),
                                                  .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")], swiftSettings: ottoSwiftSettings),
        // The HTTP API of `otto serve` (issue 5). Never imports OttoProviders or OttoConfig: plans, applies and walks
        // reach it through the RunService / WalkService protocols the CLI implements, desired state through OttoCore's
        // DesiredStateStore, which OttoConfig implements.
        .target(name: "OttoServer", dependencies: ["OttoCore", "OttoPlan", "OttoState", "OttoEngine",
                                                  .product(name: "Hummingbird", package: "hummingbird"),
                                                  .product(name: "HummingbirdCore", package: "hummingbird"),
                                                  .product(name: "HummingbirdTLS", package: "hummingbird"),
                                                  .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                  .product(name: "Logging", package: "swift-log"),
                                                  .product(name: "HTTPTypes", package: "swift-http-types"),
                                                  .product(name: "NIOCore", package: "swift-nio"),
                                                  .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                  .product(name: "Crypto", package: "swift-crypto"),
                                                  .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime"),
                                                  .product(name: "OpenAPIHummingbird", package: "swift-openapi-hummingbird")],
                swiftSettings: ottoSwiftSettings,
                plugins: [.plugin(name: "OpenAPIGenerator", package: "swift-openapi-generator"),
                          .plugin(name: "OpenAPIDocumentPlugin")]),
        // Build-time only: turns openapi.yaml into the JSON text `GET /openapi.json` serves (OpenAPIDocument+JSON.swift).
        .executableTarget(name: "OpenAPIDocumentTool", dependencies: [.product(name: "Yams", package: "Yams")],
                          path: "Plugins/OpenAPIDocumentTool", swiftSettings: ottoSwiftSettings),
        .plugin(name: "OpenAPIDocumentPlugin", capability: .buildTool(), dependencies: ["OpenAPIDocumentTool"],
                path: "Plugins/OpenAPIDocumentPlugin"),
        .target(name: "OttoWalker", dependencies: ["OttoCore", "OttoHTTP"], swiftSettings: ottoSwiftSettings),
        // OttoProviders and OttoConfig: the fake DigitalOcean's droplets can be real local machines (LocalDropletBacking),
        // whose user data's cloud-config is read with OttoConfig's YAML reader.
        .target(name: "OttoTestSupport", dependencies: ["OttoCore", "OttoSSH", "OttoProviders", "OttoConfig",
                                                       .product(name: "Hummingbird", package: "hummingbird"),
                                                       .product(name: "Logging", package: "swift-log"),
                                                       .product(name: "HTTPTypes", package: "swift-http-types"),
                                                       .product(name: "Crypto", package: "swift-crypto"),
                                                       .product(name: "Subprocess", package: "swift-subprocess"),
                                                       .product(name: "NIOCore", package: "swift-nio"),
                                                       .product(name: "NIOPosix", package: "swift-nio"),
                                                 .product(name: "NIOSSL", package: "swift-nio-ssl"),
                                                       .product(name: "NIOHTTP1", package: "swift-nio"),
                                                       systemPackage],
                path: "Tests/Support", swiftSettings: ottoSwiftSettings),
        // Swift Testing tags of the end-to-end suites and the `.endToEnd` trait `make test-fast` keys on (test targets only).
        .target(name: "OttoTestTags", path: "Tests/Tags", swiftSettings: ottoSwiftSettings),
        .executableTarget(name: "OttoFakeDigitalOcean", dependencies: ["OttoTestSupport", "OttoCore"], path: "Tests/FakeDigitalOcean", swiftSettings: ottoSwiftSettings),
        .executableTarget(name: "OttoMotoProxy", dependencies: ["OttoTestSupport", "OttoCore"], path: "Tests/MotoProxy", swiftSettings: ottoSwiftSettings),
        .executableTarget(name: "OttoLoadGenerator", dependencies: ["OttoTestSupport"], path: "Tests/LoadGenerator", swiftSettings: ottoSwiftSettings),
        .executableTarget(name: "OttoStateBench", dependencies: ["OttoCore", "OttoState"], path: "Tests/StateBench", swiftSettings: ottoSwiftSettings),
        .executableTarget(name: "otto", dependencies: [
            "OttoCore", "OttoConfig", "OttoPlan", "OttoState", "OttoHTTP", "OttoSSH", "OttoProviders", "OttoEngine", "OttoServer", "OttoWalker",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Prometheus", package: "swift-prometheus"),
        ], swiftSettings: ottoSwiftSettings),

        .testTarget(name: "OttoCoreTests", dependencies: ["OttoCore", "OttoTestSupport"], swiftSettings: ottoSwiftSettings),
        .testTarget(name: "OttoConfigTests", dependencies: ["OttoTestTags", "OttoConfig", "OttoCore", "OttoTestSupport",
                                                           .product(name: "Crypto", package: "swift-crypto")], swiftSettings: ottoSwiftSettings),
        .testTarget(name: "OttoPlanTests", dependencies: ["OttoPlan", "OttoCore"], swiftSettings: ottoSwiftSettings),
        .testTarget(name: "OttoStateTests", dependencies: ["OttoTestTags", "OttoState", "OttoPlan", "OttoCore", "OttoTestSupport",
                                                          .product(name: "GRDB", package: "GRDB.swift"),
                                                          .product(name: "PostgresNIO", package: "postgres-nio")], swiftSettings: ottoSwiftSettings),
        .testTarget(name: "OttoHTTPTests", dependencies: ["OttoHTTP", "OttoTestSupport"], swiftSettings: ottoSwiftSettings),
        .testTarget(name: "OttoSSHTests", dependencies: ["OttoTestTags", "OttoSSH", "OttoTestSupport"], swiftSettings: ottoSwiftSettings),
        .testTarget(name: "OttoProvidersTests", dependencies: ["OttoTestTags", "OttoProviders", "OttoHTTP", "OttoSSH", "OttoConfig", "OttoCore", "OttoTestSupport"], swiftSettings: ottoSwiftSettings),
        .testTarget(name: "OttoEngineTests", dependencies: ["OttoEngine", "OttoPlan", "OttoState", "OttoConfig", "OttoCore", "OttoTestSupport",
                                                           .product(name: "MetricsTestKit", package: "swift-metrics"),
                                                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                           .product(name: "ServiceLifecycleTestKit", package: "swift-service-lifecycle")], swiftSettings: ottoSwiftSettings),
        .testTarget(name: "OttoCLITests", dependencies: ["OttoTestTags", "OttoTestSupport", "OttoState", "OttoCore", "OttoProviders"], swiftSettings: ottoSwiftSettings),
        .testTarget(name: "OttoServerTests", dependencies: ["OttoTestTags", "OttoServer", "OttoConfig", "OttoState", "OttoPlan", "OttoEngine", "OttoCore",
                                                           "OttoTestSupport",
                                                           .product(name: "Hummingbird", package: "hummingbird"),
                                                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                                                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                                                           .product(name: "HTTPTypes", package: "swift-http-types"),
                                                           .product(name: "Logging", package: "swift-log"),
                                                           .product(name: "NIOCore", package: "swift-nio"),
                                                           .product(name: "OpenAPIRuntime", package: "swift-openapi-runtime")], swiftSettings: ottoSwiftSettings),
        // The load generator and the test app (examples/apps/hello) against each other, on loopback.
        .testTarget(name: "OttoLoadGeneratorTests", dependencies: ["OttoTestTags", "OttoTestSupport"], swiftSettings: ottoSwiftSettings),
        .testTarget(name: "OttoWalkerTests", dependencies: ["OttoWalker", "OttoHTTP", "OttoState", "OttoCore", "OttoTestSupport"], swiftSettings: ottoSwiftSettings),
    ]
)
