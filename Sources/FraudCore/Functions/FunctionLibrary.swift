import RedisClient

/// A Redis Functions library: its Lua source, compiled into the binary, and the functions it registers.
///
/// The sources live in `Functions/*.lua` and are embedded at build time (`resources: [.embedInCode(…)]`),
/// so a `fraudstream` executable copied on its own still has them. Each function's key, argument and
/// reply layout is defined by its call type (``UserFeaturesCall``, ``WriteBatchCall``, …).
public struct FunctionLibrary: Sendable, Hashable {
    /// The library name, as the `name=` of the source's first line declares it and Redis knows it.
    public let name: String
    /// The Lua source, starting with the shebang line `FUNCTION LOAD` wants (engine and name).
    public let source: String
    /// The functions the library registers, by their call types' names.
    public let functionNames: [String]

    /// Creates a library from its source; the name comes from the source's first line.
    public init(source: String, functionNames: [String]) {
        self.source = source
        self.name = Self.declaredName(in: source) ?? ""
        self.functionNames = functionNames
    }

    /// `fraudstream`: the feature functions, the blocklist's counting Bloom filter, and the fold of the features fraud
    /// teams define (``EntityFeatures``, from `fraudstream_entities.lua`, appended without its shebang line): whatever
    /// loads or reloads the feature functions loads that one too.
    public static let features = FunctionLibrary(
        source: String(decoding: PackageResources.fraudstream_features_lua, as: UTF8.self) + "\n"
            + String(decoding: PackageResources.fraudstream_entities_lua, as: UTF8.self)
                .split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).dropFirst().joined(),
        functionNames: [UserFeaturesCall.function, DeviceEventsCall.function, BloomCheckCall.function, BloomAddCall.function,
            BloomRemoveCall.function, BloomUnlistCall.function, EntityFeatures.function])

    /// `fraudstream_results`: the atomic write-and-acknowledge of a batch, the API's decision records and the latency histograms.
    public static let results = FunctionLibrary(
        source: LuaPrelude.inserting(
            [
                LuaPrelude.table("RV", ResultLayout.self), LuaPrelude.table("WK", WriteBatchCall.Key.self),
                LuaPrelude.table("WB", WriteBatchCall.Argument.self), LuaPrelude.table("DL", WriteBatchCall.DeadLetterValue.self),
                LuaPrelude.table("RK", RecordDecisionsCall.Key.self), LuaPrelude.table("RD", RecordDecisionsCall.Argument.self),
            ],
            into: String(decoding: PackageResources.fraudstream_results_lua, as: UTF8.self)),
        functionNames: [WriteBatchCall.function, MergeLatencyCall.function, RecordDecisionsCall.function])

    /// `fraudstream_lease`: the consumer-name lease (claim and release, compare-and-set on a token) and the
    /// removal of dead consumers.
    public static let lease = FunctionLibrary(
        source: String(decoding: PackageResources.fraudstream_lease_lua, as: UTF8.self),
        functionNames: [LeaseClaimCall.function, LeaseReleaseCall.function, RemoveIdleConsumersCall.function])

    /// Every library a worker needs, in load order.
    public static let all: [FunctionLibrary] = [features, results, lease]

    /// Loads (or replaces) the library on `connection`.
    public func load(on connection: RedisConnection) async throws(RedisError) {
        let loaded = try await connection.loadFunctionLibrary(source)
        guard loaded == name else {
            throw RedisError(code: .unexpectedReply, message: "FUNCTION LOAD of '\(name)' loaded '\(loaded)'")
        }
    }

    /// The `name=` value of the shebang line.
    static func declaredName(in source: String) -> String? {
        guard let shebang = source.split(separator: "\n", maxSplits: 1).first, shebang.hasPrefix("#!") else { return nil }
        for word in shebang.split(separator: " ") where word.hasPrefix("name=") {
            return String(word.dropFirst("name=".count))
        }
        return nil
    }
}
