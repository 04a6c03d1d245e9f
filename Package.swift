// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Rookery",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "rookery-client", targets: ["rookery-client"]),
        .executable(name: "rookery", targets: ["rookery"]),
        .executable(name: "rookery-bench", targets: ["rookery-bench"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "4.5.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1")
    ],
    targets: [
        // System libraries, each through a small C shim that loads it on first use (see cgpgme.h
        // and ccurl.h): GPGME's C API, and libcurl (curl_easy_setopt is variadic).
        .target(name: "CGPGME", path: "Sources/CGPGME", linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "CCurl", path: "Sources/CCurl", linkerSettings: [.linkedLibrary("dl")]),
        // The remote shell's pseudo-terminal: calls Swift's Glibc module leaves out, and the steps
        // between fork and exec, where no Swift code may run.
        .target(name: "CPseudoTerminal", path: "Sources/CPseudoTerminal"),

        // Shared by client and server: documents, client settings and their strict reader, wire
        // protocol, OpenPGP. Like every target the client links, it imports FoundationEssentials,
        // never Foundation (which would bring CoreFoundation and ICU into the client's binary), and
        // so cannot use Yams: the server's YAML settings reader lives in RookeryServer.
        .target(
            name: "RookeryCore",
            dependencies: [
                "CGPGME",
                .product(name: "Crypto", package: "swift-crypto")
            ]),
        // Built-in plugins: read the system through a root directory. From RookeryCore they use
        // ChildProcess and small helpers that FoundationEssentials lacks.
        .target(name: "RookeryPlugins", dependencies: ["RookeryCore"]),
        // HTTP and SMTP over libcurl, for the client's requests and the server's mail and webhooks.
        .target(name: "RookeryCurl", dependencies: ["CCurl", "RookeryCore"]),
        .target(
            name: "RookeryClient",
            dependencies: [
                "RookeryCore", "RookeryPlugins", "RookeryCurl", "CPseudoTerminal",
                .product(name: "Crypto", package: "swift-crypto")
            ]),
        .target(
            name: "RookeryServer",
            dependencies: [
                "RookeryCore", "RookeryCurl",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "GRDB", package: "GRDB.swift"),
                // The PostgreSQL backend (issue 18), for fleets that outgrow one SQLite file.
                .product(name: "PostgresNIO", package: "postgres-nio"),
                // The dashboard's pages (issue 19): templates that escape every value by default.
                .product(name: "Mustache", package: "swift-mustache"),
                // /metrics in Prometheus's text format (issue 19).
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                // NIOThreadPool, for blocking work (GPGME, password hashes) off the event loops.
                .product(name: "NIOPosix", package: "swift-nio")
            ]),

        .executableTarget(
            name: "rookery-client",
            dependencies: [
                "RookeryClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser")
            ]),
        .executableTarget(
            name: "rookery",
            dependencies: [
                // CPseudoTerminal: client_shell reads the admin's window size.
                "RookeryServer", "RookeryCurl", "CPseudoTerminal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                // NIO's IOError, to say which port the server could not listen on.
                .product(name: "NIOCore", package: "swift-nio")
            ]),
        // The benchmarks (bin/bench): they drive the two binaries above and use the client library,
        // which the server binary does without, and start the server as the end-to-end tests do.
        .executableTarget(
            name: "rookery-bench",
            dependencies: [
                "RookeryServer", "RookeryClient", "RookeryCurl", "RookeryTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto")
            ]),

        // Shared by the test targets and the benchmarks: sandboxes under /tmp that clean up after
        // themselves, the server launcher, a pseudo-terminal driver (CPseudoTerminal).
        .target(name: "RookeryTestSupport", dependencies: ["RookeryCore", "CPseudoTerminal"], path: "Tests/RookeryTestSupport"),
        .testTarget(
            name: "RookeryCoreTests",
            dependencies: [
                "RookeryCore", "RookeryTestSupport", .product(name: "Crypto", package: "swift-crypto")
            ]),
        .testTarget(name: "RookeryPluginsTests", dependencies: ["RookeryPlugins", "RookeryTestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "RookeryClientTests", dependencies: ["RookeryClient", "RookeryCurl", "RookeryPlugins", "RookeryTestSupport"]),
        .testTarget(name: "RookeryCurlTests", dependencies: ["RookeryCurl", "RookeryTestSupport"]),
        .testTarget(
            name: "RookeryServerTests",
            dependencies: [
                "RookeryServer", "RookeryCurl", "RookeryTestSupport", .product(name: "Yams", package: "Yams"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                // Group commit tests count SQLite's own commits (a transaction observer).
                .product(name: "GRDB", package: "GRDB.swift"),
                // The PostgreSQL tests make and drop a database each.
                .product(name: "PostgresNIO", package: "postgres-nio")
            ]),
        .testTarget(name: "EndToEndTests", dependencies: ["RookeryCore", "RookeryServer", "RookeryTestSupport"])
    ],
    swiftLanguageModes: [.v6]
)
