/// How one card holder behaves, beyond what the profile says: how often they pay, their favourite
/// merchants, their second card, a new phone, a trip. Derived from the profile and the seed only, so the
/// generator and the traffic synthesizer agree on it.
struct UserHabits: Sendable {
    /// A legit journey to another metro and back, by plane.
    struct Trip: Sendable {
        /// Destination metro.
        var destination: Int
        /// Leaves home (no transactions while flying).
        var departure: Int64
        /// Lands at the destination.
        var arrival: Int64
        /// Leaves the destination.
        var returnDeparture: Int64
        /// Lands at home.
        var returnArrival: Int64
    }

    /// Where the user is at some moment.
    enum Whereabouts: Equatable {
        case home
        case away(Int)
        case flying
    }

    let index: Int
    let homeMetro: Int
    let utcOffsetHours: Int
    /// Mean transactions per day.
    let dailyRate: Double
    let preferredCard: String
    let secondaryCard: String
    /// Share of transactions paid with the preferred card.
    let preferredShare: Double
    let usualCategories: [WorldCategory]
    let usualWeights: [Double]
    /// Share of transactions in a usual category.
    let usualShare: Double
    /// Favourite merchants by category raw value (empty for categories without favourites).
    let favourites: [[Int]]
    let typicalSpend: Double
    let devices: [String]
    let ips: [String]
    /// A new phone and the moment it takes over as the main device.
    let newPhone: (device: String, from: Int64)?
    let trip: Trip?
    let created: Int64
    let isBusiness: Bool
    let isStudent: Bool

    /// Mean daily transaction counts by segment (student, standard, premium, business).
    static let segmentRates: [Double] = [1.3, 1.5, 1.8, 2.1]

    /// Derives the habits of user number `index`.
    init(index: Int, profile: UserProfile, atlas: WorldAtlas) {
        let configuration = atlas.configuration
        var random = SeededRandom(seed: configuration.seed, stream: WorldAtlas.Stream.habits.rawValue, index: UInt64(index))
        self.index = index
        homeMetro = MetroArea.nearest(latitude: profile.homeLatitude, longitude: profile.homeLongitude)
        utcOffsetHours = MetroArea.all[homeMetro].utcOffsetHours
        let segment = ProfileGenerator.segments.firstIndex(of: profile.segment) ?? 1
        isBusiness = segment == 3
        isStudent = segment == 0
        dailyRate = Self.segmentRates[segment] * random.logNormal(median: 1, sigma: 0.35)
        preferredCard = profile.preferredCard
        let others = ProfileGenerator.cards.filter { $0 != profile.preferredCard }
        secondaryCard = random.element(of: others) ?? profile.preferredCard
        preferredShare = random.uniform(0.85, 0.98)
        let categories = profile.usualCategories.compactMap { WorldCategory(name: $0) }
        usualCategories = categories.isEmpty ? [.grocery] : categories
        usualWeights = usualCategories.indices.map { 1 / Double($0 + 1) }
        usualShare = random.uniform(0.72, 0.9)
        var favourites = [[Int]](repeating: [], count: WorldCategory.allCases.count)
        for category in usualCategories {
            let count = category.isRemote ? random.int(in: 2...3) : random.int(in: 2...5)
            var chosen: [Int] = []
            for _ in 0..<count {
                let merchant = atlas.merchant(category, near: homeMetro, using: &random)
                if !chosen.contains(merchant) { chosen.append(merchant) }
            }
            favourites[category.rawValue] = chosen
        }
        self.favourites = favourites
        typicalSpend = profile.typicalSpend
        devices = profile.devices.isEmpty ? [atlas.deviceId(WorldAtlas.DeviceSpace.user(index, slot: 0))] : profile.devices
        ips = profile.ips.isEmpty ? [atlas.residentialIP(metro: homeMetro, using: &random)] : profile.ips
        created = profile.accountCreatedMilliseconds

        let start = configuration.startMilliseconds
        let span = configuration.endMilliseconds - start
        if random.chance(0.10), span > 0 {
            newPhone = (
                atlas.deviceId(WorldAtlas.DeviceSpace.user(index, slot: 4)),
                start + Int64(random.nextDouble() * Double(span))
            )
        } else {
            newPhone = nil
        }
        trip = Self.drawTrip(homeMetro: homeMetro, configuration: configuration, using: &random)
    }

    private static func drawTrip(homeMetro: Int, configuration: WorldConfiguration, using random: inout SeededRandom) -> Trip? {
        guard random.chance(0.08), configuration.days >= 3 else { return nil }
        var weights = MetroArea.weights
        weights[homeMetro] = 0
        let destination = random.weightedIndex(weights)
        let flight = Int64((MetroArea.distances[homeMetro][destination] / 750 + 1) * 3_600_000)
        let hour: Int64 = 3_600_000
        let departureDay = Int64(random.int(below: configuration.days - 1))
        let departure = configuration.startMilliseconds + departureDay * 24 * hour + Int64(random.uniform(11, 23) * Double(hour))
        let stay = Int64(random.uniform(2, 7) * 24 * Double(hour))
        let arrival = departure + flight
        let returnDeparture = arrival + stay
        return Trip(
            destination: destination, departure: departure, arrival: arrival, returnDeparture: returnDeparture,
            returnArrival: returnDeparture + flight)
    }

    /// Where the user is at `time`.
    func whereabouts(at time: Int64) -> Whereabouts {
        guard let trip, time >= trip.departure, time < trip.returnArrival else { return .home }
        if time < trip.arrival || time >= trip.returnDeparture { return .flying }
        return .away(trip.destination)
    }

    /// A device the user pays from at `time`: mostly the main one (the new phone once it arrived).
    func device(at time: Int64, using random: inout SeededRandom) -> String {
        var pool = devices
        if let newPhone, time >= newPhone.from { pool.insert(newPhone.device, at: 0) }
        if pool.count == 1 || random.chance(0.75) { return pool[0] }
        return pool[1 + random.int(below: pool.count - 1)]
    }

    /// One of the user's usual IPs, the first most often.
    func usualIP(using random: inout SeededRandom) -> String {
        if ips.count == 1 || random.chance(0.7) { return ips[0] }
        return ips[1 + random.int(below: ips.count - 1)]
    }

    /// The card for a legit payment.
    func card(using random: inout SeededRandom) -> String {
        random.chance(preferredShare) ? preferredCard : secondaryCard
    }
}
