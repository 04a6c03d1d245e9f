import Crypto
import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

/// `SecretSealer` with a real secret-keeping key: what leaves the sealer holds no selected value
/// in clear, and equal values keep equal hashes under one device key.
@Suite struct SecretSealerTests {
    let sandbox: Sandbox
    let keyHome: OpenPGP
    let fingerprint: String
    let hashKey = SymmetricKey(size: .bits256)
    let selectors = [try! SecretSelector("plugins.hardware.serial"), try! SecretSelector("plugins.users.logged_in")]

    init() throws {
        sandbox = try Sandbox()
        keyHome = OpenPGP(homeDirectory: sandbox.path + "/k")
        try keyHome.prepareHome()
        fingerprint = try keyHome.generateEncryptionKey(userID: "rookery secret keeping")
    }

    var sealer: SecretSealer {
        let (home, fingerprint) = (keyHome, fingerprint)
        return SecretSealer(selectors: selectors, encrypt: { try home.encrypt($0, to: fingerprint) }, hashKey: hashKey)
    }

    static func document(serial: String, users: [String] = ["alice", "bob"]) -> JSONValue {
        .object([
            "plugins": .object([
                "hardware": .object(["serial": .string(serial), "vendor": .string("Acme")]),
                "users": .object(["logged_in": .array(users.map(JSONValue.string))])
            ])
        ])
    }

    static func secret(_ value: JSONValue?) throws -> SecretValue {
        let value = try #require(value)
        return try #require(SecretValue(value), "not a secret value: \(value)")
    }

    @Test func selectedValuesAreEncryptedAndNothingElseChanges() throws {
        let (sealed, failed) = sealer.seal(Self.document(serial: "SN-4711"))
        #expect(failed.isEmpty)
        let bytes = sealed.serialized()
        // Quoted as JSON writes them: base64 never holds a quote, so a short name cannot turn up in ciphertext by chance.
        for plain in ["SN-4711", "alice", "bob"] {
            #expect(bytes.range(of: Data("\"\(plain)\"".utf8)) == nil, "\(plain) is in the sealed document")
        }
        #expect(sealed["plugins"]?["hardware"]?["vendor"] == .string("Acme"))
        let serial = try Self.secret(sealed["plugins"]?["hardware"]?["serial"])
        let serialMessage = try #require(serial.message)
        #expect(try keyHome.decrypt(serialMessage) == JSONValue.string("SN-4711").serialized())
        let users = try Self.secret(sealed["plugins"]?["users"]?["logged_in"])
        let usersMessage = try #require(users.message)
        #expect(try JSONValue.parse(try keyHome.decrypt(usersMessage)) == .array([.string("alice"), .string("bob")]))
    }

    @Test func equalValuesHaveEqualHashesAndDifferentValuesDifferentOnes() throws {
        let first = sealer.seal(Self.document(serial: "SN-4711")).document
        let again = sealer.seal(Self.document(serial: "SN-4711")).document
        let other = sealer.seal(Self.document(serial: "SN-4712")).document
        let hash = { (document: JSONValue) in SecretValue(document["plugins"]!["hardware"]!["serial"]!)?.hash }
        let message = { (document: JSONValue) in SecretValue(document["plugins"]!["hardware"]!["serial"]!)?.message }
        #expect(hash(first)?.count == 64)
        #expect(hash(first) == hash(again))
        #expect(message(first) != message(again))
        #expect(hash(first) != hash(other))
        // Another device's key gives another hash for the same value: a hash cannot be matched across devices or guessed.
        let otherDevice = SecretSealer(selectors: selectors, encrypt: { $0 }, hashKey: SymmetricKey(size: .bits256))
        #expect(hash(otherDevice.seal(Self.document(serial: "SN-4711")).document) != hash(first))
    }

    @Test func withoutAKeySelectedValuesAreWithheld() throws {
        let withholding = SecretSealer(selectors: selectors, encrypt: nil, hashKey: hashKey)
        let (sealed, failed) = withholding.seal(Self.document(serial: "SN-4711"))
        #expect(failed.isEmpty)
        #expect(sealed["plugins"]?["hardware"]?["serial"] == SecretValue.withheld.json)
        #expect(sealed["plugins"]?["users"]?["logged_in"] == SecretValue.withheld.json)
        #expect(sealed.serialized().range(of: Data("SN-4711".utf8)) == nil)
    }

    @Test func aFailedEncryptionWithholdsThatValueAndNamesItsSelector() throws {
        let failing = SecretSealer(
            selectors: selectors, encrypt: { _ in throw OpenPGPError("encrypt", message: "no key") },
            hashKey: hashKey)
        let (sealed, failed) = failing.seal(Self.document(serial: "SN-4711"))
        #expect(failed == selectors)
        #expect(sealed["plugins"]?["hardware"]?["serial"] == SecretValue.withheld.json)
    }

    @Test func aValueAlreadySealedStaysAsItIs() throws {
        let once = sealer.seal(Self.document(serial: "SN-4711")).document
        let twice = sealer.seal(once).document
        #expect(twice == once)
        let withheld = SecretSealer(selectors: selectors, encrypt: nil, hashKey: nil).seal(Self.document(serial: "x")).document
        #expect(sealer.seal(withheld).document == withheld)
    }

    @Test func pathsMissingFromTheDocumentAreLeftMissing() throws {
        let document: JSONValue = .object(["plugins": .object(["hardware": .object(["vendor": .string("Acme")])])])
        let (sealed, failed) = sealer.seal(document)
        #expect(sealed == document)
        #expect(failed.isEmpty)
    }
}
