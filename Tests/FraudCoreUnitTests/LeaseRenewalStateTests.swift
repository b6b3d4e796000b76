import Testing

@testable import FraudCore

@Suite("Consumer-name lease renewal state machine (no server)")
struct LeaseRenewalStateTests {
    @Test func renewsEveryIntervalWhileTheLeaseIsOurs() {
        var state = LeaseRenewalState(renewIntervalMilliseconds: 3_000)
        #expect(state.first == .renew(afterMilliseconds: 3_000))
        #expect(state.renewed(.extended) == .renew(afterMilliseconds: 3_000))
        // Expired during an outage or gone with a restarted Redis: nobody else holds it, so it is taken again.
        #expect(state.renewed(.taken) == .renew(afterMilliseconds: 3_000))
        #expect(!state.isLost)
    }

    @Test func failedCallsAreRetriedSoonerAndDoNotLoseTheLease() {
        var state = LeaseRenewalState(renewIntervalMilliseconds: 3_000)
        #expect(state.failed() == .renew(afterMilliseconds: 750))
        #expect(state.failed() == .renew(afterMilliseconds: 750))
        #expect(state.consecutiveFailures == 2)
        #expect(!state.isLost)
        #expect(state.renewed(.extended) == .renew(afterMilliseconds: 3_000))
        #expect(state.consecutiveFailures == 0)
        var slow = LeaseRenewalState(renewIntervalMilliseconds: 60_000)
        #expect(slow.failed() == .renew(afterMilliseconds: 1_000))
    }

    @Test func leaseUnderAnotherTokenStopsTheWorker() {
        var state = LeaseRenewalState(renewIntervalMilliseconds: 3_000)
        #expect(state.renewed(.heldByAnother(remainingMilliseconds: 8_200)) == .stop(holderRemainingMilliseconds: 8_200))
        #expect(state.isLost)
    }

    @Test func refusalNamesTheConsumerAndTheSecondsLeft() {
        #expect(
            ConsumerLease.heldMessage(consumer: "w1", remainingMilliseconds: 7_400, key: "k")
                == "consumer name 'w1' is held by another live worker (lease expires in 8 s)")
        #expect(ConsumerLease.heldMessage(consumer: "w1", remainingMilliseconds: nil, key: "k").contains("no expiry"))
        #expect(ConsumerLease.makeToken().count == 32)
        #expect(ConsumerLease.makeToken() != ConsumerLease.makeToken())
    }
}
