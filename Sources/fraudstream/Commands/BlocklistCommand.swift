import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// `fraudstream blocklist add|remove|check|import`: manage the IP blocklist (a counting Bloom filter).
struct BlocklistCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "blocklist",
        abstract: "Add, remove, check and import blocklisted IPs (workers and servers see changes at once).",
        discussion: """
            The blocklist is a counting Bloom filter in core Redis (4-bit counters, <namespace>:blocklist:ip:counters): \
            membership has false positives at the rate it was sized for (default 0.1% at 100,000 IPs), never false \
            negatives, and removal works. Remove only IPs that were added: removing one that was never added but is \
            a false positive can remove a colliding member, as with the Redis tutorial's Cuckoo filter.
            """,
        subcommands: [Add.self, Remove.self, Check.self, Import.self]
    )

    /// Connects and runs `body` with the namespace's feature store.
    static func withStore<T>(
        _ connection: ConnectionOptions, _ namespace: NamespaceOptions, _ body: (FeatureStore, RedisConnection) async throws -> T
    ) async throws -> T {
        let redis = try await RedisConnection.connect(try connection.configuration(name: "fraudstream-blocklist"))
        return try await body(FeatureStore(namespace: namespace.resolved), redis)
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Add IPs (creates the filter with the default size when there is none).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "IPs to add.") var ips: [String]

        func run() async throws {
            guard !ips.isEmpty else { throw ValidationError("give at least one IP") }
            if let problem = IPAddress.problem(in: ips) { throw problem }
            try await BlocklistCommand.withStore(connection, namespace) { store, redis in
                _ = try await store.addToBlocklist(ips, on: redis)
                for ip in ips { print("added \(ip)") }
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove IPs; exits 1 when one was not on the blocklist.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "IPs to remove.") var ips: [String]

        func run() async throws {
            guard !ips.isEmpty else { throw ValidationError("give at least one IP") }
            if let problem = IPAddress.problem(in: ips) { throw problem }
            let removed = try await BlocklistCommand.withStore(connection, namespace) { store, redis -> [Bool]? in
                let approvals = ApprovalStore(namespace: namespace.resolved)
                if try await approvals.isRequired(.blocklistRemove, on: redis) {
                    try await ApprovalsCommand.propose(.blocklistRemove, target: ips.joined(separator: ","), approvals: approvals, redis: redis)
                    return nil
                }
                return try await store.removeFromBlocklist(ips, on: redis)
            }
            guard let removed else { return }
            for (ip, done) in zip(ips, removed) { print(done ? "removed \(ip)" : "not blocklisted \(ip)") }
            if removed.contains(false) { throw ExitCode(1) }
        }
    }

    struct Check: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Print whether IPs are blocklisted; exits 1 when one is not.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "IPs to check.") var ips: [String]

        func run() async throws {
            guard !ips.isEmpty else { throw ValidationError("give at least one IP") }
            let listed = try await BlocklistCommand.withStore(connection, namespace) { store, redis in
                try await store.isBlocklisted(ips, on: redis)
            }
            for (ip, member) in zip(ips, listed) { print("\(ip) \(member ? "blocklisted" : "not blocklisted")") }
            if listed.contains(false) { throw ExitCode(1) }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add every IP of a file (one per line; blank lines and # comments ignored).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The file.") var file: String

        func run() async throws {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
                .map { (line: $0.offset + 1, ip: ($0.element.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "")
                    .trimmingCharacters(in: .whitespaces)) }
                .filter { !$0.ip.isEmpty }
            let ips = lines.map(\.ip)
            if let problem = IPAddress.problem(in: ips, where: { " (\(file) line \(lines[$0].line))" }) { throw problem }
            try await BlocklistCommand.withStore(connection, namespace) { store, redis in
                var start = 0
                while start < ips.count {
                    _ = try await store.addToBlocklist(Array(ips[start..<min(ips.count, start + 10_000)]), on: redis)
                    start += 10_000
                }
            }
            print("imported \(ips.count) IPs from \(file)")
        }
    }
}
