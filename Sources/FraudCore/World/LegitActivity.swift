/// Genuine card use of one user: a few payments a day with a daily rhythm, mostly near home in the
/// usual categories, on the user's own devices and IPs, with the noise real customers make (trips,
/// big purchases, new or borrowed devices, VPNs, quick repeats, shopping sprees, in-app bursts).
struct LegitActivity {
    let atlas: WorldAtlas
    let profile: UserProfile
    let habits: UserHabits

    static let hour: Int64 = 3_600_000
    static let day: Int64 = 86_400_000

    /// Relative activity by local hour of day: quiet at night, peaks at lunch and in the evening.
    static let diurnal: [Double] = [
        0.15, 0.08, 0.05, 0.04, 0.05, 0.12, 0.35, 0.65, 0.90, 1.00, 1.05, 1.20,
        1.45, 1.30, 1.10, 1.05, 1.10, 1.30, 1.50, 1.45, 1.20, 0.90, 0.60, 0.30,
    ]

    /// Categories of a legit shopping spree (several stores within an hour or two).
    private static let spreeCategories: [WorldCategory] = [.retail, .restaurant, .entertainment, .electronics, .grocery, .gas]
    /// Categories people use more when travelling.
    private static let travelCategories: [WorldCategory] = [.restaurant, .travel, .entertainment, .retail, .gas]
    /// Categories of small everyday charges (coffee, parking, apps).
    private static let microCategories: [WorldCategory] = [.restaurant, .online, .entertainment, .gas, .retail]
    /// Categories of legit big-ticket purchases.
    private static let bigCategories: [WorldCategory] = [.electronics, .travel, .jewelry, .retail]

    /// Day of week of an epoch-millisecond time, 0 = Monday.
    static func weekday(_ time: Int64) -> Int {
        let days = time >= 0 ? time / day : (time - day + 1) / day
        return Int((days + 3) % 7 + 7) % 7
    }

    /// Relative activity on a day of week (0 = Monday).
    private func weekdayFactor(_ weekday: Int) -> Double {
        if habits.isBusiness { return weekday >= 5 ? 0.7 : 1.1 }
        switch weekday {
        case 4: return 1.1
        case 5: return 1.2
        case 6: return 1.05
        default: return 0.95
        }
    }

    /// The whole labelled-history contribution of this user: legit rows in `start ..< end`.
    func history(using random: inout SeededRandom) -> [Transaction] {
        let configuration = atlas.configuration
        let start = configuration.startMilliseconds
        let end = configuration.endMilliseconds
        let earliest = max(start, habits.created + 10 * 60_000)
        var rows: [Transaction] = []
        rows.reserveCapacity(Int(habits.dailyRate * Double(configuration.days) * 1.3) + 8)
        var oneOffSlot = 5
        if let trip = habits.trip, random.chance(0.6) {
            // The ticket, bought online some days before leaving.
            let time = trip.departure - Int64(random.uniform(3, 20) * Double(Self.day))
            if time >= earliest {
                rows.append(contentsOf: payment(at: time, whereabouts: .home, forced: .travel, oneOffSlot: &oneOffSlot, using: &random))
            }
        }
        let offset = Int64(habits.utcOffsetHours) * Self.hour
        for dayIndex in 0..<configuration.days {
            let dayStart = start + Int64(dayIndex) * Self.day
            let localMidnight = dayStart - offset
            let count = random.poisson(mean: habits.dailyRate * weekdayFactor(Self.weekday(dayStart)))
            for _ in 0..<count {
                let time = localMidnight + Int64(random.weightedIndex(Self.diurnal)) * Self.hour + Int64(random.int(below: Int(Self.hour)))
                guard time >= earliest, time < end else { continue }
                let whereabouts = habits.whereabouts(at: time)
                if whereabouts == .flying { continue }
                rows.append(contentsOf: payment(at: time, whereabouts: whereabouts, oneOffSlot: &oneOffSlot, using: &random))
            }
            if random.chance(0.015) {
                let time = localMidnight + Int64(random.uniform(10, 18) * Double(Self.hour))
                let whereabouts = habits.whereabouts(at: time)
                if time >= earliest, whereabouts != .flying {
                    rows.append(contentsOf: shoppingSpree(at: time, whereabouts: whereabouts, using: &random))
                }
            }
            if random.chance(habits.isStudent ? 0.003 : 0.0012) {
                let time = localMidnight + Int64(random.weightedIndex(Self.diurnal)) * Self.hour + Int64(random.int(below: Int(Self.hour)))
                let whereabouts = habits.whereabouts(at: time)
                if time >= earliest, whereabouts != .flying {
                    rows.append(contentsOf: inAppBurst(at: time, whereabouts: whereabouts, using: &random))
                }
            }
        }
        return rows.filter { $0.timestampMilliseconds < end }
    }

