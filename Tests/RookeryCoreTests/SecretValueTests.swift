import Foundation
import RookeryCore
import Testing

/// The shape a secret value has in a document, and what is not that shape.
@Suite struct SecretValueTests {
    @Test func sealedAndWithheldShapesAreRecognized() throws {
        let sealed = try JSONValue.parse(#"{"secret": "AAEC/w==", "hash": "00ff"}"#)
        #expect(SecretValue(sealed) == SecretValue(message: Data([0, 1, 2, 255]), hash: "00ff"))
        #expect(SecretValue(try JSONValue.parse(#"{"secret": null}"#)) == .withheld)
        #expect(
            SecretValue(try JSONValue.parse(#"{"secret": "AAEC/w==", "hash": null}"#))
                == SecretValue(message: Data([0, 1, 2, 255]), hash: nil))
        // Written back as read.
        #expect(SecretValue(sealed)?.json == sealed)
        #expect(SecretValue.withheld.json == .object(["secret": .null]))
    }

    @Test(arguments: [
        #""SN-4711""#,  // a plain value
        #"{}"#,  // no secret member
        #"{"hash": "00ff"}"#,  // a hash without secret
        #"{"secret": 5}"#,  // secret not text
        #"{"secret": "not base64!"}"#,  // secret not base64
        #"{"secret": "AAEC", "hash": 7}"#,  // hash not text
        #"{"secret": "AAEC", "serial": "SN-4711"}"#,  // a member beside secret that is not hash
        #"{"secret": "AAEC", "hash": "00", "x": 1}"#,  // one member too many
        #"["secret", "AAEC"]"#  // not an object
    ])
    func otherShapesAreNotSecretValues(_ text: String) throws {
        let value = try JSONValue.parse(text)
        #expect(SecretValue(value) == nil)
        #expect(!SecretValue.isSecret(value))
    }

    @Test func sameValueIsDecidedByTheHashAlone() {
        let a = SecretValue(message: Data([1]), hash: "aa")
        let b = SecretValue(message: Data([2]), hash: "aa")
        #expect(a.sameValue(as: b))
        #expect(!a.sameValue(as: SecretValue(message: Data([1]), hash: "bb")))
        #expect(SecretValue.withheld.sameValue(as: .withheld))
        #expect(!SecretValue.withheld.sameValue(as: a))
        #expect(a.historyForm == .object(["secret": .null, "hash": .string("aa")]))
    }
}
