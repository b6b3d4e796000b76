import AsyncAlgorithms

/// The bounded edge between two stages: `send` suspends until the next stage takes the element,
/// so no stage can run ahead of the one behind it.
///
/// Named for what it is in this pipeline so it does not shadow NIO's `Channel` in files that see both.
public typealias StageChannel<Element: Sendable> = AsyncChannel<Element>
