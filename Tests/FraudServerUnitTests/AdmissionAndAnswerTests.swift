import FraudCore
import Testing

@testable import FraudServer

/// The scoring API's admission queue, pending decisions, record buffer and deadline queue, without HTTP or Redis.
@Suite("Scoring API internals, without a server")
struct AdmissionAndAnswerTests {
    static func pending(_ id: String, user: String = "u1") -> PendingDecision {
        PendingDecision(
            transaction: Transaction(transactionId: id, userId: user, amount: 10, merchantId: "m", timestampMilliseconds: 1_790_812_800_000),
            explain: false)
    }

    static func answer(_ decision: String, degraded: Bool = false) -> DecisionAnswer {
        DecisionAnswer(decision: ScoredDecision(score: 0.5, isFraud: false, decision: decision, reasons: "", modelVersion: 1), degraded: degraded)
    }

    @Test func admissionIsAllOrNothingAndBoundedByCapacity() async {
        let queue = ScoreQueue(capacity: 3, lanes: 2)
        #expect(queue.submit([Self.pending("a"), Self.pending("b")]))
        #expect(!queue.submit([Self.pending("c"), Self.pending("d")]))  // 4 > 3: none admitted
        #expect(queue.depth == 2)
        #expect(queue.submit([Self.pending("c")]))
        queue.finish(2)
        #expect(queue.depth == 1)
        queue.close()
        #expect(!queue.submit([Self.pending("e")]))
    }

    @Test func aUsersTransactionsGoToOneLaneInArrivalOrder() async {
        let queue = ScoreQueue(capacity: 100, lanes: 4)
        let items = (0..<10).map { Self.pending("t\($0)", user: "same-user") }
        #expect(queue.submit(items))
        let lane = queue.lane(of: "same-user")
        let taken = await queue.next(lane: lane, maximum: 100)
        #expect(taken.map(\.transaction.transactionId) == (0..<10).map { "t\($0)" })
        queue.close()
        #expect(await queue.next(lane: lane, maximum: 100).isEmpty)  // closed and drained
    }

    @Test func theFirstAnswerGivenIsTheOneThatCounts() async {
        // Deadline first: the lane's later answer does not replace it, and the lane records what the client got.
        let late = Self.pending("late")
        late.expire(degraded: Self.answer("review", degraded: true))
        #expect(late.settle(Self.answer("approve")).decision.decision == "review")
        #expect(await late.wait().decision.decision == "review")
        #expect(late.answered?.answer.degraded == true)
        // The lane first: a deadline passing afterwards changes nothing.
        let computed = Self.pending("computed")
        #expect(computed.settle(Self.answer("decline")).decision.decision == "decline")
        computed.expire(degraded: Self.answer("review", degraded: true))
        #expect(await computed.wait().decision.decision == "decline")
        #expect(computed.answered?.answer.degraded == false)
    }

    @Test func theRecordBufferSuspendsWritersWhenFullAndDrainsAfterClose() async {
        let buffer = RecordBuffer(capacity: 2)
        let record = RecordDecisionsCall.Record(
            transaction: Self.pending("r").transaction, decision: Self.answer("approve").decision, latencyMicroseconds: 1,
            featuresMicroseconds: 0, scoringMicroseconds: 0, degraded: false)
        await buffer.append([record, record])
        let blocked = Task { await buffer.append([record]) }  // full: waits for room
        try? await Task.sleep(for: .milliseconds(50))
        #expect(buffer.count == 2)
        #expect(await buffer.take(maximum: 10).count == 2)
        await blocked.value
        #expect(buffer.count == 1)
        buffer.close()
        #expect(await buffer.take(maximum: 10).count == 1)
        #expect(await buffer.take(maximum: 10).isEmpty)  // closed and drained
    }

    @Test func theDeadlineQueueAnswersWhatIsStillWaitingAndNothingElse() async {
        let deadlines = DeadlineQueue(deadlineMilliseconds: 10)
        let waiting = Self.pending("waiting")
        let answered = Self.pending("answered")
        answered.settle(Self.answer("approve"))
        deadlines.add([waiting, answered], deadline: .now)
        let sweeper = Task { await deadlines.run { $0.expire(degraded: Self.answer("review", degraded: true)) } }
        #expect(await waiting.wait().degraded)
        #expect(await answered.wait().decision.decision == "approve")
        deadlines.close()
        await sweeper.value
    }
}
