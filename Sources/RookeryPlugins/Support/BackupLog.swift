import FoundationEssentials

/// A backup tool whose log the backup plugin reads, and what in that log says a backup succeeded.
///
/// None of these tools keeps a log of its own by default; the paths are where a backup script
/// usually sends one (`restic backup ... >> /var/log/restic.log 2>&1`, `rsync --log-file=...`).
enum BackupLog: String, CaseIterable {
    case restic
    case borg
    case rsync

    var path: String { "/var/log/\(rawValue).log" }

    /// What a log says about its last successful backup.
    enum LastSuccess: Equatable {
        case at(Date)
        /// A success line without a time of its own, followed by other lines: it happened before the
        /// file was last written, but how long before cannot be told.
        case untimed
        case none
    }

    /// The last success in `text` (the end of the log). A success line with a time of its own gives
    /// that time; one without gives the file's modification time only when it is the last line,
    /// since only then was it the last thing written. The newest time found wins.
    func lastSuccess(in text: String, modified: Date) -> LastSuccess {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        let successes = self.successes(in: lines)
        let lastLine = lines.lastIndex { !$0.allSatisfy(\.isWhitespace) }
        let times = successes.compactMap { success in
            success.time ?? (success.line == lastLine ? modified : nil)
        }
        if let newest = times.max() { return .at(newest) }
        return successes.isEmpty ? .none : .untimed
    }

    /// A line saying a backup succeeded, and the time it gives, if any.
    private struct Success {
        let line: Int
        let time: Date?
    }

    private func successes(in lines: [Substring]) -> [Success] {
        switch self {
        case .restic: return Self.resticSuccesses(lines)
        case .borg: return Self.borgSuccesses(lines)
        case .rsync: return Self.rsyncSuccesses(lines)
        }
    }

    // MARK: restic

    /// `restic backup` ends a run that saved a snapshot with "snapshot 1a2b3c4d saved" (the short
    /// id: 8 hex digits; a full one has 64). restic prints no times; a script may put one in front.
    private static func resticSuccesses(_ lines: [Substring]) -> [Success] {
        lines.indices.compactMap { index in
            let words = lines[index].split(whereSeparator: \.isWhitespace)
            guard words.count >= 3, words[words.count - 1] == "saved", words[words.count - 3] == "snapshot",
                (8...64).contains(words[words.count - 2].count), words[words.count - 2].allSatisfy({ $0.isASCII && $0.isHexDigit })
            else { return nil }
            return Success(line: index, time: LogTimestamp.leading(lines[index])?.date)
        }
    }

    // MARK: borg

    /// `borg create --stats` prints, once the archive is committed, a block with "Archive name: ..."
    /// and later "Time (end): Wed, 2024-05-01 02:14:31" (local time); only a "Time (end)" after an
    /// "Archive name" counts. `--show-rc` ends a run with "terminating with success status, rc 0",
    /// which has no time of its own unless a script put one in front. A warning status (rc 1) is not
    /// a success.
    private static func borgSuccesses(_ lines: [Substring]) -> [Success] {
        var successes: [Success] = []
        var inArchiveBlock = false
        for (index, line) in lines.enumerated() {
            if line.firstRange(of: "Archive name:") != nil {
                inArchiveBlock = true
            } else if let label = line.firstRange(of: "Time (end):") {
                if inArchiveBlock, let time = borgTime(line[label.upperBound...]) {
                    successes.append(Success(line: index, time: time))
                }
                inArchiveBlock = false
            } else if line.firstRange(of: "terminating with success status") != nil {
                successes.append(Success(line: index, time: LogTimestamp.leading(line)?.date))
            }
        }
        return successes
    }

    /// " Wed, 2024-05-01 02:14:31": a weekday name, then the date and time.
    private static func borgTime(_ text: Substring) -> Date? {
        var rest = text.drop(while: \.isWhitespace)
        if let comma = rest.prefix(4).firstIndex(of: ","), rest[..<comma].allSatisfy(\.isLetter) {
            rest = rest[rest.index(after: comma)...].drop(while: \.isWhitespace)
        }
        return LogTimestamp.leading(rest)?.date
    }

    // MARK: rsync

    /// `rsync --log-file=FILE` writes "2024/05/01 02:14:31 [4242] MESSAGE" (local time, then the
    /// process id). A run that ends ends with a summary, "sent 1,234 bytes  received 56 bytes  total
    /// size 7,890" (or "... bytes/sec" with -v or --stats). A sending rsync writes that summary even
    /// when it fails, and then "rsync error: ..." from the same process: such a summary is not a
    /// success. "rsync warning:" (files that vanished while being copied) does not undo it.
    private static func rsyncSuccesses(_ lines: [Substring]) -> [Success] {
        var successes: [Success?] = []
        var summaryOfProcess: [Substring: Int] = [:]
        for (index, line) in lines.enumerated() {
            guard let (time, rest) = LogTimestamp.leading(line), let (process, message) = rsyncMessage(rest) else {
                continue
            }
            if message.hasPrefix("sent "), message.firstRange(of: " bytes  received ") != nil {
                summaryOfProcess[process] = successes.count
                successes.append(Success(line: index, time: time))
            } else if message.hasPrefix("rsync error:"), let summary = summaryOfProcess.removeValue(forKey: process) {
                successes[summary] = nil
            }
        }
        return successes.compactMap { $0 }
    }

    /// " [4242] sent ..." is the process id "4242" and the message "sent ...".
    private static func rsyncMessage(_ text: Substring) -> (process: Substring, message: Substring)? {
        guard text.hasPrefix(" ["), let close = text.firstIndex(of: "]") else { return nil }
        let process = text[text.index(text.startIndex, offsetBy: 2)..<close]
        guard !process.isEmpty, process.allSatisfy(\.isASCII), process.allSatisfy(\.isNumber) else { return nil }
        return (process, text[text.index(after: close)...].drop(while: { $0 == " " }))
    }
}