    /// Where the user is, as a metro and a point (for card-not-present rows).
    private func position(
        _ whereabouts: UserHabits.Whereabouts, using random: inout SeededRandom
    ) -> (metro: Int, latitude: Double, longitude: Double) {
        switch whereabouts {
        case .away(let metro):
            let centre = MetroArea.all[metro]
            return (
                metro, centre.latitude + random.normal(standardDeviation: 0.08),
                centre.longitude + random.normal(standardDeviation: 0.1)
            )
        case .home, .flying:
            return (
                habits.homeMetro, profile.homeLatitude + random.normal(standardDeviation: 0.03),
                profile.homeLongitude + random.normal(standardDeviation: 0.04)
            )
        }
    }

    /// The usual amount for a category: typical spend × category factor × log-normal noise.
    func usualAmount(_ category: WorldCategory, using random: inout SeededRandom) -> Double {
        max(0.5, habits.typicalSpend * category.amountFactor * random.logNormal(median: 1, sigma: 0.55))
    }

    /// One genuine payment at `time` (sometimes followed by a quick repeat at the same merchant).
    func payment(
        at time: Int64, whereabouts: UserHabits.Whereabouts, forced: WorldCategory? = nil, oneOffSlot: inout Int,
        using random: inout SeededRandom
    ) -> [Transaction] {
        let isAway = whereabouts != .home
        let kind = random.nextDouble()
        var category: WorldCategory
        if let forced {
            category = forced
        } else if kind < 0.03 {
            category = Self.microCategories[random.int(below: Self.microCategories.count)]
        } else if kind < 0.034 {
            category = random.chance(0.5) ? habits.usualCategories[0] : Self.bigCategories[random.int(below: Self.bigCategories.count)]
        } else if isAway && random.chance(0.5) {
            category = Self.travelCategories[random.int(below: Self.travelCategories.count)]
        } else if random.chance(habits.usualShare) {
            category = habits.usualCategories[random.weightedIndex(habits.usualWeights)]
        } else {
            category = WorldCategory(rawValue: random.weightedIndex(WorldCategory.casualShares)) ?? .retail
        }
        let here = position(whereabouts, using: &random)
        let merchantIndex: Int
        let favourites = habits.favourites[category.rawValue]
        if !favourites.isEmpty && (category.isRemote || !isAway) && random.chance(category.isRemote ? 0.6 : 0.7) {
            merchantIndex = favourites[random.int(below: favourites.count)]
        } else {
            merchantIndex = atlas.merchant(category, near: here.metro, using: &random)
        }
        let merchant = atlas.merchants[merchantIndex]
        category = atlas.merchantCategories[merchantIndex]
        var amount: Double
        if forced == nil && kind < 0.03 {
            amount = random.uniform(0.99, 6)
        } else if forced == nil && kind < 0.034 {
            amount = habits.typicalSpend * random.uniform(5, 25)
        } else {
            amount = usualAmount(category, using: &random)
        }
        var latitude = merchant.latitude
        var longitude = merchant.longitude
        if category.isRemote {
            latitude = here.latitude
            longitude = here.longitude
            if random.chance(0.02) {
                // A VPN exit far away: a legit row with an implausible implied speed.
                let far = (0..<MetroArea.all.count).filter { MetroArea.distances[here.metro][$0] > 1_500 }
                if let metro = random.element(of: far) {
                    latitude = MetroArea.all[metro].latitude + random.normal(standardDeviation: 0.05)
                    longitude = MetroArea.all[metro].longitude + random.normal(standardDeviation: 0.05)
                }
            }
        }
        var device = habits.device(at: time, using: &random)
        if oneOffSlot < 256 && random.chance(0.004) {
            // A borrowed or new browser: a legit unseen device.
            device = atlas.deviceId(WorldAtlas.DeviceSpace.user(habits.index, slot: oneOffSlot))
            oneOffSlot += 1
        }
        let ip = isAway ? atlas.residentialIP(metro: here.metro, using: &random) : habits.usualIP(using: &random)
        let card = habits.card(using: &random)
        var rows = [
            Transaction.generated(
                user: profile.userId, merchant: merchant, amount: amount, at: time, card: card, latitude: latitude,
                longitude: longitude, device: device, ip: ip, scenario: nil)
        ]
        if random.chance(0.025) {
            // Paid twice in a row (split bill, forgotten item): legit velocity.
            var repeatTime = time
            for _ in 0..<random.int(in: 1...2) {
                repeatTime += Int64(random.uniform(5, 120) * 1000)
                amount = random.chance(0.5) ? amount : usualAmount(category, using: &random)
                var row = rows[0]
                row.timestampMilliseconds = repeatTime
                row.amount = WorldAtlas.roundAmount(amount)
                rows.append(row)
            }
        }
        return rows
    }

