import Foundation
import RedisClient

/// `fs_user_features`: one user's state before a transaction, with the transaction folded in atomically.
///
/// The call's layouts are defined here once: ``Key`` and ``Argument`` give the order the command is built
/// in (the builder walks them, so reordering a case reorders the command), ``Reply`` names the reply's
/// elements, decoded into ``UserFeaturesReply``. The Lua takes the number of merchant slots from the
/// number of keys, so ``merchantSlots`` is set only here.
///
/// A transaction already in the user's window set is a redelivery: its features are read and nothing is
/// folded in again, so a retried batch never counts twice.
///
/// Every key the call keeps is bounded: the device set holds the ``maximumDevices`` most recent devices,
/// and the keys expire after the user's last transaction (a known user's dynamic keys after
/// ``FeatureSettings/userStateTTLSeconds``; all keys of a user without a profile, the profile hash
/// included, after ``FeatureSettings/unknownUserTTLSeconds``). TTLs are refreshed once per
/// ``refreshPeriodMilliseconds``, not per transaction: ``RefreshMarks`` says which period it is (why that
/// is safe heads `fraudstream_features.lua`).
public struct UserFeaturesCall: Sendable {
    /// The function's name in ``FunctionLibrary/features``.
    public static let function = "fs_user_features"
    /// Length of a merchant bucket: each HyperLogLog slot holds the merchants of one bucket of event time.
    public static let merchantBucketMilliseconds: Int64 = 600_000
    /// Number of merchant HyperLogLog slots (slot = bucket mod slots); six 10-minute buckets cover the last hour.
    public static let merchantSlots = 6
    /// The device set keeps this many devices, the most recently seen; an older one seen again counts as new.
    public static let maximumDevices = 32
    /// The refresh period is this fraction of the shorter TTL: keys outlive a user's last transaction by
    /// at least 7/8 of their TTL.
    public static let refreshPeriodsPerTTL: Int64 = 8
    /// Key suffixes of the merchant slots (`merchants:0` …).
    static let merchantSlotSuffixes = (0..<merchantSlots).map { "merchants:\($0)" }
    /// Number of keys the call passes.
    public static let keyCount = Key.firstMerchantSlot.rawValue - 1 + merchantSlots

    /// The keys by their position in `KEYS` (1-based, as Lua counts). All share the user's hash tag.
    public enum Key: Int, CaseIterable, Sendable {
        /// `<ns>:{<user>}:profile`: the static profile fields and the running state the function keeps there.
        case profile = 1
        /// `<ns>:{<user>}:window`: transaction ids scored by event time, last 24 h.
        case window
        /// `<ns>:{<user>}:devices`: the user's ``UserFeaturesCall/maximumDevices`` most recent devices,
        /// scored by the event time they were last seen.
        case devices
        /// `<ns>:{<user>}:cms`: count-min sketch of merchants.
        case countMin
        /// `<ns>:{<user>}:merchants:0`, followed by the other slots up to ``UserFeaturesCall/merchantSlots``.
        case firstMerchantSlot
    }

    /// The arguments by their position in `ARGV` (1-based). Window bounds come precomputed: formatting
    /// numbers is the dearest thing a script does.
    public enum Argument: Int, CaseIterable, Sendable {
        /// Event time in ms.
        case eventTimeMilliseconds = 1
        /// The transaction id (the window set's member).
        case transactionId
        /// The amount.
        case amount
        /// The merchant id.
        case merchantId
        /// The device id, or empty.
        case deviceId
        /// Latitude, or empty.
        case latitude
        /// Longitude, or empty.
        case longitude
        /// Event time / ``UserFeaturesCall/merchantBucketMilliseconds``.
        case merchantBucket
        /// `(ts-1m`: exclusive lower bound of the one-minute window.
        case minuteWindowStart
        /// `(ts-1h`: exclusive lower bound of the one-hour window.
        case hourWindowStart
        /// `(ts-24h`: exclusive lower bound of the one-day window.
        case dayWindowStart
        /// `ts-25h`: window members at or before it may be trimmed (an hour past the widest window).
        case windowTrimBound
        /// `-(maximumDevices + 1)`: `ZREMRANGEBYRANK devices 0 <this>` keeps the most recent devices.
        case deviceTrimStop
        /// ``RefreshMarks/known``: stored in the profile hash when a known user's TTLs are refreshed.
        case knownUserRefreshMark
        /// ``RefreshMarks/unknown``: the same for a user without a profile.
        case unknownUserRefreshMark
        /// TTL of a known user's dynamic keys in ms.
        case userStateTTLMilliseconds
        /// TTL of every key of a user without a profile in ms.
        case unknownUserTTLMilliseconds
        /// `#<offset>` of the count-min row 0 counter, followed by one per further row.
        case firstCountMinOffset
    }

