import Foundation
import RookeryCore
import RookeryCurl
import RookeryPlugins
import RookeryTestSupport
import Testing

@testable import RookeryClient

/// A device learns the secret-keeping policy from a signed update answer and encrypts every
/// selected value before a collection reaches its queue. Real gpg keys: the server's signing key,
/// the secret-keeping key (made in its own home, as `enable` does), and the device's own home.
@Suite struct SecretKeepingClientTests {
    let sandbox: Sandbox
    let root: InstallRoot
    let server: OpenPGP, serverKey: String
    let keeper: OpenPGP, keeperKey: String
    let context: ClientContext

    static let device = "0123456789ABCDEF0123456789ABCDEF01234567"
    static let nonce = "00112233445566778899aabbccddeeff"
    static let serialSelector = "plugins.hardware.serial"
    static let serial = "SN-4711-do-not-leak"

    init() throws {
        sandbox = try Sandbox()
        root = InstallRoot(path: try sandbox.directory("r"))
        server = OpenPGP(homeDirectory: sandbox.path + "/s")
        try server.prepareHome()
        serverKey = try server.generateSigningKey(userID: "rookery server")
        try sandbox.write(try server.exportPublicKey(fingerprint: serverKey), to: "r/client/server-key.asc")
        keeper = OpenPGP(homeDirectory: sandbox.path + "/k")
        try keeper.prepareHome()
        keeperKey = try keeper.generateEncryptionKey(userID: "rookery secret keeping")
        try sandbox.write(Self.settings(sandbox: sandbox), to: "r/client/settings.yml")
        try Self.installPlugins(in: sandbox)
        context = try ClientContext(root: root, interactive: false)
    }

    // MARK: - Learning the policy

    @Test func anUpdateCheckKeepsThePolicyAndImportsItsKeyAndALaterOneWithoutItRemovesIt() throws {
        let policy = SecretKeepingPolicy(key: try keeperKeyForAnswer(), selectors: [Self.serialSelector])
        try updateCheck(answering: policy)
        #expect(try SecretKeepingState(context: context).load() == policy)
        #expect(try mode(root.clientSecretKeeping) == 0o600)
        // The device's own GnuPG home now encrypts to the key, and only the keepers can read it.
        let message = try context.openPGP.encrypt(Data("x".utf8), to: keeperKey)
        #expect(try keeper.decrypt(message) == Data("x".utf8))
        // Only the device's own key (made by the update check) is secret there, not the keepers'.
        #expect(try context.openPGP.secretKeyFingerprints().count == 1)
        #expect(try !context.openPGP.secretKeyFingerprints().contains(keeperKey))

        try updateCheck(answering: nil)
        #expect(!FileManager.default.fileExists(atPath: root.clientSecretKeeping))
        #expect(try SecretKeepingState(context: context).load() == nil)
        #expect(try log().contains("no value is selected any more"))
    }

    @Test func anArmoredKeyHoldingMoreThanTheNamedKeyIsRefused() throws {
        let (other, otherKey) = try encryptionKey(home: "o")
        // One armored block (the shape check takes no more) holding both keys.
        let packets =
            try PublicKeyShape.check(armored: try keeper.exportPublicKey(fingerprint: keeperKey))
            + PublicKeyShape.check(armored: try other.exportPublicKey(fingerprint: otherKey))
        let both =
            "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n" + packets.base64EncodedString(options: .lineLength64Characters)
            + "\n-----END PGP PUBLIC KEY BLOCK-----\n"
        let key = SecretKeepingKey(fingerprint: keeperKey, publicKey: both)
        #expect(throws: UpdateRefused.self) { try SecretKeyImport(openPGP: context.openPGP).importChecked(key) }

        try adopt(SecretKeepingPolicy(key: key, selectors: [Self.serialSelector]))
        // The selectors are kept (their values are withheld); the key is not.
        #expect(try SecretKeepingState(context: context).load() == SecretKeepingPolicy(key: nil, selectors: [Self.serialSelector]))
        #expect(try log().contains("not exactly the key \(keeperKey) the answer names"))
    }

    @Test func anArmoredKeyThatIsNotTheNamedKeyIsRefusedEvenWhenTheNamedOneIsAtHand() throws {
        // The named key is still in the device's home from an earlier policy; the answer's armored
        // key is another one. Only the fingerprint check tells them apart.
        try adopt(SecretKeepingPolicy(key: try keeperKeyForAnswer(), selectors: [Self.serialSelector]))
        try adopt(nil)
        let (other, otherKey) = try encryptionKey(home: "o")
        let mislabelled = SecretKeepingKey(fingerprint: keeperKey, publicKey: try other.exportPublicKey(fingerprint: otherKey))
        do {
            try SecretKeyImport(openPGP: context.openPGP).importChecked(mislabelled)
            Issue.record("a key labelled with another key's fingerprint was accepted")
        } catch let refusal as UpdateRefused {
            #expect(refusal.description.contains("holds \(otherKey), not exactly the key \(keeperKey)"), "\(refusal)")
        }
        try adopt(SecretKeepingPolicy(key: mislabelled, selectors: [Self.serialSelector]))
        #expect(try SecretKeepingState(context: context).load()?.key == nil)
    }

