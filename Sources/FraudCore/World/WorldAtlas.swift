/// The fixed surroundings of a world that users and fraudsters draw from: merchants indexed by metro
/// and category, internet address pools, the blocklist, and device-id minting.
///
/// Everything here is a function of the configuration (and the merchant list), so the traffic
/// synthesizer can rebuild the same atlas from a world read back from files.
struct WorldAtlas: Sendable {
    /// Independent random sub-streams of the world seed; changing how one part draws numbers leaves
    /// the others untouched.
    enum Stream: UInt64 {
        case atlas = 1, merchants, profiles, habits, legit, fraud, order, live
    }

    /// An address fraudsters use.
    struct FraudAddress: Sendable {
        /// Dotted quad.
        var ip: String
        /// Where the address geolocates.
        var metro: Int
        /// Whether it is on the blocklist.
        var isListed: Bool
    }

    /// A shared (carrier-grade NAT, campus) address: listed after past abuse, used by innocent users.
    struct SharedAddress: Sendable {
        /// Dotted quad.
        var ip: String
        /// Where the address geolocates.
        var metro: Int
    }

    let configuration: WorldConfiguration
    let merchants: [Merchant]
    let merchantCategories: [WorldCategory]
    let merchantMetros: [Int]
    /// Merchant indices by `[metro][category]`.
    let merchantsByMetroAndCategory: [[[Int]]]
    /// Merchant indices by category.
    let merchantsByCategory: [[Int]]
    /// Two residential /16 prefixes per metro (upper 16 bits of the address).
    let residentialPrefixes: [[UInt32]]
    let fraudAddresses: [FraudAddress]
    let listedFraudAddresses: [Int]
    let sharedAddresses: [SharedAddress]
    /// The blocklist, ascending numeric order.
    let blocklist: [String]
    private let deviceKeys: (UInt32, UInt32)

    private static let europeanFirstOctets: [UInt32] = [
        2, 5, 31, 37, 46, 62, 77, 78, 80, 81, 82, 83, 84, 85, 86, 87, 88, 89, 90, 91, 92, 93, 94, 95,
    ]
    private static let americanFirstOctets: [UInt32] = [
        24, 47, 50, 65, 66, 67, 68, 69, 70, 71, 72, 73, 74, 75, 76, 96, 97, 98, 99, 107, 108, 173, 174, 184,
    ]
    private static let hostingFirstOctets: [UInt32] = [
        45, 103, 104, 138, 139, 141, 142, 143, 146, 149, 154, 157, 159, 161, 164, 165, 167, 176, 178, 185, 188, 193, 194, 195,
        198, 206, 209, 212, 213, 216, 217,
    ]

