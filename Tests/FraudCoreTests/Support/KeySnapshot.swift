import RedisClient

@testable import FraudCore

/// Every key of a server with its `DUMP` (type and value, byte for byte) and whether it has a TTL: what a test
/// compares before and after a command that must leave state as it was.
struct KeySnapshot: Equatable {
    var dumps: [String: [UInt8]]
    var expiring: Set<String>

    /// Takes the snapshot of every key (found with `SCAN`) that `excluding` does not name.
    static func take(_ redis: RedisConnection, excluding: (String) -> Bool = { _ in false }) async throws -> KeySnapshot {
        let keys = try await Keyspace(namespace: "").keys(matching: "*", on: redis).filter { !excluding($0) }.sorted()
        var snapshot = KeySnapshot(dumps: [:], expiring: [])
        for key in keys {
            guard let dump = try await redis.send(RedisCommand("DUMP", key)).bytes else { continue }  // expired meanwhile
            snapshot.dumps[key] = dump
            if try await redis.send(RedisCommand("PTTL", key)).int ?? -1 >= 0 { snapshot.expiring.insert(key) }
        }
        return snapshot
    }

    /// Keys added, removed or changed from `before` to this snapshot, for a failure message.
    func differences(from before: KeySnapshot) -> [String] {
        let names = Set(dumps.keys).union(before.dumps.keys).sorted()
        return names.compactMap { key in
            switch (before.dumps[key], dumps[key]) {
            case (nil, _): "added \(key)"
            case (_, nil): "removed \(key)"
            case (let old, let new) where old != new: "changed \(key)"
            default: before.expiring.contains(key) != expiring.contains(key) ? "TTL changed \(key)" : nil
            }
        }
    }
}
