import Foundation
import Testing

@testable import FraudCore

@Suite("World generator")
struct WorldGeneratorTests {
    @Test func sameSeedWritesByteIdenticalFiles() throws {
        let configuration = WorldConfiguration(users: 120, days: 5, seed: 99, merchants: 150)
        let first = SampleWorlds.temporaryDirectory()
        let second = SampleWorlds.temporaryDirectory()
        defer {
            try? FileManager.default.removeItem(at: first)
            try? FileManager.default.removeItem(at: second)
        }
        try WorldFile.write(WorldGenerator.generate(configuration), to: first)
        try WorldFile.write(WorldGenerator.generate(configuration), to: second)
        let names = [
            WorldFile.FileName.world, WorldFile.FileName.profiles, WorldFile.FileName.merchants, WorldFile.FileName.blocklist,
            WorldFile.FileName.transactions,
        ]
        for name in names {
            let a = try Data(contentsOf: first.appendingPathComponent(name))
            let b = try Data(contentsOf: second.appendingPathComponent(name))
            #expect(!a.isEmpty, "\(name) is empty")
            #expect(a == b, "\(name) differs between two runs")
        }
        var other = configuration
        other.seed = 100
        #expect(WorldGenerator.generate(other).history != WorldGenerator.generate(configuration).history)
    }

    @Test func rowCountAndFraudRateAreInBounds() {
        let world = SampleWorlds.world
        let configuration = SampleWorlds.configuration
        let userDays = Double(configuration.users * configuration.days)
        // The default world (5,000 users × 30 days) must reach 200,000 rows: at least 1.34 a user-day.
        #expect(Double(world.history.count) > 1.45 * userDays)
        #expect(Double(world.history.count) < 2.4 * userDays)
        let fraud = world.history.filter { $0.isFraud == true }.count
        let rate = Double(fraud) / Double(world.history.count)
        // Small worlds get at least two incidents per scenario, which lifts the rate above the 1.5 % target.
        #expect(rate > 0.01 && rate < 0.03, "fraud rate \(rate)")
        #expect(world.profiles.count == configuration.users)
        #expect(world.merchants.count == configuration.merchants)
        #expect(!world.blocklistedIPs.isEmpty)
    }

    @Test func everyScenarioIsPresentAndLabelsAreConsistent() {
        let world = SampleWorlds.world
        // Device card cycling comes only in worlds that ask for it (deviceCardCyclingIsOneDeviceManyCards).
        for scenario in FraudScenario.allCases where scenario != .deviceCardCycling {
            #expect(!SampleWorlds.rows(scenario).isEmpty, "no \(scenario.rawValue) rows")
        }
        #expect(SampleWorlds.rows(.deviceCardCycling).isEmpty)
        for row in world.history {
            if row.isFraud == true {
                #expect(row.scenario.flatMap(FraudScenario.init(rawValue:)) != nil)
            } else {
                #expect(row.isFraud == false)
                #expect(row.scenario == nil)
            }
        }
    }

    @Test func historyIsSortedWithUniqueIdsAndValidReferences() {
        let world = SampleWorlds.world
        let configuration = world.configuration
        #expect(Set(world.history.map(\.transactionId)).count == world.history.count)
        for (previous, row) in zip(world.history, world.history.dropFirst()) {
            let ordered = previous.timestampMilliseconds < row.timestampMilliseconds
                || (previous.timestampMilliseconds == row.timestampMilliseconds && previous.transactionId < row.transactionId)
            #expect(ordered, "\(previous.transactionId) before \(row.transactionId)")
        }
        let users = Dictionary(uniqueKeysWithValues: world.profiles.map { ($0.userId, $0) })
        let merchants = Dictionary(uniqueKeysWithValues: world.merchants.map { ($0.merchantId, $0) })
        for row in world.history {
            #expect(row.transactionId.hasPrefix("h-2024-"))
            #expect(row.timestampMilliseconds >= configuration.startMilliseconds)
            #expect(row.timestampMilliseconds < configuration.endMilliseconds)
            #expect(row.amount > 0 && row.amount.isFinite)
            #expect(row.currency == "USD")
            #expect(row.latitude != nil && row.longitude != nil && row.deviceId != nil && row.ip != nil)
            #expect(row.cardProvider != nil)
            guard let profile = users[row.userId], let merchant = merchants[row.merchantId] else {
                Issue.record("unknown user or merchant in \(row.transactionId)")
                continue
            }
            #expect(row.merchantCategory == merchant.category)
            #expect(row.timestampMilliseconds > profile.accountCreatedMilliseconds)
        }
        for profile in world.profiles {
            #expect((1...3).contains(profile.devices.count) && (1...3).contains(profile.ips.count))
            #expect((2...4).contains(profile.usualCategories.count))
            #expect(profile.riskScore >= 0 && profile.riskScore <= 1 && profile.typicalSpend > 0)
        }
        #expect(world.profiles.contains { $0.accountCreatedMilliseconds > configuration.startMilliseconds })
    }

