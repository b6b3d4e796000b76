import FraudCore
import Hummingbird
import NIOCore

/// `GET /metrics`: the Prometheus text exposition of a ``FraudMetrics`` registry, sampled at request time.
struct MetricsRoutes {
    let metrics: FraudMetrics

    static let contentType = "text/plain; version=0.0.4; charset=utf-8"

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/metrics") { _, _ in
            let text = await metrics.render()
            return Response(
                status: .ok, headers: [.contentType: Self.contentType], body: ResponseBody(byteBuffer: ByteBuffer(bytes: text)))
        }
    }
}

/// Counts every API request by endpoint pattern and status and times it. The endpoint is the route's pattern
/// (`/v1/blocklist/ip/{ip}`), never the path, so addresses and ids do not become labels; no route is `unmatched`.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: FraudMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        do {
            let response = try await next(request, context)
            record(context, status: Int(response.status.code), since: start)
            return response
        } catch {
            let status = (error as? any HTTPResponseError).map { Int($0.status.code) } ?? 500
            record(context, status: status, since: start)
            throw error
        }
    }

    private func record(_ context: Context, status: Int, since start: ContinuousClock.Instant) {
        let endpoint = context.endpointPath ?? "unmatched"
        metrics.counter(FraudMetrics.Name.apiRequests, [("endpoint", endpoint), ("status", String(status))]).increment()
        let elapsed = ContinuousClock.now - start
        metrics.timer(FraudMetrics.Name.apiDuration, [("endpoint", endpoint)])
            .recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}
