import Foundation

@testable import FraudCore

/// Small worlds shared by the tests (generated once; a few thousand rows each).
enum SampleWorlds {
    static let configuration = WorldConfiguration(users: 400, days: 10, seed: 2024, merchants: 300)
    static let world = WorldGenerator.generate(configuration)

    static func temporaryDirectory() -> URL {
        FileManager.default.temporaryDirectory.appendingPathComponent("world-tests-\(UUID().uuidString)")
    }

    static func kilometres(_ a: Transaction, _ b: Transaction) -> Double {
        Geo.distanceKilometres(
            latitude1: a.latitude ?? 0, longitude1: a.longitude ?? 0, latitude2: b.latitude ?? 0, longitude2: b.longitude ?? 0)
    }

    static func rows(_ scenario: FraudScenario, in world: SyntheticWorld = world) -> [Transaction] {
        world.history.filter { $0.scenario == scenario.rawValue }
    }

    /// Rows of one scenario grouped per user into incidents: a new incident after `gap` of quiet.
    static func incidents(_ scenario: FraudScenario, gap: Int64) -> [[Transaction]] {
        var result: [[Transaction]] = []
        for rows in Dictionary(grouping: rows(scenario), by: \.userId).values {
            var current: [Transaction] = []
            for row in rows.sorted(by: { $0.timestampMilliseconds < $1.timestampMilliseconds }) {
                if let last = current.last, row.timestampMilliseconds - last.timestampMilliseconds > gap {
                    result.append(current)
                    current = []
                }
                current.append(row)
            }
            if !current.isEmpty { result.append(current) }
        }
        return result
    }
}
