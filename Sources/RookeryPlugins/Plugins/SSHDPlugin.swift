import FoundationEssentials
import Glibc

/// `sshd`: whether the SSH server runs, and whether it lets people in with a password or as root.
///
/// The effective settings come from /etc/ssh/sshd_config read the way sshd reads it:
/// - keywords are case-insensitive, and a keyword may be separated from its value by "=";
/// - the first value given for a keyword wins, later ones are ignored;
/// - `Include` pulls in other files at that point (globs, relative to /etc/ssh, in sorted order), so a
///   drop-in such as sshd_config.d/50-cloud-init.conf included at the top overrides the main file;
/// - lines after a `Match` apply only to some connections and are not the global value; a `Match` in
///   an included file ends with that file.
/// Unset keywords take sshd's defaults: PasswordAuthentication yes, PermitRootLogin prohibit-password.
/// `running` is true when a process named "sshd" exists, or /run/sshd.pid names a live process.
struct SSHDPlugin: BuiltinPlugin {
    static let name = "sshd"

    struct Report: Encodable {
        let running: Knowable<Bool>
        let passwordAuthentication: Knowable<Bool>
        /// "yes", "no", "prohibit-password" or "forced-commands-only".
        let permitRootLogin: Knowable<String>
    }

    static let configPath = "/etc/ssh/sshd_config"

    static func collect(_ context: PluginContext) -> Report {
        let root = context.root
        guard root.fileExists(configPath) else {
            return Report(running: isRunning(root), passwordAuthentication: .unknown, permitRootLogin: .unknown)
        }
        var settings: [String: String] = [:]
        read(configPath, root, inMatchBlock: false, depth: 0, into: &settings)
        let passwordAuthentication = settings["passwordauthentication"] ?? "yes"
        var permitRootLogin = settings["permitrootlogin"] ?? "prohibit-password"
        // The old name of the same setting.
        if permitRootLogin == "without-password" { permitRootLogin = "prohibit-password" }
        return Report(
            running: isRunning(root),
            passwordAuthentication: Knowable(["yes": true, "no": false][passwordAuthentication]),
            permitRootLogin: .known(permitRootLogin)
        )
    }

    // MARK: Configuration

    /// Includes may include; the bound only guards against a file that includes itself.
    private static let maximumIncludeDepth = 16

    /// Adds to `settings` the first value of each keyword outside Match blocks, keyed by lowercased
    /// keyword. Values are lowercased too: the settings read here take words such as "yes" or "no".
    private static func read(
        _ file: String, _ root: SystemRoot, inMatchBlock: Bool, depth: Int, into settings: inout [String: String]
    ) {
        guard depth < maximumIncludeDepth, let text = root.readFile(file) else { return }
        var inMatchBlock = inMatchBlock
        for line in text.split(whereSeparator: \.isNewline) {
            let words = directiveWords(line)
            guard let keyword = words.first?.lowercased() else { continue }
            let arguments = words.dropFirst()
            switch keyword {
            case "match":
                inMatchBlock = true
            case "include":
                for included in arguments.flatMap({ expandInclude($0, root) }) {
                    read(included, root, inMatchBlock: inMatchBlock, depth: depth + 1, into: &settings)
                }
            default:
                if !inMatchBlock, settings[keyword] == nil, let value = arguments.first {
                    settings[keyword] = value.lowercased()
                }
            }
        }
    }

    /// "PasswordAuthentication no # old", "PasswordAuthentication=no" and
    /// "PasswordAuthentication = no" are all ["PasswordAuthentication", "no"]; a comment line gives
    /// no words.
    private static func directiveWords(_ line: Substring) -> [String] {
        let trimmed = line.drop(while: \.isWhitespace)
        let keyword = trimmed.prefix { !$0.isWhitespace && $0 != "=" }
        guard !keyword.isEmpty, !keyword.hasPrefix("#") else { return [] }
        // One "=" may stand between keyword and value, with or without spaces around it.
        var rest = trimmed.dropFirst(keyword.count).drop(while: \.isWhitespace)
        if rest.first == "=" { rest = rest.dropFirst() }
        var words = [String(keyword)]
        for word in rest.split(whereSeparator: \.isWhitespace) {
            if word.hasPrefix("#") { break }
            let quoted = word.count >= 2 && word.hasPrefix("\"") && word.hasSuffix("\"")
            words.append(String(quoted ? word.dropFirst().dropLast() : word))
        }
        return words
    }

    /// The files an Include argument names. Relative paths are relative to /etc/ssh; wildcards are
    /// allowed in the file name (as in "sshd_config.d/*.conf") and matches come sorted, as glob(3)
    /// returns them.
    private static func expandInclude(_ argument: String, _ root: SystemRoot) -> [String] {
        let path = argument.hasPrefix("/") ? argument : "/etc/ssh/" + argument
        let components = path.split(separator: "/")
        guard let pattern = components.last else { return [] }
        let directory = "/" + components.dropLast().joined(separator: "/")
        guard pattern.contains(where: { "*?[".contains($0) }) else { return [path] }
        return root.listDirectory(directory)
            .filter { name in !name.hasPrefix(".") && fnmatch(String(pattern), name, 0) == 0 }
            .map { joinPath(directory, $0) }
    }

    // MARK: Running

    private static func isRunning(_ root: SystemRoot) -> Knowable<Bool> {
        let processes = root.processIDs()
        // Every Linux system has processes; none at all means /proc cannot be seen.
        guard !processes.isEmpty else { return .unknown }
        if processes.contains(where: { root.processName($0) == "sshd" }) { return .known(true) }
        if let pid = root.readValue("/run/sshd.pid"), Int(pid) != nil, root.processExists(pid) { return .known(true) }
        return .known(false)
    }
}
