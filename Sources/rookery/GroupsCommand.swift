import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

struct GroupsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "groups",
        abstract: "Groups of devices, for commands (--group) and checks (groups: in issues.yml) to target.",
        discussion: """
            A static group's members are added and removed by name. A dynamic group (create \
            --condition) has none to add: its members are the accepted devices whose latest document \
            satisfies the condition, worked out each time they are asked for. Every change is recorded \
            with who made it (this command's user, and SUDO_USER); `bin/groups log` shows them. \
            See docs/groups.md.
            Exit codes: 0 done, 4 no such group or HOST, 5 a group of that name exists / a dynamic \
            group takes no hosts / a check still uses the group, 64 usage error, 65 a value refused.
            """,
        subcommands: [Create.self, Delete.self, Add.self, Remove.self, List.self, Show.self, Log.self, Plan.self, Apply.self])

    struct Create: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create a group: static (add members with `add`), or dynamic with --condition.",
            discussion: """
                A condition is comparisons joined by `and`: PATH OP VALUE with OP one of ==, !=, <, >, \
                =~ (a regular expression), such as 'plugins.os_info.id == debian'; or any condition of \
                issues.yml as a YAML flow map, such as '{any: [{path: plugins.os_info.id, equals: debian}, \
                {path: plugins.os_info.id, equals: ubuntu}]}'.
                """)
        @Argument(help: "The group's name: lower-case letters, digits, - and _.") var name: String
        @Option(help: "Members are the accepted devices whose document satisfies this.") var condition: String?
        @Option(help: "What the group is for (one line).") var description = ""
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let group = try await openGroupAdmin().create(name, description: description, condition: condition, by: .current())
            print(output.json ? GroupFormatter.json(group, members: nil) : "created \(group.isDynamic ? "dynamic" : "static") group \(group.name)")
        }
    }

    struct Delete: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Delete a group; its devices stay as they are.",
            discussion: "Refused while a check in issues.yml applies to the group, or the applied managed state names it.")
        @Argument(help: "The group's name.") var name: String

        func run() async throws {
            try await openGroupAdmin().delete(name, by: .current())
            print("deleted group \(name)")
        }
    }

    struct Add: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Add devices to a static group.",
            discussion: "All or nothing: every HOST is checked first. A device already in the group is left as it is.")
        @Argument(help: "The group's name.") var name: String
        @Argument(help: "Hostnames or fingerprints.") var hosts: [String]

        func run() async throws {
            let (added, already) = try await openGroupAdmin().add(hosts, to: name, by: .current())
            for device in added { print("added \(device.hostname) to \(name)") }
            for device in already { print("\(device.hostname) was in \(name) already") }
        }
    }

    struct Remove: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Remove devices from a static group.",
            discussion: "All or nothing: every HOST is checked first. Exit 4 when none of them was in the group.")
        @Argument(help: "The group's name.") var name: String
        @Argument(help: "Hostnames or fingerprints.") var hosts: [String]

        func run() async throws {
            let removed = try await openGroupAdmin().remove(hosts, from: name, by: .current())
            guard !removed.isEmpty else { throw CommandFailure(.notFound, "none of \(hosts.joined(separator: ", ")) was in \(name)") }
            for device in removed { print("removed \(device.hostname) from \(name)") }
        }
    }

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List the groups with how many devices each has.")
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let groups = try await openGroupAdmin().list()
            print(output.json ? GroupFormatter.json(groups) : GroupFormatter.table(groups))
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a group: what it is, its members and its latest changes.")
        @Argument(help: "The group's name.") var name: String
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let (group, members, changes) = try await openGroupAdmin().show(name)
            print(output.json ? GroupFormatter.json(group, members: members) : GroupFormatter.text(group, members, changes))
        }
    }

    struct Log: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show who changed the groups, newest first.")
        @Option(help: "Only this group's changes.") var group: String?
        @Option(help: "How many changes (1 to 10000).") var limit = 50
        @OptionGroup var output: OutputOptions

        func validate() throws {
            guard (1...10_000).contains(limit) else { throw ValidationError("--limit must be 1 to 10000") }
        }

        func run() async throws {
            let changes = try await openGroupAdmin().changes(group: group, limit: limit)
            print(output.json ? GroupFormatter.json(changes) : GroupFormatter.log(changes))
        }
    }

    struct Plan: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Show what server/client-settings.yml, firewall.yml and access.yml would change on each device.",
            discussion: """
                Reads the three files as they are now (nothing is sent), renders each accepted device's \
                settings, firewall table and authorized_keys from them and from the fleet (its groups, the \
                addresses members report), and prints what differs from what the device is sent now, and \
                whether the device runs what it was sent. `bin/groups apply` sends it. \
                Exit codes: 0 nothing would change, 2 something would change (as diff(1)), 4 no such \
                HOST or group, 64 a file that cannot be used.
                """)
        @OptionGroup var hosts: HostSelection
        @Flag(help: "Every device, also those nothing changes on.") var all = false
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let context = try await openAdminContext()
            let entries = try await ManagedStateAdmin(store: context.store, root: context.root).plan(hosts: hosts.host, groups: hosts.group)
            let shown = all ? entries : entries.filter(\.changes)
            print(output.json ? ManagedPlanFormatter.json(shown) : ManagedPlanFormatter.text(shown, of: entries.count))
            if entries.contains(where: \.changes) { throw ExitCode(2) }
        }
    }

    struct Apply: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Send what `bin/groups plan` shows: record the three files as applied and render every device's state.",
            discussion: """
                Devices take their new state at their next update (update_interval). Who applied it is \
                recorded (this command's user, and SUDO_USER). From then on the server renders the state \
                again every minute, so a firewall rule follows the addresses its source group reports; \
                the files themselves count only once applied again.
                """)

        func run() async throws {
            let context = try await openAdminContext()
            let changed = try await ManagedStateAdmin(store: context.store, root: context.root).apply(by: .current())
            print("applied by \(AdminOperator.current().name): \(changed) device\(changed == 1 ? "'s state" : "s' states") changed")
        }
    }
}

/// A group admin that knows the checks of issues.yml when it can read them (to refuse deleting
/// a group a check uses); without a readable issues.yml there is no check to protect.
func openGroupAdmin() async throws -> GroupAdmin {
    let context = try await openAdminContext()
    let catalog = try? CheckCatalog.load(path: context.root.resolve(context.settings.audit.issuesFile))
    return GroupAdmin(store: context.store, catalog: catalog)
}
