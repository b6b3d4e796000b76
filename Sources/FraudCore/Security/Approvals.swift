import Foundation
import RedisClient

/// Maker-checker for the changes that matter: when a family of changes requires approval, a change is stored as a
/// proposal and applied only when a *different* principal approves it. Opt in per family
/// (`fraudstream approvals require rules.promote`); proposals and decisions go to the audit log.
///
/// Keys, all in one hash slot: `{<ns>:approvals}` (id → proposal JSON), `{<ns>:approvals}:required` (the families),
/// `{<ns>:approvals}:next` (ids), and the audit stream `<ns>:audit:{<ns>:approvals}`.
public struct ApprovalStore: Sendable {
    public let namespace: String

    public init(namespace: String) { self.namespace = namespace }

    /// The families of changes that can require approval.
    public enum Family: String, CaseIterable, Sendable, Codable {
        case rulesPromote = "rules.promote"
        case modelsPromote = "models.promote"
        case blocklistRemove = "blocklist.remove"
        case featuresPromote = "features.promote"
    }

    /// A proposed change.
    public struct Proposal: Sendable, Codable, Equatable {
        public enum Status: String, Sendable, Codable { case pending, approved, rejected }
        public var id: Int
        public var family: Family
        /// A version (`3`) or comma-separated IPs.
        public var target: String
        public var proposer: String
        public var createdMilliseconds: Int64
        public var status: Status
        public var decidedBy: String?
        public var decidedMilliseconds: Int64?

        enum CodingKeys: String, CodingKey {
            case id, family, target, proposer, status
            case createdMilliseconds = "created_ms"
            case decidedBy = "decided_by"
            case decidedMilliseconds = "decided_ms"
        }

        public var jsonObject: [String: Any] {
            var object: [String: Any] = [
                "id": id, "family": family.rawValue, "target": target, "proposer": proposer, "created_ms": createdMilliseconds,
                "status": status.rawValue,
            ]
            if let decidedBy { object["decided_by"] = decidedBy }
            if let decidedMilliseconds { object["decided_ms"] = decidedMilliseconds }
            return object
        }
    }

    var proposalsKey: String { "{\(namespace):approvals}" }
    var requiredKey: String { "{\(namespace):approvals}:required" }
    var nextKey: String { "{\(namespace):approvals}:next" }
    var auditKey: String { proposalsKey }

