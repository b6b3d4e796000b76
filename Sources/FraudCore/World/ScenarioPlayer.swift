/// Plays one fraud incident of a scenario against a victim: the rows a fraudster would cause, labelled.
///
/// Each scenario leaves signals the features can see, but with variation (a share of "subtle"
/// incidents with weak signals, fraud that borrows the victim's device or a clean IP) so no single
/// feature separates it perfectly. The history generator and the live traffic synthesizer share it.
struct ScenarioPlayer: Sendable {
    /// A targeted user.
    struct Victim: Sendable {
        var profile: UserProfile
        var habits: UserHabits
    }

    /// A genuine use right before an impossible-travel fraud.
    struct Anchor: Sendable {
        var time: Int64
        var latitude: Double
        var longitude: Double
    }

    let atlas: WorldAtlas
    /// Serial of the next device a fraudster brings.
    private(set) var nextDeviceSerial: UInt32

    private static let minute: Int64 = 60_000

    /// Creates a player minting fraud devices from `firstDeviceSerial` on.
    init(atlas: WorldAtlas, firstDeviceSerial: UInt32) {
        self.atlas = atlas
        self.nextDeviceSerial = firstDeviceSerial
    }

    /// Whether the scenario happens in shop opening hours (the caller picks the start time).
    static func prefersDaytime(_ scenario: FraudScenario) -> Bool {
        scenario == .stolenCardSpree || scenario == .amountSpike || scenario == .deviceCardCycling
    }

    /// The rows of one incident starting at `start`. `victims` has at least one element (click spam may
    /// use several); `anchor` is the genuine use an impossible-travel incident follows.
    mutating func play(
        _ scenario: FraudScenario, victims: [Victim], at start: Int64, anchor: Anchor?, using random: inout SeededRandom
    ) -> [Transaction] {
        let victim = victims[0]
        switch scenario {
        case .cardTesting: return cardTesting(victim, start, &random)
        case .accountTakeover: return accountTakeover(victim, start, &random)
        case .stolenCardSpree: return stolenCardSpree(victim, start, &random)
        case .impossibleTravel:
            let fallback = Anchor(time: start, latitude: victim.profile.homeLatitude, longitude: victim.profile.homeLongitude)
            return [impossibleTravel(victim, anchor ?? fallback, &random)]
        case .blocklistedIP: return blocklistedIP(victim, start, &random)
        case .clickSpam: return clickSpam(victims, start, &random)
        case .amountSpike: return [amountSpike(victim, start, &random)]
        case .deviceCardCycling: return deviceCardCycling(victims, start, &random)
        }
    }

    /// One device, many cards: each victim's card used once or twice, minutes apart within about an hour, in the
    /// victim's usual categories near home, for amounts in the victim's usual range, located near the home (the
    /// fraudster spoofs it) and from a residential IP there (a proxy pool), in the daytime. Per user it is one ordinary
    /// purchase from a device the user never used (as 7.5% of legit purchases are); the device's distinct cards are
    /// the signal.
    private mutating func deviceCardCycling(_ victims: [Victim], _ start: Int64, _ random: inout SeededRandom) -> [Transaction] {
        let device = newDevice()
        var time = start
        var rows: [Transaction] = []
        for victim in victims {
            for use in 0..<(random.chance(0.25) ? 2 : 1) {
                if !rows.isEmpty { time += Int64(random.uniform(use == 0 ? 1.5 : 0.5, use == 0 ? 6 : 2) * Double(Self.minute)) }
                let home = victim.habits.homeMetro
                // Where the card holder shops: one of the victim's usual categories, near home.
                let category = victim.habits.usualCategories[random.weightedIndex(victim.habits.usualWeights)]
                let merchant = atlas.merchant(category, near: home, using: &random)
                rows.append(
                    row(.deviceCardCycling, victim, merchant: merchant, amount: victim.habits.typicalSpend * random.uniform(0.6, 1.8), at: time,
                        card: card(victim, preferred: 0.8, &random), at: point(home, spread: 0.08, &random), device: device,
                        ip: atlas.residentialIP(metro: home, using: &random)))
            }
        }
        return rows
    }

    // MARK: - Helpers

    private mutating func newDevice() -> String {
        defer { nextDeviceSerial &+= 1 }
        return atlas.deviceId(nextDeviceSerial)
    }

