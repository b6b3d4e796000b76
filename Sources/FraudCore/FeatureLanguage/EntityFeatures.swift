import RedisClient

/// Computes a ``FeatureSet``'s features in Redis: one `FCALL fs_entity_fold` per entity a transaction names, all
/// pipelined, each folding every feature over that entity (library `fraudstream_entities`, loaded with
/// ``FunctionLibrary/features``). ``FeatureExtractor`` sends them in the batch's feature round trip (a second one when
/// a measure reads state-derived built-in features), so the worker, the API, `prepare`, `export-features` and
/// `backtest` compute them the same way.
public struct EntityFeatures: Sendable {
    /// The function's name.
    public static let function = "fs_entity_fold"
    /// Events kept per entity at most.
    public static let defaultCap = 5_000
    /// How long an entity's state lasts without windows (only `age`, `since_last`): 30 days.
    public static let timelessRetentionMilliseconds: Int64 = 30 * 86_400_000

    /// How much longer than its longest window an entity keeps events: the window, at most an hour. A transaction
    /// that arrives up to that late (a redelivery, a producer's retry) still sees its whole window, though later events
    /// of the entity have moved the trimming on.
    public static func lateMargin(_ window: Int64) -> Int64 { min(window, 3_600_000) }

    /// The definitions over one entity, with what every call for it passes, worked out once.
    public struct Group: Sendable {
        public var entity: FeatureDefinition.Entity
        public var definitions: [FeatureDefinition]
        /// Each measure with its definition's window, in call order.
        var measures: [(window: Int64, measure: FeatureDefinition.Measure)]
        /// Events older than this are removed: the longest window plus ``lateMargin(_:)`` (30 days when there are only
        /// `age`/`since_last`).
        var retentionMilliseconds: Int64
        /// The values the measures read (``FeatureDefinition/Measure/valueId``), each once, in first-appearance order;
        /// a measure that counts every event, `age` and `since_last` read none.
        var valueIds: [String]
        /// For each measure, its value's position in ``valueIds`` + 1, or 0 when it reads none.
        var valueIndex: [Int]
        /// For each value, a measure reading it (whose filter and field give the value).
        var valueMeasure: [FeatureDefinition.Measure]
        /// Each definition's position in ``EntityFeatures/names``.
        var slots: [Int]
        /// The argument every call for the group ends with (the measures: `kind:window:value;…`), encoded once.
        var measureArguments = RedisCommand("")
    }

    /// The definitions, grouped by entity in first-appearance order.
    public let groups: [Group]
    /// The namespace.
    public let namespace: String
    /// Events kept per entity at most.
    public let cap: Int

    /// The feature names in the order ``values(_:)`` returns them: the set's order.
    public let names: [String]

    /// A definition a built-in kernel computes (``BuiltInFeatures/Kernel``): its position in ``names`` and the built-in
    /// feature whose value it takes.
    public struct KernelServed: Sendable, Equatable {
        public var slot: Int
        public var builtIn: Int
    }

    /// The definitions served from a built-in feature's value, with no entity call of their own.
    public let kernelServed: [KernelServed]

