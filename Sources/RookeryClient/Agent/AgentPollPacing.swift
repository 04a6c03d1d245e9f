/// The agent's pause between polls that succeeded. A server answers at once while a shell offer
/// waits for the device's shell_accept, and while it shuts down: without a pause the agent would
/// make back-to-back signed polls until then.
public enum AgentPollPacing {
    /// An answer faster than this that started nothing is followed by a pause.
    public static let quickAnswer: Duration = .seconds(1)
    /// The pause is drawn from this range, so devices answered together do not poll together.
    public static let pauseMilliseconds = 1000...1500

    /// The wait before the next poll, after one that took `took` and started `startedSomething`
    /// (a new shell child or an update): none after a held poll or one that brought new work.
    public static func pause<Random: RandomNumberGenerator>(
        took: Duration, startedSomething: Bool, using random: inout Random
    ) -> Duration {
        guard took < quickAnswer, !startedSomething else { return .zero }
        return .milliseconds(Int.random(in: pauseMilliseconds, using: &random))
    }
}
