import Foundation
import FraudCore
import Synchronization

/// Decisions a client received that could not be recorded yet (Redis was away: a lane's round trip failed, or the
/// recorder was stopped mid-retry), kept on disk until ``JournalReplayer`` records them once Redis is back.
///
/// - **Bounded:** at most `capacity` entries; past it the newest are not kept, and the loss is counted
///   (`fraudstream_api_unrecorded_total`) and logged by the caller.
/// - **Persisted:** entries are appended to a JSON-lines file and synced, so a server that stops (or crashes) during
///   an outage records them after its next start. One server per file: the file is locked (`flock`).
/// - **Recorded once:** each entry has a sequence number. Before a replay call the journal writes the batch's range
///   to `<file>.cursor`; the call carries the range's last number as its sequence under the journal's own instance id,
///   and the record function skips a sequence it already applied. After the call the range is removed by number, so
///   a crash at any point repeats at most a call that writes nothing.
final class DecisionJournal: Sendable {
    /// One decision to record, with its number.
    struct Entry: Codable, Sendable, Equatable {
        /// Increasing within the journal.
        var sequence: Int
        /// What to record.
        var record: RecordDecisionsCall.Record
        /// For a batch the recorder may have applied before it was stopped: its call's instance and sequence, checked
        /// against the server's marker before replaying (a marker lives an hour).
        var maybeApplied: MaybeApplied?
    }

    /// A recorder call that may have been applied.
    struct MaybeApplied: Codable, Sendable, Equatable {
        var instance: String
        var sequence: Int
        var partition: Int
    }

    /// What the cursor file holds.
    struct Cursor: Codable, Sendable, Equatable {
        /// The journal's instance id in the record function's marker.
        var instance: String
        /// The range of a replay call that may have been sent, and not yet removed.
        var inFlight: ClosedRange<Int>?
        /// Entries up to this number are recorded; the file may still hold them until it is compacted.
        var recordedThrough: Int? = nil
    }

    /// The journal file.
    let path: String
    /// Most entries kept.
    let capacity: Int

    private struct State {
        var entries: [Entry]
        var cursor: Cursor
        var nextSequence: Int
        var lockDescriptor: Int32
        /// Lines in the file, recorded ones included: compacted once they outnumber the waiting ones by far, so the
        /// file stays within a small multiple of what waits, and a recorded batch costs a cursor write, not a rewrite.
        var fileLines: Int
    }

    private let state: Mutex<State>

    /// Opens (or creates) the journal at `path`, locking it; throws ``FraudError`` when another process holds it or it
    /// cannot be read.
    init(path: String, capacity: Int) throws(FraudError) {
        self.path = path
        self.capacity = max(1, capacity)
        let folder = (path as NSString).deletingLastPathComponent
        do {
            try FileManager.default.createDirectory(atPath: folder.isEmpty ? "." : folder, withIntermediateDirectories: true)
        } catch {
            throw FraudError(.invalidSetting, "cannot create the decision journal's folder \(folder): \(error.localizedDescription)")
        }
        let lock = open(path + ".lock", O_CREAT | O_RDWR | O_CLOEXEC, 0o644)
        guard lock >= 0 else { throw FraudError(.invalidSetting, "cannot open the decision journal \(path): \(String(cString: strerror(errno)))") }
        guard flock(lock, LOCK_EX | LOCK_NB) == 0 else {
            close(lock)
            throw FraudError(
                .invalidSetting,
                "the decision journal \(path) is in use by another server; give each server its own (--decision-journal, DECISION_JOURNAL)")
        }
        let decoder = JSONDecoder()
        var entries: [Entry] = []
        if let data = FileManager.default.contents(atPath: path) {
            for line in data.split(separator: UInt8(ascii: "\n")) where !line.isEmpty {
                // A line cut short by a crash mid-write is the only one that can be unreadable: the last.
                if let entry = try? decoder.decode(Entry.self, from: Data(line)) { entries.append(entry) }
            }
        }
        var cursor = Cursor(instance: "journal-\(UInt64.random(in: 0...UInt64.max))", inFlight: nil)
        if let data = FileManager.default.contents(atPath: path + ".cursor"), let stored = try? decoder.decode(Cursor.self, from: data) {
            cursor = stored
        }
        let fileLines = entries.count
        let next = max(entries.map(\.sequence).max() ?? 0, cursor.inFlight?.upperBound ?? 0, cursor.recordedThrough ?? 0) + 1
        if let recorded = cursor.recordedThrough { entries.removeAll { $0.sequence <= recorded } }
        state = Mutex(State(entries: entries, cursor: cursor, nextSequence: next, lockDescriptor: lock, fileLines: fileLines))
        try Self.write(cursor, to: path + ".cursor")
    }