    /// Builds the atlas for `configuration` around `merchants` (from `makeMerchants` or read from files).
    /// A given `blocklist` (a world read back, possibly edited) replaces the derived one, and decides
    /// which fraud addresses count as listed.
    init(configuration: WorldConfiguration, merchants: [Merchant], blocklist given: [String]? = nil) {
        self.configuration = configuration
        self.merchants = merchants
        let metroCount = MetroArea.all.count
        let categoryCount = WorldCategory.allCases.count
        var byMetroAndCategory = [[[Int]]](repeating: [[Int]](repeating: [], count: categoryCount), count: metroCount)
        var byCategory = [[Int]](repeating: [], count: categoryCount)
        var categories: [WorldCategory] = []
        var metros: [Int] = []
        categories.reserveCapacity(merchants.count)
        metros.reserveCapacity(merchants.count)
        for (index, merchant) in merchants.enumerated() {
            let category = WorldCategory(name: merchant.category) ?? .retail
            let metro = MetroArea.nearest(latitude: merchant.latitude, longitude: merchant.longitude)
            categories.append(category)
            metros.append(metro)
            byMetroAndCategory[metro][category.rawValue].append(index)
            byCategory[category.rawValue].append(index)
        }
        merchantCategories = categories
        merchantMetros = metros
        merchantsByMetroAndCategory = byMetroAndCategory
        merchantsByCategory = byCategory

        var random = SeededRandom(seed: configuration.seed, stream: Stream.atlas.rawValue)
        deviceKeys = (UInt32(truncatingIfNeeded: random.next()), UInt32(truncatingIfNeeded: random.next()))
        var prefixes: [[UInt32]] = []
        var usedPrefixes = Set<UInt32>()
        for metro in MetroArea.all {
            let octets = metro.isEurope ? Self.europeanFirstOctets : Self.americanFirstOctets
            var pair: [UInt32] = []
            while pair.count < 2 {
                let prefix = octets[random.int(below: octets.count)] << 8 | UInt32(random.int(below: 256))
                if usedPrefixes.insert(prefix).inserted { pair.append(prefix) }
            }
            prefixes.append(pair)
        }
        residentialPrefixes = prefixes

        let users = max(1, configuration.users)
        var fraud: [FraudAddress] = []
        var listed: [Int] = []
        for index in 0..<max(16, users / 40) {
            let metro = random.weightedIndex(MetroArea.weights)
            let isProxy = random.chance(0.4)
            let address = isProxy ? Self.residentialAddress(prefixes[metro], &random) : Self.hostingAddress(&random)
            let isListed = index < 2 || random.chance(0.45)
            if isListed { listed.append(index) }
            fraud.append(FraudAddress(ip: Self.dottedQuad(address), metro: metro, isListed: isListed))
        }
        var shared: [SharedAddress] = []
        for _ in 0..<max(3, users / 250) {
            let metro = random.weightedIndex(MetroArea.weights)
            shared.append(SharedAddress(ip: Self.dottedQuad(Self.residentialAddress(prefixes[metro], &random)), metro: metro))
        }
        sharedAddresses = shared
        var listedAddresses = Set<String>()
        for address in fraud where address.isListed { listedAddresses.insert(address.ip) }
        for address in shared { listedAddresses.insert(address.ip) }
        for _ in 0..<max(5, users / 100) { listedAddresses.insert(Self.dottedQuad(Self.hostingAddress(&random))) }
        if let given {
            // Follow the world's own blocklist: listed means listed there.
            let listedSet = Set(given)
            fraud = fraud.map { FraudAddress(ip: $0.ip, metro: $0.metro, isListed: listedSet.contains($0.ip)) }
            if !fraud.contains(where: \.isListed) {
                for (index, ip) in given.prefix(16).enumerated() {
                    fraud.append(FraudAddress(ip: ip, metro: index % MetroArea.all.count, isListed: true))
                }
            }
            listed = fraud.indices.filter { fraud[$0].isListed }
            blocklist = given
        } else {
            blocklist = Self.sortedNumerically(Array(listedAddresses))
        }
        fraudAddresses = fraud
        listedFraudAddresses = listed
    }

    /// The merchants of a world: a category each (the first ten cover every category) and a location
    /// scattered around a metro.
    static func makeMerchants(_ configuration: WorldConfiguration) -> [Merchant] {
        var random = SeededRandom(seed: configuration.seed, stream: Stream.merchants.rawValue)
        var merchants: [Merchant] = []
        merchants.reserveCapacity(max(0, configuration.merchants))
        for index in 0..<max(0, configuration.merchants) {
            let categoryIndex = index < WorldCategory.allCases.count ? index : random.weightedIndex(WorldCategory.merchantShares)
            let metro = MetroArea.all[random.weightedIndex(MetroArea.weights)]
            merchants.append(
                Merchant(
                    merchantId: "m\(index)", category: WorldCategory.names[categoryIndex],
                    latitude: roundCoordinate(metro.latitude + random.normal(standardDeviation: 0.10)),
                    longitude: roundCoordinate(metro.longitude + random.normal(standardDeviation: 0.13))))
        }
        return merchants
    }

    // MARK: - Choosing merchants

    /// A random merchant of `category`, near `metro` for in-person categories (falling back to any
    /// merchant of the category, then to any merchant at all, in small worlds).
    func merchant(_ category: WorldCategory, near metro: Int, using random: inout SeededRandom) -> Int {
        if !category.isRemote, let index = random.element(of: merchantsByMetroAndCategory[metro][category.rawValue]) {
            return index
        }
        if let index = random.element(of: merchantsByCategory[category.rawValue]) { return index }
        return random.int(below: max(1, merchants.count))
    }

