/// Draws card holders: home, segment, card, risk, account age, habits of spending, devices and IPs.
enum ProfileGenerator {
    static let segments = ["student", "standard", "premium", "business"]
    static let segmentShares: [Double] = [0.20, 0.50, 0.20, 0.10]
    /// Median typical spend (USD) by segment; individual values are log-normal around it.
    static let segmentMedianSpend: [Double] = [18, 35, 75, 110]
    static let cards = ["VISA", "MASTERCARD", "AMEX", "DISCOVER"]

    /// The profile of user number `index` (`u<index>`); depends only on the seed and the index.
    static func profile(_ index: Int, atlas: WorldAtlas) -> UserProfile {
        let configuration = atlas.configuration
        var random = SeededRandom(seed: configuration.seed, stream: WorldAtlas.Stream.profiles.rawValue, index: UInt64(index))
        let metroIndex = random.weightedIndex(MetroArea.weights)
        let metro = MetroArea.all[metroIndex]
        let homeLatitude = WorldAtlas.roundCoordinate(metro.latitude + random.normal(standardDeviation: 0.12))
        let homeLongitude = WorldAtlas.roundCoordinate(metro.longitude + random.normal(standardDeviation: 0.15))
        let segment = random.weightedIndex(segmentShares)

        var cardWeights: [Double] = metro.isEurope ? [0.50, 0.40, 0.08, 0.02] : [0.45, 0.30, 0.15, 0.10]
        if segment >= 2 { cardWeights[2] *= 2.2 }
        let card = cards[random.weightedIndex(cardWeights)]

        let day = 86_400_000.0
        let ageDraw = random.nextDouble()
        let created: Int64
        let isNew: Bool
        if ageDraw < 0.80 {
            created = configuration.startMilliseconds - Int64(random.uniform(45, 2_500) * day)
            isNew = false
        } else if ageDraw < 0.93 {
            created = configuration.startMilliseconds - Int64(random.uniform(1, 45) * day)
            isNew = true
        } else {
            created = configuration.startMilliseconds + Int64(random.uniform(0, 0.85 * Double(max(1, configuration.days))) * day)
            isNew = true
        }

        let segmentRisk: [Double] = [0.5, 0, -0.4, -0.2]
        let logit = random.normal(mean: -1.7 + segmentRisk[segment] + (isNew ? 0.6 : 0), standardDeviation: 0.8)
        let risk = (1000 / (1 + DeterministicMath.exp(-logit))).rounded() / 1000

        let categories = usualCategories(segment: segment, using: &random)
        let spend = max(3, WorldAtlas.roundAmount(random.logNormal(median: segmentMedianSpend[segment], sigma: 0.45)))

        let deviceCount = 1 + random.weightedIndex([0.45, 0.40, 0.15])
        let devices = (0..<deviceCount).map { atlas.deviceId(WorldAtlas.DeviceSpace.user(index, slot: $0)) }
        let ipCount = 1 + random.weightedIndex([0.50, 0.35, 0.15])
        var ips = (0..<ipCount).map { _ in atlas.residentialIP(metro: metroIndex, using: &random) }
        if random.chance(segment == 0 ? 0.05 : 0.018) {
            // Behind a shared NAT that is on the blocklist: innocent traffic from a listed IP.
            let local = atlas.sharedAddresses.filter { $0.metro == metroIndex }
            let shared = random.element(of: local) ?? atlas.sharedAddresses[random.int(below: atlas.sharedAddresses.count)]
            ips[ips.count - 1] = shared.ip
        }
        return UserProfile(
            userId: "u\(index)", homeLatitude: homeLatitude, homeLongitude: homeLongitude, preferredCard: card,
            segment: segments[segment], riskScore: risk, accountCreatedMilliseconds: created,
            usualCategories: categories.map(\.name), typicalSpend: spend, devices: devices, ips: ips)
    }

    /// 2–4 categories, the most used first, drawn without replacement with segment-specific tastes.
    private static func usualCategories(segment: Int, using random: inout SeededRandom) -> [WorldCategory] {
        // grocery, retail, travel, electronics, restaurant, gas, entertainment, online, gift_cards, jewelry
        var weights: [Double] = [5, 3.5, 0.8, 0.7, 4, 2.5, 2, 3, 0.1, 0.1]
        switch segment {
        case 0:
            weights[6] += 2
            weights[7] += 2
            weights[4] += 1
            weights[5] -= 1.5
        case 2:
            weights[2] += 1.5
            weights[1] += 1
            weights[9] += 0.3
        case 3:
            weights[2] += 3
            weights[4] += 1
            weights[3] += 0.7
        default:
            break
        }
        let count = 2 + random.weightedIndex([0.30, 0.45, 0.25])
        var chosen: [WorldCategory] = []
        for _ in 0..<count {
            let index = random.weightedIndex(weights)
            chosen.append(WorldCategory(rawValue: index) ?? .grocery)
            weights[index] = 0
        }
        return chosen
    }
}
