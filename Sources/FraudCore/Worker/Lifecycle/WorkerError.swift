/// A worker that cannot start, with one line for people.
public struct WorkerError: Error, CustomStringConvertible, Sendable {
    /// The line.
    public let description: String
    init(_ description: String) { self.description = description }
}
