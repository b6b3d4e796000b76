import ArgumentParser
import FraudCore

/// The key namespace: `--namespace`, else `NAMESPACE`, else `fraud`.
struct NamespaceOptions: ParsableArguments {
    @Option(help: "Key namespace (env NAMESPACE; default fraud).")
    var namespace: String?

    /// The flags this group sets.
    var flags: [Setting: String?] { [Settings.namespace: namespace.flatMap { $0.isEmpty ? nil : $0 }] }

    /// The resolved namespace.
    var resolved: String { StreamNames.namespace(resolving: .command(flags)) }
}