    deinit {
        _ = state.withLock { close($0.lockDescriptor) }
    }

    /// Entries waiting.
    var count: Int { state.withLock { $0.entries.count } }

    /// The instance id the replay calls use.
    var instance: String { state.withLock { $0.cursor.instance } }

    /// Keeps `records` (appended to the file and synced); returns how many did not fit.
    @discardableResult
    func append(_ records: [RecordDecisionsCall.Record], maybeApplied: MaybeApplied? = nil) -> Int {
        guard !records.isEmpty else { return 0 }
        return state.withLock { state in
            let room = max(0, capacity - state.entries.count)
            let kept = records.prefix(room).map { record -> Entry in
                defer { state.nextSequence += 1 }
                return Entry(sequence: state.nextSequence, record: record, maybeApplied: maybeApplied)
            }
            if !kept.isEmpty {
                state.entries += kept
                let encoder = JSONEncoder()
                var bytes = Data()
                for entry in kept {
                    if let line = try? encoder.encode(entry) {
                        bytes.append(line)
                        bytes.append(UInt8(ascii: "\n"))
                    }
                }
                Self.appendAndSync(bytes, to: path)
                state.fileLines += kept.count
            }
            return records.count - kept.count
        }
    }

    /// The entries of the next replay call: the range of one that may have been sent before (a restart after a crash
    /// mid-call), else up to `maximum` from the head. The range is written to the cursor before this returns.
    func nextBatch(maximum: Int) throws(FraudError) -> [Entry] {
        try state.withLock { state throws(FraudError) -> [Entry] in
            if let range = state.cursor.inFlight {
                let batch = state.entries.filter { range.contains($0.sequence) }
                if !batch.isEmpty { return batch }
                state.cursor.inFlight = nil
            }
            let batch = Array(state.entries.prefix(maximum))
            guard let first = batch.first, let last = batch.last else { return [] }
            state.cursor.inFlight = first.sequence...last.sequence
            try Self.write(state.cursor, to: path + ".cursor")
            return batch
        }
    }

    /// Marks the entries up to `sequence` recorded (a replay call for them succeeded): the cursor says so at once; the
    /// file drops them when it is compacted (when nothing waits, or when recorded lines outnumber waiting ones by far).
    func recorded(through sequence: Int) throws(FraudError) {
        try state.withLock { state throws(FraudError) in
            state.entries.removeAll { $0.sequence <= sequence }
            state.cursor.recordedThrough = sequence
            state.cursor.inFlight = nil
            try Self.write(state.cursor, to: path + ".cursor")
            guard state.entries.isEmpty || state.fileLines > 2 * state.entries.count + 1_000 else { return }
            let encoder = JSONEncoder()
            var bytes = Data()
            for entry in state.entries {
                if let line = try? encoder.encode(entry) {
                    bytes.append(line)
                    bytes.append(UInt8(ascii: "\n"))
                }
            }
            try Self.replace(path, with: bytes)
            state.fileLines = state.entries.count
        }
    }

    private static func write(_ cursor: Cursor, to file: String) throws(FraudError) {
        guard let data = try? JSONEncoder().encode(cursor) else { return }
        try replace(file, with: data)
    }

    /// Writes `data` to a temporary file, syncs it, and renames it over `file`.
    private static func replace(_ file: String, with data: Data) throws(FraudError) {
        let temporary = file + ".tmp"
        let descriptor = open(temporary, O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { throw FraudError(.invalidData, "cannot write \(temporary): \(String(cString: strerror(errno)))") }
        let written = data.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        fsync(descriptor)
        close(descriptor)
        guard written == data.count, rename(temporary, file) == 0 else {
            throw FraudError(.invalidData, "cannot write \(file): \(String(cString: strerror(errno)))")
        }
    }

    private static func appendAndSync(_ data: Data, to file: String) {
        let descriptor = open(file, O_CREAT | O_APPEND | O_WRONLY | O_CLOEXEC, 0o644)
        guard descriptor >= 0 else { return }
        _ = data.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress, $0.count) }
        fsync(descriptor)
        close(descriptor)
    }
}
