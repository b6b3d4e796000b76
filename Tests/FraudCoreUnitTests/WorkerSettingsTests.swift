import Testing

@testable import FraudCore

@Suite("Worker settings: flags over environment over defaults (no server)")
struct WorkerSettingsTests {
    /// Every worker setting with a value for the flag, another for the environment, and its default.
    static let cases: [(setting: Setting, flag: String, environment: String, read: @Sendable (WorkerConfiguration) -> String)] = [
        (Settings.batchSize, "64", "128", { "\($0.batchSize)" }),
        (Settings.lingerMilliseconds, "3", "7", { "\($0.lingerMilliseconds)" }),
        (Settings.fetchers, "2", "3", { "\($0.fetchers)" }),
        (Settings.writers, "2", "3", { "\($0.writers)" }),
        (Settings.maxInFlight, "5", "6", { "\($0.maxInFlight)" }),
        (Settings.blockMilliseconds, "50", "60", { "\($0.blockMilliseconds)" }),
        (Settings.claimIdleMilliseconds, "1000", "2000", { "\($0.claimIdleMilliseconds)" }),
        (Settings.maxDeliveries, "2", "3", { "\($0.maxDeliveries)" }),
        (Settings.leaseTTLMilliseconds, "3000", "4000", { "\($0.leaseTTLMilliseconds)" }),
        (Settings.maxStreamLength, "10", "20", { "\($0.maxStreamLength)" }),
        (Settings.resultTTL, "120", "60", { "\($0.resultTTLSeconds)" }),  // the default is 0 now, so the flag is not 0
        (Settings.statsTTL, "120", "60", { "\($0.statsTTLSeconds)" }),
        (Settings.unknownUserTTL, "120", "60", { "\($0.features.unknownUserTTLSeconds)" }),
        (Settings.userStateTTL, "120", "60", { "\($0.features.userStateTTLSeconds)" }),
        (Settings.threshold, "0.5", "0.6", { "\($0.threshold)" }),
        (Settings.reviewThreshold, "0.2", "0.25", { "\($0.reviewThreshold)" }),
        (Settings.modelVersion, "4", "5", { $0.pinnedModelVersion.map { "\($0)" } ?? "none" }),
        (Settings.consumerGroup, "g-flag", "g-env", { $0.consumerGroup }),
        (Settings.consumerName, "n-flag", "n-env", { $0.consumerName }),
        (Settings.transactionStream, "in-flag", "in-env", { $0.transactionStream }),
        (Settings.resultsStream, "out-flag", "out-env", { $0.resultsStream }),
        (Settings.deadLetterStream, "dl-flag", "dl-env", { $0.deadLetterStream }),
        (Settings.namespace, "ns-flag", "ns-env", { $0.namespace }),
        (Settings.profile, "0", "1", { "\($0.profile)" }),
    ]

    func resolve(flags: [Setting: String] = [:], environment: [String: String] = [:]) throws -> WorkerConfiguration {
        try WorkerConfiguration.resolve(SettingsResolver(flags: flags, environment: environment), defaultConsumerName: "default-name")
    }

    @Test(arguments: 0..<cases.count)
    func flagBeatsEnvironmentWhichBeatsDefault(index: Int) throws {
        let entry = Self.cases[index]
        let defaults = try resolve()
        let fromEnvironment = try resolve(environment: [entry.setting.environmentName: entry.environment])
        let fromFlag = try resolve(flags: [entry.setting: entry.flag], environment: [entry.setting.environmentName: entry.environment])
        #expect(entry.read(fromEnvironment) != entry.read(defaults), "\(entry.setting): environment ignored")
        #expect(entry.read(fromFlag) != entry.read(fromEnvironment), "\(entry.setting): flag did not win")
        if entry.setting != Settings.profile {  // a boolean flag can only equal the default or the variable
            #expect(entry.read(fromFlag) != entry.read(defaults), "\(entry.setting): flag ignored")
        }
        let emptyEnvironment = try resolve(environment: [entry.setting.environmentName: ""])
        #expect(entry.read(emptyEnvironment) == entry.read(defaults), "\(entry.setting): empty variable is not unset")
    }

    @Test func defaultsAndDerivedStreamNames() throws {
        let defaults = try resolve()
        #expect(defaults.batchSize == 256)
        #expect(defaults.threshold == 0.7)
        #expect(defaults.consumerName == "default-name")
        #expect(defaults.resultTTLSeconds == 0)  // no per-transaction result key unless asked for
        #expect(defaults.statsTTLSeconds == 2_592_000)
        #expect(defaults.features.unknownUserTTLSeconds == 604_800)
        #expect(defaults.features.userStateTTLSeconds == 2_592_000)
        #expect(defaults.transactionStream == "fraud:transactions")
        let namespaced = try resolve(environment: ["NAMESPACE": "acme"])
        #expect(namespaced.transactionStream == "acme:transactions")
        #expect(namespaced.resultsStream == "acme:results")
        #expect(namespaced.deadLetterStream == "acme:dead_letters")
        #expect(namespaced.features.namespace == "acme")
        #expect(namespaced.consumerGroup == "inference_workers")
    }

    @Test func badValuesAreErrorsNamingTheirSource() {
        func message(_ flags: [Setting: String] = [:], _ environment: [String: String] = [:]) -> String? {
            do {
                _ = try resolve(flags: flags, environment: environment)
                return nil
            } catch let error as FraudError {
                #expect(error.code == .invalidSetting)
                return error.message
            } catch {
                return "unexpected \(error)"
            }
        }
        #expect(message([:], ["BATCH_SIZE": "abc"]) == "BATCH_SIZE 'abc' is not an integer")
        #expect(message([:], ["FRAUD_THRESHOLD": "0,5"]) == "FRAUD_THRESHOLD '0,5' is not a decimal number (use a point: 0.5)")
        #expect(message([Settings.batchSize: "0"]) == "--batch-size '0' must be between 1 and 10000")
        #expect(message([:], ["MAX_IN_FLIGHT": "-1"]) == "MAX_IN_FLIGHT '-1' must be between 1 and 1000")
        #expect(message([:], ["RESULT_TTL": "x"]) == "RESULT_TTL 'x' is not an integer")
        #expect(message([:], ["UNKNOWN_USER_TTL": "0"]) == "UNKNOWN_USER_TTL '0' must be between 1 and 315360000")
        #expect(message([Settings.userStateTTL: "-5"]) == "--user-state-ttl '-5' must be between 1 and 315360000")
        #expect(message([:], ["STATS_TTL": "7d"]) == "STATS_TTL '7d' is not an integer")
        #expect(message([Settings.statsTTL: "0"]) == "--stats-ttl '0' must be between 1 and 315360000")
        #expect(message([:], ["PROFILE": "maybe"]) == "PROFILE 'maybe' must be 1 or 0 (true or false)")
        #expect(message([:], ["CLICK_SPAM_THRESHOLD": "zero"]) == "CLICK_SPAM_THRESHOLD 'zero' is not an integer")
        #expect(message([Settings.batchSize: "10"], ["BATCH_SIZE": "abc"]) == nil)  // the flag wins; the variable is not read
    }
}
