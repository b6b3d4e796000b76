import Foundation

/// IP addresses as the blocklist takes them: IPv4 dotted quads and IPv6 text, checked with `inet_pton`, so a typo such
/// as `999.1.1.1` or a word is refused instead of being listed (it could never match a transaction's IP).
public enum IPAddress {
    /// Whether `text` is an IPv4 or IPv6 address.
    public static func isValid(_ text: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, text, &v4) == 1 || inet_pton(AF_INET6, text, &v6) == 1
    }

    /// A ``FraudError`` naming the values of `texts` that are not IP addresses (`where` says where each came from), or
    /// `nil` when all are.
    public static func problem(in texts: [String], where location: (Int) -> String = { _ in "" }) -> FraudError? {
        let invalid = texts.indices.filter { !isValid(texts[$0]) }
        guard !invalid.isEmpty else { return nil }
        let named = invalid.prefix(5).map { "'\(texts[$0].prefix(60))'\(location($0))" }.joined(separator: ", ")
        let more = invalid.count > 5 ? " and \(invalid.count - 5) more" : ""
        return FraudError(.invalidData, "not an IP address: \(named)\(more); nothing changed")
    }
}