    /// The reply's elements by their position in the returned array (1-based, as the Lua builds it).
    public enum Reply: Int, CaseIterable, Sendable {
        /// Profile `home_lat`, or nil.
        case homeLatitude = 1
        /// Profile `home_lon`, or nil.
        case homeLongitude
        /// Profile `preferred_card`, or nil.
        case preferredCard
        /// Profile `segment`, or nil.
        case segment
        /// Profile `risk_score`, or nil.
        case riskScore
        /// Profile `account_created` (ms), or nil.
        case accountCreated
        /// Other transactions in (ts-1m, ts].
        case transactionsLastMinute
        /// Other transactions in (ts-1h, ts].
        case transactionsLastHour
        /// Other transactions in (ts-24h, ts].
        case transactionsLastDay
        /// The running state before this transaction, packed (``PackedState``), or nil for a user without one.
        case runningState
        /// Distinct merchants over the merchant slots.
        case distinctMerchants
        /// 1 when the device is new for the user.
        case newDevice
        /// Earlier occurrences of the (user, merchant) pair (count-min estimate).
        case merchantPairCount
        /// 1 when the transaction was folded in, 0 for a redelivery.
        case fresh
    }

    private static let keyOrder = Key.allCases
    private static let argumentOrder = Argument.allCases

    /// Key names.
    public let keys: FeatureKeys
    /// Count-min sketch columns per row.
    public let countMinWidth: Int
    /// Count-min sketch rows.
    public let countMinDepth: Int
    /// TTL of a known user's dynamic keys in ms.
    public let userStateTTLMilliseconds: Int64
    /// TTL of every key of a user without a profile in ms.
    public let unknownUserTTLMilliseconds: Int64
    /// How often an active user's TTLs are refreshed: a fraction of the shorter TTL.
    public var refreshPeriodMilliseconds: Int64 {
        max(1, min(userStateTTLMilliseconds, unknownUserTTLMilliseconds) / Self.refreshPeriodsPerTTL)
    }

    /// Creates the call for the keys, count-min shape and TTLs of `settings`.
    public init(settings: FeatureSettings) {
        keys = FeatureKeys(namespace: settings.namespace)
        countMinWidth = settings.countMinWidth
        countMinDepth = settings.countMinDepth
        userStateTTLMilliseconds = Int64(settings.userStateTTLSeconds) * 1000
        unknownUserTTLMilliseconds = Int64(settings.unknownUserTTLSeconds) * 1000
    }

    /// Which refresh period it is, as the two marks the function compares with the one stored in a user's
    /// profile hash; built once per batch, so no transaction pays for formatting them.
    public struct RefreshMarks: Sendable, Equatable {
        /// `<period>k`: the mark of a known user.
        public var known: String
        /// `<period>u`: the mark of a user without a profile (a different mark, so a user who gains a
        /// profile is refreshed at once and its profile hash loses the unknown user's TTL).
        public var unknown: String
    }

    /// The marks of the refresh period that contains `nowMilliseconds` (wall clock).
    public func refreshMarks(nowMilliseconds: Int64) -> RefreshMarks {
        let period = nowMilliseconds / refreshPeriodMilliseconds
        return RefreshMarks(known: "\(period)k", unknown: "\(period)u")
    }

    /// The marks of the current refresh period, by the wall clock.
    public func currentRefreshMarks() -> RefreshMarks {
        refreshMarks(nowMilliseconds: Int64(Date().timeIntervalSince1970 * 1000))
    }

    /// The velocity count windows in ms, from the built-in definitions.
    static let windows = BuiltInFeatures.userCounts.map(\.windowMilliseconds)

