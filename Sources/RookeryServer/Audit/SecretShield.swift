import Foundation
import RookeryCore

/// A device's values as the checks may see them once the admin has selected secret paths: a
/// value at or below a selected path reads as a withheld secret whatever the store holds there.
/// The store may hold nothing (json_extract finds nothing below an encrypted value) or, until
/// `bin/secret_keeping encrypt` runs, a value that arrived in clear before its selector: either
/// way it is secret, so no check passes or fails on it and no report quotes it. A value that
/// contains a selected path has that part masked the same way.
struct SecretShield<Base: ConditionInput>: ConditionInput {
    let base: Base
    let selectors: [SecretSelector]

    init(_ base: Base, selectors: [SecretSelector]) {
        self.base = base
        self.selectors = selectors
    }

    func value(at path: DocumentPath) -> JSONValue? {
        guard !selectors.isEmpty else { return base.value(at: path) }
        if selectors.contains(where: { $0.covers(path: path.description) }) { return SecretValue.withheld.json }
        guard var value = base.value(at: path) else { return nil }
        for selector in selectors where selector.components.starts(with: path.components) {
            value = Self.masking(selector, in: value, at: path)
        }
        return value
    }

    /// `value`, found at `path`, with the part that `selector` (below `path`) names withheld: the
    /// value is put back at its place in an otherwise empty document, so the selector's own walk
    /// finds the part.
    private static func masking(_ selector: SecretSelector, in value: JSONValue, at path: DocumentPath) -> JSONValue {
        let document = path.components.reversed().reduce(value) { inner, key in .object([key: inner]) }
        let masked = selector.replacing(in: document) { _ in SecretValue.withheld.json }
        return path.components.reduce(masked) { outer, key in outer[key]! }
    }
}
