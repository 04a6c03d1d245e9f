import Foundation
import RookeryCore

/// When a grace period ends. Wall-clock by default; with a business-hours calendar only working
/// time counts, a day of grace is one working day and an hour is a working hour, so an issue
/// opened on Friday evening with one day's grace is reported on Monday evening, not on Saturday.
public struct GraceClock: Sendable {
    public let calendar: BusinessCalendar?

    public init(calendar: BusinessCalendar? = nil) { self.calendar = calendar }

    public func end(of grace: TimeInterval, from start: Date) -> Date {
        guard grace > 0, let calendar else { return start.addingTimeInterval(grace) }
        let days = (grace / 86_400).rounded(.down)
        return calendar.adding(workingSeconds: days * calendar.workingDayLength + grace - days * 86_400, to: start)
    }
}

/// Working days and hours in one time zone.
public struct BusinessCalendar: Sendable {
    public let timeZone: TimeZone
    /// Weekdays as Foundation numbers them: 1 is Sunday, 7 is Saturday.
    public let workingDays: Set<Int>
    /// Minutes after midnight.
    public let opens: Int, closes: Int

    public var workingDayLength: TimeInterval { TimeInterval((closes - opens) * 60) }

    public init(settings: BusinessHoursSettings) throws {
        guard let zone = TimeZone(identifier: settings.timeZone) else {
            throw SettingsError(
                "audit.business_hours.time_zone \(settings.timeZone) is not a known time zone (like Europe/Berlin)",
                setting: ["audit", "business_hours", "time_zone"])
        }
        let names = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
        var days: Set<Int> = []
        for day in settings.workingDays {
            guard let index = names.firstIndex(of: String(day.lowercased().prefix(3))) else {
                throw SettingsError(
                    "audit.business_hours.working_days: \(day) is not a weekday (mon ... sun)",
                    setting: ["audit", "business_hours", "working_days"])
            }
            days.insert(index + 1)
        }
        let hours = settings.workingHours.split(separator: "-").map { Self.minutes(String($0)) }
        guard !days.isEmpty, hours.count == 2, let opens = hours[0], let closes = hours[1], opens < closes else {
            throw SettingsError(
                "audit.business_hours needs working_days and working_hours like 09:00-17:00",
                setting: ["audit", "business_hours"])
        }
        timeZone = zone
        workingDays = days
        self.opens = opens
        self.closes = closes
    }

    /// `start` moved forward by `seconds` of working time (time outside working hours is skipped).
    func adding(workingSeconds seconds: TimeInterval, to start: Date) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        var left = seconds
        var cursor = start
        // Ten years of days bound the walk even for absurd graces.
        for _ in 0..<3660 {
            let day = calendar.startOfDay(for: cursor)
            if workingDays.contains(calendar.component(.weekday, from: day)),
                let open = Self.time(opens, on: day, in: calendar),
                let close = Self.time(closes, on: day, in: calendar)
            {
                let from = max(cursor, open)
                if from < close {
                    if left <= close.timeIntervalSince(from) { return from.addingTimeInterval(left) }
                    left -= close.timeIntervalSince(from)
                }
            }
            guard let next = calendar.date(byAdding: .day, value: 1, to: day) else { break }
            cursor = next
        }
        return cursor
    }

    /// The local clock time `minutes` after midnight on `day`, also on days when summer time
    /// begins or ends (adding minutes to midnight would be an hour off there); 24:00 is the next
    /// day's midnight.
    private static func time(_ minutes: Int, on day: Date, in calendar: Calendar) -> Date? {
        if minutes >= 1440 { return calendar.date(byAdding: .day, value: 1, to: day) }
        return calendar.date(bySettingHour: minutes / 60, minute: minutes % 60, second: 0, of: day)
    }

    private static func minutes(_ text: String) -> Int? {
        let parts = text.trimmingCharacters(in: .whitespaces).split(separator: ":")
        guard parts.count == 2, let h = Int(parts[0]), let m = Int(parts[1]), (0...24).contains(h), (0..<60).contains(m),
            h * 60 + m <= 1440
        else { return nil }
        return h * 60 + m
    }
}
