import Foundation
import Hummingbird
import Mustache
import NIOCore
import RookeryCore

/// The dashboard's pages: server-rendered HTML, no script, one stable URL per page.
struct DashboardController {
    let reader: FleetReader
    let library: MustacheLibrary

    init(reader: FleetReader) throws {
        self.reader = reader
        library = MustacheLibrary(templates: try DashboardTemplates.all.mapValues { try MustacheTemplate(string: $0) })
    }

    var routes: RouteCollection<RookeryRequestContext> {
        let routes = RouteCollection(context: RookeryRequestContext.self)
        routes.get("/") { _, _ in
            let now = Date()
            let view = try await reader.overview(now: now)
            return try page("overview", ["view": view, "chart": ComplianceChart(days: view.trend, lastDay: now)])
        }
        routes.get("devices") { request, _ in
            let query = try DashboardQuery(request).deviceList()
            let view = try await reader.devices(query)
            var values = DeviceListLinks(query: query, pages: view.pages).values
            values["view"] = view
            return try page("devices", values)
        }
        routes.get("devices/:fingerprint") { _, context in
            guard let device = try await reader.device(fingerprint: try DashboardPath.fingerprint(context)) else {
                throw ProtocolError(.notFound, "no device with that fingerprint")
            }
            return try page("device", ["view": device])
        }
        routes.get("checks/:check") { request, context in
            let name = try DashboardPath.check(context)
            let query = try DashboardQuery(request).openIssues(check: name)
            let now = Date()
            guard let check = try await reader.check(name, query: query, now: now) else {
                throw ProtocolError(.notFound, "no such check")
            }
            var values = ListLinks(
                path: "/checks/\(name)", filter: "", sorts: [("hostname", "Device"), ("since", "Failing since")],
                sort: query.sort.rawValue, descending: query.descending, page: query.page, pages: check.pages
            ).values
            values["view"] = check
            values["chart"] = ComplianceChart(days: check.trend, lastDay: now)
            return try page("check", values)
        }
        routes.get("enrollments") { request, _ in
            let pageRequest = try DashboardQuery(request).page()
            let view = try await reader.enrollments(page: pageRequest)
            var values = ListLinks(
                path: "/enrollments", filter: "", sorts: [], sort: "newest", descending: false, page: pageRequest,
                pages: view.pages
            ).values
            values["view"] = view
            return try page("enrollments", values)
        }
        routes.get("releases") { _, _ in try page("releases", ["view": try await reader.releaseList()]) }
        return routes
    }

    /// `template` rendered with `values` and the time, as an HTML answer.
    func page(_ template: String, _ values: [String: Any]) throws -> Response {
        var values = values
        values["generatedAt"] = RFC3339.string(from: Date())
        guard let html = library.render(values, withTemplate: template) else {
            throw ProtocolError(.internalError, "no dashboard template \(template)")
        }
        return Response(
            status: .ok, headers: [.contentType: "text/html; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: html)))
    }
}

/// The links of a sortable, paged list: each sortable column (a second click on the sorted one
/// turns the order) and previous and next pages, each keeping the rest of the query: `filter`
/// (`state=accepted`, or empty) and the page size.
struct ListLinks {
    let path: String
    let filter: String
    let sorts: [(name: String, label: String)]
    let sort: String
    let descending: Bool
    let page: PageRequest
    let pages: Int

    /// For a template: `sortLinks`, and `previous` and `next` only where there is such a page
    /// (Mustache would print an absent Optional inside `Any` as "nil").
    var values: [String: Any] {
        var values: [String: Any] = [
            "sortLinks": sorts.map { name, label in
                let active = name == sort
                return [
                    "label": label, "active": active, "arrow": active ? (descending ? "↓" : "↑") : "",
                    "href": href(sort: name, descending: active ? !descending : false)
                ] as [String: Any]
            }
        ]
        if page.number > 1 { values["previous"] = href(page: min(page.number - 1, pages)) }
        if page.number < pages { values["next"] = href(page: page.number + 1) }
        return values
    }

    /// This list's URL with the sort or the page changed; a new sort starts at the first page.
    func href(sort: String? = nil, descending: Bool? = nil, page number: Int? = nil) -> String {
        var parts = filter.isEmpty ? [] : [filter]
        parts.append("sort=\(sort ?? self.sort)")
        parts.append("order=\((descending ?? self.descending) ? "desc" : "asc")")
        if let number { parts.append("page=\(number)") }
        if page.size != PageRequest().size { parts.append("per_page=\(page.size)") }
        return path + "?" + parts.joined(separator: "&")
    }
}

/// The devices page's links: the state filters, then `ListLinks` over the chosen state.
struct DeviceListLinks {
    let query: DeviceListQuery
    let pages: Int

    var values: [String: Any] {
        var values = ListLinks(
            path: "/devices", filter: query.state.map { "state=\($0.rawValue)" } ?? "",
            sorts: [("hostname", "Hostname"), ("last_report", "Last report"), ("open_issues", "Open issues"), ("enrolled", "Enrolled")],
            sort: query.sort.rawValue, descending: query.descending, page: query.page, pages: pages
        ).values
        values["stateLinks"] = ([nil] + DeviceState.allCases).map { state in
            let links = ListLinks(
                path: "/devices", filter: state.map { "state=\($0.rawValue)" } ?? "", sorts: [], sort: query.sort.rawValue,
                descending: query.descending, page: query.page, pages: pages)
            return ["label": state?.rawValue ?? "all", "active": state == query.state, "href": links.href()] as [String: Any]
        }
        return values
    }
}
