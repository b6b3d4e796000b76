import Foundation

/// Prints one line of progress and flushes it: under `tee`, CI or systemd standard output is
/// block-buffered, and progress that arrives at exit is no progress.
public func printLine(_ line: String) {
    print(line)
    fflush(nil)  // every output stream; `stdout` itself is a C global Swift 6 will not touch
}

/// Writes one line to standard error (unbuffered): human text of a command whose standard output is JSON.
public func printLineToStandardError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}
