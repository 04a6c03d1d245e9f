import Foundation

/// RFC 3339 in UTC with whole seconds, e.g. "2024-05-01T12:00:00Z": the form every Rookery
/// timestamp takes.
func rfc3339(_ date: Date) -> String {
    let formatter = ISO8601DateFormatter()
    formatter.timeZone = TimeZone(identifier: "UTC")
    return formatter.string(from: date)
}
