extension StringProtocol {
    /// Without the whitespace (spaces, tabs, line ends) at either end. The client links only
    /// FoundationEssentials, which has no `trimmingCharacters(in:)`; RookeryCore has the same for
    /// the targets that link it, which this one does not.
    func trimmingWhitespace() -> String {
        let start = firstIndex { !$0.isWhitespace } ?? endIndex
        let end = lastIndex { !$0.isWhitespace }.map(index(after:)) ?? start
        return String(self[start..<end])
    }
}
