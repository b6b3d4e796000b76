import FraudCore
import Foundation
import Hummingbird
import RedisClient

/// `GET /v1/approvals`, `POST /v1/approvals/{id}/approve` and `/reject`: maker-checker over HTTP, for admin keys. The key's
/// name is the principal: a key cannot approve what it proposed.
struct ApprovalsRoutes {
    let admission: RequestAdmission
    let control: RedisConnection

    func add(to router: Router<APIRequestContext>) {
        router.get("/v1/approvals") { _, _ in await list() }
        router.post("/v1/approvals/{id}/approve") { _, context in await decide(context, approve: true) }
        router.post("/v1/approvals/{id}/reject") { _, context in await decide(context, approve: false) }
    }

    private var store: ApprovalStore { ApprovalStore(namespace: admission.configuration.namespace) }

    static func json(_ object: Any) -> String {
        (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }

    private func list() async -> Response {
        do {
            let proposals = try await store.list(all: true, on: control)
            return APIResponse.jsonText(Self.json(["proposals": proposals.map(\.jsonObject)]))
        } catch {
            return APIResponse.error(.serviceUnavailable, "redis_unavailable", "\(error)")
        }
    }

    private func decide(_ context: APIRequestContext, approve: Bool) async -> Response {
        guard let id = context.parameters.get("id").flatMap(Int.init) else {
            return APIResponse.error(.badRequest, "invalid_id", "the path needs a proposal number: /v1/approvals/{id}/approve")
        }
        do {
            let proposal = try await store.decide(id, approve: approve, actor: context.actor, on: control)
            if approve { try await store.apply(proposal, actor: context.actor, on: control) }
            return APIResponse.jsonText(Self.json(proposal.jsonObject))
        } catch let error as FraudError {
            switch error.code {
            case .notFound: return APIResponse.error(.notFound, "not_found", error.message)
            default: return APIResponse.error(.conflict, "not_allowed", error.message)
            }
        } catch {
            return APIResponse.error(.serviceUnavailable, "redis_unavailable", "\(error)")
        }
    }
}
