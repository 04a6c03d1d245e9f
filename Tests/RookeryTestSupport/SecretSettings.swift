/// A server's settings file holding one of each secret a settings file may hold (an enrollment
/// token, a password hash, the SMTP password), for the tests that check a refused file is named
/// by its place alone and never quoted: the unit tests of the reader and the real binaries.
public enum SecretSettings {
    public static let smtpPassword = "Sm7p-Pa55w0rd-Q9xv"
    /// A real passlib hash, so that the good file is good for the admin commands too.
    public static let passwordHash = "$pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw$L1aYbGjzdoPwxPhGrTdCzJAIXgv98gXX9F7Efjyq3Og"
    public static let token = "enroll-T0ken-8d1f5a77c2b94e0f"
    public static let all = [smtpPassword, passwordHash, token]

    /// The file, eleven lines ending with `lastLine`; `mistake` replaces line `line` (from 1).
    public static func server(lastLine: String, _ line: Int? = nil, _ mistake: String = "") -> String {
        var lines = [
            "listen_host: 127.0.0.1",  // 1
            "listen_port: 0",  // 2
            "enrollment_tokens:",  // 3
            "  - \"\(token)\"",  // 4
            "users:",  // 5
            "  alice: \"\(passwordHash)\"",  // 6
            "audit:",  // 7
            "  smtp:",  // 8
            "    host: mail.example",  // 9
            "    password: \"\(smtpPassword)\"",  // 10
            lastLine  // 11
        ]
        if let line { lines[line - 1] = mistake }
        return lines.joined(separator: "\n") + "\n"
    }
}
