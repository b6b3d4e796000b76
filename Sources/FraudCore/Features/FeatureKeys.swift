/// Key names. Per-user keys carry the user id as a hash tag so one function call touches one slot.
public struct FeatureKeys: Sendable {
    /// The namespace prefix.
    public let namespace: String

    /// Creates key names under `namespace`.
    public init(namespace: String) { self.namespace = namespace }

    /// `<ns>:{<user>}:profile`: the profile hash, plus the running state the feature functions keep
    /// there (`state`: packed, see ``UserFeaturesCall/PackedState``; `ttl_mark`).
    public func profile(_ user: String) -> String { "\(namespace):{\(user)}:profile" }
    /// `<ns>:{<user>}:` as bytes: the prefix of every per-user key, built once per transaction.
    public func userPrefix(_ user: String) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(namespace.utf8.count + user.utf8.count + 4)
        bytes.append(contentsOf: namespace.utf8)
        bytes.append(contentsOf: ":{".utf8)
        bytes.append(contentsOf: user.utf8)
        bytes.append(contentsOf: "}:".utf8)
        return bytes
    }
    /// `<ns>:{<user>}:window`: transaction ids scored by event time, last 24 h.
    public func window(_ user: String) -> String { "\(namespace):{\(user)}:window" }
    /// `<ns>:{<user>}:devices`: the user's most recent devices (sorted set scored by event time, capped).
    public func devices(_ user: String) -> String { "\(namespace):{\(user)}:devices" }
    /// `<ns>:{<user>}:cms`: count-min sketch of merchants.
    public func countMin(_ user: String) -> String { "\(namespace):{\(user)}:cms" }
    /// `<ns>:{<user>}:merchants:<slot>`: HyperLogLog of merchants in a 10-minute bucket (slot = bucket mod 6).
    public func merchantSlot(_ user: String, _ slot: Int) -> String { "\(namespace):{\(user)}:merchants:\(slot)" }
    /// Fields of the profile hash that hold running state, deleted when history is replayed again
    /// (`ttl_mark` too: without it the replay's first transaction refreshes the TTLs of the keys it re-creates),
    /// with the text fields contract version 5 and earlier kept the same state in.
    public static let runningStateFields = [
        "state", "ttl_mark", "n", "mean", "m2", "last_ts", "loc_ts", "last_lat", "last_lon", "hll_bucket", "hll_mask",
    ]
    /// `<ns>:{<user>}:decision:<transaction>`: the scoring API's first decision for a transaction (JSON), so a
    /// retried request gets the same answer; it carries the user's hash tag, so it shares the user's slot.
    public func decision(user: String, transaction: String) -> String { "\(namespace):{\(user)}:decision:\(transaction)" }
    /// `<ns>:{device:<id>}:events`: a device's events, for click spam.
    public func deviceEvents(_ device: String) -> String { "\(namespace):{device:\(device)}:events" }
    /// `<ns>:blocklist:ip:counters`: the IP blocklist, a counting Bloom filter of 4-bit counters (a string
    /// read and updated with `BITFIELD u4`).
    public var ipBlocklistCounters: String { "\(namespace):blocklist:ip:counters" }
    /// `{<ns>:blocklist:ip:counters}:members`: the exact record of the listed IPs, a hash IP → sources (bit 1 an
    /// operator, bit 2 the loaded world). Its hash tag is the counters key's whole name, so both share one hash slot on
    /// a Redis Cluster and `fs_bloom_add`/`fs_bloom_remove` change them in one call.
    public var ipBlocklistMembers: String { "{\(ipBlocklistCounters)}:members" }
    /// `<ns>:blocklist:ip:shape`: the filter's size (`counters`, `counter_bits`, `hashes`, `capacity`, `fp_rate`).
    public var ipBlocklistShape: String { "\(namespace):blocklist:ip:shape" }
    /// `<ns>:blocklist:ip:world`: the IPs a world loaded into the filter (a set), so loading a world again
    /// counts in only what is missing and counts out only what the world itself added, never an operator's entry.
    public var ipBlocklistWorld: String { "\(namespace):blocklist:ip:world" }
    /// `<ns>:blocklist:ip`: where the plain Bloom filter bitmap of contract version 4 and earlier lived. Never
    /// read (its bits are not counters); ``FeatureStore/writeBlocklist(_:shape:on:)`` deletes it.
    public var legacyIPBlocklistBitmap: String { "\(namespace):blocklist:ip" }
}
