import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

struct ClientReleaseCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client-release",
        abstract: "Publish a new client release, or list the published ones.",
        discussion: """
            A release is var/client_releases/release-N.tar.gz: the client files of the source tree \
            (bin/ wrappers, client/plugins/, setup script, settings template), the \
            rookery-client binary, the server's public key, and client/release.yml with the server URL \
            devices use (client_server_url in server/settings.yml) and the optional enrollment token \
            (client_enrollment_token), and client/server-ca.pem when client_ca_file names the CA devices \
            pin for the server's TLS certificate (bin/configure_ports client). Its manifest lists every file's size, mode and SHA-256 and is \
            signed by the server key. Numbers only grow. Devices install a newer release at their next \
            update check, so publishing asks first on a terminal; scripts give --yes. With --group, only \
            the members of those groups (bin/groups) are offered it, as a canary: every device gets the \
            newest release meant for it, and the next release for everyone supersedes it.
            """)

    @Flag(help: "List the published releases instead of making one.") var list = false
    @OptionGroup var output: OutputOptions
    @Option(help: "The rookery-client binary to ship (default: <root>/lib/rookery/rookery-client, made by bin/build-release).")
    var binary: String?
    @Option(help: "The tree whose bin/ and client/ files are shipped (default: the install root).") var source: String?
    @Flag(help: "Publish without asking; required when not run from a terminal (scripts).") var yes = false
    @Option(help: "Offer it only to the members of this group (bin/groups); repeat for several.") var group: [String] = []

    func run() async throws {
        if list {
            let admin = try await openAdminContext()
            let releases = try ReleaseLibrary(directory: admin.root.resolve(admin.settings.clientReleasesDirectory)).list()
            print(output.json ? ReleaseFormatter.json(releases) : ReleaseFormatter.table(releases))
            return
        }
        let context = try await openServerContext()
        let url = ReleasePublishing.serverURL(context.settings)
        if context.settings.clientServerURL.isEmpty {
            // The release's URL wins over the one a device was set up with: a wrong one cuts it off.
            FileHandle.standardError.write(
                Data(
                    """
                    warning: client_server_url is empty, so devices will be sent to \(url), whatever URL they were set up \
                    with; unless they reach the server under that name, set it first: bin/configure_ports client --url URL

                    """.utf8))
        }
        try Confirmation.require(
            yes: yes, change: group.isEmpty ? "publishing a release changes every device" : "publishing a release changes devices",
            question: "Publish a new client release? "
                + (group.isEmpty ? "Every device" : "Every member of \(group.joined(separator: ", "))")
                + " installs it at its next update check, then talks to \(url).",
            undone: "nothing was published")
        let publishing = ReleasePublishing(context: context)
        let published = try await publishing.publish(source: source, binary: binary, groups: group.isEmpty ? nil : group)
        print(output.json ? ReleaseFormatter.json([published.record]) : ReleaseFormatter.published(published))
    }
}
