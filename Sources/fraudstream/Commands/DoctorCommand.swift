import ArgumentParser
import FraudCore
import RedisClient

/// `fraudstream doctor`: can this Redis host FraudStream?
struct DoctorCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "doctor",
        abstract: "Check the configured Redis: version, round trip, eviction policy, persistence, auth, TLS, and the namespace's security posture.",
        discussion: "Exits 0 when the server is usable, 69 when it is not or cannot be reached, 64 for bad settings."
    )

    @OptionGroup var connection: ConnectionOptions
    @OptionGroup var namespace: NamespaceOptions
    @OptionGroup var pseudonyms: PseudonymOptions

    @Flag(help: "Also load (replace) the Functions libraries built into this binary.")
    var loadFunctions = false

    func run() async throws {
        let configuration = try connection.configuration(name: "fraudstream-doctor")
        let redis = try await RedisConnection.connect(configuration)
        print("redis       \(configuration)")
        let report = try await RedisDoctor(loadsFunctions: loadFunctions, namespace: namespace.resolved, pseudonymizer: try pseudonyms.resolved()).examine(redis)
        for finding in report.findings {
            let label = finding.check.padding(toLength: 18, withPad: " ", startingAt: 0)
            print("\(finding.severity.rawValue.padding(toLength: 5, withPad: " ", startingAt: 0)) \(label)\(finding.detail)")
        }
        if !report.isUsable {
            throw FraudError(.unsupportedServer, "this Redis cannot run FraudStream (see the fail lines above)")
        }
    }
}
