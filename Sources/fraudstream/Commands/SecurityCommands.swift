import ArgumentParser
import FraudCore
import Foundation
import RedisClient

/// `fraudstream apikeys create|list|revoke`: the keys `fraudstream serve` accepts.
struct APIKeysCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apikeys",
        abstract: "Create, list and revoke the API keys the scoring API accepts.",
        discussion: """
            A key has a name and scopes: score (POST /v1/score, /v1/score/batch, POST /), read (blocklist GET, \
            /v1/models/current, /metrics) and admin (blocklist changes). Only a salted SHA-256 of each secret is \
            stored; the secret is printed once, by create. Running servers follow creations and revocations within \
            a second. Every change goes to the audit log (fraudstream audit list) with its actor.
            """,
        subcommands: [Create.self, List.self, Revoke.self]
    )

    static func connect(_ connection: ConnectionOptions) async throws -> RedisConnection {
        try await RedisConnection.connect(try connection.configuration(name: "fraudstream-apikeys"))
    }

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Create a key; its secret is printed alone on the last line, once.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Option(help: "The key's name (1-64 of A-Z a-z 0-9 . _ - @), as the audit log shows it.") var name: String
        @Option(help: "Scopes, comma-separated: score, read, admin.") var scope: String

        func run() async throws {
            try APIKeyStore.validate(name: name)
            let scopes = try APIScope.parseList(scope)
            let redis = try await APIKeysCommand.connect(connection)
            let (key, secret) = try await APIKeyStore(namespace: namespace.resolved).create(
                name: name, scopes: scopes, actor: AuditLog.commandLineActor, on: redis)
            printLine("created API key '\(key.name)' (id \(key.id), scopes \(key.scopes.map(\.rawValue).joined(separator: ","))); keep the secret below, it is not shown again:")
            printLine(secret)
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List keys: names, scopes, creation and last use; never secrets.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Flag(help: "JSON instead of a table.") var json = false

        func run() async throws {
            let redis = try await APIKeysCommand.connect(connection)
            let store = APIKeyStore(namespace: namespace.resolved)
            let keys = try await store.load(on: redis)
            let used = try await store.lastUsed(on: redis)
            func time(_ ms: Int64?) -> String {
                guard let ms else { return "never" }
                return ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
            }
            if json {
                printJSON(keys.map { key -> [String: Any] in
                    var object: [String: Any] = [
                        "name": key.name, "id": key.id, "scopes": key.scopes.map(\.rawValue), "created_ms": key.createdMilliseconds,
                    ]
                    if let last = used[key.name] { object["last_used_ms"] = last }
                    return object
                })
                return
            }
            if keys.isEmpty {
                print("no API keys under '\(namespace.resolved)' (fraudstream apikeys create --name NAME --scope score)")
                return
            }
            print("name".padding(toLength: 24, withPad: " ", startingAt: 0) + "  scopes            created                last used")
            for key in keys {
                print(key.name.padding(toLength: 24, withPad: " ", startingAt: 0) + "  "
                    + key.scopes.map(\.rawValue).joined(separator: ",").padding(toLength: 16, withPad: " ", startingAt: 0) + "  "
                    + time(key.createdMilliseconds) + "   " + time(used[key.name]))
            }
        }
    }

    struct Revoke: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke a key by name; running servers refuse it within a second.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The key's name.") var name: String

        func run() async throws {
            let redis = try await APIKeysCommand.connect(connection)
            guard try await APIKeyStore(namespace: namespace.resolved).revoke(name: name, actor: AuditLog.commandLineActor, on: redis) else {
                throw FraudError(.notFound, "no API key named '\(name)' (fraudstream apikeys list)")
            }
            printLine("revoked API key '\(name)'")
        }
    }
}

/// `fraudstream audit list`: who changed what, when.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit",
        abstract: "Read the audit log: every change with its actor, action, target, before → after, time and request id.",
        subcommands: [List.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List audit entries, oldest first.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Option(help: "Only entries at or after this time: epoch milliseconds, or an ISO 8601 date-time (2026-12-06T10:00:00Z).") var since: String?
        @Option(help: "Only this actor's entries (cli:<user>@<host>, key:<name>).") var actor: String?
        @Option(help: "Only this action or family (apikeys, apikeys.create, …).") var action: String?
        @Flag(help: "JSON instead of lines.") var json = false

        func run() async throws {
            var sinceMilliseconds: Int64 = 0
            if let since {
                if let ms = Int64(since) {
                    sinceMilliseconds = ms
                } else if let date = ISO8601DateFormatter().date(from: since) {
                    sinceMilliseconds = Int64(date.timeIntervalSince1970 * 1000)
                } else {
                    throw ValidationError("--since must be epoch milliseconds or an ISO 8601 date-time, not '\(since)'")
                }
            }
            let redis = try await RedisConnection.connect(try connection.configuration(name: "fraudstream-audit"))
            let entries = try await AuditLog(namespace: namespace.resolved).list(
                sinceMilliseconds: sinceMilliseconds, actor: actor, action: action, on: redis)
            if json {
                printJSON(entries.map(\.jsonObject))
                return
            }
            if entries.isEmpty { print("no audit entries under '\(namespace.resolved)' match") }
            let formatter = ISO8601DateFormatter()
            for entry in entries {
                print("\(formatter.string(from: Date(timeIntervalSince1970: Double(entry.timeMilliseconds) / 1000)))  \(entry.actor)  \(entry.action)  \(entry.target)  \(entry.change)  request \(entry.requestId)")
            }
        }
    }
}

