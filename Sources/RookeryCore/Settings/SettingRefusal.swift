/// A setting refused by the type that reads it. `reason` is written by Rookery and holds nothing
/// from the file, so it may be printed; the settings reader (`ClientSettingsFile` on devices,
/// `SettingsFile` on the server) adds the file, line and column, found from `codingPath` (whose
/// last key is the refused one).
public struct SettingRefusal: KindedError {
    public let codingPath: [any CodingKey]
    public let reason: String
    public var kind: ErrorKind { .settings }

    public init(codingPath: [any CodingKey], reason: String) {
        self.codingPath = codingPath
        self.reason = reason
    }

    public var description: String { reason }
}

extension Decoder {
    /// The keyed container of this mapping, once every key in it is one `Keys` names. A misspelt
    /// key must stop the program: ignored, it leaves its setting at the default while the owner
    /// believes it set (`allow_comands: false` would leave remote commands on).
    public func containerRefusingUnknownKeys<Keys: CodingKey & CaseIterable>(
        keyedBy keys: Keys.Type
    ) throws -> KeyedDecodingContainer<Keys> {
        let all = try container(keyedBy: AnyKey.self)
        if let unknown = all.allKeys.first(where: { Keys(stringValue: $0.stringValue) == nil }) {
            let known = Keys.allCases.map(\.stringValue)
            throw SettingRefusal(codingPath: codingPath + [unknown], reason: Self.unknownKey(unknown.stringValue, known: known))
        }
        return try container(keyedBy: keys)
    }

    /// Names the key only when it is a plain name near a known one: a key far from every name
    /// may be a value typed on the wrong line (a password), and the file's content is never printed.
    static func unknownKey(_ key: String, known: [String]) -> String {
        let plain = key.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || "_-.".contains($0)) }
        if plain, let nearest = NearestName.to(key, among: known) {
            return "unknown key \(key); did you mean \(nearest)?"
        }
        return "unknown key; the keys here are \(known.joined(separator: ", "))"
    }
}

/// The known name a misspelling most likely meant, by edit distance.
enum NearestName {
    /// The nearest of `names` to `word`, if it is near enough to be a typo of it: at most one
    /// edit in three characters (so `allow_comands` finds `allow_commands`, `host` not `port`).
    static func to(_ word: String, among names: [String]) -> String? {
        let scored = names.map { (name: $0, distance: distance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.distance < $1.distance }),
            best.distance * 3 <= max(best.name.count, 3)
        else { return nil }
        return best.name
    }

    /// Levenshtein distance: insertions, deletions and substitutions of one character.
    static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a)
        let b = Array(b)
        guard !a.isEmpty, !b.isEmpty else { return max(a.count, b.count) }
        var previous = Array(0...b.count)
        for i in 1...a.count {
            var current = [i]
            for j in 1...b.count {
                let substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)
                current.append(min(previous[j] + 1, current[j - 1] + 1, substitution))
            }
            previous = current
        }
        return previous[b.count]
    }
}

/// Any key, to list what a mapping holds.
package struct AnyKey: CodingKey {
    package let stringValue: String
    package init?(stringValue: String) { self.stringValue = stringValue }
    package var intValue: Int? { nil }
    package init?(intValue: Int) { nil }
}
