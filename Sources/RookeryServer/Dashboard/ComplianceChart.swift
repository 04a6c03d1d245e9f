import Foundation

/// A compliance trend as a stacked bar chart, one bar per day: passed, unknown and failed
/// devices. Only numbers and day names reach the template, which writes the SVG elements
/// itself, so nothing in a chart is markup from anywhere else.
public struct ComplianceChart: Encodable, Sendable {
    struct Segment: Encodable, Sendable {
        let kind: String
        let y: Int
        let height: Int
    }
    struct Bar: Encodable, Sendable {
        let x: Int
        let label: String
        let segments: [Segment]
    }

    static let barWidth = 14, gap = 3, plotHeight = 120

    let width: Int
    let height: Int
    let bars: [Bar]
    let firstDay: String
    let lastDay: String
    /// The tallest bar's device count, the scale's top.
    let top: Int

    /// `days` (as the store gave them, oldest first) laid over the `count` days ending `lastDay`.
    init(days: [ComplianceDay], lastDay: Date, count: Int = 30) {
        let calendarDays = (0..<count).reversed().map { ComplianceDay.day(of: lastDay.addingTimeInterval(-86_400 * Double($0))) }
        let byDay = Dictionary(days.map { ($0.day, $0) }, uniquingKeysWith: { $1 })
        let top = max(1, days.map { $0.passed + $0.failed + $0.unknown }.max() ?? 1)
        let step = Self.barWidth + Self.gap
        bars = calendarDays.enumerated().compactMap { index, day in
            guard let tally = byDay[day] else { return nil }
            var y = Self.plotHeight
            let segments = [("passed", tally.passed), ("unknown", tally.unknown), ("failed", tally.failed)].compactMap {
                kind, devices -> Segment? in
                let height = Int((Double(devices) / Double(top) * Double(Self.plotHeight)).rounded())
                guard height > 0 else { return nil }
                y -= height
                return Segment(kind: kind, y: y, height: height)
            }
            return Bar(
                x: index * step,
                label: "\(day): \(tally.passed) passed, \(tally.failed) failed, \(tally.unknown) unknown", segments: segments)
        }
        width = count * step
        height = Self.plotHeight
        firstDay = calendarDays.first ?? ""
        self.lastDay = calendarDays.last ?? ""
        self.top = top
    }
}
