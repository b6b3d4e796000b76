#if canImport(Glibc)
import Glibc
#endif

/// Prints one line of progress and flushes it: under `tee`, CI or systemd standard output is
/// block-buffered, and progress that arrives at exit is no progress.
public func printLine(_ line: String) {
    print(line)
    fflush(nil)  // every output stream; `stdout` itself is a C global Swift 6 will not touch
}
