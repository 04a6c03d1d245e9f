import Crypto
import Foundation
import HTTPTypes
import Hummingbird

/// Headers every dashboard answer carries, refusals included: no script runs, no other site
/// frames or receives the pages, and nothing is cached on the way (they show the fleet).
/// The one style allowed is the pages' own inline stylesheet.
/// The templates escape every value already; the policy is the second lock.
struct DashboardHeadersMiddleware: RouterMiddleware {
    typealias Context = RookeryRequestContext

    static let headers: HTTPFields = [
        HTTPField.Name("Content-Security-Policy")!:
            "default-src 'none'; style-src '\(stylesheetHash)'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        HTTPField.Name("X-Content-Type-Options")!: "nosniff",
        HTTPField.Name("Referrer-Policy")!: "no-referrer",
        HTTPField.Name("X-Frame-Options")!: "DENY",
        .cacheControl: "no-store"
    ]

    /// The one style the pages have, allowed by its hash.
    static let stylesheetHash = "sha256-" + Data(SHA256.hash(data: Data(DashboardTemplates.stylesheet.utf8))).base64EncodedString()

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        for field in Self.headers { response.headers[field.name] = field.value }
        return response
    }
}
