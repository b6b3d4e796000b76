import Foundation
import Testing

/// Trains models with the real Python libraries (Fixtures/python/train_model.py) for the bring-your-own-model tests.
/// They run in the virtual environment `.python/` at the repository's root (`make deps-python`); when it is missing
/// or lacks the libraries, the harness makes it and installs Fixtures/python/requirements.txt with pip, once.
enum PythonModels {
    /// The repository's root (this file is Tests/FraudCoreTests/Support/PythonModels.swift).
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    /// The environment's interpreter.
    static var interpreter: String { root.appendingPathComponent(".python/bin/python3").path }

    /// One install at a time, and only once per test process.
    private static let installed = InstallOnce()

    private actor InstallOnce {
        private var done = false
        func ensure() async throws {
            guard !done else { return }
            let probe = try? await run(interpreter, ["-c", "import xgboost, lightgbm, sklearn, skl2onnx, onnxmltools, onnxruntime"], timeout: .seconds(120))
            if probe?.status != 0 {
                let environment = try await run("/usr/bin/env", ["python3", "-m", "venv", root.appendingPathComponent(".python").path], timeout: .seconds(300))
                try #require(environment.status == 0, "python3 -m venv .python failed: \(environment.standardError.suffix(2000))")
                let install = try await run(
                    interpreter, ["-m", "pip", "install", "--quiet", "-r", root.appendingPathComponent("Fixtures/python/requirements.txt").path],
                    timeout: .seconds(900))
                try #require(install.status == 0, "pip install failed: \(install.standardError.suffix(2000))")
            }
            done = true
        }
    }

    /// Runs `executable` with `arguments` to its end.
    /// One thread per library (OpenMP, BLAS): the tests share the machine with the other suites.
    static func run(_ executable: String, _ arguments: [String], timeout: Duration) async throws -> FraudStreamBinary.Outcome {
        try await FraudStreamBinary.run(
            arguments, environment: ["OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"], executable: executable,
            timeout: timeout)
    }

    /// Runs the environment's `python3` with `arguments` to its end.
    static func python(_ arguments: [String], timeout: Duration) async throws -> FraudStreamBinary.Outcome {
        try await run(interpreter, arguments, timeout: timeout)
    }

    /// Trains `library` on the export-features CSV `rows`, writing into `directory`; returns the arguments of
    /// `models import` that the script wrote (model file, --format, --check, --expected, --features …).
    static func train(_ library: String, rows: URL, into directory: URL, missingRate: Double, trees: Int = 100) async throws -> [String] {
        try await installed.ensure()
        let outcome = try await python(
            [
                root.appendingPathComponent("Fixtures/python/train_model.py").path, "--library", library, "--rows", rows.path, "--out", directory.path,
                "--missing-rate", String(missingRate), "--trees", String(trees),
            ], timeout: .seconds(600))
        try #require(outcome.status == 0, "train_model.py --library \(library) failed: \(outcome.standardError.suffix(3000))")
        let arguments = try String(contentsOf: directory.appendingPathComponent("import.txt"), encoding: .utf8)
        return arguments.split(separator: "\n").map(String.init)
    }

    /// Writes the training matrix of a 200-user, 30-day world (about 11,000 rows) to `directory/rows.csv`, cut to its
    /// first `rows` rows.
    static func exportRows(port: Int, into directory: URL, rows: Int = 10_000) async throws -> URL {
        let full = directory.appendingPathComponent("all-rows.csv")
        let export = try await FraudStreamBinary.run([
            "export-features", "--out", full.path, "--users", "200", "--days", "30", "--redis-url", "redis://127.0.0.1:\(port)",
        ])
        try #require(export.status == 0, "export-features failed: \(export.standardError)")
        let lines = try String(contentsOf: full, encoding: .utf8).split(separator: "\n")
        try #require(lines.count > rows, "the export has only \(lines.count - 1) rows")
        let cut = directory.appendingPathComponent("rows.csv")
        try (lines.prefix(rows + 1).joined(separator: "\n") + "\n").write(to: cut, atomically: true, encoding: .utf8)
        return cut
    }

    /// A new temporary directory.
    static func temporaryDirectory(_ name: String) throws -> URL {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory
    }
}
