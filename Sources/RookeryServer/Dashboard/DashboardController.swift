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
            let pageRequest = try DashboardQuery(request).page()
            let now = Date()
            guard let check = try await reader.check(name, page: pageRequest, now: now) else {
                throw ProtocolError(.notFound, "no such check")
            }
            let links = PageLinks(base: "/checks/\(name)?", page: pageRequest, pages: check.pages)
            return try page(
                "check", links.values.merging(["view": check, "chart": ComplianceChart(days: check.trend, lastDay: now)]) { $1 })
        }
        routes.get("enrollments") { _, _ in try page("enrollments", ["view": try await reader.enrollments()]) }
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

/// Previous and next links of a paged list; `base` ends in `?` or `&`.
struct PageLinks {
    let previous: String?
    let next: String?

    init(base: String, page: PageRequest, pages: Int) {
        func link(_ number: Int) -> String { base + "page=\(number)&per_page=\(page.size)" }
        previous = page.number > 1 ? link(min(page.number - 1, pages)) : nil
        next = page.number < pages ? link(page.number + 1) : nil
    }

    /// For a template: a key only for a link there is (Mustache would render an absent
    /// Optional inside `Any` as the text "nil").
    var values: [String: Any] {
        var values: [String: Any] = [:]
        if let previous { values["previous"] = previous }
        if let next { values["next"] = next }
        return values
    }
}

/// The devices page's links: each state filter, each sortable column (a second click on the
/// sorted one turns the order), and the pager, each keeping the rest of the query.
struct DeviceListLinks {
    let query: DeviceListQuery
    let pages: Int

    var values: [String: Any] {
        let pager = PageLinks(base: href(page: nil, withPageSize: false) + "&", page: query.page, pages: pages)
        return pager.values.merging([
            "stateLinks": ([nil] + DeviceState.allCases).map { state in
                [
                    "label": state?.rawValue ?? "all", "active": state == query.state,
                    "href": href(state: .some(state), page: nil)
                ] as [String: Any]
            },
            "sortLinks": [
                (DeviceListQuery.Sort.hostname, "Hostname"), (.lastReport, "Last report"), (.openIssues, "Open issues"),
                (.enrolled, "Enrolled")
            ].map { sort, label in
                let active = sort == query.sort
                return [
                    "label": label, "active": active, "arrow": active ? (query.descending ? "↓" : "↑") : "",
                    "href": href(sort: sort, descending: active ? !query.descending : false, page: nil)
                ] as [String: Any]
            }
        ]) { $1 }
    }

    /// This page's URL with some parts changed; `page: nil` goes back to the first page.
    private func href(
        state: DeviceState?? = nil, sort: DeviceListQuery.Sort? = nil, descending: Bool? = nil, page: Int?,
        withPageSize: Bool = true
    ) -> String {
        var parts: [String] = []
        if let state = state ?? query.state { parts.append("state=\(state.rawValue)") }
        parts.append("sort=\((sort ?? query.sort).rawValue)")
        parts.append("order=\((descending ?? query.descending) ? "desc" : "asc")")
        if withPageSize, query.page.size != PageRequest().size { parts.append("per_page=\(query.page.size)") }
        if let page { parts.append("page=\(page)") }
        return "/devices?" + parts.joined(separator: "&")
    }
}
