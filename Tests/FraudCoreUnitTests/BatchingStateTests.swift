import Testing

@testable import FraudCore

@Suite("Batching state machine (no server)")
struct BatchingStateTests {
    @Test func emitsAtBatchSize() {
        var state = BatchingState(batchSize: 10, lingerMilliseconds: 50, idleBlockMilliseconds: 1000)
        #expect(state.firstAction == .read(count: 10, blockMilliseconds: 1000))
        #expect(state.received(4, nowMilliseconds: 0) == .read(count: 6, blockMilliseconds: 50))
        #expect(state.received(6, nowMilliseconds: 10) == .emit)
    }

    @Test func emitsWhenLingerExpiresAndKeepsBlockingWhileEmpty() {
        var state = BatchingState(batchSize: 10, lingerMilliseconds: 50, idleBlockMilliseconds: 1000)
        #expect(state.received(0, nowMilliseconds: 0) == .read(count: 10, blockMilliseconds: 1000))
        #expect(state.received(2, nowMilliseconds: 100) == .read(count: 8, blockMilliseconds: 50))
        #expect(state.received(1, nowMilliseconds: 130) == .read(count: 7, blockMilliseconds: 20))
        #expect(state.received(0, nowMilliseconds: 150) == .emit)
    }

    @Test func zeroLingerSendsWhatOneReadReturned() {
        var state = BatchingState(batchSize: 100, lingerMilliseconds: 0, idleBlockMilliseconds: 500)
        #expect(state.received(3, nowMilliseconds: 0) == .emit)
    }
}
