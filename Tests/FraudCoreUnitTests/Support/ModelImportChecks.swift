import Foundation
import Testing

@testable import FraudCore

/// What every model importer's tests check: refusals in one line that name the problem, and no crash on random bytes.
enum ModelImportChecks {
    /// Each file must be refused with a one-line message containing its expected text.
    static func expectRefused(_ cases: [(Data, String)], by parse: (Data) throws(FraudError) -> ImportedTrees) {
        for (data, expected) in cases {
            do {
                _ = try parse(data)
                Issue.record("accepted a model that should be refused (\(expected))")
            } catch {
                #expect(error.message.contains(expected), "\(error.message)")
                #expect(!error.message.contains("\n"))
            }
        }
    }

    /// Feeds 500 inputs to `parse`: random bytes after `prefix`, and `valid` with four bytes changed, alternately.
    static func fuzz(valid: Data, prefix: [UInt8] = [], _ parse: (Data) throws(FraudError) -> ImportedTrees) {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<500 {
            var bytes: [UInt8]
            if round % 2 == 0 {
                bytes = prefix + (0..<Int.random(in: 0..<400, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }
            } else {
                // A valid model with a few bytes changed: often no longer a model.
                bytes = Array(valid)
                for _ in 0..<4 { bytes[Int.random(in: 0..<bytes.count, using: &generator)] = UInt8.random(in: 32...126, using: &generator) }
            }
            _ = try? parse(Data(bytes))
        }
    }
}
