import FoundationEssentials

/// Shamir's secret sharing over GF(2^8), byte by byte, as libgfshare does it: byte i of the
/// secret is the constant term of its own random polynomial of degree threshold-1, and a share
/// holds that polynomial's value at the share's x for every byte. Any `threshold` shares give the
/// polynomials back by Lagrange interpolation; fewer give no information about the secret.
///
/// Shares made here and by Debian's `gfsplit` combine with each other (same field, and a share's
/// x is its file suffix; see `ShareFile`). The coefficients are uniform over the whole field, zero
/// included, as secrecy requires.
public enum ShamirSharing {
    /// Splits `secret` into one share per x coordinate, of which any `threshold` recover it.
    /// `randomBytes(n)` must return n bytes from a cryptographic source; it is a parameter only so
    /// that tests can pin the polynomials.
    public static func split(
        _ secret: Data,
        threshold: Int,
        xCoordinates: [UInt8],
        randomBytes: (Int) -> [UInt8] = ShamirSharing.systemRandomBytes
    ) throws -> [SecretShare] {
        guard !secret.isEmpty else { throw SecretSharingError.emptySecret }
        guard (1...255).contains(threshold) else { throw SecretSharingError.thresholdOutOfRange(threshold: threshold) }
        guard xCoordinates.count <= 255 else { throw SecretSharingError.tooManyShares(count: xCoordinates.count) }
        guard threshold <= xCoordinates.count else {
            throw SecretSharingError.thresholdAboveShareCount(threshold: threshold, shareCount: xCoordinates.count)
        }
        try checkCoordinates(xCoordinates)

        let length = secret.count
        // The coefficients of degree 1 up to threshold-1, one run of `length` bytes per degree.
        let coefficients = randomBytes((threshold - 1) * length)
        precondition(coefficients.count == (threshold - 1) * length, "randomBytes returned the wrong number of bytes")
        let secretBytes = [UInt8](secret)

        return xCoordinates.map { x in
            let timesX = GF256.productRow(x)
            var values = [UInt8](repeating: 0, count: length)
            // Horner's rule for every byte's polynomial at once, highest degree first:
            // value = (...(c[t-1]·x + c[t-2])·x + ... + c[1])·x + secret.
            values.withUnsafeMutableBufferPointer { values in
                timesX.withUnsafeBufferPointer { timesX in
                    coefficients.withUnsafeBufferPointer { coefficients in
                        for degree in stride(from: threshold - 1, through: 1, by: -1) {
                            let start = (degree - 1) * length
                            for i in 0..<length { values[i] = timesX[Int(values[i])] ^ coefficients[start + i] }
                        }
                    }
                    for i in 0..<length { values[i] = timesX[Int(values[i])] ^ secretBytes[i] }
                }
            }
            return SecretShare(x: x, bytes: Data(values))
        }
    }

    /// The secret that `shares` interpolate to at x = 0. Given fewer shares than the threshold
    /// they were made with, the result is unrelated to the secret (nothing here can tell).
    public static func combine(_ shares: [SecretShare]) throws -> Data {
        guard let first = shares.first else { throw SecretSharingError.noShares }
        try checkCoordinates(shares.map(\.x))
        let length = first.bytes.count
        for share in shares {
            guard !share.bytes.isEmpty else { throw SecretSharingError.emptyShare(x: share.x) }
            guard share.bytes.count == length else {
                throw SecretSharingError.unequalShareLengths(x: share.x, length: share.bytes.count, expected: length)
            }
        }

        let xs = shares.map(\.x)
        var secret = [UInt8](repeating: 0, count: length)
        for (j, share) in shares.enumerated() {
            let timesWeight = GF256.productRow(lagrangeWeightAtZero(of: j, among: xs))
            secret.withUnsafeMutableBufferPointer { secret in
                timesWeight.withUnsafeBufferPointer { timesWeight in
                    share.bytes.withUnsafeBytes { values in
                        for i in 0..<length { secret[i] ^= timesWeight[Int(values[i])] }
                    }
                }
            }
        }
        return Data(secret)
    }

    /// n bytes from the system's cryptographic random source (getrandom on Linux).
    public static func systemRandomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        var bytes = [UInt8]()
        bytes.reserveCapacity(count + 7)
        // Eight bytes per draw: one system call each rather than one per byte.
        while bytes.count < count {
            withUnsafeBytes(of: generator.next() as UInt64) { bytes.append(contentsOf: $0) }
        }
        return Array(bytes.prefix(count))
    }

    /// The Lagrange basis polynomial of point j evaluated at 0: the product over the other points
    /// m of x_m / (x_m - x_j), where subtraction in GF(2^8) is XOR.
    private static func lagrangeWeightAtZero(of j: Int, among xs: [UInt8]) -> UInt8 {
        var weight: UInt8 = 1
        for (m, xm) in xs.enumerated() where m != j {
            weight = GF256.multiply(weight, GF256.multiply(xm, GF256.inverse(xm ^ xs[j])))
        }
        return weight
    }

    /// x = 0 would hold the secret itself; equal x values make interpolation meaningless.
    private static func checkCoordinates(_ xs: [UInt8]) throws {
        var seen = Set<UInt8>()
        for x in xs {
            guard x != 0 else { throw SecretSharingError.zeroXCoordinate }
            guard seen.insert(x).inserted else { throw SecretSharingError.duplicateXCoordinate(x) }
        }
    }
}
