import Foundation
import Prometheus
import RookeryCore

/// This process's counters for /metrics (Prometheus's text format, through swift-prometheus):
/// requests by endpoint and status, and the time signature checks take. What the fleet looks
/// like (devices by state, open issues, the last audit) is read from the database when scraped,
/// so every server process sharing it answers the same.
public final class ServerMetrics: Sendable {
    let registry = PrometheusCollectorRegistry()
    private let signatureChecks: DurationHistogram

    /// Labels come from this closed list, never from the request: a stranger's path must not
    /// make a new time series (each costs memory for the life of the process).
    static let endpointLabels: Set<String> = Set(WireProtocol.Endpoint.allCases.map(\.rawValue)).union([
        "health", "ready", "download_release", "shell", "other"
    ])

    public init() {
        signatureChecks = registry.makeDurationHistogram(
            name: "rookery_signature_check_seconds",
            buckets: [.microseconds(250), .milliseconds(1), .milliseconds(5), .milliseconds(20), .milliseconds(100), .seconds(1)],
            help: "Time to check a device request's signature (native or gpg)")
    }

    /// One answered request on a device-facing port.
    func recordRequest(path: String, status: Int) {
        registry.makeCounter(
            name: "rookery_requests_total", labels: [("endpoint", Self.endpoint(ofPath: path)), ("status", String(status))],
            help: "Requests answered on the device-facing ports, by endpoint and HTTP status"
        ).increment()
    }

    func recordSignatureCheck(_ duration: Duration) { signatureChecks.record(duration) }

    /// `/rookery/v1/ENDPOINT...` -> ENDPOINT when it is one of `endpointLabels`, else `other`.
    static func endpoint(ofPath path: String) -> String {
        let parts = path.split(separator: "/", omittingEmptySubsequences: true)
        guard parts.count >= 3, parts[0] == "rookery", parts[1] == "v1" else { return "other" }
        let name = String(parts[2])
        return endpointLabels.contains(name) ? name : "other"
    }

    /// The whole text: this process's counters, then the fleet's gauges from `fleet`.
    func exposition(fleet: FleetCounts, checks: ChecksView, lastAudit: AuditRun?) -> String {
        var text = registry.emitToString()
        func gauge(_ name: String, _ help: String, _ samples: [(labels: String, value: String)]) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) gauge\n"
            for sample in samples { text += "\(name)\(sample.labels) \(sample.value)\n" }
        }
        gauge(
            "rookery_devices", "Devices by state",
            DeviceState.allCases.map { ("{state=\"\($0.rawValue)\"}", String(fleet.devicesByState[$0] ?? 0)) })
        gauge("rookery_pending_enrollments", "Devices waiting for an admin to accept them", [("", String(fleet.devicesByState[.pending] ?? 0))])
        gauge(
            "rookery_accepted_devices_by_last_report", "Accepted devices by how recently they reported",
            [
                ("{last_report=\"under_1h\"}", String(fleet.reportedWithinHour)),
                ("{last_report=\"1h_to_1d\"}", String(fleet.reportedWithinDay)),
                ("{last_report=\"over_1d_or_never\"}", String(fleet.silent))
            ])
        // Every check of issues.yml, 0 included, so a series ends at 0 rather than vanishing.
        // Check names are issues.yml's: lower-case letters, digits, - and _; nothing to escape.
        gauge("rookery_open_issues", "Open issues by check", checks.checks.map { ("{check=\"\($0.check)\"}", String($0.open)) })
        if let lastAudit {
            gauge(
                "rookery_last_audit_timestamp_seconds", "When the last audit finished (Unix time)",
                [("", String(Int(lastAudit.finishedAt.timeIntervalSince1970)))])
            gauge("rookery_last_audit_duration_seconds", "How long the last audit took", [("", String(format: "%.3f", lastAudit.duration))])
        }
        return text
    }
}
