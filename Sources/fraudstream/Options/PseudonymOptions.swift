import ArgumentParser
import FraudCore

/// `--pseudonymize` and `--id-key-file` for the commands that store identifiers outside the decision path (`prepare`,
/// `blocklist`); `worker` and `serve` take the same flags through ``DecisionOptions``.
struct PseudonymOptions: ParsableArguments {
    @Option(help: "Replace these identifiers by a keyed HMAC-SHA-256 before anything is stored: comma-separated user_id, device_id, ip [PSEUDONYMIZE] (default none; use the same as the workers').")
    var pseudonymize: String?
    @Option(help: "File of the pseudonymization key, at least 32 secret bytes [FRAUD_ID_KEY_FILE].")
    var idKeyFile: String?

    /// The pseudonymizer the flags and the environment describe, or nil.
    func resolved() throws -> Pseudonymizer? {
        try Pseudonymizer.resolve(.command([Settings.pseudonymize: pseudonymize, Settings.idKeyFile: idKeyFile]))
    }
}