    @Test func filesRoundTrip() throws {
        let directory = SampleWorlds.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        try WorldFile.write(SampleWorlds.world, to: directory)
        #expect(try WorldFile.read(from: directory) == SampleWorlds.world)

        // Without world.json the configuration is inferred from the files.
        try FileManager.default.removeItem(at: directory.appendingPathComponent(WorldFile.FileName.world))
        let inferred = try WorldFile.read(from: directory)
        #expect(inferred.history == SampleWorlds.world.history)
        #expect(inferred.configuration.users == 400 && inferred.configuration.merchants == 300)
        #expect(inferred.configuration.seed == 2024 && inferred.configuration.days == 10)
        #expect(inferred.configuration.startMilliseconds == SampleWorlds.configuration.startMilliseconds)
    }

    @Test func cardTestingIsABurstOfSmallAmounts() {
        let incidents = SampleWorlds.incidents(.cardTesting, gap: 30 * 60_000)
        #expect(incidents.count >= 2)
        for incident in incidents {
            let small = incident.filter { $0.amount <= 5 }
            #expect(small.count >= 5 && small.count <= 30, "\(small.count) small charges")
            #expect(incident.count - small.count <= 1, "at most one larger final charge")
            #expect(Set(small.map(\.merchantId)).count >= small.count / 2, "many different merchants")
            let gaps = zip(small, small.dropFirst()).map { Double($1.timestampMilliseconds - $0.timestampMilliseconds) / 1000 }
            #expect(gaps.sorted()[gaps.count / 2] < 60, "median gap \(gaps.sorted()[gaps.count / 2]) s")
        }
    }

    @Test func impossibleTravelImpliesSupersonicSpeed() {
        let history = SampleWorlds.world.history
        var previousByUser: [String: Transaction] = [:]
        var checked = 0
        for row in history {
            defer { previousByUser[row.userId] = row }
            guard row.scenario == FraudScenario.impossibleTravel.rawValue else { continue }
            guard let previous = previousByUser[row.userId] else {
                Issue.record("impossible travel without a previous row")
                continue
            }
            let hours = Double(row.timestampMilliseconds - previous.timestampMilliseconds) / 3_600_000
            #expect(previous.isFraud == false)
            #expect(hours <= 1.5)
            #expect(SampleWorlds.kilometres(previous, row) / hours > 1_000)
            checked += 1
        }
        #expect(checked >= 2)
    }

    @Test func clickSpamDeviceFiresManyEventsWithinSeconds() {
        let rows = SampleWorlds.rows(.clickSpam)
        var busiest = 0
        for deviceRows in Dictionary(grouping: rows, by: \.deviceId).values {
            let times = deviceRows.map(\.timestampMilliseconds).sorted()
            var mostInFiveSeconds = 0
            var low = 0
            for high in times.indices {
                while times[high] - times[low] > 5_000 { low += 1 }
                mostInFiveSeconds = max(mostInFiveSeconds, high - low + 1)
            }
            #expect(deviceRows.count >= 6)
            #expect(times.last! - times.first! < 120_000)
            busiest = max(busiest, mostInFiveSeconds)
        }
        #expect(busiest >= 10)
        // The device belongs to nobody: no legit row uses it.
        let spamDevices = Set(rows.compactMap(\.deviceId))
        #expect(!SampleWorlds.world.history.contains { $0.isFraud == false && spamDevices.contains($0.deviceId ?? "") })
    }

    @Test func accountTakeoverComesFromANewDeviceAndIP() {
        let world = SampleWorlds.world
        let profiles = Dictionary(uniqueKeysWithValues: world.profiles.map { ($0.userId, $0) })
        let incidents = SampleWorlds.incidents(.accountTakeover, gap: 3 * 3_600_000)
        #expect(incidents.count >= 2)
        let firstRows = Set(incidents.map { $0[0].transactionId })
        var seenDevices: [String: Set<String>] = [:]
        for row in world.history {
            defer { seenDevices[row.userId, default: []].insert(row.deviceId ?? "") }
            guard row.scenario == FraudScenario.accountTakeover.rawValue, let profile = profiles[row.userId] else { continue }
            #expect(!profile.devices.contains(row.deviceId ?? ""))
            #expect(!profile.ips.contains(row.ip ?? ""))
            #expect(row.amount > 1.4 * profile.typicalSpend)
            if firstRows.contains(row.transactionId) {
                #expect(!(seenDevices[row.userId]?.contains(row.deviceId ?? "") ?? false), "device seen before")
            }
        }
    }

    @Test func amountSpikeIsFarAboveTypicalSpendInAnUnusualCategory() {
        let profiles = Dictionary(uniqueKeysWithValues: SampleWorlds.world.profiles.map { ($0.userId, $0) })
        let rows = SampleWorlds.rows(.amountSpike)
        #expect(rows.count >= 2)
        for row in rows {
            guard let profile = profiles[row.userId] else { continue }
            #expect(row.amount >= 3.9 * profile.typicalSpend)
            #expect(!profile.usualCategories.contains(row.merchantCategory ?? ""))
        }
    }