    private func point(_ metro: Int, spread: Double, _ random: inout SeededRandom) -> (latitude: Double, longitude: Double) {
        let centre = MetroArea.all[metro]
        return (
            centre.latitude + random.normal(standardDeviation: spread),
            centre.longitude + random.normal(standardDeviation: spread * 1.3)
        )
    }

    private func card(_ victim: Victim, preferred share: Double, _ random: inout SeededRandom) -> String {
        random.chance(share) ? victim.habits.preferredCard : victim.habits.secondaryCard
    }

    private func pick(_ weighted: [(WorldCategory, Double)], _ random: inout SeededRandom) -> WorldCategory {
        weighted[random.weightedIndex(weighted.map(\.1))].0
    }

    private func row(
        _ scenario: FraudScenario, _ victim: Victim, merchant index: Int, amount: Double, at time: Int64, card: String,
        at place: (latitude: Double, longitude: Double)?, device: String, ip: String
    ) -> Transaction {
        let merchant = atlas.merchants[index]
        let location = place ?? (merchant.latitude, merchant.longitude)
        return Transaction.generated(
            user: victim.profile.userId, merchant: merchant, amount: amount, at: time, card: card, latitude: location.latitude,
            longitude: location.longitude, device: device, ip: ip, scenario: scenario)
    }

    // MARK: - Scenarios

    /// 5–30 charges of $0.50–$5 seconds apart at different merchants, mostly online, from the
    /// fraudster's device and address; sometimes a final larger charge.
    private mutating func cardTesting(_ victim: Victim, _ start: Int64, _ random: inout SeededRandom) -> [Transaction] {
        let subtle = random.chance(0.25)
        let count = subtle ? random.int(in: 5...8) : 5 + min(25, Int(random.exponential(mean: 9)))
        let meanGap = subtle ? random.uniform(20, 45) : random.uniform(3, 9)
        var address = atlas.fraudAddress(listedOnly: false, using: &random)
        if subtle, let unlisted = random.element(of: atlas.fraudAddresses.filter({ !$0.isListed })) { address = unlisted }
        let place = point(address.metro, spread: 0.05, &random)
        let rotate = random.chance(0.2)
        var device = newDevice()
        let card = card(victim, preferred: 0.5, &random)
        let testAmounts = [0.5, 1.0, 1.0, 1.99, 2.0, 4.99]
        var time = start
        var rows: [Transaction] = []
        for attempt in 0..<count {
            if attempt > 0 {
                time += max(400, Int64(random.exponential(mean: meanGap) * 1000))
                if rotate { device = newDevice() }
            }
            let category = random.chance(0.7)
                ? WorldCategory.online : pick([(.giftCards, 3), (.entertainment, 2), (.retail, 2), (.restaurant, 1)], &random)
            let merchant = atlas.merchant(category, near: address.metro, using: &random)
            let amount = random.chance(0.3) ? testAmounts[random.int(below: testAmounts.count)] : random.uniform(0.5, 5)
            rows.append(
                row(.cardTesting, victim, merchant: merchant, amount: amount, at: time, card: card, at: place, device: device,
                    ip: address.ip))
        }
        if random.chance(0.3) {
            time += Int64(random.uniform(1, 10) * Double(Self.minute))
            let category = pick([(.electronics, 2), (.giftCards, 2), (.online, 1)], &random)
            let merchant = atlas.merchant(category, near: address.metro, using: &random)
            rows.append(
                row(.cardTesting, victim, merchant: merchant, amount: random.uniform(80, 900), at: time, card: card, at: place,
                    device: device, ip: address.ip))
        }
        return rows
    }

    /// 1–4 high charges minutes apart from a new device and address, usually far from home.
    private mutating func accountTakeover(_ victim: Victim, _ start: Int64, _ random: inout SeededRandom) -> [Transaction] {
        let count = 1 + random.weightedIndex([0.45, 0.30, 0.15, 0.10])
        let subtle = random.chance(0.2)
        let address = atlas.fraudAddress(listedOnly: false, using: &random)
        let home = victim.habits.homeMetro
        var metro = address.metro
        if random.chance(0.2) {
            metro = home  // a proxy near the victim's home
        } else if MetroArea.distances[home][metro] < 500 {
            let far = (0..<MetroArea.all.count).filter { MetroArea.distances[home][$0] >= 500 }
            metro = random.element(of: far) ?? metro
        }
        let place = point(metro, spread: metro == home ? 0.08 : 0.05, &random)
        let device = newDevice()
        let card = card(victim, preferred: 0.85, &random)
        var time = start
        var rows: [Transaction] = []
        for index in 0..<count {
            if index > 0 { time += Int64(random.uniform(2, 40) * Double(Self.minute)) }
            let category = pick([(.electronics, 0.3), (.giftCards, 0.25), (.online, 0.2), (.jewelry, 0.15), (.travel, 0.1)], &random)
            let merchant = atlas.merchant(category, near: metro, using: &random)
            let factor = subtle ? random.uniform(1.5, 3.5) : random.uniform(4, 20)
            rows.append(
                row(.accountTakeover, victim, merchant: merchant, amount: min(5_000, victim.habits.typicalSpend * factor), at: time,
                    card: card, at: place, device: device, ip: address.ip))
        }
        return rows
    }