    /// `cap` is at most ``defaultCap``: the Lua removes a call's expired events in one command. With `kernel`, a
    /// definition one of its outputs answers is served from that built-in feature (``kernelServed``); without, every
    /// definition is folded by `fs_entity_fold`.
    public init(_ set: FeatureSet, namespace: String, cap: Int = EntityFeatures.defaultCap, kernel: BuiltInFeatures.Kernel? = nil) {
        var grouped: [(entity: FeatureDefinition.Entity, definitions: [FeatureDefinition])] = []
        var served: [KernelServed] = []
        for (position, definition) in set.definitions.enumerated() {
            if let builtIn = kernel?.builtIn(for: definition) {
                served.append(KernelServed(slot: position, builtIn: builtIn))
                continue
            }
            if let index = grouped.firstIndex(where: { $0.entity == definition.entity }) {
                grouped[index].definitions.append(definition)
            } else {
                grouped.append((definition.entity, [definition]))
            }
        }
        let names = set.definitions.map(\.name)
        groups = grouped.map { entity, definitions in
            let windowed = definitions.compactMap(\.windowMilliseconds)
            let timeless = definitions.contains { $0.windowMilliseconds == nil }
            let measures = definitions.flatMap { definition in definition.measures.map { (definition.windowMilliseconds ?? 0, $0) } }
            var valueIds: [String] = []
            var valueMeasure: [FeatureDefinition.Measure] = []
            let valueIndex = measures.map { _, measure -> Int in
                guard !measure.countsEveryEvent, measure.kind != .age, measure.kind != .sinceLast else { return 0 }
                if let known = valueIds.firstIndex(of: measure.valueId) { return known + 1 }
                valueIds.append(measure.valueId)
                valueMeasure.append(measure)
                return valueIds.count
            }
            // The measures as one argument, the same for every call of the group (the Lua parses it once).
            let text = measures.enumerated().map { position, measure in "\(measure.1.kind.rawValue):\(measure.0):\(valueIndex[position])" }
            let tail = RedisCommand("", text.joined(separator: ";"))
            return Group(
                entity: entity, definitions: definitions, measures: measures,
                retentionMilliseconds: max(windowed.max().map { $0 + Self.lateMargin($0) } ?? 0, timeless ? Self.timelessRetentionMilliseconds : 0),
                valueIds: valueIds, valueIndex: valueIndex, valueMeasure: valueMeasure,
                slots: definitions.map { definition in names.firstIndex(of: definition.name) ?? 0 }, measureArguments: tail)
        }
        self.namespace = namespace
        self.cap = min(max(1, cap), Self.defaultCap)
        self.names = names
        kernelServed = served
        defaults = set.definitions.map { [.age, .sinceLast].contains($0.kind) ? -1 : 0 }
        let measures = grouped.flatMap { $0.definitions.flatMap(\.measures) }
        readsState = measures.contains { $0.readsState }
        readsBuiltIns = measures.contains { measure in
            measure.condition != nil
                || (measure.field.map { FeatureSchema.names.contains($0) && !FeatureDefinition.contractNumbers.contains($0) } ?? false)
        }
    }

    /// Each feature's value for a transaction that does not name its entity: 0, or −1 for `age` and `since_last`.
    let defaults: [Double]

    /// An entity's hash tag: `<ns>:{fe:<field>[:<prefix>]:<value>}`.
    func tag(_ entity: FeatureDefinition.Entity, value: String) -> String {
        "\(namespace):{fe:\(entity.field)\(entity.prefix.map { ":\($0)" } ?? ""):\(value)}"
    }

    /// The two keys every entity has, sharing its hash tag: its events (sorted set) and its first sighting (hash,
    /// written only for `age()`).
    public func keys(_ entity: FeatureDefinition.Entity, value: String) -> [String] {
        let tag = tag(entity, value: value)
        return [tag + ":events", tag + ":meta"]
    }

    /// The hash of one value the measures read (event id → value), sharing the entity's hash tag.
    public func valueKey(_ entity: FeatureDefinition.Entity, value: String, valueId: String) -> String {
        tag(entity, value: value) + ":v:" + valueId
    }

    /// The entity's value in a transaction: a contract field, else `extra[field]`; its prefix when asked; nil when
    /// the transaction has none.
    public static func value(of entity: FeatureDefinition.Entity, in transaction: Transaction, extra: [String: String]) -> String? {
        let whole: String?
        switch entity.field {
        case "user_id": whole = transaction.userId
        case "merchant_id": whole = transaction.merchantId
        case "device_id": whole = transaction.deviceId
        case "ip": whole = transaction.ip
        case "card_provider": whole = transaction.cardProvider
        case "merchant_category": whole = transaction.merchantCategory
        default: whole = extra[entity.field]
        }
        guard let whole, !whole.isEmpty else { return nil }
        return entity.prefix.map { String(whole.prefix($0)) } ?? whole
    }

    /// A measure's value in a transaction: a number (amount, lat, lon or a built-in feature of `vector`) or the text of
    /// a field for `distinct`; nil when the transaction has none.
    static func measureValue(_ measure: FeatureDefinition.Measure, _ transaction: Transaction, vector: [Double], extra: [String: String]) -> String? {
        guard let field = measure.field else { return "1" }
        if measure.kind == .distinct {
            return value(of: FeatureDefinition.Entity(field: field, prefix: nil), in: transaction, extra: extra)
        }
        switch field {
        case "amount": return String(transaction.amount)
        case "lat": return transaction.latitude.map { String($0) }
        case "lon": return transaction.longitude.map { String($0) }
        default: return FeatureSchema.index(of: field).map { String(vector[$0]) }
        }
    }

