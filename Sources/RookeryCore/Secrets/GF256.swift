/// Arithmetic in GF(2^8), the field of bytes that Shamir sharing works in.
///
/// The field is reduced by x^8 + x^4 + x^3 + x^2 + 1 (0x11D), the polynomial libgfshare uses:
/// shares only interoperate with Debian's `gfsplit`/`gfcombine` if both sides multiply alike
/// (the interoperability tests check this against the real tools). Addition is XOR.
///
/// Multiplication goes through log/exp tables built once. Table lookups indexed by secret bytes
/// are not constant-time (a process sharing the CPU cache could in principle learn something from
/// their timing); sharing runs once, briefly, in an admin's command, and that is accepted here.
enum GF256 {
    static let reductionPolynomial = 0x11D

    /// `exp[i]` is 2^i; 2 generates the field's multiplicative group under 0x11D. The table holds
    /// two periods (510 entries) so that `exp[log a + log b]` needs no reduction modulo 255.
    static let exp: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 510)
        var power = 1
        for i in 0..<255 {
            table[i] = UInt8(power)
            table[i + 255] = UInt8(power)
            power <<= 1
            if power & 0x100 != 0 { power ^= reductionPolynomial }
        }
        return table
    }()

    /// `log[a]` is the i with 2^i = a, for a != 0 (`log[0]` is meaningless and never read).
    static let log: [UInt8] = {
        var table = [UInt8](repeating: 0, count: 256)
        for i in 0..<255 { table[Int(exp[i])] = UInt8(i) }
        return table
    }()

    static func multiply(_ a: UInt8, _ b: UInt8) -> UInt8 {
        if a == 0 || b == 0 { return 0 }
        return exp[Int(log[Int(a)]) + Int(log[Int(b)])]
    }

    /// The multiplicative inverse of a nonzero element.
    static func inverse(_ a: UInt8) -> UInt8 {
        precondition(a != 0, "0 has no inverse in GF(2^8)")
        return exp[255 - Int(log[Int(a)])]
    }

    /// The 256 products `v * factor`, so that a loop multiplying many bytes by one factor does a
    /// single lookup per byte.
    static func productRow(_ factor: UInt8) -> [UInt8] {
        (0...255).map { multiply(UInt8($0), factor) }
    }
}
