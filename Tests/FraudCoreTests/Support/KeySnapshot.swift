import Foundation
import RedisClient

@testable import FraudCore

/// Every key of a server with its `DUMP` (type and value, byte for byte) and whether it has a TTL: what a test
/// compares before and after a command that must leave state as it was.
struct KeySnapshot: Equatable {
    var dumps: [String: [UInt8]]
    var expiring: Set<String>
    /// When each expiring key was due to expire, by this machine's clock (ms): a key gone after that expired by itself.
    var expiresAt: [String: Int64] = [:]

    static func == (lhs: KeySnapshot, rhs: KeySnapshot) -> Bool { lhs.differences(from: rhs).isEmpty && rhs.differences(from: lhs).isEmpty }

    static var nowMilliseconds: Int64 { Int64(Date().timeIntervalSince1970 * 1_000) }

    /// Takes the snapshot of every key (found with `SCAN`) that `excluding` does not name.
    static func take(_ redis: RedisConnection, excluding: (String) -> Bool = { _ in false }) async throws -> KeySnapshot {
        let keys = try await Keyspace(namespace: "").keys(matching: "*", on: redis).filter { !excluding($0) }.sorted()
        var snapshot = KeySnapshot(dumps: [:], expiring: [])
        for key in keys {
            guard let dump = try await redis.send(RedisCommand("DUMP", key)).bytes else { continue }  // expired meanwhile
            snapshot.dumps[key] = dump
            let ttl = try await redis.send(RedisCommand("PTTL", key)).int ?? -1
            if ttl >= 0 {
                snapshot.expiring.insert(key)
                snapshot.expiresAt[key] = nowMilliseconds + Int64(ttl)
            }
        }
        return snapshot
    }

    /// Keys added, removed or changed from `before` to this snapshot, for a failure message. A key that had a TTL and
    /// is gone after it was due is not a difference: it expired by itself, however slow the machine was in between.
    func differences(from before: KeySnapshot) -> [String] {
        let names = Set(dumps.keys).union(before.dumps.keys).sorted()
        let now = Self.nowMilliseconds
        return names.compactMap { key in
            switch (before.dumps[key], dumps[key]) {
            case (nil, _): "added \(key)"
            case (_, nil): (before.expiresAt[key].map { $0 <= now } ?? false) ? nil : "removed \(key)"
            case (let old, let new) where old != new: "changed \(key)"
            default: before.expiring.contains(key) != expiring.contains(key) ? "TTL changed \(key)" : nil
            }
        }
    }
}
