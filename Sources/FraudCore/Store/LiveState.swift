import RedisClient

/// What serving has left in a namespace, surveyed before `prepare` clears the feature state: the state it would
/// delete, and whether the namespace has served traffic. It has when any of these holds:
/// - a results stream (`<ns>:results*`, or one named by the settings) holds entries: every decision, from a worker
///   or the scoring API, is written there;
/// - run statistics exist (`<ns>:stats:*`, the generator's `…:meta` aside): workers and servers write them;
/// - the scoring API has stored first decisions (`<ns>:{<user>}:decision:<transaction>`);
/// - there is feature state but no `<ns>:world`, so `prepare` did not write it.
public struct LiveState: Sendable {
    /// The namespace.
    public var namespace: String
    /// The feature state `prepare` would delete.
    public var featureState: Keyspace.FeatureState
    /// Results streams that hold entries, with their lengths.
    public var resultEntries: [(stream: String, entries: Int)]
    /// Run statistics keys written by workers and servers.
    public var statisticsKeys: Int
    /// Whether `prepare` stored the world record (``PreparedWorld``).
    public var prepared: Bool

    /// Surveys `namespace`; `resultsStreams` are the results streams the settings name (found by `SCAN` too).
    public static func survey(namespace: String, resultsStreams: [String], on connection: RedisConnection) async throws(RedisError) -> LiveState {
        let keyspace = Keyspace(namespace: namespace)
        var streams = Set(resultsStreams)
        streams.formUnion(try await keyspace.keys(matching: "\(namespace):results*", type: "stream", on: connection))
        var entries: [(stream: String, entries: Int)] = []
        for stream in streams.sorted() {
            let length = try await connection.send(RedisCommand("XLEN", stream)).get().int ?? 0
            if length > 0 { entries.append((stream, length)) }
        }
        let statistics = try await keyspace.keys(matching: "\(namespace):stats:*", on: connection).count { !$0.hasSuffix(":meta") }
        return LiveState(
            namespace: namespace, featureState: try await keyspace.featureState(on: connection), resultEntries: entries,
            statisticsKeys: statistics, prepared: try await PreparedWorld.load(namespace: namespace, on: connection) != nil)
    }

    /// Why the namespace counts as having served traffic, a phrase each; empty when it has served none.
    public var trafficEvidence: [String] {
        var evidence = resultEntries.map { "\($0.stream) holds \($0.entries) entr\($0.entries == 1 ? "y" : "ies")" }
        if statisticsKeys > 0 { evidence.append("\(statisticsKeys) run statistics key\(statisticsKeys == 1 ? "" : "s")") }
        let decisions = featureState.decisionRecords
        if decisions > 0 { evidence.append("\(decisions) decision record\(decisions == 1 ? "" : "s")") }
        if !prepared && !featureState.dynamicKeys.isEmpty {
            evidence.append("feature state that prepare did not write (no \(PreparedWorld.key(namespace: namespace)))")
        }
        return evidence
    }

    /// Whether the namespace has served traffic (see the type's summary).
    public var hasServedTraffic: Bool { !trafficEvidence.isEmpty }

    /// What clearing the feature state deletes, e.g. `1204 feature-state keys (3 decision records among
    /// them) and the running state of 200 profiles`.
    public var deletionSummary: String {
        let keys = featureState.dynamicKeys.count, decisions = featureState.decisionRecords, profiles = featureState.profiles.count
        return "\(keys) feature-state key\(keys == 1 ? "" : "s")"
            + (decisions > 0 ? " (\(decisions) decision record\(decisions == 1 ? "" : "s") among them)" : "")
            + " and the running state of \(profiles) profile\(profiles == 1 ? "" : "s")"
    }
}
