import Foundation
import RookeryCore

/// How secret keeping's values are written into a database's text columns, the same for every
/// backend, so a store moved from one to the other reads back what it wrote.
extension SecretKeepingRecord {
    /// The share checksums as a JSON object keyed by share number.
    var storedShareChecksums: String {
        JSONValue.object(Dictionary(uniqueKeysWithValues: shareChecksums.map { (String($0.key), JSONValue.string($0.value)) }))
            .serializedString
    }

    static func shareChecksums(stored text: String) -> [Int: String] {
        let checksums = (try? JSONValue.parse(text))?.objectValue ?? [:]
        return Dictionary(
            uniqueKeysWithValues: checksums.compactMap { key, value in Int(key).flatMap { x in value.stringValue.map { (x, $0) } } })
    }
}

extension SecretAccessEntry {
    /// Hosts and selectors as a JSON array of strings.
    static func storedList(_ values: [String]) -> String {
        JSONValue.array(values.map(JSONValue.string)).serializedString
    }

    static func list(stored text: String) -> [String] {
        guard case .array(let values)? = try? JSONValue.parse(text) else { return [] }
        return values.compactMap(\.stringValue)
    }
}

/// What `rewriteDocuments` does to history and issue details once paths are selected.
enum HistoryRedaction {
    static let redactedDetail = "[secret: this detail quoted a value that is secret now]"

    /// The texts that mark an issue detail as quoting a selected value: the selectors' paths,
    /// and each clear value the document held there. An audit check that read a path before
    /// it was selected may have quoted its value in a detail.
    static func quotedTexts(of selectors: [SecretSelector], in document: JSONValue?) -> [String] {
        let clearValues = selectors.compactMap { document.flatMap($0.value(in:)) }
            .filter { !SecretValue.isSecret($0) }.map(\.serializedString)
        return selectors.map(\.description) + clearValues
    }

    /// A history value as it is kept once its path is selected: a secret stays, anything else
    /// becomes a withheld secret.
    static func redacted(_ text: String) -> String {
        if let value = try? JSONValue.parse(Data(text.utf8), limits: .storedData), SecretValue.isSecret(value) { return text }
        return SecretValue.withheld.json.serializedString
    }
}
