import Foundation
import Hummingbird
import RookeryCore

/// The query string of a list page or API route, read strictly: a value that is not understood
/// is a 400 naming it, never silently the default (a script would page through the wrong list).
struct DashboardQuery {
    let parameters: Parameters

    init(_ request: Request) { parameters = request.uri.queryParameters }

    func page() throws -> PageRequest {
        PageRequest(
            number: try number("page", in: 1...1_000_000) ?? 1,
            size: try number("per_page", in: 1...PageRequest.maxSize) ?? 50)
    }

    func deviceList() throws -> DeviceListQuery {
        DeviceListQuery(
            state: try choice("state", DeviceState.init(rawValue:), DeviceState.allCases.map(\.rawValue)),
            sort: try choice("sort", DeviceListQuery.Sort.init(rawValue:), DeviceListQuery.Sort.allCases.map(\.rawValue)) ?? .hostname,
            descending: try descending(), page: try page())
    }

    /// `sort=since|hostname`, `order`, `page`, `per_page` of an open-issue list of `check`.
    func openIssues(check: String?) throws -> OpenIssueQuery {
        OpenIssueQuery(
            check: check,
            sort: try choice("sort", OpenIssueQuery.Sort.init(rawValue:), OpenIssueQuery.Sort.allCases.map(\.rawValue)) ?? .since,
            descending: try descending(), page: try page())
    }

    private func descending() throws -> Bool {
        try choice("order", { ["asc": false, "desc": true][$0] }, ["asc", "desc"]) ?? false
    }

    /// `check=NAME`, a name issues.yml allows; nil when absent.
    func checkName() throws -> String? {
        guard let name = parameters.get("check") else { return nil }
        guard CheckName.isValid(name) else {
            throw ProtocolError(.malformed, "check must be a check's name: lower-case letters, digits, - and _")
        }
        return name
    }

    func number(_ name: String, in range: ClosedRange<Int>) throws -> Int? {
        guard let text = parameters.get(name) else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw ProtocolError(.malformed, "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound)")
        }
        return value
    }

    private func choice<T>(_ name: String, _ parse: (String) -> T?, _ known: [String]) throws -> T? {
        guard let text = parameters.get(name) else { return nil }
        guard let value = parse(text) else {
            throw ProtocolError(.malformed, "\(name) must be one of: \(known.joined(separator: ", "))")
        }
        return value
    }
}

/// A device named in a URL: its 40-hex fingerprint, upper or lower case.
enum DashboardPath {
    static func fingerprint(_ context: some RequestContext) throws -> String {
        guard let text = context.parameters.get("fingerprint"), let fingerprint = InputValidation.fingerprint(text) else {
            throw ProtocolError(.notFound, "a device is named by its 40-hex fingerprint")
        }
        return fingerprint
    }

    /// A check named in a URL, as issues.yml allows names: lower-case letters, digits, - and _.
    static func check(_ context: some RequestContext) throws -> String {
        guard let name = context.parameters.get("check"), CheckName.isValid(name) else {
            throw ProtocolError(.notFound, "no such check")
        }
        return name
    }
}
