import Testing

@testable import FraudCore

@Suite("Claim loop state machine (no server)")
struct ClaimStateTests {
    @Test func recoversOwnPendingFirstThenClaimsThenReadsNew() {
        var state = ClaimState(autoClaimIntervalMilliseconds: 1_000)
        #expect(state.next(nowMilliseconds: 0) == .recoverOwn(start: "-"))
        state.recoveredOwn(lastId: "5-0")
        #expect(state.next(nowMilliseconds: 1) == .recoverOwn(start: "(5-0"))
        state.recoveredOwn(lastId: nil)
        #expect(state.next(nowMilliseconds: 2) == .autoClaim(start: "0-0"))
        state.autoClaimed(nextStart: "9-0")
        #expect(state.next(nowMilliseconds: 3) == .readNew)
        #expect(state.next(nowMilliseconds: 999) == .readNew)
        #expect(state.next(nowMilliseconds: 1_002) == .autoClaim(start: "9-0"))
    }

    /// The case fixed in commit 259e7bc: entries already recovered (and still pending while in
    /// flight) must never be recovered a second time, or their delivery counts grow.
    @Test func eachOwnPendingEntryIsRecoveredOnce() {
        var state = ClaimState(autoClaimIntervalMilliseconds: 1_000)
        var starts: [String] = []
        for last in ["3-0", "7-1", nil] as [String?] {
            guard case .recoverOwn(let start) = state.next(nowMilliseconds: 0) else {
                Issue.record("expected a recovery read")
                return
            }
            starts.append(start)
            state.recoveredOwn(lastId: last)
        }
        #expect(starts == ["-", "(3-0", "(7-1"])
        for now in stride(from: Int64(1), to: 5_000, by: 250) {
            #expect(state.next(nowMilliseconds: now) != .recoverOwn(start: "-"))
            if case .recoverOwn = state.next(nowMilliseconds: now) { Issue.record("recovered again at \(now)") }
        }
    }

    @Test func lostReadRecoversOnlyEntriesNewerThanTheLastRead() {
        var state = ClaimState(autoClaimIntervalMilliseconds: 1_000)
        state.recoveredOwn(lastId: nil)
        #expect(state.next(nowMilliseconds: 0) == .autoClaim(start: "0-0"))
        state.autoClaimed(nextStart: "0-0")
        #expect(state.next(nowMilliseconds: 1) == .readNew)
        state.readNew(lastId: "100-4")
        #expect(state.next(nowMilliseconds: 2) == .readNew)
        state.readFailed()
        // Entries up to 100-4 are in flight already; only a lost reply's entries (newer) are taken back.
        #expect(state.next(nowMilliseconds: 3) == .recoverOwn(start: "(100-4"))
        state.readFailed()  // a failed recovery continues where it was
        #expect(state.next(nowMilliseconds: 4) == .recoverOwn(start: "(100-4"))
        state.recoveredOwn(lastId: nil)
        #expect(state.next(nowMilliseconds: 5) == .readNew)
    }

    @Test func lostFirstReadRecoversFromTheStart() {
        var state = ClaimState(autoClaimIntervalMilliseconds: 1_000)
        state.recoveredOwn(lastId: nil)
        _ = state.next(nowMilliseconds: 0)
        state.readFailed()
        #expect(state.next(nowMilliseconds: 1) == .recoverOwn(start: "-"))
    }
}

@Suite("Claim loop: removal of dead consumers (no server)")
struct ClaimStateIdleConsumerTests {
    @Test func removesIdleConsumersOnceAfterEachAutoClaimAndNeverInBetween() {
        var state = ClaimState(autoClaimIntervalMilliseconds: 1_000, removesIdleConsumers: true)
        state.recoveredOwn(lastId: nil)
        #expect(state.next(nowMilliseconds: 0) == .autoClaim(start: "0-0"))
        state.autoClaimed(nextStart: "0-0")
        #expect(state.next(nowMilliseconds: 1) == .removeIdleConsumers)
        for now in stride(from: Int64(2), to: 1_000, by: 100) {
            #expect(state.next(nowMilliseconds: now) == .readNew)
        }
        #expect(state.next(nowMilliseconds: 1_000) == .autoClaim(start: "0-0"))
        #expect(state.next(nowMilliseconds: 1_001) == .removeIdleConsumers)
        #expect(state.next(nowMilliseconds: 1_002) == .readNew)
    }

    @Test func ownRecoveryComesBeforeARemovalThatIsDue() {
        var state = ClaimState(autoClaimIntervalMilliseconds: 1_000, removesIdleConsumers: true)
        state.recoveredOwn(lastId: nil)
        _ = state.next(nowMilliseconds: 0)  // autoClaim
        state.readFailed()
        #expect(state.next(nowMilliseconds: 1) == .recoverOwn(start: "-"))
        state.recoveredOwn(lastId: nil)
        #expect(state.next(nowMilliseconds: 2) == .removeIdleConsumers)
    }

    @Test func withoutTheOptionNothingIsRemoved() {
        var state = ClaimState(autoClaimIntervalMilliseconds: 10)
        state.recoveredOwn(lastId: nil)
        for now in stride(from: Int64(0), to: 1_000, by: 3) {
            #expect(state.next(nowMilliseconds: now) != .removeIdleConsumers)
        }
    }
}
