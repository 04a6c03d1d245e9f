import Foundation
import RookeryCore
import Testing

/// History compares secret values by their hashes: a new ciphertext of the same value is no
/// change, a new hash is one change at the selected path.
@Suite struct DocumentDiffSecretTests {
    static func document(_ serial: SecretValue) -> JSONValue {
        .object(["plugins": .object(["hardware": .object(["serial": serial.json, "vendor": .string("Acme")])])])
    }

    @Test func sameHashIsNoChangeThoughTheCiphertextDiffers() {
        let old = Self.document(SecretValue(message: Data([1, 2, 3]), hash: "aa"))
        let new = Self.document(SecretValue(message: Data([9, 8, 7]), hash: "aa"))
        #expect(DocumentDiff.changes(from: old, to: new).isEmpty)
    }

    @Test func differentHashIsOneChangeAtTheSelectedPath() {
        let before = SecretValue(message: Data([1, 2, 3]), hash: "aa")
        let after = SecretValue(message: Data([9, 8, 7]), hash: "bb")
        let changes = DocumentDiff.changes(from: Self.document(before), to: Self.document(after))
        #expect(changes == [DocumentChange(path: "plugins.hardware.serial", old: before.json, new: after.json)])
    }

    @Test func aValueBecomingSecretIsOneChangeAtItsPath() {
        let clear: JSONValue = .object(["plugins": .object(["hardware": .object(["serial": .string("SN-4711"), "vendor": .string("Acme")])])])
        let sealed = SecretValue(message: Data([1]), hash: "aa")
        let changes = DocumentDiff.changes(from: clear, to: Self.document(sealed))
        #expect(changes.map(\.path) == ["plugins.hardware.serial"])
        #expect(DocumentDiff.flatten(Self.document(sealed)).keys.sorted() == ["plugins.hardware.serial", "plugins.hardware.vendor"])
    }

    @Test func withheldThenSealedIsAChange() {
        let changes = DocumentDiff.changes(
            from: Self.document(.withheld),
            to: Self.document(SecretValue(message: Data([1]), hash: "aa")))
        #expect(changes.map(\.path) == ["plugins.hardware.serial"])
    }
}
