import FoundationEssentials
import Glibc

/// The date and time a log line starts with, in the forms backup tools and the scripts around them
/// write: "2024-05-01T02:14:31Z", "2024-05-01 02:14:31.250+02:00", "2024-05-01T02:14:31+0200"
/// (journalctl -o short-iso), "2024/05/01 02:14:31" (rsync --log-file).
///
/// A time without a zone is local time, read in the time zone of the running process: on a device
/// that is the device's own, which is the zone the tool wrote it in. (Zones by name need
/// FoundationInternationalization, which the client does not carry, so the C library converts.)
enum LogTimestamp {
    /// The time at the start of `line` and what follows it; nil unless the line starts with a
    /// complete, valid date and time followed by the end of the line or a space.
    static func leading(_ line: Substring) -> (date: Date, rest: Substring)? {
        var scanner = Scanner(line)
        guard let year = scanner.number(digits: 4), let dateSeparator = scanner.take(oneOf: "-/"),
            let month = scanner.number(digits: 2), scanner.take(oneOf: [dateSeparator]) != nil,
            let day = scanner.number(digits: 2), scanner.take(oneOf: "T ") != nil,
            let hour = scanner.number(digits: 2), scanner.take(oneOf: ":") != nil,
            let minute = scanner.number(digits: 2), scanner.take(oneOf: ":") != nil,
            let second = scanner.number(digits: 2)
        else { return nil }
        if scanner.take(oneOf: ".,") != nil {
            guard scanner.skipDigits() else { return nil }
        }
        let offset = scanner.zoneOffset()
        guard scanner.atEnd || scanner.next == UInt8(ascii: " ") else { return nil }
        let fields = Fields(year: year, month: month, day: day, hour: hour, minute: minute, second: second)
        guard let date = fields.date(offsetFromUTC: offset) else { return nil }
        return (date, scanner.rest)
    }
}

/// A calendar date and time of day, without a zone.
private struct Fields {
    let year, month, day, hour, minute, second: Int

    /// nil for a date that does not exist (February 30th) or is out of range. Seconds of 60 (a leap
    /// second, which some loggers print) count as the next minute.
    func date(offsetFromUTC offset: Int?) -> Date? {
        guard (1970...9999).contains(year), (1...12).contains(month), (1...31).contains(day),
            (0...23).contains(hour), (0...59).contains(minute), (0...60).contains(second)
        else { return nil }
        var time = tm()
        time.tm_year = Int32(year - 1900)
        time.tm_mon = Int32(month - 1)
        time.tm_mday = Int32(day)
        time.tm_hour = Int32(hour)
        time.tm_min = Int32(minute)
        time.tm_sec = Int32(second)
        // Let the C library decide whether summer time applies on that day.
        time.tm_isdst = -1
        let seconds = offset.map { timegm(&time) - time_t($0) } ?? mktime(&time)
        // Both normalize an impossible day into the next month; the day then no longer matches.
        guard seconds != -1, time.tm_mday == Int32(day) || second == 60 else { return nil }
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }
}

/// Reads a line's bytes from the start.
private struct Scanner {
    private let bytes: [UInt8]
    private let line: Substring
    private var index = 0

    init(_ line: Substring) {
        self.line = line
        // A timestamp is short; the rest of a long line is not needed for it.
        bytes = Array(line.utf8.prefix(48))
    }

    var atEnd: Bool { index >= bytes.count }
    var next: UInt8? { atEnd ? nil : bytes[index] }

    /// What follows the part read so far.
    var rest: Substring {
        line[line.utf8.index(line.startIndex, offsetBy: index)...]
    }

    mutating func number(digits: Int) -> Int? {
        guard index + digits <= bytes.count else { return nil }
        var value = 0
        for byte in bytes[index..<index + digits] {
            guard (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) else { return nil }
            value = value * 10 + Int(byte - UInt8(ascii: "0"))
        }
        index += digits
        return value
    }

    /// The next byte, taken when it is one of `characters` (ASCII).
    mutating func take(oneOf characters: String) -> UInt8? {
        take(oneOf: Array(characters.utf8))
    }

    mutating func take(oneOf characters: [UInt8]) -> UInt8? {
        guard let byte = next, characters.contains(byte) else { return nil }
        index += 1
        return byte
    }

    /// One or more digits (a fraction of a second, whose value does not matter here).
    mutating func skipDigits() -> Bool {
        let start = index
        while let byte = next, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte) { index += 1 }
        return index > start
    }

    /// "Z", "+02:00", "+0200" or "-05:00", straight after the time or after one space; seconds east of
    /// UTC. nil, with nothing taken, when no zone follows.
    mutating func zoneOffset() -> Int? {
        let start = index
        if take(oneOf: "Z") != nil { return 0 }
        _ = take(oneOf: " ")
        guard let sign = take(oneOf: "+-"), let hours = number(digits: 2) else {
            index = start
            return nil
        }
        _ = take(oneOf: ":")
        guard let minutes = number(digits: 2), hours <= 14, minutes <= 59 else {
            index = start
            return nil
        }
        let offset = hours * 3600 + minutes * 60
        return sign == UInt8(ascii: "-") ? -offset : offset
    }
}
