import FraudCore
import Hummingbird
import RedisClient

/// `PUT`, `DELETE` and `GET /v1/blocklist/ip/{ip}`: manage the IP blocklist while serving.
struct BlocklistRoutes {
    let admission: RequestAdmission
    let control: RedisConnection

    /// Adds the routes to `router`.
    func add(to router: Router<APIRequestContext>) {
        router.put("/v1/blocklist/ip/{ip}") { _, context in await change(context, add: true) }
        router.delete("/v1/blocklist/ip/{ip}") { _, context in await change(context, add: false) }
        router.get("/v1/blocklist/ip/{ip}") { _, context in await check(context) }
    }

    struct Membership: Encodable {
        var ip: String
        /// Whether the exact record lists it.
        var blocklisted: Bool
        /// Whether this request changed that.
        var changed: Bool?
        /// Whether the filter scoring reads reports it (`GET` only): true for every listed IP, and for an unlisted one
        /// at about the filter's false-positive rate.
        var filterMatch: Bool?
        /// Present and true when more IPs are listed than the filter was sized for.
        var overCapacity: Bool?

        enum CodingKeys: String, CodingKey {
            case ip, blocklisted, changed
            case filterMatch = "filter_match"
            case overCapacity = "over_capacity"
        }
    }

    private var store: FeatureStore { FeatureStore(namespace: admission.configuration.namespace) }

    /// The IP as it is stored: its pseudonym when `PSEUDONYMIZE` lists `ip`.
    private func stored(_ ip: String) -> String { admission.configuration.pseudonymizer?.map(ip, field: "ip") ?? ip }

    private func change(_ context: APIRequestContext, add: Bool) async -> Response {
        guard let ip = context.parameters.get("ip"), !ip.isEmpty else {
            return APIResponse.error(.badRequest, "missing_ip", "the path needs an IP: /v1/blocklist/ip/{ip}")
        }
        guard IPAddress.isValid(ip) else {
            return APIResponse.error(.unprocessableContent, "invalid_ip", "'\(ip.prefix(60))' is not an IPv4 or IPv6 address")
        }
        do {
            if add {
                let addition = try await store.listOnBlocklist([stored(ip)], actor: context.actor, on: control)
                admission.serving.useBlocklist(addition.shape)
                return APIResponse.json(Membership(
                    ip: ip, blocklisted: true, changed: addition.newlyListed.first ?? false, overCapacity: addition.overCapacity ? true : nil))
            }
            // Under maker-checker a removal is a proposal another principal approves (POST /v1/approvals/{id}/approve).
            let approvals = ApprovalStore(namespace: admission.configuration.namespace)
            if try await approvals.isRequired(.blocklistRemove, on: control) {
                let proposal = try await approvals.propose(.blocklistRemove, target: stored(ip), actor: context.actor, on: control)
                return APIResponse.jsonText(ApprovalsRoutes.json(proposal.jsonObject), status: .accepted)
            }
            let removed = try await store.removeFromBlocklist([stored(ip)], actor: context.actor, on: control)[0]
            if !removed {
                return APIResponse.error(.notFound, "not_blocklisted", "\(ip) is not on the blocklist")
            }
            return APIResponse.json(Membership(ip: ip, blocklisted: false, changed: true))
        } catch {
            return APIResponse.error(.serviceUnavailable, "redis_unavailable", (error as? RedisError)?.message ?? "\(error)")
        }
    }

    private func check(_ context: APIRequestContext) async -> Response {
        guard let ip = context.parameters.get("ip"), !ip.isEmpty else {
            return APIResponse.error(.badRequest, "missing_ip", "the path needs an IP: /v1/blocklist/ip/{ip}")
        }
        guard IPAddress.isValid(ip) else {
            return APIResponse.error(.unprocessableContent, "invalid_ip", "'\(ip.prefix(60))' is not an IPv4 or IPv6 address")
        }
        do {
            let member = try await store.blocklistMembership([stored(ip)], on: control)[0]
            let size = try await store.blocklistSize(on: control)
            return APIResponse.json(Membership(
                ip: ip, blocklisted: member.listed, changed: nil, filterMatch: member.filterMatch,
                overCapacity: size.capacity > 0 && size.members > size.capacity ? true : nil))
        } catch {
            return APIResponse.error(.serviceUnavailable, "redis_unavailable", error.message)
        }
    }
}
