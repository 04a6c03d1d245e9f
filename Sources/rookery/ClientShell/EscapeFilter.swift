/// Finds `~.` typed at the start of a line, as ssh does: it ends the session instead of reaching the
/// device. `~~` sends one `~`; a `~` followed by anything else is sent as typed.
struct EscapeFilter {
    /// At the start of a line: after Enter, or before anything was typed.
    private var atLineStart = true
    /// A `~` at the start of a line, held back until the next key says what it meant.
    private var pendingTilde = false

    /// The bytes to send for `input`, and whether `~.` was typed (what follows it is dropped).
    mutating func filter(_ input: [UInt8]) -> (send: [UInt8], ended: Bool) {
        var send: [UInt8] = []
        for byte in input {
            if pendingTilde {
                pendingTilde = false
                if byte == UInt8(ascii: ".") { return (send, true) }
                if byte != UInt8(ascii: "~") { send.append(UInt8(ascii: "~")) }
                send.append(byte)
            } else if atLineStart && byte == UInt8(ascii: "~") {
                pendingTilde = true
                continue
            } else {
                send.append(byte)
            }
            atLineStart = byte == UInt8(ascii: "\r") || byte == UInt8(ascii: "\n")
        }
        return (send, false)
    }
}
