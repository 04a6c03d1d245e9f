import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

/// `update`, `release` and `acknowledge_patch` over real HTTP on 127.0.0.1, with real keys.
@Suite struct UpdateProtocolTests {
    let sandbox: Sandbox
    let context: ServerContext
    let alice: TestDevice
    let bob: TestDevice

    init() async throws {
        sandbox = try Sandbox()
        context = try await makeServerContext(sandbox)
        alice = try TestDevice(sandbox, name: "alice")
        bob = try TestDevice(sandbox, name: "bob")
    }

    @Test func theUpdateAnswerIsSignedAndAnswersThisRequestOfThisDevice() async throws {
        try await withServer(context, accepting: [alice, bob]) { client in
            let patch = try await PatchAdmin(store: context.store).write(
                hosts: ["alice"], target: "client/plugins/x.sh", content: Data("#!/bin/sh\n".utf8), mode: 0o755)
            let request = try alice.sign(.update, ["release": .integer(0)])
            let response = try await post(client, request)
            #expect(response.status == .ok)
            let body = Data(buffer: response.body)
            let signature = try #require(
                response.headers[HTTPField.Name(WireProtocol.signatureHeader)!]
                    .flatMap { Data(base64Encoded: $0) })
            let signer = try context.signingHome.verify(signature: signature, data: body)
            #expect(signer.fingerprint == (try context.signingKey()).fingerprint)
            let answer = try JSONDecoder().decode(UpdateAnswer.self, from: body)
            #expect(answer.nonce == request.nonce)
            #expect(answer.key == alice.fingerprint)
            #expect(answer.release == nil)
            #expect(answer.patches.map(\.id) == [patch[0].1.id])
            #expect(answer.patches.first?.content == Data("#!/bin/sh\n".utf8))

            // Bob's answer carries none of Alice's patches; the server notes the release he runs.
            let bobs = try JSONDecoder().decode(
                UpdateAnswer.self, from: Data(buffer: try await post(client, try bob.sign(.update, ["release": .integer(3)])).body))
            #expect(bobs.patches.isEmpty)
            #expect(try await context.store.device(fingerprint: bob.fingerprint)?.clientRelease == 3)
        }
    }

    @Test func onlyThePatchedDeviceMayAcknowledgeItsPendingPatch() async throws {
        try await withServer(context, accepting: [alice, bob]) { client in
            let queued = try await PatchAdmin(store: context.store).write(
                hosts: ["alice"], target: "client/plugins/x.sh", content: Data("x".utf8), mode: 0o644)
            let id = queued[0].1.id
            func acknowledge(_ device: TestDevice, target: String = "client/plugins/x.sh") async throws -> TestResponse {
                try await post(
                    client,
                    try device.sign(
                        .acknowledgePatch,
                        [
                            "patch_id": .integer(id), "target": .string(target), "result": .string("applied"), "message": .string("")
                        ]))
            }
            try expectRefusal(try await acknowledge(bob), .notFound)
            try expectRefusal(try await acknowledge(alice, target: "client/plugins/other.sh"), .notFound)
            #expect(try await acknowledge(alice).status == .ok)
            try expectRefusal(try await acknowledge(alice), .notFound)
            let patches = try await context.store.patches(fingerprint: alice.fingerprint, includeFinished: true)
            #expect(patches.map(\.state) == [.applied])
            try expectRefusal(try await post(client, try alice.sign(.acknowledgePatch, ["patch_id": .integer(id)])), .malformed)
        }
    }

    @Test func releasesAreServedOnlyWhenPublishedAndOnlyToAcceptedDevices() async throws {
        try await withServer(context, accepting: [alice, bob]) { client in
            try expectRefusal(try await post(client, try alice.sign(.release, ["release": .integer(1)])), .notFound)
            try expectRefusal(try await post(client, try alice.sign(.release, [:])), .malformed)
            try expectRefusal(try await post(client, try alice.sign(.update, ["release": .string("1")])), .malformed)

            // Published: the exact bytes, to an accepted device, and offered in its update answer.
            let tarball = Data((0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) })
            let record = try await context.releases.publish { _ in (tarball, 1) }
            let served = try await post(client, try alice.sign(.release, ["release": .integer(Int64(record.number))]))
            #expect(served.status == .ok)
            #expect(Data(buffer: served.body) == tarball)
            let offer = try JSONDecoder().decode(
                UpdateAnswer.self,
                from: Data(
                    buffer: try await post(
                        client, try alice.sign(.update, ["release": .integer(0)])
                    ).body)
            ).release
            #expect(offer == ReleaseOffer(number: record.number, size: tarball.count, sha256: ReleaseManifest.sha256Hex(tarball)))

            try await context.store.setState(.revoked, fingerprint: bob.fingerprint, at: Date())
            try expectRefusal(try await post(client, try bob.sign(.update, ["release": .integer(0)])), .revoked)
            try expectRefusal(try await post(client, try bob.sign(.release, ["release": .integer(Int64(record.number))])), .revoked)
            let download = try await client.execute(uri: "/rookery/v1/download_release", method: .get)
            #expect(download.status == .forbidden)
        }
    }

    /// The releases directory may be storage several hosts share, where a copy can be half
    /// written: a release whose tarball does not match its record is neither offered nor served
    /// (devices keep the newest that does), and is again once the file is whole.
    @Test func aReleaseWhoseTarballDoesNotMatchItsRecordIsNeitherOfferedNorServed() async throws {
        try await withServer(context, accepting: [alice]) { client in
            let first = try await context.releases.publish { _ in (Data("one".utf8), 1) }
            let tarball = Data((0..<100_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
            let second = try await context.releases.publish { _ in (tarball, 1) }
            func offered() async throws -> Int? {
                let answer = try await post(client, try alice.sign(.update, ["release": .integer(0)]))
                return try JSONDecoder().decode(UpdateAnswer.self, from: Data(buffer: answer.body)).release?.number
            }
            #expect(try await offered() == second.number)

            let path = context.releases.tarballPath(second.number)
            try tarball.prefix(50_000).write(to: URL(fileURLWithPath: path))
            #expect(try await offered() == first.number, "the half-copied release is passed over")
            try expectRefusal(
                try await post(client, try alice.sign(.release, ["release": .integer(Int64(second.number))])), .notFound)
            // The same size, one byte changed: the hash, not the size, decides.
            var altered = tarball
            altered[10] ^= 0xFF
            try altered.write(to: URL(fileURLWithPath: path))
            #expect(try await offered() == first.number)

            try tarball.write(to: URL(fileURLWithPath: path))
            #expect(try await offered() == second.number)
            let served = try await post(client, try alice.sign(.release, ["release": .integer(Int64(second.number))]))
            #expect(served.status == .ok && Data(buffer: served.body) == tarball)
        }
    }

    /// `client_releases_directory`: where releases are published and served from, under the
    /// install root or anywhere (storage several server hosts share).
    @Test func releasesLiveWhereTheSettingSays() async throws {
        let shared = try Sandbox()
        let elsewhere = try await makeServerContext(sandbox) { $0.clientReleasesDirectory = shared.path + "/releases" }
        let record = try await elsewhere.releases.publish { _ in (Data("x".utf8), 1) }
        #expect(FileManager.default.fileExists(atPath: shared.path + "/releases/release-\(record.number).tar.gz"))
        let relative = try await makeServerContext(sandbox) { $0.clientReleasesDirectory = "var/other-releases" }
        #expect(relative.releases.directory == relative.root.path + "/var/other-releases")
    }

    @Test func patchTargetsAreCheckedWhenQueued() async throws {
        try await withServer(context, accepting: [alice, bob]) { _ in
            let admin = PatchAdmin(store: context.store)
            for target in ["../x", "/etc/passwd", "client/../x", "client/settings.yml", "client/", "var/x", "client//x"] {
                await #expect(throws: AdminError.self, "\(target)") {
                    _ = try await admin.write(hosts: ["alice"], target: target, content: Data(), mode: 0o644)
                }
            }
            _ = try await admin.write(hosts: ["alice", "bob"], target: "client/plugins/y", content: Data(), mode: 0o644)
            // One pending patch per file and device: the second is refused for both hosts.
            await #expect(throws: AdminError.self) {
                _ = try await admin.write(hosts: ["bob"], target: "client/plugins/y", content: Data(), mode: 0o644)
            }
            await #expect(throws: AdminError.self) {
                _ = try await admin.command(hosts: ["alice"], name: "../evil", script: Data("#!/bin/sh\n".utf8))
            }
            #expect(try await admin.cancel(hosts: ["bob"], target: "client/plugins/y").map(\.hostname) == ["bob"])
            #expect(try await context.store.patches(fingerprint: bob.fingerprint, includeFinished: false).isEmpty)
        }
    }

    @Test func aServerKeyFileNamingAnotherKeyStopsTheServer() async throws {
        // Devices pin what server/server-key.asc names; the server must not sign with another key.
        let key = try context.signingKey()
        try bob.openPGP.exportPublicKey(fingerprint: bob.fingerprint)
            .write(toFile: context.root.serverPublicKey, atomically: true, encoding: .utf8)
        await #expect { try await ServerContext(root: context.root, settings: context.settings).signingKey() } throws: { error in
            "\(error)".contains(bob.fingerprint)
        }
        // The right file again, and it opens.
        try key.publicKey().write(toFile: context.root.serverPublicKey, atomically: true, encoding: .utf8)
        #expect(try await ServerContext(root: context.root, settings: context.settings).signingKey().fingerprint == key.fingerprint)
    }
}
