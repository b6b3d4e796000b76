/// A metropolitan area homes and merchants cluster around.
struct MetroArea: Sendable {
    /// City name (documentation only).
    var name: String
    /// Centre, degrees.
    var latitude: Double
    /// Centre, degrees.
    var longitude: Double
    /// Relative share of users and merchants.
    var weight: Double
    /// Offset of local (standard) time from UTC, hours; drives the daily rhythm.
    var utcOffsetHours: Int
    /// `true` for European metros (their IPs come from European-looking ranges).
    var isEurope: Bool

    /// The metros of the world, in a fixed order (indices are stable).
    static let all: [MetroArea] = [
        MetroArea(name: "New York", latitude: 40.7128, longitude: -74.0060, weight: 10, utcOffsetHours: -5, isEurope: false),
        MetroArea(name: "Los Angeles", latitude: 34.0522, longitude: -118.2437, weight: 8, utcOffsetHours: -8, isEurope: false),
        MetroArea(name: "Chicago", latitude: 41.8781, longitude: -87.6298, weight: 6, utcOffsetHours: -6, isEurope: false),
        MetroArea(name: "Houston", latitude: 29.7604, longitude: -95.3698, weight: 5, utcOffsetHours: -6, isEurope: false),
        MetroArea(name: "Phoenix", latitude: 33.4484, longitude: -112.0740, weight: 3, utcOffsetHours: -7, isEurope: false),
        MetroArea(name: "Miami", latitude: 25.7617, longitude: -80.1918, weight: 4, utcOffsetHours: -5, isEurope: false),
        MetroArea(name: "Seattle", latitude: 47.6062, longitude: -122.3321, weight: 4, utcOffsetHours: -8, isEurope: false),
        MetroArea(name: "San Francisco", latitude: 37.7749, longitude: -122.4194, weight: 5, utcOffsetHours: -8, isEurope: false),
        MetroArea(name: "Boston", latitude: 42.3601, longitude: -71.0589, weight: 4, utcOffsetHours: -5, isEurope: false),
        MetroArea(name: "Atlanta", latitude: 33.7490, longitude: -84.3880, weight: 4, utcOffsetHours: -5, isEurope: false),
        MetroArea(name: "Denver", latitude: 39.7392, longitude: -104.9903, weight: 3, utcOffsetHours: -7, isEurope: false),
        MetroArea(name: "Toronto", latitude: 43.6532, longitude: -79.3832, weight: 4, utcOffsetHours: -5, isEurope: false),
        MetroArea(name: "London", latitude: 51.5074, longitude: -0.1278, weight: 7, utcOffsetHours: 0, isEurope: true),
        MetroArea(name: "Paris", latitude: 48.8566, longitude: 2.3522, weight: 5, utcOffsetHours: 1, isEurope: true),
        MetroArea(name: "Berlin", latitude: 52.5200, longitude: 13.4050, weight: 4, utcOffsetHours: 1, isEurope: true),
        MetroArea(name: "Madrid", latitude: 40.4168, longitude: -3.7038, weight: 3, utcOffsetHours: 1, isEurope: true),
        MetroArea(name: "Amsterdam", latitude: 52.3676, longitude: 4.9041, weight: 3, utcOffsetHours: 1, isEurope: true),
    ]

    /// Metro weights, indexed like `all`.
    static let weights: [Double] = all.map(\.weight)

    /// Great-circle distances between metro centres, km, `[from][to]`.
    static let distances: [[Double]] = all.map { a in
        all.map { b in DeterministicMath.distanceKilometres(a.latitude, a.longitude, b.latitude, b.longitude) }
    }

    /// The metro whose centre is closest to a point.
    static func nearest(latitude: Double, longitude: Double) -> Int {
        var best = 0
        var bestDistance = Double.infinity
        for (index, metro) in all.enumerated() {
            let distance = DeterministicMath.distanceKilometres(latitude, longitude, metro.latitude, metro.longitude)
            if distance < bestDistance {
                bestDistance = distance
                best = index
            }
        }
        return best
    }
}
