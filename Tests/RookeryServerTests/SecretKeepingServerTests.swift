import Foundation
import HummingbirdTesting
import RookeryCore
import Testing

@testable import RookeryServer

/// The server's half of secret keeping over real HTTP on 127.0.0.1: what update answers tell
/// devices, and what a submission may store at a selected path.
@Suite struct SecretKeepingServerTests {
    let sandbox: Sandbox
    let context: ServerContext
    let alice: TestDevice
    let admin: SecretKeepingAdmin
    let serial = try! SecretSelector("plugins.inventory.serial")

    init() async throws {
        sandbox = try Sandbox()
        context = try await makeServerContext(sandbox)
        alice = try TestDevice(sandbox, name: "alice")
        admin = SecretKeepingAdmin(
            store: context.store, who: AdminOperator(user: "tester", sudoUser: nil),
            temporaryBase: try sandbox.directory("keytmp"))
    }

    func policy(_ client: some TestClientProtocol) async throws -> SecretKeepingPolicy? {
        let response = try await post(client, try alice.sign(.update, ["release": .integer(0)]))
        #expect(response.status == .ok)
        return try JSONDecoder().decode(UpdateAnswer.self, from: Data(buffer: response.body)).secretKeeping
    }

    func submit(_ client: some TestClientProtocol, inventory: [String: JSONValue]) async throws {
        let response = try await post(client, try alice.sign(.submit, TestDevice.submitFields(plugins: ["inventory": .object(inventory)])))
        #expect(response.status == .ok)
    }

    @Test func updateAnswersCarryTheSelectorsAndTheKeyOnlyWhileEnabled() async throws {
        try await withServer(context, accepting: [alice]) { client in
            #expect(try await policy(client) == nil)
            // Selected before a key exists: devices learn the path and withhold its value.
            _ = try await admin.select([serial])
            #expect(try await policy(client) == SecretKeepingPolicy(key: nil, selectors: ["plugins.inventory.serial"]))

            let enabled = try await admin.enable(shares: 3, threshold: 2, outDirectory: sandbox.path + "/shares", existing: .refuse)
            let told = try await policy(client)
            #expect(told?.key?.fingerprint == enabled.record.fingerprint)
            #expect(told?.key?.publicKey.hasPrefix("-----BEGIN PGP PUBLIC KEY BLOCK-----") == true)
            #expect(told?.key?.publicKey.contains("PRIVATE") == false)

            try await admin.deselect([serial])
            #expect(try await policy(client) == nil)
        }
    }

    @Test func aSelectedValueArrivingInClearIsWithheldBeforeItIsStored() async throws {
        try await withServer(context, accepting: [alice]) { client in
            _ = try await admin.select([serial])
            try await submit(client, inventory: ["serial": .string("SN-IN-CLEAR-77"), "model": .string("T14")])
            let stored = try #require(try await context.store.latestDocument(fingerprint: alice.fingerprint))
            #expect(stored["plugins"]?["inventory"]?["serial"] == SecretValue.withheld.json)
            #expect(stored["plugins"]?["inventory"]?["model"] == .string("T14"))
            let history = try await context.store.history(fingerprint: alice.fingerprint, limit: 100)
            #expect(!history.contains { $0.new?.serializedString.contains("SN-IN-CLEAR-77") == true })
        }
    }

    /// The server keeps the selectors it last saw rather than reading them for every submission;
    /// the transaction that stores a document compares them with the database's. So a value
    /// selected after the server last looked is still withheld, and so is one deselected after.
    @Test func aSelectionMadeWhileTheServerRunsAppliesToTheNextSubmission() async throws {
        try await withServer(context, accepting: [alice]) { client in
            try await submit(client, inventory: ["serial": .string("SN-BEFORE"), "model": .string("T14")])
            _ = try await admin.select([serial])
            try await submit(client, inventory: ["serial": .string("SN-AFTER-SELECT"), "model": .string("T14")])
            var stored = try #require(try await context.store.latestDocument(fingerprint: alice.fingerprint))
            #expect(stored["plugins"]?["inventory"]?["serial"] == SecretValue.withheld.json)
            let history = try await context.store.history(fingerprint: alice.fingerprint, limit: 100)
            #expect(!history.contains { $0.new?.serializedString.contains("SN-AFTER-SELECT") == true })

            try await context.store.changeSecretSelectors(adding: [], removing: [serial], at: Date())
            let sealed = SecretValue(message: Data("ciphertext".utf8), hash: "dd44").json
            try await submit(client, inventory: ["serial": sealed, "model": .string("T14")])
            stored = try #require(try await context.store.latestDocument(fingerprint: alice.fingerprint))
            #expect(stored["plugins"]?["inventory"]?["serial"] == SecretValue.withheld.json)
        }
    }

    @Test func aSecretShapedValueOutsideTheSelectionIsWithheld() async throws {
        try await withServer(context, accepting: [alice]) { client in
            _ = try await admin.select([serial])
            let invented = SecretValue(message: Data("not a message for the keepers".utf8), hash: "cc33").json
            try await submit(client, inventory: ["serial": invented, "model": invented])
            let stored = try #require(try await context.store.latestDocument(fingerprint: alice.fingerprint))
            #expect(stored["plugins"]?["inventory"]?["serial"] == invented)
            #expect(stored["plugins"]?["inventory"]?["model"] == SecretValue.withheld.json)
            #expect(try await admin.status().encrypted == 1)
        }
    }

    @Test func historyKeepsASecretsHashNotItsCiphertextAndSeesOnlyRealChanges() async throws {
        try await withServer(context, accepting: [alice]) { client in
            func sealed(_ message: String, hash: String) -> JSONValue {
                SecretValue(message: Data(message.utf8), hash: hash).json
            }
            _ = try await admin.select([serial])
            try await submit(client, inventory: ["serial": sealed("ciphertext-one", hash: "aa11")])
            // A fresh encryption of the same value: new ciphertext, same hash.
            try await submit(client, inventory: ["serial": sealed("ciphertext-two", hash: "aa11")])
            try await submit(client, inventory: ["serial": sealed("ciphertext-three", hash: "bb22")])
            let rows = try await context.store.history(fingerprint: alice.fingerprint, limit: 100)
                .filter { $0.path == "plugins.inventory.serial" }
            #expect(rows.count == 2)
            #expect(rows.first?.old == SecretValue(message: nil, hash: "aa11").json)
            #expect(rows.first?.new == SecretValue(message: nil, hash: "bb22").json)
            let stored = try await context.store.latestDocument(fingerprint: alice.fingerprint)
            #expect(stored?["plugins"]?["inventory"]?["serial"] == sealed("ciphertext-three", hash: "bb22"))
        }
    }
}
