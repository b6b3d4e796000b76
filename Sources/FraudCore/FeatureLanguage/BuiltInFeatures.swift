/// The built-in features that are feature-language definitions: feature set version 0 (issue 25, part 4).
///
/// The velocity counts and the device window are `count()` definitions over `user_id` and `device_id`. They are
/// computed by the fused kernels (`fs_user_features`, `fs_device_events`), which fold a user's or a device's whole state
/// in one call, rather than by the general `fs_entity_fold`: the kernels return exactly what the general fold returns
/// for these definitions (a test compares them on a world's history), at less Redis CPU (`bench --suite features`). The
/// kernel reads its windows from the table below, the same table the definitions are written from.
///
/// A definition in a team's feature set that asks for the same thing as a kernel output (a `count()` without a filter
/// over `user_id` for 1m, 1h or 24h, or over `device_id` for the click-spam window) is served from the kernel's value:
/// no entity call, no state of its own.
///
/// The other built-in features stay in code, each for the reason ``inCode`` gives: their values do not come from a
/// window over events, so the language's aggregations would give other numbers, and `export-features` must stay
/// byte-identical.
public enum BuiltInFeatures {
    /// The user kernel's velocity counts: the feature and its window in ms, narrowest first (the kernel reads a
    /// narrower window only when the wider one is not empty, so they must nest).
    public static let userCounts: [(feature: Int, windowMilliseconds: Int64)] = [
        (Feature.transactionsLastMinute, 60_000),
        (Feature.transactionsLastHour, 3_600_000),
        (Feature.transactionsLastDay, 86_400_000),
    ]

    /// Built-in features computed in code, with why the language does not compute them.
    public static let inCode: [(names: [String], reason: String)] = [
        (["amount", "log_amount", "hour_of_day", "day_of_week", "category_code"], "read from the transaction alone"),
        (["distance_from_home_km", "preferred_card_match", "segment_code", "risk_score", "account_age_days", "unknown_user"],
         "the user's static profile, and geo distance"),
        (["amount_zscore", "amount_to_mean_ratio", "user_tx_count"],
         "a running (Welford) mean and variance over the user's whole kept history, not a window of stored events"),
        (["distinct_merchants_1h"], "HyperLogLog over the last six 10-minute buckets (50-60 min), not an exact distinct over 1h"),
        (["seconds_since_last", "travel_speed_kmh"], "the previous transaction folded (arrival order), in seconds, and geo distance"),
        (["new_device", "merchant_pair_count"], "the user's recent-device set and merchant count-min sketch"),
        (["ip_blocklisted"], "the blocklist's counting Bloom filter"),
        (["click_spam"], "device_events_window + 1 against the click-spam threshold"),
    ]

    /// A window as the language writes it: the largest unit that divides it.
    public static func windowText(_ milliseconds: Int64) -> String {
        for (unit, size) in [("d", Int64(86_400_000)), ("h", 3_600_000), ("m", 60_000)] where milliseconds % size == 0 {
            return "\(milliseconds / size)\(unit)"
        }
        return "\(milliseconds / 1000)s"
    }

    /// The device kernel's window for `settings`, in ms.
    static func deviceWindowMilliseconds(_ settings: FeatureSettings) -> Int64 { Int64(settings.clickSpamWindowSeconds) * 1000 }

    /// Version 0 as a file: the definitions the kernels compute, then the features that stay in code as comments.
    public static func text(settings: FeatureSettings) -> String {
        var lines = ["# Version 0: the built-in features. These definitions are computed by the fused user and device kernels."]
        for (feature, window) in userCounts {
            lines.append("\(FeatureSchema.names[feature]) = count() by user_id over \(windowText(window))")
        }
        lines.append(
            "\(FeatureSchema.names[Feature.deviceEventsInWindow]) = count() by device_id over \(windowText(deviceWindowMilliseconds(settings)))")
        lines.append("# Computed in code:")
        for (names, reason) in inCode { lines.append("#   \(names.joined(separator: ", ")): \(reason)") }
        return lines.map { $0 + "\n" }.joined()
    }

    /// Version 0's definitions for `settings`, parsed by the feature language.
    public static func definitions(settings: FeatureSettings) -> [FeatureDefinition] {
        text(settings: settings).split(whereSeparator: \.isNewline).compactMap { line in
            line.hasPrefix("#") ? nil : try? FeatureDefinition.parse(String(line), builtIn: true)
        }
    }

    /// Which built-in features the kernels compute for `settings`: by what a definition asks (kind, entity, window,
    /// no filter), not by name.
    public struct Kernel: Sendable {
        let userWindows: [Int64: Int]
        let deviceWindowMilliseconds: Int64

        /// The kernels' outputs for `settings`.
        public init(settings: FeatureSettings) {
            userWindows = Dictionary(uniqueKeysWithValues: userCounts.map { ($0.windowMilliseconds, $0.feature) })
            deviceWindowMilliseconds = BuiltInFeatures.deviceWindowMilliseconds(settings)
        }

        /// The built-in feature whose kernel value answers `definition`, or nil when the general fold must compute it.
        public func builtIn(for definition: FeatureDefinition) -> Int? {
            guard definition.kind == .count, let measure = definition.measures.first, definition.measures.count == 1,
                measure.filter == nil, definition.entity.prefix == nil, let window = definition.windowMilliseconds
            else { return nil }
            switch definition.entity.field {
            case "user_id": return userWindows[window]
            case "device_id": return window == deviceWindowMilliseconds ? Feature.deviceEventsInWindow : nil
            default: return nil
            }
        }
    }
}
