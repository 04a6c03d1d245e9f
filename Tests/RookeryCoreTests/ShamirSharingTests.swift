import Foundation
import RookeryCore
import Testing

// Property tests of Shamir sharing: random secrets, random x coordinates, random subsets of shares.
// Everything random comes from the system generator; a failure message names the case and the
// shares used, which is what it takes to reason about it.

@Suite struct ShamirSharingTests {
    /// A secret length, a share count M and a threshold N.
    struct Case: CustomTestStringConvertible, Sendable {
        let length: Int
        let shareCount: Int
        let threshold: Int
        var testDescription: String { "\(length) bytes, \(threshold) of \(shareCount)" }
    }

    static let recoveryCases: [Case] =
        [
            Case(length: 1, shareCount: 1, threshold: 1),
            Case(length: 1, shareCount: 5, threshold: 3),
            Case(length: 2, shareCount: 2, threshold: 2),
            Case(length: 255, shareCount: 10, threshold: 4),
            Case(length: 256, shareCount: 7, threshold: 7),
            Case(length: 10_000, shareCount: 20, threshold: 10),
            Case(length: 10_000, shareCount: 3, threshold: 1),
            Case(length: 64, shareCount: 255, threshold: 1),
            Case(length: 64, shareCount: 255, threshold: 2),
            Case(length: 32, shareCount: 255, threshold: 128),
            Case(length: 16, shareCount: 255, threshold: 255)
        ]
        + (0..<4).map { _ in
            let shareCount = Int.random(in: 1...30)
            return Case(length: Int.random(in: 1...10_000), shareCount: shareCount, threshold: Int.random(in: 1...shareCount))
        }
        + (0..<2).map { _ in
            let shareCount = Int.random(in: 1...255)
            return Case(length: Int.random(in: 1...200), shareCount: shareCount, threshold: Int.random(in: 1...shareCount))
        }

    @Test(arguments: recoveryCases)
    func anyThresholdOfTheSharesRecoverTheSecret(_ sharing: Case) throws {
        let secret = randomData(sharing.length)
        let shares = try ShamirSharing.split(secret, threshold: sharing.threshold, xCoordinates: randomXs(sharing.shareCount))
        #expect(shares.count == sharing.shareCount)
        #expect(shares.allSatisfy { $0.bytes.count == sharing.length })
        for _ in 0..<4 {
            let subset = Array(shares.shuffled().prefix(sharing.threshold))
            #expect(try ShamirSharing.combine(subset) == secret, "shares \(subset.map(\.x))")
        }
        // More shares than needed agree too.
        #expect(try ShamirSharing.combine(shares.shuffled()) == secret)
    }

    // With N-1 shares, each byte interpolates to a value that is uniformly random and independent of
    // the secret byte (that is Shamir's secrecy), so it equals the secret byte with chance 1/256. A
    // whole secret of 16 bytes or more comes out right by accident with chance at most 256^-16, so
    // "not the secret" is a sound check at these lengths (for one byte it would fail 1 time in 256).
    static let tooFewCases: [Case] =
        [
            Case(length: 16, shareCount: 2, threshold: 2),
            Case(length: 32, shareCount: 5, threshold: 3),
            Case(length: 1000, shareCount: 9, threshold: 9),
            Case(length: 64, shareCount: 255, threshold: 2),
            Case(length: 32, shareCount: 255, threshold: 128),
            Case(length: 16, shareCount: 255, threshold: 255)
        ]
        + (0..<3).map { _ in
            let shareCount = Int.random(in: 2...255)
            return Case(length: Int.random(in: 16...300), shareCount: shareCount, threshold: Int.random(in: 2...shareCount))
        }

    @Test(arguments: tooFewCases)
    func oneShareFewerThanTheThresholdDoesNotRecoverTheSecret(_ sharing: Case) throws {
        let secret = randomData(sharing.length)
        let shares = try ShamirSharing.split(secret, threshold: sharing.threshold, xCoordinates: randomXs(sharing.shareCount))
        for _ in 0..<4 {
            let subset = Array(shares.shuffled().prefix(sharing.threshold - 1))
            #expect(try ShamirSharing.combine(subset) != secret, "shares \(subset.map(\.x))")
        }
    }

    @Test func withThresholdOneEveryShareIsTheSecret() throws {
        let secret = randomData(100)
        let shares = try ShamirSharing.split(secret, threshold: 1, xCoordinates: [1, 2, 77, 255])
        #expect(shares.map(\.bytes) == Array(repeating: secret, count: 4))
        #expect(shares.map(\.x) == [1, 2, 77, 255])
    }

    /// The polynomials pinned by a fixed coefficient source, worked out by hand. 0x80·2 overflows a
    /// byte, so it shows the reduction polynomial: x^8 = x^4 + x^3 + x^2 + 1 (0x11D) gives 0x1D.
    @Test func sharesAreThePolynomialsValues() throws {
        // Secret bytes 0x09 and 0x00; coefficients of degree 1: 0x03 and 0x80.
        let shares = try ShamirSharing.split(Data([0x09, 0x00]), threshold: 2, xCoordinates: [1, 2, 3]) { count in
            #expect(count == 2)
            return [0x03, 0x80]
        }
        // Byte 0: 3x + 9, with 3·3 = (x+1)^2 = x^2 + 1 = 5. Byte 1: 0x80·x.
        #expect(shares.map(\.bytes) == [Data([0x0A, 0x80]), Data([0x0F, 0x1D]), Data([0x0C, 0x9D])])
        #expect(try ShamirSharing.combine([shares[0], shares[2]]) == Data([0x09, 0x00]))
    }