/// `fraudstream approvals`: maker-checker for rule and model promotions and blocklist removals.
struct ApprovalsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "approvals",
        abstract: "Maker-checker: require a second principal's approval for rule promotions, model promotions or blocklist removals.",
        discussion: """
            Off by default. `approvals require rules.promote` (or models.promote, blocklist.remove) makes every such \
            change a proposal, applied only when a different principal approves it (the command line is \
            cli:<os user>@<host>; the API's admin keys by name). Proposals and decisions go to the audit log.
            """,
        subcommands: [Require.self, List.self, Approve.self, Reject.self]
    )

    /// Stores a proposal for `family` and says how it gets applied.
    static func propose(
        _ family: ApprovalStore.Family, target: String, approvals: ApprovalStore, redis: RedisConnection
    ) async throws {
        let proposal = try await approvals.propose(family, target: target, actor: AuditLog.commandLineActor, on: redis)
        printLine("proposed #\(proposal.id): \(family.rawValue) \(target) needs another principal's approval "
            + "(fraudstream approvals approve \(proposal.id)); nothing changed yet")
    }

    static func connect(_ connection: ConnectionOptions) async throws -> RedisConnection {
        try await RedisConnection.connect(try connection.configuration(name: "fraudstream-approvals"))
    }

    static func family(_ text: String) throws -> ApprovalStore.Family {
        guard let family = ApprovalStore.Family(rawValue: text) else {
            throw FraudError(
                .invalidSetting, "unknown change family '\(text)': use \(ApprovalStore.Family.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return family
    }

    struct Require: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Require approval for a family of changes (--off: stop requiring it).")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "rules.promote, models.promote, features.promote or blocklist.remove.") var family: String
        @Flag(help: "Stop requiring approval.") var off = false

        func run() async throws {
            let family = try ApprovalsCommand.family(family)
            let redis = try await ApprovalsCommand.connect(connection)
            try await ApprovalStore(namespace: namespace.resolved).setRequired(family, !off, actor: AuditLog.commandLineActor, on: redis)
            printLine("\(family.rawValue) \(off ? "no longer needs" : "now needs") a second principal's approval")
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List pending proposals (--all: decided ones too) and what needs approval.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Flag(help: "Decided proposals too.") var all = false
        @Flag(help: "JSON instead of lines.") var json = false

        func run() async throws {
            let redis = try await ApprovalsCommand.connect(connection)
            let store = ApprovalStore(namespace: namespace.resolved)
            let proposals = try await store.list(all: all, on: redis)
            if json {
                printJSON(proposals.map(\.jsonObject))
                return
            }
            let required = try await store.required(on: redis)
            print("needs approval: \(required.isEmpty ? "nothing (fraudstream approvals require FAMILY)" : required.map(\.rawValue).joined(separator: ", "))")
            for proposal in proposals {
                print("#\(proposal.id)  \(proposal.status.rawValue)  \(proposal.family.rawValue) \(proposal.target)  by \(proposal.proposer)"
                    + (proposal.decidedBy.map { "  decided by \($0)" } ?? ""))
            }
        }
    }

    struct Approve: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Approve a proposal (not your own) and apply it.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The proposal's number.") var id: Int

        func run() async throws {
            let redis = try await ApprovalsCommand.connect(connection)
            let store = ApprovalStore(namespace: namespace.resolved)
            let proposal = try await store.decide(id, approve: true, actor: AuditLog.commandLineActor, on: redis)
            try await store.apply(proposal, actor: AuditLog.commandLineActor, on: redis)
            printLine("approved and applied #\(id): \(proposal.family.rawValue) \(proposal.target) (proposed by \(proposal.proposer))")
        }
    }

    struct Reject: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Reject a proposal (not your own); nothing changes.")
        @OptionGroup var connection: ConnectionOptions
        @OptionGroup var namespace: NamespaceOptions
        @Argument(help: "The proposal's number.") var id: Int

        func run() async throws {
            let redis = try await ApprovalsCommand.connect(connection)
            let proposal = try await ApprovalStore(namespace: namespace.resolved).decide(id, approve: false, actor: AuditLog.commandLineActor, on: redis)
            printLine("rejected #\(id): \(proposal.family.rawValue) \(proposal.target)")
        }
    }
}
