// swift-tools-version:6.0
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "FraudStream",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fraudstream", targets: ["fraudstream"]),
        .library(name: "RedisClient", targets: ["RedisClient"]),
        .library(name: "FraudCore", targets: ["FraudCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-async-algorithms", exact: "1.1.4"),
        .package(url: "https://github.com/apple/swift-log", exact: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", exact: "2.13.0"),
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", exact: "0.2.0"),
        .package(url: "https://github.com/apple/swift-configuration", exact: "1.4.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", exact: "2.28.1"),
        .package(url: "https://github.com/apple/swift-nio", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-extras", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-metrics", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-crypto", exact: "4.5.2"),
        .package(url: "https://github.com/vapor/jwt-kit", exact: "5.8.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", exact: "2.37.6"),
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
        .package(url: "https://github.com/vapor/postgres-nio", exact: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", exact: "2.1.1"),
    ],
    targets: [
        // The only target that sees C: hiredis from Debian's libhiredis-dev.
        .systemLibrary(
            name: "CHiredis",
            pkgConfig: "hiredis",
            providers: [.apt(["libhiredis-dev"])]
        ),
        // Redis client over hiredis: connections as actors on their own threads, pipelining, typed errors.
        .target(
            name: "RedisClient",
            dependencies: [
                "CHiredis",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // Starts a private redis-server for tests and benchmarks.
        .target(
            name: "RedisHarness",
            dependencies: ["RedisClient"],
            swiftSettings: swiftSettings
        ),
        // The fraud domain: data contract, features, model, pipeline stages.
        .target(
            name: "FraudCore",
            dependencies: [
                "RedisClient",
                .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Histogram", package: "hdrhistogram-swift"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
            ],
            // The Redis Functions libraries, compiled into the binary as `PackageResources.<file>_lua` byte arrays:
            // no resource bundle to find at run time, so a copied `fraudstream` executable still loads them.
            resources: [
                .embedInCode("Functions/fraudstream_features.lua"),
                .embedInCode("Functions/fraudstream_results.lua"),
                .embedInCode("Functions/fraudstream_lease.lua"),
                .embedInCode("Functions/fraudstream_entities.lua"),
            ],
            swiftSettings: swiftSettings
        ),
        // The synchronous scoring API (`fraudstream serve`) on Hummingbird, and the HTTP client its load test uses.
        .target(
            name: "FraudServer",
            dependencies: [
                "FraudCore",
                "RedisClient",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            resources: [
                .embedInCode("Resources/openapi.json"),
            ],
            swiftSettings: swiftSettings
        ),
        // The durable decision archive (`fraudstream archive`): the results streams into PostgreSQL, and its queries.
        .target(
            name: "FraudArchive",
            dependencies: [
                "FraudCore",
                "RedisClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        // `fraudstream --version`: the git commit, written before each build.
        .plugin(name: "BuildInfoPlugin", capability: .buildTool(), path: "Sources/BuildInfoPlugin"),
        .executableTarget(
            name: "fraudstream",
            dependencies: [
                "FraudCore",
                "FraudServer",
                "FraudArchive",
                "RedisClient",
                "RedisHarness",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings,
            // jemalloc (Debian's libjemalloc-dev) replaces glibc's malloc in the executable: a worker allocates a
            // reply and a command per transaction, and glibc's consolidation showed as a tenth of its CPU.
            linkerSettings: [.linkedLibrary("jemalloc", .when(platforms: [.linux]))],
            plugins: ["BuildInfoPlugin"]
        ),
        // Unit tests: no redis-server and no child processes, so they run in seconds
        // (`swift test --filter UnitTests`, or `make test-unit`).
        .testTarget(
            name: "RedisClientUnitTests",
            dependencies: ["RedisClient"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FraudCoreUnitTests",
            dependencies: ["FraudCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FraudServerUnitTests",
            dependencies: ["FraudServer", "FraudCore"],
            swiftSettings: swiftSettings
        ),
        // Integration tests: each test starts its own redis-server (RedisHarness); some run the
        // built `fraudstream` executable.
        .testTarget(
            name: "RedisClientTests",
            dependencies: [
                "RedisClient", "RedisHarness",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FraudCoreTests",
            dependencies: [
                "FraudCore",
                "FraudServer",
                "FraudArchive",
                "RedisClient",
                "RedisHarness",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)