    // MARK: - Addresses

    /// A residential address in `metro`'s ranges.
    func residentialIP(metro: Int, using random: inout SeededRandom) -> String {
        Self.dottedQuad(Self.residentialAddress(residentialPrefixes[metro], &random))
    }

    /// A fraud address, any or listed only.
    func fraudAddress(listedOnly: Bool, using random: inout SeededRandom) -> FraudAddress {
        if listedOnly, let index = random.element(of: listedFraudAddresses) { return fraudAddresses[index] }
        return fraudAddresses[random.int(below: fraudAddresses.count)]
    }

    private static func residentialAddress(_ prefixes: [UInt32], _ random: inout SeededRandom) -> UInt32 {
        prefixes[random.int(below: prefixes.count)] << 16 | UInt32(random.int(below: 256)) << 8 | UInt32(random.int(in: 1...254))
    }

    private static func hostingAddress(_ random: inout SeededRandom) -> UInt32 {
        hostingFirstOctets[random.int(below: hostingFirstOctets.count)] << 24 | UInt32(random.int(below: 256)) << 16
            | UInt32(random.int(below: 256)) << 8 | UInt32(random.int(in: 1...254))
    }

    /// `a.b.c.d` for a 32-bit address.
    static func dottedQuad(_ address: UInt32) -> String {
        "\(address >> 24).\(address >> 16 & 255).\(address >> 8 & 255).\(address & 255)"
    }

    /// Parses `a.b.c.d`; `nil` when malformed.
    static func address(_ text: String) -> UInt32? {
        let parts = text.split(separator: ".")
        guard parts.count == 4 else { return nil }
        var value: UInt32 = 0
        for part in parts {
            guard let octet = UInt32(part), octet < 256 else { return nil }
            value = value << 8 | octet
        }
        return value
    }

    /// Dotted quads sorted by numeric value (malformed ones last, in string order).
    static func sortedNumerically(_ addresses: [String]) -> [String] {
        addresses.sorted { left, right in
            switch (address(left), address(right)) {
            case let (l?, r?): l < r
            case (_?, nil): true
            case (nil, _?): false
            case (nil, nil): left < right
            }
        }
    }

    // MARK: - Devices

    /// Device-id serial spaces: a user's own devices, devices minted for history fraud, for live fraud.
    enum DeviceSpace {
        /// Slots 0...3 own devices, 4 the new phone, 5...255 one-off borrowed devices; needs users < 2^23.
        static func user(_ user: Int, slot: Int) -> UInt32 { UInt32(truncatingIfNeeded: user) << 8 | UInt32(slot & 255) }
        /// Base of the devices fraudsters use in the history.
        static let historyFraud: UInt32 = 0x8000_0000
        /// Base of the devices fraudsters use in live traffic.
        static let liveFraud: UInt32 = 0xC000_0000
    }

    /// The device id of a serial: `d` and 8 hex digits, a keyed bijection of the serial, so ids are
    /// unique yet do not reveal whose (or whether a fraudster's) device it is.
    func deviceId(_ serial: UInt32) -> String {
        var x = serial ^ deviceKeys.0
        x &*= 0x9E37_79B1
        x ^= x >> 15
        x &*= 0x85EB_CA77
        x ^= x >> 13
        x &+= deviceKeys.1
        x ^= x >> 16
        x &*= 0xC2B2_AE3D
        x ^= x >> 16
        let hex = String(x, radix: 16)
        return "d" + String(repeating: "0", count: 8 - hex.count) + hex
    }

    // MARK: - Rounding

    /// Coordinates are kept to 5 decimals (about a metre).
    static func roundCoordinate(_ value: Double) -> Double { (value * 100_000).rounded() / 100_000 }

    /// Amounts are kept to cents, at least 0.01.
    static func roundAmount(_ value: Double) -> Double { max(0.01, (value * 100).rounded() / 100) }
}