    @Test func aKeyThatCannotEncryptIsRefused() throws {
        let signingOnly = OpenPGP(homeDirectory: sandbox.path + "/g")
        try signingOnly.prepareHome()
        let fingerprint = try signingOnly.generateSigningKey(userID: "signs only")
        let key = SecretKeepingKey(fingerprint: fingerprint, publicKey: try signingOnly.exportPublicKey(fingerprint: fingerprint))
        do {
            try SecretKeyImport(openPGP: context.openPGP).importChecked(key)
            Issue.record("a key that cannot encrypt was accepted")
        } catch let refusal as UpdateRefused {
            #expect(refusal.description.contains("gpg cannot encrypt to key \(fingerprint)"), "\(refusal)")
        }
        try adopt(SecretKeepingPolicy(key: key, selectors: [Self.serialSelector]))
        #expect(try SecretKeepingState(context: context).load()?.key == nil)
    }

    // MARK: - Collections

    @Test func aSelectedValueIsQueuedEncryptedWithAStableHash() throws {
        try adopt(SecretKeepingPolicy(key: try keeperKeyForAnswer(), selectors: [Self.serialSelector]))
        try setSerial(Self.serial)
        let first = try collect(at: Date(timeIntervalSince1970: 1_800_000_000))
        // A restart: a new context reads the stored policy and hash key again.
        let again = try collect(
            at: Date(timeIntervalSince1970: 1_800_000_300),
            with: try ClientContext(root: root, interactive: false))

        let queued = try queueBytes()
        #expect(queued.count == 2)
        for bytes in queued {
            #expect(bytes.range(of: Data(Self.serial.utf8)) == nil, "the serial is in the queue in clear")
        }
        let sealedFirst = try sealedSerial(in: first)
        let sealedAgain = try sealedSerial(in: again)
        // Other values go as they were.
        #expect(first["plugins"]?["hardware"]?["vendor"] == .string("Acme"))

        // The keepers, holding the exported secret key, read the value's JSON.
        let keepers = OpenPGP(homeDirectory: sandbox.path + "/x")
        try keepers.prepareHome()
        try keepers.importKeys(try keeper.exportSecretKey(fingerprint: keeperKey))
        for message in [try #require(sealedFirst.message), try #require(sealedAgain.message)] {
            #expect(try keepers.decrypt(message) == JSONValue.string(Self.serial).serialized())
        }

        #expect(sealedFirst.message != sealedAgain.message)
        #expect(sealedFirst.hash != nil && sealedFirst.hash == sealedAgain.hash)
        try setSerial("SN-4712")
        let changed = try collect(at: Date(timeIntervalSince1970: 1_800_000_600))
        #expect(try sealedSerial(in: changed).hash != sealedFirst.hash)
    }

    @Test func theHashKeyIsPrivateToTheDeviceAndNeverQueued() throws {
        try adopt(SecretKeepingPolicy(key: try keeperKeyForAnswer(), selectors: [Self.serialSelector]))
        try setSerial(Self.serial)
        try collect(at: Date(timeIntervalSince1970: 1_800_000_000))
        let hashKey = try Data(contentsOf: URL(fileURLWithPath: root.clientSecretHashKey))
        #expect(hashKey.count == 32)
        #expect(try mode(root.clientSecretHashKey) == 0o600)
        let hex = hashKey.map { String(format: "%02x", $0) }.joined()
        for bytes in try queueBytes() {
            for form in [hashKey, Data(hex.utf8), Data(hashKey.base64EncodedString().utf8)] {
                #expect(bytes.range(of: form) == nil)
            }
        }
        #expect(try !log().contains(hex))
    }