    @Test func blocklistMixesFraudAndInnocentUse() {
        let world = SampleWorlds.world
        let listed = Set(world.blocklistedIPs)
        #expect(SampleWorlds.rows(.blocklistedIP).allSatisfy { listed.contains($0.ip ?? "") })
        // Shared NAT addresses: genuine rows from listed IPs.
        #expect(world.history.contains { $0.isFraud == false && listed.contains($0.ip ?? "") })
        // Fraud from addresses nobody listed.
        #expect(world.history.contains { $0.isFraud == true && !listed.contains($0.ip ?? "") })
    }

    @Test func legitSideHasNoise() {
        let world = SampleWorlds.world
        let profiles = Dictionary(uniqueKeysWithValues: world.profiles.map { ($0.userId, $0) })
        let legit = world.history.filter { $0.isFraud == false }
        let far = legit.filter { row in
            guard let profile = profiles[row.userId], let latitude = row.latitude, let longitude = row.longitude else { return false }
            let kilometres = Geo.distanceKilometres(
                latitude1: profile.homeLatitude, longitude1: profile.homeLongitude, latitude2: latitude, longitude2: longitude)
            return kilometres > 1_000
        }
        #expect(far.count > legit.count / 500, "legit travel and VPNs")
        #expect(legit.contains { $0.amount < 5 }, "legit small charges")
        #expect(legit.contains { row in (profiles[row.userId]?.typicalSpend).map { row.amount > 8 * $0 } ?? false }, "legit big purchases")
        #expect(legit.contains { row in !(profiles[row.userId]?.devices.contains(row.deviceId ?? "") ?? true) }, "legit new devices")
        #expect(legit.contains { row in
            (profiles[row.userId]?.preferredCard).map { $0 != row.cardProvider } ?? false
        }, "legit use of a second card")
    }

    @Test func committedFixtureMatchesTheGenerator() throws {
        let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures/world-sample")
        let fixture = try WorldFile.read(from: directory)
        #expect(fixture.configuration == WorldConfiguration(users: 300, days: 14, seed: 7))
        let generated = WorldGenerator.generate(fixture.configuration)
        let hint = "the generator changed: regenerate Fixtures/world-sample (see Fixtures/README.md)"
        #expect(generated.profiles == fixture.profiles, "profiles: \(hint)")
        #expect(generated.merchants == fixture.merchants, "merchants: \(hint)")
        #expect(generated.blocklistedIPs == fixture.blocklistedIPs, "blocklist: \(hint)")
        #expect(generated.history.count == fixture.history.count, "row count: \(hint)")
        let firstDifference = zip(generated.history, fixture.history).first { $0 != $1 }
        #expect(firstDifference == nil, "first differing row \(firstDifference?.1.transactionId ?? ""): \(hint)")
    }

    /// Card cycling: each incident is one device no legit row uses, working through 5 or more cards (users) within two
    /// hours, one or two purchases each, near each victim's home; the rest of the world is the world without it.
    @Test func deviceCardCyclingIsOneDeviceManyCards() {
        var configuration = WorldConfiguration(users: 400, days: 7, seed: 5, merchants: 300)
        let plain = WorldGenerator.generate(configuration)
        configuration.cardCyclingIncidents = 12
        let world = WorldGenerator.generate(configuration)
        let rows = world.history.filter { $0.scenario == FraudScenario.deviceCardCycling.rawValue }
        let byDevice = Dictionary(grouping: rows, by: { $0.deviceId ?? "" })
        #expect(byDevice.count == 12)
        for (device, deviceRows) in byDevice {
            let users = Dictionary(grouping: deviceRows, by: \.userId)
            #expect(users.count >= 5, "\(device): \(users.count) cards")
            #expect(users.values.allSatisfy { $0.count <= 2 })
            let times = deviceRows.map(\.timestampMilliseconds)
            #expect((times.max() ?? 0) - (times.min() ?? 0) < 2 * 3_600_000)
            #expect(!world.history.contains { $0.isFraud == false && $0.deviceId == device })
            for row in deviceRows {
                let profile = world.profiles.first { $0.userId == row.userId }
                let kilometres = Geo.distanceKilometres(
                    latitude1: profile?.homeLatitude ?? 0, longitude1: profile?.homeLongitude ?? 0, latitude2: row.latitude ?? 90,
                    longitude2: row.longitude ?? 0)
                #expect(kilometres < 100, "\(row.transactionId) \(kilometres) km from home")
            }
        }
        // Everything else is the world without card cycling (ids aside: they follow event-time order).
        func key(_ row: Transaction) -> String { "\(row.userId) \(row.timestampMilliseconds) \(row.amount) \(row.scenario ?? "")" }
        #expect(world.history.filter { $0.scenario != FraudScenario.deviceCardCycling.rawValue }.map(key).sorted() == plain.history.map(key).sorted())
    }
}
