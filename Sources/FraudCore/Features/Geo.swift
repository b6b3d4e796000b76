import Foundation

/// Great-circle geometry.
public enum Geo {
    /// Mean Earth radius in kilometres.
    public static let earthRadiusKilometres = 6_371.0088

    /// Haversine distance between two points given in degrees, in kilometres.
    @inlinable
    public static func distanceKilometres(latitude1: Double, longitude1: Double, latitude2: Double, longitude2: Double) -> Double {
        let radians = Double.pi / 180
        let dLat = (latitude2 - latitude1) * radians
        let dLon = (longitude2 - longitude1) * radians
        let a = sin(dLat / 2) * sin(dLat / 2)
            + cos(latitude1 * radians) * cos(latitude2 * radians) * sin(dLon / 2) * sin(dLon / 2)
        return 2 * earthRadiusKilometres * asin(min(1, sqrt(a)))
    }
}
