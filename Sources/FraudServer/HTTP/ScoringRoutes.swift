import FraudCore
import Hummingbird

/// `POST /v1/score` and `POST /v1/score/batch`.
struct ScoringRoutes {
    let admission: RequestAdmission

    /// Adds the routes to `router`.
    func add(to router: Router<APIRequestContext>) {
        router.post("/v1/score") { request, _ in await score(request) }
        router.post("/v1/score/batch") { request, _ in await scoreBatch(request) }
    }

    private func explain(_ request: Request) -> Bool {
        guard let value = request.uri.queryParameters.get("explain") else { return false }
        return ["true", "1", "yes"].contains(value.lowercased())
    }

    private func score(_ request: Request) async -> Response {
        let started = ContinuousClock.now
        let transaction: Transaction
        do {
            let body = try await TransactionBody.collect(request, limit: TransactionBody.maximumBytes)
            let object = try TransactionBody.object(body, shape: "a JSON object (a transaction)")
            transaction = try TransactionBody.transaction(
                object, validator: admission.configuration.validator, nowMilliseconds: TransactionBody.nowMilliseconds
            ).get()
        } catch {
            return error.response
        }
        if admission.stateGuard.isPaused { return APIResponse.stateLost() }
        guard let given = await admission.decide([transaction], explain: explain(request), receivedAt: started)?.first else {
            return APIResponse.overloaded(admission.depth, capacity: admission.admissionLimit)
        }
        if let refusal = given.answer.refusal { return APIResponse.error(.conflict, refusal.rawValue, refusal.message) }
        let response = ScoreResponse(transaction: transaction, answer: given.answer, latencyMicroseconds: given.latencyMicroseconds)
        if let text = response.directJSON { return APIResponse.jsonText(text) }
        return APIResponse.json(response)
    }

    private func scoreBatch(_ request: Request) async -> Response {
        let started = ContinuousClock.now
        let objects: [[FlatJSON.Member]]
        do {
            let shape = "a JSON object {\"transactions\": [transaction, ...]}"
            let body = try await TransactionBody.collect(request, limit: TransactionBody.maximumBatchBytes)
            let members = try TransactionBody.object(body, shape: shape)
            guard case .array(let elements)? = members.first(where: { $0.name == "transactions" })?.value else {
                throw TransactionBody.Problem(status: .badRequest, code: "invalid_body", message: "the body is not \(shape)")
            }
            objects = try elements.map { element throws(TransactionBody.Problem) in
                guard case .object(let fields) = element else {
                    throw TransactionBody.Problem(status: .badRequest, code: "invalid_body", message: "every transaction must be a JSON object")
                }
                return fields
            }
        } catch let problem as TransactionBody.Problem {
            return problem.response
        } catch {
            return APIResponse.error(.badRequest, "invalid_body", "\(error)")
        }
        guard objects.count <= TransactionBody.maximumBatchCount else {
            return APIResponse.error(
                .contentTooLarge, "batch_too_large",
                "\(objects.count) transactions in one request; at most \(TransactionBody.maximumBatchCount)")
        }
        let now = TransactionBody.nowMilliseconds
        let validator = admission.configuration.validator
        var elements: [BatchElement?] = Array(repeating: nil, count: objects.count)
        var valid: [(index: Int, transaction: Transaction)] = []
        for (index, object) in objects.enumerated() {
            switch TransactionBody.transaction(object, validator: validator, nowMilliseconds: now) {
            case .success(let transaction): valid.append((index, transaction))
            case .failure(let problem):
                elements[index] = .rejected(
                    index: index, transactionId: TransactionBody.text(object, "transaction_id"), status: Int(problem.status.code),
                    code: problem.code, message: problem.message)
            }
        }
        if valid.count > admission.configuration.maxInFlight {
            return APIResponse.error(
                .contentTooLarge, "batch_too_large",
                "\(valid.count) transactions in one request; this server admits at most \(admission.configuration.maxInFlight) at once (--max-in-flight)")
        }
        if !valid.isEmpty {
            if admission.stateGuard.isPaused { return APIResponse.stateLost() }
            guard let answers = await admission.decide(valid.map(\.transaction), explain: explain(request), receivedAt: started) else {
                return APIResponse.overloaded(admission.depth, capacity: admission.admissionLimit)
            }
            for (item, given) in zip(valid, answers) {
                let answer = given.answer
                if let refusal = answer.refusal {
                    elements[item.index] = .rejected(
                        index: item.index, transactionId: item.transaction.transactionId, status: 409, code: refusal.rawValue,
                        message: refusal.message)
                } else {
                    elements[item.index] = .decided(ScoreResponse(transaction: item.transaction, answer: answer, latencyMicroseconds: given.latencyMicroseconds))
                }
            }
        }
        return APIResponse.json(BatchAnswer(results: elements.compactMap { $0 }))
    }
}
