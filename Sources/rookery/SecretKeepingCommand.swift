import ArgumentParser
import Foundation
import RookeryCore
import RookeryServer

struct SecretKeepingCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "secret-keeping",
        abstract: "Keep selected device fields encrypted under a key split among secret keepers.",
        discussion: """
            Devices encrypt the selected fields (dotted paths such as plugins.hardware.serial) to the \
            secret-keeping key before a collection leaves them. The key's private half exists only as \
            share files, one per keeper; any THRESHOLD of them rebuild it for `access` or `decrypt`. \
            Share files use gfsplit's layout (NAME.NNN, NNN the share number), so Debian's gfcombine \
            reads them too. Every enable, access, decrypt and encrypt is recorded in an append-only \
            log that `show` prints. See docs/secret-keeping.md.
            Exit codes (a refusal changes nothing; the message says why): 0 done, 1 failed, 5 a step the state \
            does not allow (a path still selected, values still encrypted, a key already made or none to keep), \
            64 usage error or settings that cannot be used, 65 options or shares refused (too few, damaged, \
            given twice), 74 a directory that cannot be made.
            """,
        subcommands: [
            Enable.self, Select.self, Deselect.self, Show.self, Encrypt.self, Access.self,
            Decrypt.self, Disable.self
        ])

    struct Enable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Make the secret-keeping key and write one share file per keeper.",
            discussion: """
                The key is made in a temporary GnuPG home that is wiped afterwards: only its public half \
                stays on the server. Hand one file of DIR to each keeper, then delete DIR. With a key in \
                place, --preserve keeps it (and turns secret keeping back on after `disable`), and \
                --replace makes a new one, re-encrypts every stored value under it and writes new shares; \
                it needs THRESHOLD current shares (--share).
                """)
        @Option(help: "M: how many shares to write (1-255; default 3).") var shares: Int?
        @Option(help: "N: how many shares rebuild the key (1-M; default 2).") var threshold: Int?
        @Option(help: "A new directory for the share files.") var out: String?
        @Flag(help: "Keep the existing key.") var preserve = false
        @Flag(help: "Replace the existing key (needs --share).") var replace = false
        @Option(help: "A current share file, for --replace; repeat for each.") var share: [String] = []

        func validate() throws {
            if preserve && replace { throw ValidationError("--preserve and --replace exclude each other") }
            if !share.isEmpty && !replace { throw ValidationError("--share is for --replace") }
            if !preserve && out == nil { throw ValidationError("--out DIR is needed: the share files go there") }
            if preserve && (shares != nil || threshold != nil || out != nil) {
                throw ValidationError("--preserve keeps the key and its shares as they are; --shares, --threshold and --out are for a new key")
            }
        }

        func run() async throws {
            let existing: SecretKeepingAdmin.ExistingKey = preserve ? .preserve : replace ? .replace(sharePaths: share) : .refuse
            let admin = try await secretKeepingAdmin()
            let enabled = try await admin.enable(shares: shares ?? 3, threshold: threshold ?? 2, outDirectory: out, existing: existing)
            print(SecretKeepingFormatter.enabled(enabled))
        }
    }

    struct Select: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Mark paths secret: devices encrypt them from their next update check on.",
            discussion: "Values stored in clear before stay so until `encrypt` (no share needed).")
        @Argument(help: "Dotted paths, such as plugins.hardware.serial.") var selectors: [String]

        func run() async throws {
            let admin = try await secretKeepingAdmin()
            let parsed = try parseSelectors(selectors)
            let (clear, enabled) = try await admin.select(parsed)
            print("selected \(selectors.joined(separator: ", ")); devices encrypt them from their next update check on")
            if clear > 0 {
                print(
                    "note: \(clear) stored value\(clear == 1 ? " is" : "s are") still in clear; run `bin/secret_keeping encrypt` to encrypt them and clear them from the history"
                )
            }
            if !enabled {
                print("note: secret keeping is not enabled: devices withhold these values until `bin/secret_keeping enable`")
            }
        }
    }

    struct Deselect: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Stop keeping paths secret; devices send them in clear from their next update check on.",
            discussion: "Values stored encrypted stay so until `decrypt`.")
        @Argument(help: "Dotted paths.") var selectors: [String]

        func run() async throws {
            let admin = try await secretKeepingAdmin()
            let parsed = try parseSelectors(selectors)
            try await admin.deselect(parsed)
            print("deselected \(selectors.joined(separator: ", ")); stored encrypted values stay encrypted until `decrypt`")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Whether secret keeping is on, its key, the selected paths, counts and the access log.")
        @Option(help: "How many access log entries to print (newest).") var log = 50
        @OptionGroup var output: OutputOptions

        func run() async throws {
            let status = try await secretKeepingAdmin().status(logLimit: log)
            print(output.json ? SecretKeepingFormatter.json(status) : SecretKeepingFormatter.text(status))
        }
    }

    struct Encrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Encrypt selected values stored in clear, and clear them from the history.",
            discussion:
                "Needs no share: only the public key. Freed database pages are overwritten and the write-ahead log emptied; backups taken before still hold the clear values."
        )
        @Option(help: "Only this device; repeat for several (default: all).") var host: [String] = []
        @Argument(help: "Selected paths (default: all selected).") var selectors: [String] = []

        func run() async throws {
            let admin = try await secretKeepingAdmin()
            let parsed = try parseSelectors(selectors)
            let changed = try await admin.encrypt(hosts: host, selectors: parsed)
            print("encrypted clear values in \(changed) document\(changed == 1 ? "" : "s")")
        }
    }

    struct Access: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read secret values with the keepers' shares; nothing is stored.")
        @OptionGroup var reading: SecretReadingOptions

        func run() async throws {
            let admin = try await secretKeepingAdmin()
            let parsed = try parseSelectors(reading.selectors)
            let values = try await admin.access(sharePaths: reading.share, hosts: reading.host, selectors: parsed)
            print(reading.output.json ? SecretKeepingFormatter.json(values) : SecretKeepingFormatter.table(values))
        }
    }

    struct Decrypt: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Read secret values with the shares and write them back in clear (to retire a path).",
            discussion: "Only paths that are no longer selected: `deselect` first.")
        @OptionGroup var reading: SecretReadingOptions

        func run() async throws {
            let admin = try await secretKeepingAdmin()
            let parsed = try parseSelectors(reading.selectors)
            let result = try await admin.decrypt(sharePaths: reading.share, hosts: reading.host, selectors: parsed)
            print(reading.output.json ? SecretKeepingFormatter.json(result.values) : SecretKeepingFormatter.table(result.values))
            if !reading.output.json { print("wrote \(result.documents) document\(result.documents == 1 ? "" : "s") back in clear") }
        }
    }

    struct Disable: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Turn secret keeping off once nothing is selected or encrypted.",
            discussion: "The public key stays on record for `enable --preserve`.")

        func run() async throws {
            let record = try await secretKeepingAdmin().disable()
            print("secret keeping disabled (key \(record.fingerprint) kept for `enable --preserve`)")
        }
    }
}

/// What `access` and `decrypt` take.
struct SecretReadingOptions: ParsableArguments {
    @Option(help: "A keeper's share file; repeat for each (THRESHOLD are needed).") var share: [String] = []
    @Option(help: "Only this device; repeat for several (default: all).") var host: [String] = []
    @OptionGroup var output: OutputOptions
    @Argument(help: "Paths to read (default: every secret value).") var selectors: [String] = []

    func validate() throws {
        if share.isEmpty { throw ValidationError("--share FILE is needed, once per keeper's share") }
    }
}

private func secretKeepingAdmin() async throws -> SecretKeepingAdmin {
    SecretKeepingAdmin(store: try await openAdminContext().store)
}

private func parseSelectors(_ texts: [String]) throws -> [SecretSelector] {
    do {
        return try texts.map(SecretSelector.init)
    } catch let error as SecretSelectorError {
        throw ValidationError(error.description)
    }
}