    static var nowMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1000) }

    /// Whether changes of `family` need approval.
    public func isRequired(_ family: Family, on connection: RedisConnection) async throws(RedisError) -> Bool {
        try await connection.send(RedisCommand("SISMEMBER", requiredKey, family.rawValue)).int == 1
    }

    /// The families that need approval.
    public func required(on connection: RedisConnection) async throws(RedisError) -> [Family] {
        (try await connection.send(RedisCommand("SMEMBERS", requiredKey)).array ?? []).compactMap { $0.string.flatMap(Family.init) }
            .sorted { $0.rawValue < $1.rawValue }
    }

    /// Requires (or, with `required` false, stops requiring) approval for `family`; audited.
    public func setRequired(_ family: Family, _ required: Bool, actor: String, on connection: RedisConnection) async throws(RedisError) {
        _ = try await AuditLog(namespace: namespace).recording(
            [RedisCommand(required ? "SADD" : "SREM", requiredKey, family.rawValue)],
            entry: .init(actor: actor, action: "approvals.require", target: family.rawValue, change: required ? "required" : "not required"),
            key: auditKey, on: connection)
    }

    /// Proposals the hash keeps: past it, decided ones are dropped (the audit log keeps their record), and while this
    /// many are still pending a new proposal is refused, so no principal can grow the hash without bound.
    public static let maximumProposals = 1_000

    /// Stores a proposal; audited.
    public func propose(_ family: Family, target: String, actor: String, on connection: RedisConnection) async throws -> Proposal {
        if try await connection.send(RedisCommand("HLEN", proposalsKey)).int ?? 0 >= Self.maximumProposals {
            let decided = try await list(all: true, on: connection).filter { $0.status != .pending }
            for chunk in stride(from: 0, to: decided.count, by: 500).map({ decided[$0..<min(decided.count, $0 + 500)] }) {
                _ = try await connection.send(RedisCommand("HDEL", arguments: [proposalsKey] + chunk.map { String($0.id) as any RedisArgument }))
            }
            if try await connection.send(RedisCommand("HLEN", proposalsKey)).int ?? 0 >= Self.maximumProposals {
                throw FraudError(
                    .failedCheck, "\(Self.maximumProposals) proposals are pending: approve or reject some first (fraudstream approvals list)")
            }
        }
        let id = try await connection.send(RedisCommand("INCR", nextKey)).int ?? 0
        let proposal = Proposal(
            id: id, family: family, target: target, proposer: actor, createdMilliseconds: Self.nowMilliseconds, status: .pending)
        _ = try await AuditLog(namespace: namespace).recording(
            [RedisCommand("HSET", proposalsKey, String(id), String(decoding: try JSONEncoder().encode(proposal), as: UTF8.self))],
            entry: .init(actor: actor, action: "approvals.propose", target: "#\(id)", change: "\(family.rawValue) \(target)"),
            key: auditKey, on: connection)
        return proposal
    }

    /// Every proposal, newest first (only the pending ones unless `all`).
    public func list(all: Bool = false, on connection: RedisConnection) async throws -> [Proposal] {
        let values = (try await connection.send(RedisCommand("HGETALL", proposalsKey)).stringPairs ?? [:]).values
        let decoder = JSONDecoder()
        return values.compactMap { try? decoder.decode(Proposal.self, from: Data($0.utf8)) }
            .filter { all || $0.status == .pending }.sorted { $0.id > $1.id }
    }

    /// Decides pending proposal `id` as `actor`, who must not be its proposer; returns it decided (the caller applies an
    /// approved change). A proposal decided meanwhile by someone else is refused.
    public func decide(_ id: Int, approve: Bool, actor: String, on connection: RedisConnection) async throws -> Proposal {
        guard let text = try await connection.send(RedisCommand("HGET", proposalsKey, String(id))).string,
            var proposal = try? JSONDecoder().decode(Proposal.self, from: Data(text.utf8))
        else { throw FraudError(.notFound, "no proposal #\(id) (fraudstream approvals list)") }
        guard proposal.status == .pending else { throw FraudError(.failedCheck, "proposal #\(id) was \(proposal.status.rawValue) already") }
        guard proposal.proposer != actor else {
            throw FraudError(.failedCheck, "\(actor) proposed #\(id) and cannot also \(approve ? "approve" : "reject") it: another principal must")
        }
        proposal.status = approve ? .approved : .rejected
        proposal.decidedBy = actor
        proposal.decidedMilliseconds = Self.nowMilliseconds
        _ = try await AuditLog(namespace: namespace).recording(
            [RedisCommand("HSET", proposalsKey, String(id), String(decoding: try JSONEncoder().encode(proposal), as: UTF8.self))],
            entry: .init(
                actor: actor, action: approve ? "approvals.approve" : "approvals.reject", target: "#\(id)",
                change: "\(proposal.family.rawValue) \(proposal.target) proposed by \(proposal.proposer)"),
            key: auditKey, on: connection)
        return proposal
    }

    /// Applies an approved proposal as `actor` (the approver).
    public func apply(_ proposal: Proposal, actor: String, on connection: RedisConnection) async throws {
        switch proposal.family {
        case .rulesPromote:
            guard let version = Int(proposal.target) else { throw FraudError(.invalidData, "proposal #\(proposal.id): bad version") }
            try await RuleStore(namespace: namespace).promote(version, actor: actor, on: connection)
        case .modelsPromote:
            guard let version = Int(proposal.target) else { throw FraudError(.invalidData, "proposal #\(proposal.id): bad version") }
            try await ModelStore(namespace: namespace).promote(version, actor: actor, on: connection)
        case .featuresPromote:
            guard let version = Int(proposal.target) else { throw FraudError(.invalidData, "proposal #\(proposal.id): bad version") }
            try await FeatureSetStore(namespace: namespace).promote(version, actor: actor, on: connection)
        case .blocklistRemove:
            let ips = proposal.target.split(separator: ",").map(String.init)
            _ = try await FeatureStore(namespace: namespace).removeFromBlocklist(ips, actor: actor, on: connection)
        }
    }
}
