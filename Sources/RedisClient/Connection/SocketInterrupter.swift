import Foundation

/// Lets a cancellation handler, on any thread, interrupt a blocking hiredis call by shutting the socket down.
///
/// The lock makes sure the descriptor is still the connection's own when `shutdown` runs: the
/// connection disarms before it frees the context, so a recycled descriptor is never touched.
final class SocketInterrupter: @unchecked Sendable {
    private let lock = NSLock()
    private var fileDescriptor: Int32 = -1
    private var wasInterrupted = false

    func arm(_ descriptor: Int32) {
        lock.lock()
        fileDescriptor = descriptor
        wasInterrupted = false
        lock.unlock()
    }

    /// Disarms and tells whether an interrupt happened while armed.
    func disarm() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        fileDescriptor = -1
        return wasInterrupted
    }

    func interrupt() {
        lock.lock()
        defer { lock.unlock() }
        guard fileDescriptor >= 0 else { return }
        wasInterrupted = true
        _ = shutdown(fileDescriptor, Int32(SHUT_RDWR))
    }
}
