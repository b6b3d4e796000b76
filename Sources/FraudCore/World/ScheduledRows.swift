/// Rows waiting for their moment: a binary min-heap on (due time, insertion number), so rows due at
/// the same time come out in the order they were scheduled.
struct ScheduledRows: Sendable {
    private var heap: [(due: Int64, sequence: UInt64, row: Transaction)] = []
    private var nextSequence: UInt64 = 0

    /// Number of waiting rows.
    var count: Int { heap.count }

    /// When the earliest row is due, if any.
    var earliestDue: Int64? { heap.first?.due }

    /// Schedules `row` for `due`.
    mutating func schedule(_ row: Transaction, due: Int64) {
        heap.append((due, nextSequence, row))
        nextSequence &+= 1
        var child = heap.count - 1
        while child > 0 {
            let parent = (child - 1) / 2
            guard Self.precedes(heap[child], heap[parent]) else { break }
            heap.swapAt(child, parent)
            child = parent
        }
    }

    /// Removes and returns the earliest row.
    mutating func popEarliest() -> Transaction? {
        guard !heap.isEmpty else { return nil }
        heap.swapAt(0, heap.count - 1)
        let earliest = heap.removeLast()
        var parent = 0
        while true {
            let left = 2 * parent + 1
            let right = left + 1
            var smallest = parent
            if left < heap.count && Self.precedes(heap[left], heap[smallest]) { smallest = left }
            if right < heap.count && Self.precedes(heap[right], heap[smallest]) { smallest = right }
            if smallest == parent { break }
            heap.swapAt(parent, smallest)
            parent = smallest
        }
        return earliest.row
    }

    private static func precedes(
        _ a: (due: Int64, sequence: UInt64, row: Transaction), _ b: (due: Int64, sequence: UInt64, row: Transaction)
    ) -> Bool {
        a.due != b.due ? a.due < b.due : a.sequence < b.sequence
    }
}
