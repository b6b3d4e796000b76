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
            Scoring reads a counting Bloom filter in core Redis (4-bit counters, <namespace>:blocklist:ip:counters): \
            membership has false positives at the rate it was sized for (default 0.1% at 100,000 IPs), never false \
            negatives. Beside it an exact record of the listed IPs ({<namespace>:blocklist:ip:counters}:members) \
            decides adds and removals: adding a listed IP again changes nothing, removing an IP that was never listed \
            removes nothing, and `check` prints both the record and what scoring sees. Commands warn when the list \
            is past the filter's designed capacity.
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
        @OptionGroup var pseudonyms: PseudonymOptions
        @Argument(help: "IPs to add.") var ips: [String]

        func run() async throws {
            guard !ips.isEmpty else { throw ValidationError("give at least one IP") }
            if let problem = IPAddress.problem(in: ips) { throw problem }
            try await BlocklistCommand.withStore(connection, namespace) { store, redis in
                let addition = try await store.listOnBlocklist(try BlocklistCommand.stored(ips, pseudonyms), on: redis)
                for (ip, new) in zip(ips, addition.newlyListed) { print(new ? "added \(ip)" : "already blocklisted \(ip)") }
                BlocklistCommand.warnIfOverCapacity(members: addition.members, capacity: addition.shape.capacity)
            }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Remove IPs; exits 1 when one was not on the blocklist.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @OptionGroup var pseudonyms: PseudonymOptions
        @Argument(help: "IPs to remove.") var ips: [String]

        func run() async throws {
            guard !ips.isEmpty else { throw ValidationError("give at least one IP") }
            if let problem = IPAddress.problem(in: ips) { throw problem }
            let removed = try await BlocklistCommand.withStore(connection, namespace) { store, redis -> [Bool]? in
                let approvals = ApprovalStore(namespace: namespace.resolved)
                let stored = try BlocklistCommand.stored(ips, pseudonyms)
                if try await approvals.isRequired(.blocklistRemove, on: redis) {
                    try await ApprovalsCommand.propose(.blocklistRemove, target: stored.joined(separator: ","), approvals: approvals, redis: redis)
                    return nil
                }
                return try await store.removeFromBlocklist(stored, on: redis)
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
        @OptionGroup var pseudonyms: PseudonymOptions
        @Argument(help: "IPs to check.") var ips: [String]

        func run() async throws {
            guard !ips.isEmpty else { throw ValidationError("give at least one IP") }
            let membership = try await BlocklistCommand.withStore(connection, namespace) { store, redis in
                try await store.blocklistMembership(try BlocklistCommand.stored(ips, pseudonyms), on: redis)
            }
            for (ip, member) in zip(ips, membership) {
                switch (member.listed, member.filterMatch) {
                case (true, _): print("\(ip) blocklisted")
                case (false, true): print("\(ip) not blocklisted (but the filter matches it: a false positive, or listed before 0.22; scoring treats it as listed)")
                case (false, false): print("\(ip) not blocklisted")
                }
            }
            if membership.contains(where: { !$0.listed }) { throw ExitCode(1) }
        }
    }

    struct Import: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add every IP of a file (one per line; blank lines and # comments ignored).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @OptionGroup var pseudonyms: PseudonymOptions
        @Argument(help: "The file.") var file: String

        func run() async throws {
            let text = try String(contentsOfFile: file, encoding: .utf8)
            let lines = text.split(omittingEmptySubsequences: false, whereSeparator: \.isNewline).enumerated()
                .map { (line: $0.offset + 1, ip: ($0.element.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "")
                    .trimmingCharacters(in: .whitespaces)) }
                .filter { !$0.ip.isEmpty }
            let ips = lines.map(\.ip)
            if let problem = IPAddress.problem(in: ips, where: { " (\(file) line \(lines[$0].line))" }) { throw problem }
            let (added, size) = try await BlocklistCommand.withStore(connection, namespace) { store, redis in
                var added = 0
                var start = 0
                while start < ips.count {
                    let chunk = try BlocklistCommand.stored(Array(ips[start..<min(ips.count, start + 10_000)]), pseudonyms)
                    added += try await store.listOnBlocklist(chunk, on: redis).newlyListed.count { $0 }
                    start += 10_000
                }
                return (added, try await store.blocklistSize(on: redis))
            }
            print("imported \(ips.count) IPs from \(file): \(added) newly listed, \(ips.count - added) already listed")
            BlocklistCommand.warnIfOverCapacity(members: size.members, capacity: size.capacity)
        }
    }

    /// The IPs as they are stored: their pseudonyms when `PSEUDONYMIZE` lists `ip`.
    static func stored(_ ips: [String], _ options: PseudonymOptions) throws -> [String] {
        guard let pseudonymizer = try options.resolved() else { return ips }
        return ips.map { pseudonymizer.map($0, field: "ip") }
    }

    /// A warning on stderr when the list is past the filter's designed capacity.
    static func warnIfOverCapacity(members: Int, capacity: Int) {
        guard capacity > 0, members > capacity else { return }
        FileHandle.standardError.write(Data(
            "warning: \(members) IPs are listed, past the filter's designed capacity of \(capacity): its false-positive rate is above the one it was sized for; size a bigger one with prepare --blocklist-capacity\n".utf8))
    }
}