    /// Whether a measure reads a built-in feature that comes from Redis state (`where new_device = 1`,
    /// `sum(tx_count_1h)`): then the calls need the built-in vector, and go in a second round trip per batch. Worked out
    /// once, in `init`, not per batch or transaction.
    public let readsState: Bool
    /// Whether a measure has a filter or reads a built-in feature other than the transaction's own numbers (else the
    /// calls need no vector: `sum(amount)` reads the amount from the transaction).
    let readsBuiltIns: Bool

    /// The pipelined calls for one transaction (one per entity it names), with the position of each call's group.
    /// `vector` holds the built-in features the measures read (the transaction-only ones suffice unless
    /// ``readsState``).
    public func commands(_ transaction: Transaction, vector: [Double], extra: [String: String] = [:]) -> [(group: Int, command: RedisCommand)] {
        let input = RuleInput(features: vector, score: 0, transaction: transaction)
        var calls: [(Int, RedisCommand)] = []
        for (index, group) in groups.enumerated() {
            guard let entityValue = Self.value(of: group.entity, in: transaction, extra: extra) else { continue }
            var command = RedisCommand("FCALL", Self.function, 2 + group.valueIds.count)
            let tag = tag(group.entity, value: entityValue)
            command.append(tag + ":events")
            command.append(tag + ":meta")
            for valueId in group.valueIds { command.append(tag + ":v:" + valueId) }
            command.append(transaction.timestampMilliseconds)
            command.append(transaction.transactionId)
            command.append(group.retentionMilliseconds)
            command.append(cap)
            command.append(group.retentionMilliseconds + 86_400_000)
            // Each value once: whether this transaction's passes its filter, and the value.
            for measure in group.valueMeasure {
                let value = Self.measureValue(measure, transaction, vector: vector, extra: extra)
                let included = value != nil && (measure.condition?(input) ?? true)
                command.append(included ? "1" : "0")
                command.append(included ? value ?? "" : "")
            }
            command.append(argumentsOf: group.measureArguments)
            calls.append((index, command))
        }
        return calls
    }

    /// The features of one transaction in ``names`` order, from the replies to its ``commands(_:vector:extra:)``: each
    /// group's reply folded into its definitions' values (a ratio divides its two measures; 0 when the denominator
    /// is 0). An entity the transaction does not name gives 0, or −1 for `age` and `since_last`; a reply that is not
    /// the function's gives NaN, never a made-up number.
    public func decode(_ calls: [(group: Int, command: RedisCommand)], replies: some Collection<RESPValue>) throws(RedisError) -> [Double] {
        var values = defaults
        for (call, reply) in zip(calls, replies) {
            // Two integers per measure, a and b, for a × 2^b: exact, and nothing formatted or parsed as text.
            let parts = try reply.get().array?.map { $0.int } ?? []
            var numbers: [Double] = []
            numbers.reserveCapacity(parts.count / 2)
            var index = 0
            while index + 1 < parts.count {
                if let significand = parts[index], let exponent = parts[index + 1], (-1_100...1_100).contains(exponent) {
                    numbers.append(Double(significand) * Double(sign: .plus, exponent: exponent, significand: 1))
                } else {
                    numbers.append(.nan)
                }
                index += 2
            }
            var position = 0
            for (definition, slot) in zip(groups[call.group].definitions, groups[call.group].slots) {
                let parts = numbers[min(numbers.count, position)..<min(numbers.count, position + definition.measures.count)]
                position += definition.measures.count
                if definition.kind == .ratio, parts.count == 2 {
                    let denominator = parts[parts.startIndex + 1]
                    values[slot] = denominator == 0 ? 0 : parts[parts.startIndex] / denominator
                } else {
                    values[slot] = parts.first ?? .nan
                }
            }
        }
        return values
    }

    /// Writes the built-in features' values into the definitions the kernels serve, in a whole vector (built-in
    /// features, then the set's).
    public func fillKernelServed(_ vector: inout [Double]) {
        for served in kernelServed where FeatureSchema.count + served.slot < vector.count {
            vector[FeatureSchema.count + served.slot] = vector[served.builtIn]
        }
    }

    /// The features of one transaction, in ``names`` order, with its calls pipelined on `connection`; `vector` holds the
    /// built-in features (those the kernels serve are read from it).
    public func values(_ transaction: Transaction, vector: [Double], extra: [String: String] = [:], on connection: RedisConnection) async throws -> [Double] {
        let calls = commands(transaction, vector: vector, extra: extra)
        var values = try decode(calls, replies: try await connection.pipeline(calls.map(\.command)))
        for served in kernelServed where served.builtIn < vector.count { values[served.slot] = vector[served.builtIn] }
        return values
    }
}
