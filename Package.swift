// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "otto",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "otto", targets: ["otto"]),
        // The fake DigitalOcean API v2 on its own, for benchmarks and manual runs (`otto-fake-do --help`).
        .executable(name: "otto-fake-do", targets: ["OttoFakeDigitalOcean"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
    ],
    targets: [
        // C libraries: one system-library module per library, each imported by exactly one adapter.
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        .systemLibrary(name: "CCurl", pkgConfig: "libcurl", providers: [.apt(["libcurl4-openssl-dev"])]),
        .systemLibrary(name: "CLibSSH2", pkgConfig: "libssh2", providers: [.apt(["libssh2-1-dev"])]),

        .target(name: "OttoCore"),
        .target(name: "OttoConfig", dependencies: ["OttoCore", "CYAML"]),
        .target(name: "OttoPlan", dependencies: ["OttoCore"]),
        .target(name: "OttoState", dependencies: ["OttoCore", "OttoPlan", .product(name: "GRDB", package: "GRDB.swift")]),
        .target(name: "OttoHTTP", dependencies: ["CCurl", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "OttoSSH", dependencies: ["CLibSSH2", .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "OttoProviders", dependencies: ["OttoCore", "OttoHTTP", "OttoSSH", "OttoConfig",
                                                     .product(name: "Crypto", package: "swift-crypto")]),
        .target(name: "OttoEngine", dependencies: ["OttoCore", "OttoConfig", "OttoPlan", "OttoState"]),
        .target(name: "OttoWalker", dependencies: ["OttoCore", "OttoHTTP"]),
        .target(name: "OttoTestSupport", dependencies: ["OttoCore", "OttoSSH",
                                                       .product(name: "Hummingbird", package: "hummingbird"),
                                                       .product(name: "Logging", package: "swift-log"),
                                                       .product(name: "HTTPTypes", package: "swift-http-types"),
                                                       .product(name: "Crypto", package: "swift-crypto")],
                path: "Tests/Support"),
        .executableTarget(name: "OttoFakeDigitalOcean", dependencies: ["OttoTestSupport"], path: "Tests/FakeDigitalOcean"),
        .executableTarget(name: "otto", dependencies: [
            "OttoCore", "OttoConfig", "OttoPlan", "OttoState", "OttoHTTP", "OttoSSH", "OttoProviders", "OttoEngine", "OttoWalker",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),

        .testTarget(name: "OttoCoreTests", dependencies: ["OttoCore"]),
        .testTarget(name: "OttoConfigTests", dependencies: ["OttoConfig", "OttoCore"]),
        .testTarget(name: "OttoPlanTests", dependencies: ["OttoPlan", "OttoCore"]),
        .testTarget(name: "OttoStateTests", dependencies: ["OttoState", "OttoPlan", "OttoCore"]),
        .testTarget(name: "OttoHTTPTests", dependencies: ["OttoHTTP"]),
        .testTarget(name: "OttoSSHTests", dependencies: ["OttoSSH", "OttoTestSupport"]),
        .testTarget(name: "OttoProvidersTests", dependencies: ["OttoProviders", "OttoHTTP", "OttoSSH", "OttoConfig", "OttoCore", "OttoTestSupport"]),
        .testTarget(name: "OttoEngineTests", dependencies: ["OttoEngine", "OttoPlan", "OttoState", "OttoConfig", "OttoCore", "OttoTestSupport"]),
        .testTarget(name: "OttoCLITests", dependencies: ["OttoTestSupport"]),
        .testTarget(name: "OttoWalkerTests", dependencies: ["OttoWalker", "OttoHTTP", "OttoState", "OttoCore", "OttoTestSupport"]),
    ]
)
