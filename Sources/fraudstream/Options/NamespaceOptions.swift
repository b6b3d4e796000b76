import ArgumentParser
import Foundation

/// The key namespace: `--namespace`, else `NAMESPACE`, else `fraud`.
struct NamespaceOptions: ParsableArguments {
    @Option(help: "Key namespace (env NAMESPACE; default fraud).")
    var namespace: String?

    /// The resolved namespace.
    var resolved: String {
        if let namespace, !namespace.isEmpty { return namespace }
        if let value = ProcessInfo.processInfo.environment["NAMESPACE"], !value.isEmpty { return value }
        return "fraud"
    }
}
