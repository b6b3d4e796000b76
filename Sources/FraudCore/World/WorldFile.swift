import Foundation

/// Reads and writes a world as a directory of plain files:
///
/// - `world.json`: the configuration and row counts (pretty-printed, sorted keys);
/// - `profiles.jsonl`, `merchants.jsonl`, `transactions.jsonl`: one JSON object per line, sorted keys,
///   the snake_case keys of `UserProfile`, `Merchant`, `Transaction`; transactions in event-time order;
/// - `blocklist.txt`: one IP per line.
///
/// The same world always gives the same bytes.
public enum WorldFile {
    /// File names inside a world directory.
    public enum FileName {
        /// Configuration and counts.
        public static let world = "world.json"
        /// One `UserProfile` per line.
        public static let profiles = "profiles.jsonl"
        /// One `Merchant` per line.
        public static let merchants = "merchants.jsonl"
        /// One IP per line.
        public static let blocklist = "blocklist.txt"
        /// One `Transaction` per line, event-time order.
        public static let transactions = "transactions.jsonl"
    }

    /// A world file that cannot be parsed, as one line: `file:line: message` (line 0 for the whole file).
    static func formatError(file: String, line: Int, _ error: any Error) -> FraudError {
        FraudError(.invalidData, "\(file):\(line): \(error)")
    }

    /// The contents of `world.json`.
    private struct Manifest: Codable {
        var format: Int
        var configuration: WorldConfiguration
        var users: Int
        var merchants: Int
        var transactions: Int
        var fraudTransactions: Int
        var blocklistedIPs: Int

        enum CodingKeys: String, CodingKey {
            case format, configuration, users, merchants, transactions
            case fraudTransactions = "fraud_transactions"
            case blocklistedIPs = "blocklisted_ips"
        }
    }

    private static let newline = UInt8(ascii: "\n")

    /// Writes profiles.jsonl, merchants.jsonl, blocklist.txt, transactions.jsonl and world.json into
    /// `directory` (created when missing; existing files are replaced); byte-identical for the same world.
    public static func write(_ world: SyntheticWorld, to directory: URL) throws {
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        try lines(world.profiles, encoder).write(to: directory.appendingPathComponent(FileName.profiles), options: .atomic)
        try lines(world.merchants, encoder).write(to: directory.appendingPathComponent(FileName.merchants), options: .atomic)
        try lines(world.history, encoder).write(to: directory.appendingPathComponent(FileName.transactions), options: .atomic)
        var blocklist = Data()
        for ip in world.blocklistedIPs {
            blocklist.append(contentsOf: ip.utf8)
            blocklist.append(newline)
        }
        try blocklist.write(to: directory.appendingPathComponent(FileName.blocklist), options: .atomic)
        let manifest = Manifest(
            format: 1, configuration: world.configuration, users: world.profiles.count, merchants: world.merchants.count,
            transactions: world.history.count, fraudTransactions: world.history.reduce(0) { $0 + ($1.isFraud == true ? 1 : 0) },
            blocklistedIPs: world.blocklistedIPs.count)
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes]
        var manifestData = try encoder.encode(manifest)
        manifestData.append(newline)
        try manifestData.write(to: directory.appendingPathComponent(FileName.world), options: .atomic)
    }

    /// Reads a world written by `write`. Without `world.json` the configuration is inferred: counts from
    /// the files, start and days from the transactions (whole UTC days), the seed from `h-<seed>-` ids
    /// (else 0), the fraud rate from the labels.
    public static func read(from directory: URL) throws -> SyntheticWorld {
        let decoder = JSONDecoder()
        let profiles: [UserProfile] = try objects(directory, FileName.profiles, decoder)
        let merchants: [Merchant] = try objects(directory, FileName.merchants, decoder)
        let history: [Transaction] = try objects(directory, FileName.transactions, decoder)
        let blocklistText = try String(decoding: Data(contentsOf: directory.appendingPathComponent(FileName.blocklist)), as: UTF8.self)
        let blocklist = blocklistText.split(separator: "\n").map { String($0).trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        let manifestURL = directory.appendingPathComponent(FileName.world)
        let configuration: WorldConfiguration
        if FileManager.default.fileExists(atPath: manifestURL.path) {
            do {
                configuration = try decoder.decode(Manifest.self, from: Data(contentsOf: manifestURL)).configuration
            } catch {
                throw Self.formatError(file: FileName.world, line: 0, error)
            }
        } else {
            configuration = inferredConfiguration(profiles: profiles, merchants: merchants, history: history)
        }
        return SyntheticWorld(
            configuration: configuration, profiles: profiles, merchants: merchants, blocklistedIPs: blocklist, history: history)
    }

    private static func lines<Value: Encodable>(_ values: [Value], _ encoder: JSONEncoder) throws -> Data {
        var data = Data()
        data.reserveCapacity(values.count * 256)
        for value in values {
            data.append(try encoder.encode(value))
            data.append(newline)
        }
        return data
    }

    private static func objects<Value: Decodable>(_ directory: URL, _ name: String, _ decoder: JSONDecoder) throws -> [Value] {
        let data = try Data(contentsOf: directory.appendingPathComponent(name))
        var values: [Value] = []
        var lineNumber = 0
        for line in data.split(separator: newline, omittingEmptySubsequences: false) {
            lineNumber += 1
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\r") || $0 == UInt8(ascii: "\t") }) { continue }
            do {
                values.append(try decoder.decode(Value.self, from: Data(line)))
            } catch {
                throw Self.formatError(file: name, line: lineNumber, error)
            }
        }
        return values
    }

    private static func inferredConfiguration(
        profiles: [UserProfile], merchants: [Merchant], history: [Transaction]
    ) -> WorldConfiguration {
        var configuration = WorldConfiguration(users: profiles.count, merchants: merchants.count)
        let day: Int64 = 86_400_000
        if let first = history.first?.timestampMilliseconds, let last = history.last?.timestampMilliseconds {
            let start = first - ((first % day) + day) % day
            configuration.startMilliseconds = start
            configuration.days = Int((last - start) / day) + 1
            configuration.fraudRate = Double(history.reduce(0) { $0 + ($1.isFraud == true ? 1 : 0) }) / Double(history.count)
        } else {
            configuration.days = 0
            configuration.fraudRate = 0
        }
        configuration.seed = 0
        if let id = history.first?.transactionId, id.hasPrefix("h-") {
            let parts = id.split(separator: "-")
            if parts.count >= 3, let seed = UInt64(parts[1]) { configuration.seed = seed }
        }
        return configuration
    }
}
