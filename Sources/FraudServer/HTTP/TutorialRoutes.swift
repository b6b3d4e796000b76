import Foundation
import FraudCore
import Hummingbird
import RedisClient

/// `POST /`: the Redis fraud-detection tutorial's endpoint, answered as its Flask app answers.
///
/// The body `{"device_id": …, "ip": …, "transaction_id": …}` gets the plain-text body `ip_blacklist` when
/// the IP is on the blocklist, else `click_spam` when the device already had `CLICK_SPAM_THRESHOLD` or more
/// events in the last `CLICK_SPAM_WINDOW_IN_SEC` seconds (this one is then more than the threshold), else
/// `clean`. The device's events live in the same sorted set the worker's click-spam feature reads
/// (`<ns>:{device:<id>}:events`, idempotent per `transaction_id`), and each answer is counted in the hash
/// `<ns>:tutorial:outcomes` (per request, as the tutorial counts: a repeated `transaction_id` is not a new device
/// event, but its answer is counted again).
struct TutorialRoutes {
    let admission: RequestAdmission
    let control: RedisConnection

    /// The answers.
    enum Outcome: String, CaseIterable {
        case clean
        case ipBlacklist = "ip_blacklist"
        case clickSpam = "click_spam"
    }

    /// Adds the route to `router`.
    func add(to router: Router<APIRequestContext>) {
        router.post("/") { request, _ in await answer(request) }
    }

    /// The hash counting outcomes.
    var outcomesKey: String { "\(admission.configuration.namespace):tutorial:outcomes" }

    private func answer(_ request: Request) async -> Response {
        let object: [FlatJSON.Member]
        do {
            let body = try await TransactionBody.collect(request, limit: TransactionBody.maximumBytes)
            object = try TransactionBody.object(body, shape: "a JSON object {\"device_id\", \"ip\", \"transaction_id\"}")
        } catch {
            return error.response
        }
        let ip = TransactionBody.text(object, "ip")
        let device = TransactionBody.text(object, "device_id")
        guard ip != nil || device != nil else {
            return APIResponse.error(.unprocessableContent, "missing_field", "missing required field 'device_id' or 'ip'")
        }
        let transactionId = TransactionBody.text(object, "transaction_id") ?? UUID().uuidString
        if admission.stateGuard.isPaused { return APIResponse.stateLost() }
        do {
            let outcome = try await decide(ip: ip, device: device, transactionId: transactionId)
            _ = try await control.send(RedisCommand("HINCRBY", outcomesKey, outcome.rawValue, 1))
            return APIResponse.text(outcome.rawValue)
        } catch {
            return APIResponse.error(.serviceUnavailable, "redis_unavailable", error.message)
        }
    }

    private func decide(ip: String?, device: String?, transactionId: String) async throws(RedisError) -> Outcome {
        let extractor = admission.extractor
        if let ip, let shape = extractor.blocklistShape {
            var check = BloomCheckCall(counters: extractor.keys.ipBlocklistCounters, shape: shape)
            check.append(ip)
            if try BloomCheckCall.decode(try await control.send(check.command), items: 1)[0] { return .ipBlacklist }
        }
        guard let device else { return .clean }
        let event = Transaction(
            transactionId: transactionId, userId: "", amount: 1, merchantId: "", timestampMilliseconds: TransactionBody.nowMilliseconds)
        let earlier = try DeviceEventsCall.decode(
            try await control.send(DeviceEventsCall(settings: extractor.settings).command(device: device, event)))
        return earlier >= extractor.settings.clickSpamThreshold ? .clickSpam : .clean
    }
}