    /// 4–12 in-store purchases within one or two hours across electronics, gift cards, jewelry…, with a
    /// stolen card (often not the preferred one), from a phone the victim never used.
    private mutating func stolenCardSpree(_ victim: Victim, _ start: Int64, _ random: inout SeededRandom) -> [Transaction] {
        let subtle = random.chance(0.2)
        let metro = random.chance(0.7) ? victim.habits.homeMetro : random.weightedIndex(MetroArea.weights)
        let count = subtle ? random.int(in: 3...5) : min(12, 4 + random.poisson(mean: 3.5))
        let span = random.uniform(45, 120) * Double(Self.minute)
        var offsets = (0..<count).map { $0 == 0 ? 0 : random.nextDouble() * span }
        offsets.sort()
        let device = newDevice()
        let ip = atlas.residentialIP(metro: metro, using: &random)
        let card = card(victim, preferred: 0.4, &random)
        let categories: [(WorldCategory, Double)] = [
            (.electronics, 0.25), (.giftCards, 0.2), (.jewelry, 0.15), (.retail, 0.2), (.gas, 0.1), (.entertainment, 0.05),
            (.grocery, 0.05),
        ]
        return offsets.map { offset in
            let merchant = atlas.merchant(pick(categories, &random), near: metro, using: &random)
            let amount = subtle
                ? victim.habits.typicalSpend * random.uniform(1.5, 3)
                : min(3_000, max(20, random.logNormal(median: 220, sigma: 0.6)))
            return row(
                .stolenCardSpree, victim, merchant: merchant, amount: amount, at: start + Int64(offset), card: card, at: nil,
                device: device, ip: ip)
        }
    }

    /// One use 2–90 minutes after a genuine one, at least 2,000 km away (implied speed ≥ 1,500 km/h).
    private mutating func impossibleTravel(_ victim: Victim, _ anchor: Anchor, _ random: inout SeededRandom) -> Transaction {
        var weights = MetroArea.weights
        for metro in weights.indices {
            let centre = MetroArea.all[metro]
            let kilometres = DeterministicMath.distanceKilometres(anchor.latitude, anchor.longitude, centre.latitude, centre.longitude)
            if kilometres < 2_200 { weights[metro] = 0 }
        }
        let metro = random.weightedIndex(weights)
        let inStore = random.chance(0.6)
        let category = inStore
            ? pick([(.electronics, 2), (.retail, 2), (.gas, 1), (.restaurant, 1), (.jewelry, 1), (.grocery, 1)], &random) : .online
        let merchantIndex = atlas.merchant(category, near: metro, using: &random)
        let merchant = atlas.merchants[merchantIndex]
        let place = inStore && !atlas.merchantCategories[merchantIndex].isRemote
            ? (latitude: merchant.latitude, longitude: merchant.longitude) : point(metro, spread: 0.05, &random)
        let kilometres = DeterministicMath.distanceKilometres(anchor.latitude, anchor.longitude, place.latitude, place.longitude)
        let longestGap = min(90, kilometres / 1_500 * 60)
        let gap = Int64(random.uniform(2, max(2.5, longestGap)) * Double(Self.minute))
        let device = random.chance(0.7) ? newDevice() : victim.habits.device(at: anchor.time, using: &random)
        let ip = random.chance(0.5)
            ? atlas.residentialIP(metro: metro, using: &random) : atlas.fraudAddress(listedOnly: false, using: &random).ip
        let amount = victim.habits.typicalSpend * random.logNormal(median: random.chance(0.25) ? 1 : 2.5, sigma: 0.6)
        return row(
            .impossibleTravel, victim, merchant: merchantIndex, amount: max(5, amount), at: anchor.time + gap,
            card: card(victim, preferred: 0.75, &random), at: place, device: device, ip: ip)
    }

