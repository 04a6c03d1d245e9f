import Foundation
import RookeryCore
import Testing

@testable import RookeryServer

/// Grace periods in wall-clock time, and in working time with a business calendar.
@Suite struct GraceClockTests {
    static let hour: TimeInterval = 3600
    static let day: TimeInterval = 86_400

    /// A local time in `zone`; June 2025: Friday the 13th, Saturday 14th, Monday 16th.
    static func local(
        _ year: Int, _ month: Int, _ day: Int, _ hour: Int, _ minute: Int = 0,
        zone: String = "Europe/Berlin"
    ) -> Date {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone)!
        return calendar.date(from: DateComponents(year: year, month: month, day: day, hour: hour, minute: minute))!
    }

    static func berlinClock(
        days: [String] = ["mon", "tue", "wed", "thu", "fri"],
        hours: String = "09:00-17:00"
    ) throws -> GraceClock {
        GraceClock(
            calendar: try BusinessCalendar(
                settings: BusinessHoursSettings(
                    timeZone: "Europe/Berlin", workingDays: days, workingHours: hours)))
    }

    @Test func fixturesAreTheWeekdaysTheyClaim() {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "Europe/Berlin")!
        #expect(calendar.component(.weekday, from: Self.local(2025, 6, 13, 16)) == 6)  // Friday
        #expect(calendar.component(.weekday, from: Self.local(2025, 6, 14, 11)) == 7)  // Saturday
        #expect(calendar.component(.weekday, from: Self.local(2025, 6, 16, 9)) == 2)  // Monday
        // 16:00 in Berlin summer time is 14:00 UTC.
        #expect(Self.local(2025, 6, 13, 16) == Date(timeIntervalSince1970: 1_749_823_200))
    }

    // MARK: - Wall clock

    @Test func wallClockAddsTheGraceAsIs() {
        let clock = GraceClock()
        let friday = Self.local(2025, 6, 13, 16)
        #expect(clock.calendar == nil)
        #expect(clock.end(of: 0, from: friday) == friday)
        #expect(clock.end(of: 2 * Self.hour, from: friday) == friday.addingTimeInterval(7200))
        // A day of wall-clock grace from Friday evening ends on Saturday.
        #expect(clock.end(of: Self.day, from: friday) == Self.local(2025, 6, 14, 16))
        #expect(clock.end(of: 7 * Self.day, from: friday) == friday.addingTimeInterval(604_800))
    }

    // MARK: - Business calendar

    @Test func settingsBecomeACalendar() throws {
        let calendar = try BusinessCalendar(
            settings: BusinessHoursSettings(
                timeZone: "Europe/Berlin", workingDays: ["Monday", "TUE", "wed", "thu", "fri"], workingHours: "09:00-17:00"))
        #expect(calendar.timeZone.identifier == "Europe/Berlin")
        #expect(calendar.workingDays == [2, 3, 4, 5, 6])
        #expect(calendar.opens == 9 * 60)
        #expect(calendar.closes == 17 * 60)
        #expect(calendar.workingDayLength == 8 * Self.hour)
        let weekend = try BusinessCalendar(
            settings: BusinessHoursSettings(
                timeZone: "UTC", workingDays: ["sat", "sun"], workingHours: " 08:30 - 12:15 "))
        #expect(weekend.workingDays == [7, 1])
        #expect(weekend.opens == 8 * 60 + 30)
        #expect(weekend.closes == 12 * 60 + 15)
    }

    @Test func aDayOfGraceFromFridayAfternoonEndsMondayAfternoon() throws {
        let clock = try Self.berlinClock()
        #expect(clock.end(of: Self.day, from: Self.local(2025, 6, 13, 16)) == Self.local(2025, 6, 16, 16))
    }

    @Test func twoHoursFromHalfPastFourEndNextWorkingMorning() throws {
        let clock = try Self.berlinClock()
        // Tuesday 16:30 -> Wednesday 10:30.
        #expect(clock.end(of: 2 * Self.hour, from: Self.local(2025, 6, 17, 16, 30)) == Self.local(2025, 6, 18, 10, 30))
        // Friday 16:30 -> Monday 10:30.
        #expect(clock.end(of: 2 * Self.hour, from: Self.local(2025, 6, 13, 16, 30)) == Self.local(2025, 6, 16, 10, 30))
    }

    @Test func openedOnSaturdayStartsCountingMondayMorning() throws {
        let clock = try Self.berlinClock()
        let saturday = Self.local(2025, 6, 14, 11)
        #expect(clock.end(of: Self.hour, from: saturday) == Self.local(2025, 6, 16, 10))
        #expect(clock.end(of: 30 * 60, from: Self.local(2025, 6, 15, 23, 59)) == Self.local(2025, 6, 16, 9, 30))
        // A whole working day: Monday until closing.
        let end = clock.end(of: Self.day, from: saturday)
        #expect(end >= Self.local(2025, 6, 16, 17) && end <= Self.local(2025, 6, 17, 9))
    }

    @Test func timeBeforeOpeningAndAfterClosingDoesNotCount() throws {
        let clock = try Self.berlinClock()
        // Tuesday 07:00 + 1h -> Tuesday 10:00.
        #expect(clock.end(of: Self.hour, from: Self.local(2025, 6, 17, 7)) == Self.local(2025, 6, 17, 10))
        // Tuesday 20:00 + 1h -> Wednesday 10:00.
        #expect(clock.end(of: Self.hour, from: Self.local(2025, 6, 17, 20)) == Self.local(2025, 6, 18, 10))
        // Within the day it is plain addition.
        #expect(clock.end(of: 90 * 60, from: Self.local(2025, 6, 17, 10)) == Self.local(2025, 6, 17, 11, 30))
    }

    @Test func longerGracesCountWorkingDaysAndHours() throws {
        let clock = try Self.berlinClock()
        // 7 working days from Monday 10:00 -> Wednesday of the next week, 10:00.
        #expect(clock.end(of: 7 * Self.day, from: Self.local(2025, 6, 16, 10)) == Self.local(2025, 6, 25, 10))
        // 1d12h is one working day plus twelve working hours: 20 working hours from Monday 09:00.
        #expect(clock.end(of: Self.day + 12 * Self.hour, from: Self.local(2025, 6, 16, 9)) == Self.local(2025, 6, 18, 13))
        // 2w is 14 days, so 14 working days (not ten): a day of grace is a working day.
        #expect(clock.end(of: 14 * Self.day, from: Self.local(2025, 6, 16, 9)) == Self.local(2025, 7, 3, 17))
    }

    @Test func zeroGraceReturnsTheStartEvenOutsideWorkingHours() throws {
        let clock = try Self.berlinClock()
        for start in [Self.local(2025, 6, 14, 3), Self.local(2025, 6, 17, 12), Self.local(2025, 6, 17, 22)] {
            #expect(clock.end(of: 0, from: start) == start)
        }
    }

    @Test func theCalendarsTimeZoneDecides() throws {
        let utc = GraceClock(calendar: try BusinessCalendar(settings: BusinessHoursSettings(timeZone: "UTC")))
        // 16:30 in Berlin is 14:30 UTC: two working hours in UTC end at 16:30 UTC the same day.
        let start = Self.local(2025, 6, 17, 16, 30)
        #expect(utc.end(of: 2 * Self.hour, from: start) == Self.local(2025, 6, 17, 16, 30, zone: "UTC"))
        #expect(try Self.berlinClock().end(of: 2 * Self.hour, from: start) == Self.local(2025, 6, 18, 10, 30))
    }

    /// Working hours are local clock times, also on the day summer time begins (Sunday 30 March 2025
    /// in Berlin: 02:00 becomes 03:00).
    @Test func workingHoursFollowTheLocalClockAcrossDaylightSaving() throws {
        let everyDay = try Self.berlinClock(days: ["mon", "tue", "wed", "thu", "fri", "sat", "sun"])
        // Saturday 16:00 + 2h: one hour on Saturday, the second from 09:00 on Sunday.
        #expect(everyDay.end(of: 2 * Self.hour, from: Self.local(2025, 3, 29, 16)) == Self.local(2025, 3, 30, 10))
        // Closing is 17:00 local on Sunday too: 8 hours from 09:00 end at 17:00.
        #expect(everyDay.end(of: 8 * Self.hour, from: Self.local(2025, 3, 30, 8)) == Self.local(2025, 3, 30, 17))
        // And when summer time ends (Sunday 26 October 2025).
        #expect(everyDay.end(of: Self.hour, from: Self.local(2025, 10, 26, 6)) == Self.local(2025, 10, 26, 10))
    }

    // MARK: - Invalid settings

    @Test(arguments: [
        BusinessHoursSettings(timeZone: "Mars/Olympus_Mons"),
        BusinessHoursSettings(timeZone: "Europe/Berlin", workingDays: ["mon", "funday"]),
        BusinessHoursSettings(timeZone: "Europe/Berlin", workingDays: []),
        BusinessHoursSettings(timeZone: "Europe/Berlin", workingHours: "17:00-09:00"),
        BusinessHoursSettings(timeZone: "Europe/Berlin", workingHours: "09:00-09:00"),
        BusinessHoursSettings(timeZone: "Europe/Berlin", workingHours: "9-17"),
        BusinessHoursSettings(timeZone: "Europe/Berlin", workingHours: "09:00"),
        BusinessHoursSettings(timeZone: "Europe/Berlin", workingHours: "09:00-25:00"),
        BusinessHoursSettings(timeZone: "Europe/Berlin", workingHours: "09:60-17:00"),
        BusinessHoursSettings(timeZone: "Europe/Berlin", workingHours: "nine-five")
    ])
    func invalidSettingsThrow(_ settings: BusinessHoursSettings) {
        #expect(throws: SettingsError.self) { try BusinessCalendar(settings: settings) }
    }

    @Test func settingsErrorsSayWhatIsWrong() {
        func message(_ settings: BusinessHoursSettings) -> String {
            do {
                _ = try BusinessCalendar(settings: settings)
                return "accepted"
            } catch {
                return "\(error)"
            }
        }
        #expect(message(BusinessHoursSettings(timeZone: "Mars/Olympus_Mons")).contains("Mars/Olympus_Mons"))
        #expect(message(BusinessHoursSettings(timeZone: "UTC", workingDays: ["funday"])).contains("funday"))
        #expect(message(BusinessHoursSettings(timeZone: "UTC", workingHours: "17:00-09:00")).contains("working_hours"))
    }

    @Test func aWholeDayIsAllowed() throws {
        let calendar = try BusinessCalendar(settings: BusinessHoursSettings(timeZone: "UTC", workingHours: "00:00-24:00"))
        #expect(calendar.workingDayLength == Self.day)
    }
}
