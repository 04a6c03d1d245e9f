import Hummingbird

/// Counts every answer of a device-facing port, refusals included, by endpoint and status.
struct RequestMetricsMiddleware<Context: RequestContext>: RouterMiddleware {
    let metrics: ServerMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            let response = try await next(request, context)
            metrics.recordRequest(path: request.uri.path, status: response.status.code)
            return response
        } catch let error as any HTTPResponseError {
            metrics.recordRequest(path: request.uri.path, status: error.status.code)
            throw error
        } catch {
            metrics.recordRequest(path: request.uri.path, status: 500)
            throw error
        }
    }
}