    /// 1–3 purchases from a blocklisted address, usually on a new device.
    private mutating func blocklistedIP(_ victim: Victim, _ start: Int64, _ random: inout SeededRandom) -> [Transaction] {
        let count = 1 + random.weightedIndex([0.65, 0.25, 0.10])
        let address = atlas.fraudAddress(listedOnly: true, using: &random)
        let metro = random.chance(0.6) ? address.metro : victim.habits.homeMetro
        let place = point(metro, spread: 0.05, &random)
        let device = random.chance(0.8) ? newDevice() : victim.habits.device(at: start, using: &random)
        let card = card(victim, preferred: 0.8, &random)
        var time = start
        var rows: [Transaction] = []
        for index in 0..<count {
            if index > 0 { time += Int64(random.uniform(1, 30) * Double(Self.minute)) }
            let category = pick([(.online, 0.45), (.electronics, 0.2), (.giftCards, 0.15), (.retail, 0.1), (.entertainment, 0.1)], &random)
            let merchant = atlas.merchant(category, near: metro, using: &random)
            let amount = victim.habits.typicalSpend * random.logNormal(median: 2.5, sigma: 0.6)
            rows.append(
                row(.blocklistedIP, victim, merchant: merchant, amount: max(1, amount), at: time, card: card, at: place, device: device,
                    ip: address.ip))
        }
        return rows
    }

    /// One device firing 10–40 events (subtle: 6–9, slower) within seconds, for one or several users,
    /// at one or two online merchants, often repeating one amount.
    private mutating func clickSpam(_ victims: [Victim], _ start: Int64, _ random: inout SeededRandom) -> [Transaction] {
        let subtle = random.chance(0.25)
        let count = subtle ? random.int(in: 6...9) : 10 + min(30, Int(random.exponential(mean: 8)))
        let meanGap = subtle ? random.uniform(600, 1_200) : random.uniform(150, 400)
        let address = atlas.fraudAddress(listedOnly: false, using: &random)
        let place = point(address.metro, spread: 0.05, &random)
        let device = newDevice()
        let merchants = (0..<random.int(in: 1...2)).map { _ in atlas.merchant(.online, near: address.metro, using: &random) }
        let repeated = random.chance(0.7)
        let baseAmount = random.uniform(0.99, 49.99)
        let cards = victims.map { card($0, preferred: 0.8, &random) }
        var time = start
        var rows: [Transaction] = []
        for index in 0..<count {
            if index > 0 { time += max(20, Int64(random.exponential(mean: meanGap))) }
            let who = random.int(below: victims.count)
            let amount = repeated ? baseAmount : random.uniform(0.99, 49.99)
            rows.append(
                row(.clickSpam, victims[who], merchant: merchants[random.int(below: merchants.count)], amount: amount, at: time,
                    card: cards[who], at: place, device: device, ip: address.ip))
        }
        return rows
    }

    /// One amount 8–30× the user's typical spend (subtle: 4–8×) in a category they do not usually buy
    /// in, near home and mostly from the user's own device and IP.
    private mutating func amountSpike(_ victim: Victim, _ start: Int64, _ random: inout SeededRandom) -> Transaction {
        let candidates: [WorldCategory] = [.electronics, .jewelry, .travel, .giftCards, .retail, .online]
        let unusual = candidates.filter { !victim.habits.usualCategories.contains($0) }
        let category = random.element(of: unusual) ?? .jewelry
        let home = victim.habits.homeMetro
        let merchantIndex = atlas.merchant(category, near: home, using: &random)
        let merchant = atlas.merchants[merchantIndex]
        let place = atlas.merchantCategories[merchantIndex].isRemote
            ? (
                latitude: victim.profile.homeLatitude + random.normal(standardDeviation: 0.03),
                longitude: victim.profile.homeLongitude + random.normal(standardDeviation: 0.04)
            )
            : (latitude: merchant.latitude, longitude: merchant.longitude)
        let factor = random.chance(0.8) ? random.uniform(8, 30) : random.uniform(4, 8)
        let device = random.chance(0.7) ? victim.habits.device(at: start, using: &random) : newDevice()
        let ip = random.chance(0.6) ? victim.habits.usualIP(using: &random) : atlas.residentialIP(metro: home, using: &random)
        return row(
            .amountSpike, victim, merchant: merchantIndex, amount: min(20_000, victim.habits.typicalSpend * factor), at: start,
            card: card(victim, preferred: 0.7, &random), at: place, device: device, ip: ip)
    }
}
