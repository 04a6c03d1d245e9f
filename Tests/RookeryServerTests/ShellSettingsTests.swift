import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import RookeryCore
import Testing

@testable import RookeryServer

/// remote_shells and its companions in server/settings.yml: the start refusal without
/// pipe_create, the bounds, and a server with shells off.
@Suite struct ShellSettingsTests {
    typealias S = ShellTestServer

    @Test func shellsOnWithoutPipeCreateStopTheServerNamingTheSettings() async throws {
        let sandbox = try Sandbox()
        for auth in [nil, EndpointAuthSettings()] {
            await #expect {
                _ = try await makeServerContext(sandbox) { settings in
                    settings.remoteShells = true
                    if let auth { settings.endpointAuth = ["pipe_create": auth] }
                }
            } throws: { error in
                let message = "\(error)"
                return error is SettingsError && message.contains("remote_shells") && message.contains("pipe_create")
                    && message.contains("docs/remote-shell.md")
            }
        }
        _ = try await makeServerContext(sandbox) { settings in
            settings.remoteShells = true
            var auth = EndpointAuthSettings()
            auth.ipRanges = ["127.0.0.1"]
            settings.endpointAuth = ["pipe_create": auth]
        }
        _ = try await makeServerContext(sandbox) { $0.remoteShells = false }
    }

    @Test func theShellSettingsAreReadAndBounded() throws {
        let settings = try SettingsFile.decode(
            ServerSettings.self,
            text: "remote_shells: true\nagent_poll_seconds: 30\nshell_idle_seconds: 60\nshell_open_seconds: 10\n",
            source: "t")
        #expect(settings.remoteShells && settings.agentPollSeconds == 30 && settings.shellIdleSeconds == 60)
        #expect(settings.shellOpenSeconds == 10)
        let defaults = try SettingsFile.decode(ServerSettings.self, text: "{}", source: "t")
        #expect(!defaults.remoteShells && defaults.agentPollSeconds == 55 && defaults.shellIdleSeconds == 900)
        #expect(defaults.shellOpenSeconds == 120)
        for bad in ["agent_poll_seconds: 4", "agent_poll_seconds: 601", "shell_idle_seconds: 29", "shell_open_seconds: 3601"] {
            #expect(throws: SettingsError.self, "\(bad)") {
                try SettingsFile.decode(ServerSettings.self, text: bad + "\n", source: "t")
            }
        }
    }

    @Test func withShellsOffEveryShellEndpointAnswers403AndPollStillWorks() async throws {
        let sandbox = try Sandbox()
        let context = try await S.context(sandbox) { $0.remoteShells = false }
        let alice = try TestDevice(sandbox, name: "alice")
        try await withServer(context, accepting: [alice], over: .router) { client in
            let id = String(repeating: "a", count: 32)
            for path in ["open", "list", "\(id)/state", "\(id)/send", "\(id)/receive", "\(id)/close", "\(id)/device/send"] {
                let response = try await S.admin(client, path)
                #expect(response.status == .forbidden, "\(path)")
                #expect(try S.refusal(response).message.contains("remote_shells"))
            }
            let accept = try await post(
                client,
                try alice.sign(
                    .shellAccept,
                    ["session_id": .string(id), "device_key": .string(Data(repeating: 4, count: 32).base64EncodedString())]))
            #expect(accept.status == .forbidden)
            try await context.store.setState(.accepted, fingerprint: alice.fingerprint, at: Date())
            _ = try await context.releases.publish { _ in (Data("tarball".utf8), 1) }
            let poll = try await post(client, try alice.sign(.poll, ["release": .integer(0), "patch": .integer(0)]))
            #expect(poll.status == .ok)
            #expect(try JSONDecoder().decode(PollAnswer.self, from: Data(buffer: poll.body)).update)
        }
    }
}
