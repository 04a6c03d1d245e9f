import Foundation
import RookeryCore

/// How many bits an enrollment token can hold, judged from the characters it is written in; the
/// settings are refused at load while a token holds fewer than 128. A token is a password that
/// accepts devices without an admin, and guessing it offline costs nothing.
///
/// The count is characters × log2 of the smallest alphabet they come from: decimal digits
/// 3.32 bits each, hex digits 4, anything else at most 6 (base64 and its URL-safe form; trailing
/// `=` padding counts nothing). It is the most a token of that length could hold: it cannot tell
/// a random token from `aaaa...`, so make tokens with a random generator.
enum EnrollmentTokenStrength {
    static let minimumBits = 128.0

    static func bits(of token: String) -> Double {
        let characters = token.reversed().drop { $0 == "=" }
        let perCharacter =
            if characters.allSatisfy({ $0.isASCII && $0.isNumber }) {
                log2(10.0)
            } else if characters.allSatisfy(InputValidation.isASCIIHex) {
                4.0
            } else {
                6.0
            }
        return Double(characters.count) * perCharacter
    }

    /// Throws naming the setting (never the token) when `enrollment_tokens` or
    /// `client_enrollment_token` holds a token under 128 bits. An empty client_enrollment_token
    /// is none; an empty entry of enrollment_tokens is a mistake.
    static func check(_ settings: ServerSettings) throws {
        for (index, token) in settings.enrollmentTokens.enumerated() {
            try check(
                token, setting: "enrollment_tokens (entry \(index + 1) of \(settings.enrollmentTokens.count))",
                keys: ["enrollment_tokens", String(index)])
        }
        if !settings.clientEnrollmentToken.isEmpty {
            try check(settings.clientEnrollmentToken, setting: "client_enrollment_token", keys: ["client_enrollment_token"])
        }
    }

    private static func check(_ token: String, setting: String, keys: [String]) throws {
        let bits = bits(of: token)
        guard bits >= minimumBits else {
            throw SettingsError(
                """
                \(setting): a token of at most \(Int(bits)) bits; tokens need \(Int(minimumBits)) or more \
                (32 hex digits, or 22 base64 characters). Make one with `openssl rand -hex 16`
                """, setting: keys)
        }
    }
}
