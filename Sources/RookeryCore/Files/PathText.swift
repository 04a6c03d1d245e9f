/// The path-string operations NSString gave (FoundationEssentials keeps its own internal), for
/// the slash-separated paths Rookery builds.
public enum PathText {
    /// "/a/b/c" is "c"; trailing slashes are not a component.
    public static func lastComponent(_ path: String) -> String {
        let parts = path.split(separator: "/")
        return parts.last.map(String.init) ?? (path.hasPrefix("/") ? "/" : "")
    }

    /// "/a/b/c" is "/a/b", "/a" is "/", "c" is "".
    public static func parent(_ path: String) -> String {
        let parts = path.split(separator: "/").dropLast()
        let joined = parts.joined(separator: "/")
        return path.hasPrefix("/") ? "/" + joined : joined
    }

    /// "check.sh" is "check"; a name that only starts with a dot (".hidden") keeps it.
    public static func deletingExtension(_ name: String) -> String {
        guard let dot = name.lastIndex(of: "."), dot != name.startIndex else { return name }
        return String(name[..<dot])
    }

    /// The path of `components` as URL.pathComponents gives them ("/" first for an absolute path).
    public static func joined(_ components: [String]) -> String {
        guard components.first == "/" else { return components.joined(separator: "/") }
        return "/" + components.dropFirst().joined(separator: "/")
    }
}
