/// How long the agent waits before polling again after a failure: 1 s, doubling to 60 s, each
/// wait drawn between half and all of that, so devices cut off together do not return together.
public struct AgentBackoff: Sendable {
    public static let firstSeconds = 1
    public static let ceilingSeconds = 60
    /// Failures in a row since the last answer.
    public private(set) var failures = 0

    public init() {}

    /// The unjittered wait after `failures` failures before this one.
    public static func ceiling(after failures: Int) -> Int {
        min(ceilingSeconds, firstSeconds << min(failures, 6))
    }

    /// The wait after one more failure.
    public mutating func next<Random: RandomNumberGenerator>(using random: inout Random) -> Duration {
        let milliseconds = Self.ceiling(after: failures) * 1000
        failures += 1
        return .milliseconds(Int.random(in: milliseconds / 2...milliseconds, using: &random))
    }

    /// An answer came: the next failure waits the first wait again.
    public mutating func reset() { failures = 0 }
}
