import FoundationEssentials

/// RFC 3339 timestamps in UTC with whole seconds, the only form the protocol uses.
public enum RFC3339 {
    /// In `.gmt`, not `TimeZone(identifier: "UTC")`: without FoundationInternationalization (the
    /// client has none) time zones by name do not exist.
    public static func string(from date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(timeZone: .gmt))
    }

    public static func date(from text: String) -> Date? {
        if let d = try? Date.ISO8601FormatStyle().parse(text) { return d }
        return try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }
}
