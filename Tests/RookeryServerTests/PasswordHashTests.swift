import Foundation
import Testing

@testable import RookeryServer

/// passlib's pbkdf2_sha256 form, checked against hashes passlib itself wrote.
@Suite struct PasswordHashTests {
    // passlib 1.7: pbkdf2_sha256.hash("hunter2"), and with rounds=1000 and salt bytes 0...15 for "pässwörd".
    static let passlibDefault = "$pbkdf2-sha256$29000$711rDcEYo/Q.xzhnDEFIKQ$yVwR/08OtqqiSwLDuaJO8g2Q6Ws78cu6qfZEtAUtHfY"
    static let passlibUTF8 = "$pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw$L1aYbGjzdoPwxPhGrTdCzJAIXgv98gXX9F7Efjyq3Og"

    @Test func hashesWrittenByPasslibVerify() throws {
        let hash = try #require(PasswordHash(Self.passlibDefault))
        #expect(hash.rounds == 29_000)
        #expect(hash.matches("hunter2"))
        #expect(!hash.matches("hunter3"))
        #expect(!hash.matches(""))
        let utf8 = try #require(PasswordHash(Self.passlibUTF8))
        #expect(utf8.salt == Array(0...15))
        #expect(utf8.matches("pässwörd"))
        #expect(!utf8.matches("passwort"))
    }

    @Test func theStoredFormReadsBackUnchanged() throws {
        #expect(PasswordHash(Self.passlibDefault)?.description == Self.passlibDefault)
        let made = PasswordHash(hashing: "correct horse", rounds: 1000)
        let reread = try #require(PasswordHash(made.description))
        #expect(reread == made)
        #expect(reread.matches("correct horse"))
        #expect(!reread.matches("correct horse "))
        #expect(made.salt.count == 16)
        #expect(PasswordHash(hashing: "correct horse", rounds: 1000).salt != made.salt, "a new salt each time")
    }

    @Test(arguments: [
        "", "hunter2", "$pbkdf2-sha256$29000$711rDcEYo/Q.xzhnDEFIKQ",  // too few fields
        "$pbkdf2-sha512$29000$711rDcEYo/Q.xzhnDEFIKQ$yVwR/08OtqqiSwLDuaJO8g2Q6Ws78cu6qfZEtAUtHfY",
        "$pbkdf2-sha256$0$711rDcEYo/Q.xzhnDEFIKQ$yVwR/08OtqqiSwLDuaJO8g2Q6Ws78cu6qfZEtAUtHfY",
        "$pbkdf2-sha256$99999999999$711rDcEYo/Q.xzhnDEFIKQ$yVwR/08OtqqiSwLDuaJO8g2Q6Ws78cu6qfZEtAUtHfY",
        "$pbkdf2-sha256$29000$$yVwR/08OtqqiSwLDuaJO8g2Q6Ws78cu6qfZEtAUtHfY",  // no salt
        "$pbkdf2-sha256$29000$711rDcEYo/Q.xzhnDEFIKQ$yVwR/08Otqqi",  // short digest
        "$pbkdf2-sha256$29000$711r+cEYo/Q.xzhnDEFIKQ$yVwR/08OtqqiSwLDuaJO8g2Q6Ws78cu6qfZEtAUtHfY",  // + is not passlib's
        "$pbkdf2-sha256$29000$711rDcEYo/Q.xzhnDEFIKQ$yVwR/08OtqqiSwLDuaJO8g2Q6Ws78cu6qfZEtAUtHfY$"
    ])
    func otherTextIsNotAHash(_ text: String) {
        #expect(PasswordHash(text) == nil, "\(text)")
    }
}
