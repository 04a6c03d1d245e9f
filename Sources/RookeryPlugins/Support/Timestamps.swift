import FoundationEssentials

/// RFC 3339 in UTC with whole seconds, e.g. "2024-05-01T12:00:00Z": the form every Rookery
/// timestamp takes. A format style rather than `ISO8601DateFormatter`, which formats through
/// ICU's locale data: the release client is linked without that data (see bin/build-release).
func rfc3339(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(timeZone: TimeZone(identifier: "UTC")!))
}
