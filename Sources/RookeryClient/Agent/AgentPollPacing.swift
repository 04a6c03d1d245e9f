/// The agent's pause between polls that succeeded. A server answers at once while a shell offer
/// waits for the device's shell_accept (the shell-session child just started answers it within a
/// fraction of a second), and while it shuts down: without a pause the agent would make
/// back-to-back signed polls until then. The pause starts short (about 100 ms), so an admin who
/// opens a second session right after the first still gets a prompt at once, and doubles with
/// each quick answer in a row to a second or more; every pause is jittered.
public struct AgentPollPacing {
    /// An answer faster than this that started nothing is followed by a pause.
    public static let quickAnswer: Duration = .seconds(1)
    /// The first pause after a quick answer (jittered by half either way); each further one in a
    /// row doubles it.
    public static let firstPauseMilliseconds = 100
    /// Where the doubling stops: a pause drawn from this range, so devices answered together do
    /// not poll together.
    public static let longPauseMilliseconds = 1000...1500

    /// Quick answers that started nothing, in a row.
    private var quickInARow = 0

    public init() {}

    /// The wait before the next poll, after one that took `took` and started `startedSomething`
    /// (a new shell child or an update): none after a held poll or one that brought new work.
    public mutating func pause<Random: RandomNumberGenerator>(
        took: Duration, startedSomething: Bool, using random: inout Random
    ) -> Duration {
        guard took < Self.quickAnswer, !startedSomething else {
            quickInARow = 0
            return .zero
        }
        quickInARow += 1
        let doubled = Self.firstPauseMilliseconds << min(quickInARow - 1, 8)
        guard doubled < Self.longPauseMilliseconds.lowerBound else {
            return .milliseconds(Int.random(in: Self.longPauseMilliseconds, using: &random))
        }
        // Jittered by half either way: a server that answers every poll at once (shutting down)
        // must not have the whole fleet come back in step.
        return .milliseconds(Int.random(in: (doubled / 2)...(doubled * 3 / 2), using: &random))
    }
}
