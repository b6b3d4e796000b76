import FraudCore
import Hummingbird
import RedisClient

/// `GET /healthz`, `GET /readyz`, `GET /v1/models/current` and `GET /openapi.json`.
struct OperationsRoutes {
    let admission: RequestAdmission
    let control: RedisConnection

    /// How long `/readyz` waits for Redis's `PING`.
    static let readinessTimeoutMilliseconds = 500

    /// Adds the routes to `router`.
    func add(to router: Router<APIRequestContext>) {
        router.get("/healthz") { _, _ in APIResponse.json(["status": "ok"]) }
        router.get("/readyz") { _, _ in await readiness() }
        router.get("/v1/models/current") { _, _ in await currentModel() }
        router.get("/openapi.json") { _, _ in
            Response(
                status: .ok, headers: APIResponse.jsonHeaders,
                body: ResponseBody(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_json)))
        }
    }

    struct Readiness: Encodable {
        var status: String
        var redis: String
        var model_version: Int
        var in_flight: Int
        /// `ok`, or `lost` when Redis lost the namespace's state.
        var state: String
        /// `keys` (requests need an API key) or `off` (`--auth off`, local demos only).
        var auth: String
    }

    private func readiness() async -> Response {
        let version = admission.serving.servingModel.version
        let auth = admission.configuration.authRequired ? "keys" : "off"
        let state = admission.stateGuard.isLost ? "lost" : "ok"
        do {
            _ = try await control.send(RedisCommand("PING"), timeoutMilliseconds: Self.readinessTimeoutMilliseconds)
            // A server whose state Redis lost is not ready, even when it keeps deciding from memory.
            let ready = state == "ok"
            return APIResponse.json(
                Readiness(
                    status: ready ? "ready" : "not_ready", redis: "ok", model_version: version, in_flight: admission.depth, state: state,
                    auth: auth),
                status: ready ? .ok : .serviceUnavailable)
        } catch {
            return APIResponse.json(
                Readiness(
                    status: "not_ready", redis: error.message, model_version: version, in_flight: admission.depth, state: state, auth: auth),
                status: .serviceUnavailable)
        }
    }

    struct ModelSummary: Encodable {
        var version: Int
        var kind: String
        var created_ms: Int64
        var threshold: Double
        var training_data: String
        var feature_names: [String]
        var metrics: ModelMetrics
    }

    private func currentModel() async -> Response {
        let model = admission.serving.servingModel
        return APIResponse.json(ModelSummary(
            version: model.version, kind: model.kind, created_ms: model.createdMilliseconds, threshold: admission.configuration.threshold,
            training_data: model.trainingData, feature_names: model.featureNames, metrics: model.metrics))
    }
}
