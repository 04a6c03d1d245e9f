import Foundation
import RookeryCore
import Testing

/// `LogText.escaped`: text from a device or a stranger cannot forge a log line, drive a terminal
/// or reorder what a reader sees, and is cut to its limit.
@Suite struct LogTextTests {
    @Test func plainTextIsUnchanged() {
        #expect(LogText.escaped("web-1.example.org") == "web-1.example.org")
        #expect(LogText.escaped("ünïcödé 日本 😀 tab-free") == "ünïcödé 日本 😀 tab-free")
        #expect(LogText.escaped("") == "")
    }

    @Test func newlinesCannotForgeALine() {
        let forged = "web-1\n2026-01-01 INFO accepted device evil"
        let escaped = LogText.escaped(forged)
        #expect(escaped == "web-1\\u{a}2026-01-01 INFO accepted device evil")
        #expect(!escaped.contains("\n"))
        #expect(LogText.escaped("a\r\nb") == "a\\u{d}\\u{a}b")
        #expect(LogText.escaped("a\rb") == "a\\u{d}b")
        // Other line breaks: NEL, U+2028, U+2029, vertical tab, form feed.
        #expect(LogText.escaped("a\u{85}b") == "a\\u{85}b")
        #expect(LogText.escaped("a\u{2028}b") == "a\\u{2028}b")
        #expect(LogText.escaped("a\u{2029}b") == "a\\u{2029}b")
        #expect(LogText.escaped("a\u{0B}b\u{0C}c") == "a\\u{b}b\\u{c}c")
    }

    @Test func terminalEscapesAreEscaped() {
        let escaped = LogText.escaped("\u{1B}[2J\u{1B}]0;title\u{07}red\u{1B}[31m")
        #expect(escaped == "\\u{1b}[2J\\u{1b}]0;title\\u{7}red\\u{1b}[31m")
        #expect(!escaped.unicodeScalars.contains { $0.value < 0x20 || (0x7F...0x9F).contains($0.value) })
        #expect(LogText.escaped("\u{9B}31m") == "\\u{9b}31m")  // the 8-bit CSI
        #expect(LogText.escaped("a\u{0}b\u{7F}") == "a\\u{0}b\\u{7f}")
        #expect(LogText.escaped("tab\there") == "tab\\u{9}here")
    }

    @Test func bidiAndInvisibleFormattingAreEscaped() {
        // A right-to-left override would show "exe.txt" as "txt.exe" to whoever reads the log.
        #expect(LogText.escaped("evil\u{202E}txt.exe") == "evil\\u{202e}txt.exe")
        for scalar: UInt32 in [0x200B, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C, 0x202D, 0x2066, 0x2067, 0x2068, 0x2069, 0xFEFF] {
            let text = "a" + String(UnicodeScalar(scalar)!) + "b"
            #expect(LogText.escaped(text) == "a\\u{\(String(scalar, radix: 16))}b")
        }
    }

    @Test func truncatesWithEllipsis() {
        let atLimit = String(repeating: "x", count: 300)
        #expect(LogText.escaped(atLimit) == atLimit)
        #expect(LogText.escaped(atLimit + "y") == atLimit + "...")
        #expect(LogText.escaped(String(repeating: "x", count: 1_000_000)) == atLimit + "...")
        #expect(LogText.escaped("abcdef", limit: 3) == "abc...")
        #expect(LogText.escaped("abc", limit: 3) == "abc")
        // Counted in input scalars, before escaping; escapes are never cut in half.
        #expect(LogText.escaped("\n\n\n\n", limit: 2) == "\\u{a}\\u{a}...")
        #expect(LogText.escaped("😀😀😀", limit: 2) == "😀😀...")
        // A flood of escapes stays bounded: at most 300 escapes of at most 10 characters.
        let flood = LogText.escaped(String(repeating: "\u{202E}", count: 100_000))
        #expect(flood.count <= 300 * 10 + 3)
        #expect(flood.hasSuffix("..."))
    }
}
