import AsyncAlgorithms

/// The bounded edge between two stages: `send` suspends until the next stage takes the element,
/// so no stage can run ahead of the one behind it.
public typealias Channel<Element: Sendable> = AsyncChannel<Element>