    /// `FCALL fs_user_features` for `transaction`, built without per-key strings; `marks` defaults to the
    /// current period (a batch passes one value for all its transactions).
    public func command(_ transaction: Transaction, marks: RefreshMarks? = nil) -> RedisCommand {
        let marks = marks ?? currentRefreshMarks()
        let ts = transaction.timestampMilliseconds
        var command = RedisCommand("FCALL", Self.function)
        command.append(Self.keyCount)
        let prefix = keys.userPrefix(transaction.userId)
        for key in Self.keyOrder {
            switch key {
            case .profile: command.append(prefix: prefix, "profile")
            case .window: command.append(prefix: prefix, "window")
            case .devices: command.append(prefix: prefix, "devices")
            case .countMin: command.append(prefix: prefix, "cms")
            case .firstMerchantSlot:
                for slot in Self.merchantSlotSuffixes { command.append(prefix: prefix, slot) }
            }
        }
        for argument in Self.argumentOrder {
            switch argument {
            case .eventTimeMilliseconds: command.append(ts)
            case .transactionId: command.append(transaction.transactionId)
            case .amount: command.append(transaction.amount)
            case .merchantId: command.append(transaction.merchantId)
            case .deviceId: command.append(transaction.deviceId ?? "")
            case .latitude:
                if let latitude = transaction.latitude, transaction.longitude != nil { command.append(latitude) } else { command.append("") }
            case .longitude:
                if let longitude = transaction.longitude, transaction.latitude != nil { command.append(longitude) } else { command.append("") }
            case .merchantBucket: command.append(ts / Self.merchantBucketMilliseconds)
            // The windows of version 0's count definitions (``BuiltInFeatures/userCounts``), narrowest first.
            case .minuteWindowStart: command.append(marker: "(", ts - Self.windows[0])
            case .hourWindowStart: command.append(marker: "(", ts - Self.windows[1])
            case .dayWindowStart: command.append(marker: "(", ts - Self.windows[2])
            // Kept an hour past the widest window: a transaction up to an hour late still sees its whole day.
            case .windowTrimBound: command.append(ts - Self.windows[2] - 3_600_000)
            case .deviceTrimStop: command.append(-(Self.maximumDevices + 1))
            case .knownUserRefreshMark: command.append(marks.known)
            case .unknownUserRefreshMark: command.append(marks.unknown)
            case .userStateTTLMilliseconds: command.append(userStateTTLMilliseconds)
            case .unknownUserTTLMilliseconds: command.append(unknownUserTTLMilliseconds)
            case .firstCountMinOffset:
                let width = UInt64(countMinWidth)
                for row in 0..<countMinDepth {
                    let column = Int(StableHash.hash(transaction.merchantId, seed: UInt64(row) &+ 0xC0C0) % width)
                    command.append(marker: "#", Int64(row * countMinWidth + column))
                }
            }
        }
        return command
    }