    /// A legit shopping spree: 3–6 stores within 40–120 minutes.
    func shoppingSpree(at time: Int64, whereabouts: UserHabits.Whereabouts, using random: inout SeededRandom) -> [Transaction] {
        let metro = position(whereabouts, using: &random).metro
        let count = random.int(in: 3...6)
        let span = random.uniform(40, 120) * 60_000
        let device = habits.device(at: time, using: &random)
        let card = habits.card(using: &random)
        let ip = whereabouts == .home ? habits.usualIP(using: &random) : atlas.residentialIP(metro: metro, using: &random)
        var offsets = (0..<count).map { $0 == 0 ? 0 : random.nextDouble() * span }
        offsets.sort()
        return offsets.map { offset in
            let category = Self.spreeCategories[random.int(below: Self.spreeCategories.count)]
            let index = atlas.merchant(category, near: metro, using: &random)
            let merchant = atlas.merchants[index]
            return Transaction.generated(
                user: profile.userId, merchant: merchant, amount: usualAmount(atlas.merchantCategories[index], using: &random),
                at: time + Int64(offset), card: card, latitude: merchant.latitude, longitude: merchant.longitude,
                device: device, ip: ip, scenario: nil)
        }
    }

    /// A legit in-app burst: 3–9 (rarely up to 14) small purchases at one online merchant within
    /// seconds on one device, which can look like click spam.
    func inAppBurst(at time: Int64, whereabouts: UserHabits.Whereabouts, using random: inout SeededRandom) -> [Transaction] {
        let here = position(whereabouts, using: &random)
        let favourites = habits.favourites[WorldCategory.online.rawValue]
        let index = random.element(of: favourites) ?? atlas.merchant(.online, near: here.metro, using: &random)
        let merchant = atlas.merchants[index]
        let device = habits.device(at: time, using: &random)
        let ip = whereabouts == .home ? habits.usualIP(using: &random) : atlas.residentialIP(metro: here.metro, using: &random)
        let card = habits.card(using: &random)
        let count = random.chance(0.08) ? random.int(in: 10...14) : random.int(in: 3...9)
        let meanGap = random.uniform(5, 40) * 1000 / Double(count)
        var moment = time
        var rows: [Transaction] = []
        for _ in 0..<count {
            rows.append(
                Transaction.generated(
                    user: profile.userId, merchant: merchant, amount: random.uniform(0.99, 9.99), at: moment, card: card,
                    latitude: here.latitude, longitude: here.longitude, device: device, ip: ip, scenario: nil))
            moment += max(150, Int64(random.exponential(mean: meanGap)))
        }
        return rows
    }
}
