import FoundationEssentials

/// RFC 3339 in UTC with whole seconds, e.g. "2024-05-01T12:00:00Z": the form every Rookery
/// timestamp takes. A format style in `.gmt`: the client links FoundationEssentials only, which
/// has no `ISO8601DateFormatter` and no time zones by name (see bin/build-release).
func rfc3339(_ date: Date) -> String {
    date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
}