    /// Decodes the reply; throws for an error reply (its code kept) or a reply that breaks the layout.
    public static func decode(_ reply: RESPValue) throws(RedisError) -> UserFeaturesReply {
        guard case .array(let elements) = try reply.get(), elements.count == Reply.allCases.count else {
            throw RedisError(code: .unexpectedReply, message: "\(function) returned \(reply)")
        }
        func element(_ field: Reply) -> RESPValue { elements[field.rawValue - 1] }
        func count(_ field: Reply) throws(RedisError) -> Int {
            guard case .integer(let value) = element(field) else {
                throw RedisError(code: .unexpectedReply, message: "\(function) \(field) is not an integer: \(reply)")
            }
            return Int(value)
        }
        func number(_ field: Reply) throws(RedisError) -> Double? {
            switch element(field) {
            case .integer(let value): return Double(value)
            case .bulkString(let bytes): return bytes.isEmpty ? nil : Double(String(decoding: bytes, as: UTF8.self))
            case .null: return nil
            default: throw RedisError(code: .unexpectedReply, message: "\(function) \(field) is not a number: \(reply)")
            }
        }
        func text(_ field: Reply) throws(RedisError) -> String? {
            switch element(field) {
            case .bulkString(let bytes): return bytes.isEmpty ? nil : String(decoding: bytes, as: UTF8.self)
            case .null: return nil
            default: throw RedisError(code: .unexpectedReply, message: "\(function) \(field) is not text: \(reply)")
            }
        }
        let state: PackedState?
        switch element(.runningState) {
        case .null: state = nil
        case .bulkString(let bytes):
            guard let unpacked = PackedState(bytes) else {
                throw RedisError(code: .unexpectedReply, message: "\(function) running state has \(bytes.count) bytes, not \(PackedState.byteCount)")
            }
            state = unpacked
        default: throw RedisError(code: .unexpectedReply, message: "\(function) running state is not a string: \(reply)")
        }
        return UserFeaturesReply(
            homeLatitude: try number(.homeLatitude),
            homeLongitude: try number(.homeLongitude),
            preferredCard: try text(.preferredCard),
            segment: try text(.segment),
            riskScore: try number(.riskScore),
            accountCreatedMilliseconds: try number(.accountCreated),
            transactionsLastMinute: try count(.transactionsLastMinute),
            transactionsLastHour: try count(.transactionsLastHour),
            transactionsLastDay: try count(.transactionsLastDay),
            transactionCount: state?.transactionCount,
            amountMean: state?.amountMean,
            amountM2: state?.amountM2,
            lastTimestampMilliseconds: state?.lastTimestampMilliseconds,
            locationTimestampMilliseconds: state?.locationTimestampMilliseconds,
            lastLatitude: state?.lastLatitude,
            lastLongitude: state?.lastLongitude,
            distinctMerchants: try count(.distinctMerchants),
            isNewDevice: try count(.newDevice) == 1,
            merchantPairCount: try count(.merchantPairCount),
            isFresh: try count(.fresh) == 1)
    }
}

extension UserFeaturesCall {
    /// A user's running state as `fs_user_features` keeps it in the profile hash field `state`, little-endian:
    /// the count as a `UInt32`, six IEEE 754 doubles (NaN where absent), the merchant bucket as a `UInt32` and the
    /// slot mask as a byte. Binary doubles round-trip exactly, so the function neither formats nor parses a
    /// number to keep them; 57 bytes keep the hash under `hash-max-listpack-value` (64), in its compact encoding.
    public struct PackedState: Sendable, Equatable {
        /// The field's length in bytes.
        public static let byteCount = 57
        /// Transactions folded in (`n`).
        public var transactionCount: Double?
        /// Their mean amount.
        public var amountMean: Double?
        /// Welford's M2 of the amounts.
        public var amountM2: Double?
        /// The latest transaction's event time in ms.
        public var lastTimestampMilliseconds: Double?
        /// The latest located transaction's event time in ms.
        public var locationTimestampMilliseconds: Double?
        /// Its latitude.
        public var lastLatitude: Double?
        /// Its longitude.
        public var lastLongitude: Double?
        /// The newest merchant bucket written (event time / bucket length).
        public var merchantBucket: Int
        /// Which merchant slots hold merchants (bit i = slot i).
        public var merchantSlotMask: Int

        /// Unpacks the field; nil when it does not have ``byteCount`` bytes.
        public init?(_ bytes: some Collection<UInt8>) {
            guard bytes.count == Self.byteCount else { return nil }
            let bytes = Array(bytes)
            func integer(at offset: Int, size: Int) -> UInt64 {
                var value: UInt64 = 0
                for index in 0..<size { value |= UInt64(bytes[offset + index]) << UInt64(8 * index) }
                return value
            }
            func double(at offset: Int) -> Double? {
                let value = Double(bitPattern: integer(at: offset, size: 8))
                return value.isNaN ? nil : value
            }
            transactionCount = Double(integer(at: 0, size: 4))
            amountMean = double(at: 4)
            amountM2 = double(at: 12)
            lastTimestampMilliseconds = double(at: 20)
            locationTimestampMilliseconds = double(at: 28)
            lastLatitude = double(at: 36)
            lastLongitude = double(at: 44)
            merchantBucket = Int(integer(at: 52, size: 4))
            merchantSlotMask = Int(bytes[56])
        }
    }
}