    @Test func withSelectorsButNoKeyTheValueIsWithheld() throws {
        try adopt(SecretKeepingPolicy(key: nil, selectors: [Self.serialSelector]))
        try setSerial(Self.serial)
        let queued = try collect(at: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(queued["plugins"]?["hardware"]?["serial"] == SecretValue.withheld.json)
        #expect(try queueBytes().allSatisfy { $0.range(of: Data(Self.serial.utf8)) == nil })
        // Nothing was hashed, so no hash key was needed.
        #expect(!FileManager.default.fileExists(atPath: root.clientSecretHashKey))
    }

    @Test func withoutAPolicyTheCollectionIsUnchanged() throws {
        try setSerial(Self.serial)
        let queued = try collect(at: Date(timeIntervalSince1970: 1_800_000_000))
        #expect(queued["plugins"]?["hardware"]?["serial"] == .string(Self.serial))
        #expect(!FileManager.default.fileExists(atPath: root.clientSecretHashKey))
    }

    @Test func aDamagedPolicyFileStopsTheCollectionRatherThanSendTheValueInClear() throws {
        try sandbox.write("{\"selectors\": [", to: "r/var/client/secret-keeping.json")
        try setSerial(Self.serial)
        try sandbox.write("#!/bin/sh\ntouch '\(sandbox.path)/plugins-ran'\necho '{}'\n", to: "r/client/plugins/marker.sh", mode: 0o755)
        #expect(throws: DamagedFile.self) { try Collector(context: context).collect() }
        #expect(try queueBytes().isEmpty)
        // Stopped before anything ran: plugins and one-time commands are not run for nothing.
        #expect(!FileManager.default.fileExists(atPath: sandbox.path + "/plugins-ran"))
    }

    // MARK: - Helpers

    /// Every built-in plugin is replaced by a stub (the test binary is no `rookery-client`), and
    /// `hardware` reports the serial the test wrote.
    static func installPlugins(in sandbox: Sandbox) throws {
        for name in BuiltinPlugins.names {
            try sandbox.write("#!/bin/sh\necho '{}'\n", to: "r/client/plugins/\(name).sh", mode: 0o755)
        }
        try sandbox.write(
            "#!/bin/sh\nprintf '{\"serial\": \"%s\", \"vendor\": \"Acme\"}' \"$(cat '\(sandbox.path)/serial')\"\n",
            to: "r/client/plugins/hardware.sh", mode: 0o755)
    }

    func setSerial(_ serial: String) throws { try sandbox.write(serial, to: "serial") }

    func keeperKeyForAnswer() throws -> SecretKeepingKey {
        SecretKeepingKey(fingerprint: keeperKey, publicKey: try keeper.exportPublicKey(fingerprint: keeperKey))
    }

    func encryptionKey(home: String) throws -> (OpenPGP, String) {
        let openPGP = OpenPGP(homeDirectory: sandbox.path + "/" + home)
        try openPGP.prepareHome()
        return (openPGP, try openPGP.generateEncryptionKey(userID: "another key"))
    }

    /// A whole update check by `Updater`, over HTTP, against a stand-in server that signs an
    /// answer to the request's nonce and key carrying `policy`.
    func updateCheck(answering policy: SecretKeepingPolicy?) throws {
        let (server, serverKey) = (self.server, self.serverKey)
        let receiver = try HTTPReceiver { request in
            guard let fields = try? JSONValue.parse(request.body),
                let nonce = fields["nonce"]?.stringValue, let key = fields["key"]?.stringValue,
                let body = try? UpdateAnswer(nonce: nonce, key: key, release: nil, patches: [], secretKeeping: policy).encoded(),
                let signature = try? server.sign(body, fingerprint: serverKey)
            else { return ReceiverReply(status: 500) }
            return ReceiverReply(
                status: 200,
                headers: [
                    "content-type": "application/json",
                    "rookery-signature": signature.base64EncodedString()
                ], body: body)
        }
        try sandbox.write(Self.settings(sandbox: sandbox, serverURL: "http://127.0.0.1:\(receiver.port)"), to: "r/client/settings.yml")
        _ = try Updater(context: try ClientContext(root: root, interactive: false)).run()
        #expect(receiver.requests.map(\.path) == ["/rookery/v1/update"])
    }

    static func settings(sandbox: Sandbox, serverURL: String = "http://127.0.0.1:9") -> String {
        "server_url: \"\(serverURL)\"\nhostname: \"device-1\"\nsystem_root: \"\(sandbox.path)/sys\"\nplugin_timeout: 10\n"
    }

    /// What the Updater does with an answer: checks the server's signature, then takes on its policy.
    func adopt(_ policy: SecretKeepingPolicy?) throws {
        let answer = UpdateAnswer(nonce: Self.nonce, key: Self.device, release: nil, patches: [], secretKeeping: policy)
        let body = try answer.encoded()
        let reply = HTTPReply(
            status: 200, body: body,
            headers: [
                "content-type": "application/json",
                "rookery-signature": try server.sign(body, fingerprint: serverKey).base64EncodedString()
            ])
        let checked = try Updater.checkedAnswer(
            reply, nonce: Self.nonce, fingerprint: Self.device,
            pinnedKey: PinnedServerKey(root: root))
        try SecretKeepingState(context: context).adopt(checked.secretKeeping)
    }

    /// Collects and returns the queued document as parsed from its file.
    @discardableResult
    func collect(at date: Date, with context: ClientContext? = nil) throws -> JSONValue {
        let name = try Collector(context: context ?? self.context).collect(now: date)
        return try JSONValue.parse(try Data(contentsOf: URL(fileURLWithPath: try queuedPath(name))))
    }

    func sealedSerial(in document: JSONValue) throws -> SecretValue {
        let value = try #require(document["plugins"]?["hardware"]?["serial"])
        return try #require(SecretValue(value), "not a secret value: \(value)")
    }

    func queuedPath(_ name: String) throws -> String {
        try #require(try context.queue().items(now: Date(timeIntervalSince1970: 1_800_000_000)).first { $0.id == name }).path
    }

    func queueBytes() throws -> [Data] {
        try context.queue().items(now: Date(timeIntervalSince1970: 1_800_000_000)).map {
            try Data(contentsOf: URL(fileURLWithPath: $0.path))
        }
    }

    func log() throws -> String {
        try String(contentsOfFile: root.clientState + "/client.log", encoding: .utf8)
    }

    func mode(_ path: String) throws -> Int {
        try #require(FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) & 0o777
    }
}