    @Test func asksTheRandomSourceForEveryCoefficient() throws {
        var asked: [Int] = []
        _ = try ShamirSharing.split(randomData(10), threshold: 4, xCoordinates: [1, 2, 3, 4, 5]) { count in
            asked.append(count)
            return ShamirSharing.systemRandomBytes(count)
        }
        #expect(asked == [30])
        #expect(ShamirSharing.systemRandomBytes(13).count == 13)
        #expect(ShamirSharing.systemRandomBytes(64) != ShamirSharing.systemRandomBytes(64))
    }

    // MARK: Refused arguments

    @Test func splitRefusesBadArguments() {
        let secret = Data("a secret".utf8)
        #expect(throws: SecretSharingError.emptySecret) {
            try ShamirSharing.split(Data(), threshold: 1, xCoordinates: [1])
        }
        #expect(throws: SecretSharingError.thresholdOutOfRange(threshold: 0)) {
            try ShamirSharing.split(secret, threshold: 0, xCoordinates: [1])
        }
        #expect(throws: SecretSharingError.thresholdOutOfRange(threshold: 256)) {
            try ShamirSharing.split(secret, threshold: 256, xCoordinates: Array(1...255))
        }
        #expect(throws: SecretSharingError.thresholdAboveShareCount(threshold: 3, shareCount: 2)) {
            try ShamirSharing.split(secret, threshold: 3, xCoordinates: [1, 2])
        }
        #expect(throws: SecretSharingError.tooManyShares(count: 256)) {
            try ShamirSharing.split(secret, threshold: 2, xCoordinates: Array(1...255) + [1])
        }
        #expect(throws: SecretSharingError.zeroXCoordinate) {
            try ShamirSharing.split(secret, threshold: 2, xCoordinates: [1, 0, 2])
        }
        #expect(throws: SecretSharingError.duplicateXCoordinate(7)) {
            try ShamirSharing.split(secret, threshold: 2, xCoordinates: [7, 3, 7])
        }
    }

    @Test func combineRefusesBadShares() {
        let a = SecretShare(x: 1, bytes: Data([1, 2, 3]))
        let b = SecretShare(x: 2, bytes: Data([4, 5, 6]))
        #expect(throws: SecretSharingError.noShares) { try ShamirSharing.combine([]) }
        #expect(throws: SecretSharingError.duplicateXCoordinate(1)) {
            try ShamirSharing.combine([a, b, SecretShare(x: 1, bytes: Data([1, 2, 3]))])
        }
        #expect(throws: SecretSharingError.zeroXCoordinate) {
            try ShamirSharing.combine([a, SecretShare(x: 0, bytes: Data([7, 8, 9]))])
        }
        #expect(throws: SecretSharingError.unequalShareLengths(x: 3, length: 2, expected: 3)) {
            try ShamirSharing.combine([a, b, SecretShare(x: 3, bytes: Data([1, 2]))])
        }
        #expect(throws: SecretSharingError.emptyShare(x: 1)) {
            try ShamirSharing.combine([SecretShare(x: 1, bytes: Data()), SecretShare(x: 2, bytes: Data())])
        }
    }

    @Test func refusalsSayWhatIsWrong() {
        #expect(SecretSharingError.thresholdAboveShareCount(threshold: 3, shareCount: 2).description.contains("threshold 3 is more than the 2 shares"))
        #expect(SecretSharingError.duplicateXCoordinate(7).description.contains("share 7 is given twice"))
        #expect(SecretSharingError.unequalShareLengths(x: 3, length: 2, expected: 3).description.contains("share 3 is 2 bytes long but the first share is 3"))
    }

    // MARK: Printing a share

    @Test func aSharePrintsItsNumberAndLengthOnly() {
        let share = SecretShare(x: 7, bytes: Data("hunter2-hunter2".utf8))
        #expect(share.description == "share 7 (15 bytes)")
        #expect(String(reflecting: share) == "share 7 (15 bytes)")
        var dumped = ""
        dump(share, to: &dumped)
        #expect(dumped.contains("length: 15"))
        for printed in [String(describing: share), String(reflecting: share), dumped, "\([share])"] {
            #expect(!printed.contains("hunter2"), "\(printed)")
            #expect(!printed.contains("68756e746572"), "\(printed)")  // the bytes in hex
        }
    }

    @Test func checksumIsTheHexSHA256OfTheBytes() {
        // FIPS 180-2's example: SHA-256("abc").
        #expect(SecretShare(x: 1, bytes: Data("abc".utf8)).checksum == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(SecretShare(x: 1, bytes: Data("abd".utf8)).checksum != SecretShare(x: 1, bytes: Data("abc".utf8)).checksum)
    }
}

func randomData(_ count: Int) -> Data {
    Data((0..<count).map { _ in UInt8.random(in: 0...255) })
}

/// `count` distinct x coordinates in random order.
func randomXs(_ count: Int) -> [UInt8] {
    Array((1...255 as ClosedRange<UInt8>).shuffled().prefix(count))
}
