import Crypto
import Foundation
import RookeryCore
import RookeryTestSupport

/// Keys and signatures made with real gpg (and a few crafted where gpg will not make them), and
/// the cases derived from them: every byte of a signature flipped, bodies flipped, truncations,
/// signatures checked against other devices' keys. What `NativeVerifierDifferentialTests` runs.
struct SignatureCorpus {
    /// A device as the server stores it: its primary fingerprint, every fingerprint of its key
    /// (primary then subkeys, as gpg lists them) and the armored key it enrolled with.
    struct Device {
        let name: String
        let fingerprints: [String]
        var stored: String = ""
        var primary: String { fingerprints[0] }
    }

    /// One check: `signature` over `body`, sent by the device `claimed`.
    struct Case {
        let label: String
        let claimed: Int
        let body: Data
        let signature: Data
    }

    private(set) var devices: [Device] = []
    private(set) var cases: [Case] = []
    /// Signatures made or crafted whole (before any mutation), with their signer and body.
    private var originals: [(label: String, signer: Int, body: Data, signature: Data)] = []
    private let gpg: GPGCommand
    private let now = Int(Date().timeIntervalSince1970)
    private let day = 86_400

    static let bodies: [Data] = [
        Data(), Data("x".utf8), Data(#"{"host":"laptop","nonce":"00ff"}"#.utf8),
        Data(String(repeating: "a small report line\n", count: 10).utf8),
        Data(String(repeating: "9 KB of facts ", count: 660).utf8)
    ]

    init(home: String) throws {
        gpg = GPGCommand(home: home)
        let openPGP = OpenPGP(homeDirectory: home)
        try openPGP.prepareHome()

        // Rookery's own kinds of key, made as the client and server make them.
        let a = try add("a", [try openPGP.generateSigningKey(userID: "device a")])
        let b = try add("b", [try openPGP.generateSigningKey(userID: "device b")])
        _ = try openPGP.generateEncryptionKey(userID: "mixed")
        let mixed = try add("mixed", try gpg.fingerprints(of: "mixed"))
        // A signing subkey beside the primary key.
        let subkeyed = try gpg.generate("subkeyed", "ed25519")
        try gpg.run(["--quick-add-key", subkeyed, "ed25519", "sign"])
        let sub = try add("subkeyed", try gpg.fingerprints(of: "subkeyed"))
        // Made ten days ago: one expired after a day, one lasts two years.
        let expired = try add("expired", [try gpg.generate("expired", "ed25519", expires: "1d", fakedTime: now - 10 * day)])
        let lasting = try add("lasting", [try gpg.generate("lasting", "ed25519", expires: "2y", fakedTime: now - 10 * day)])
        let revoked = try add("revoked", [try gpg.generate("revoked", "ed25519")])
        let future = try add("future", [try gpg.generate("future", "ed25519", fakedTime: now + 2 * day)])
        let rsa = try add("rsa", [try gpg.generate("rsa", "rsa2048")])

        // Every kind of key over every body, as gpg signs by default.
        for (signer, key, time) in [
            (a, "", nil), (b, "", nil), (mixed, "", nil), (sub, "", nil), (sub, "sub", nil),
            (expired, "", now - 10 * day + day / 2), (lasting, "", nil), (revoked, "", nil),
            (future, "", now + 3 * day), (rsa, "", nil)
        ] as [(Int, String, Int?)] {
            let user = key == "sub" ? devices[signer].fingerprints[1] + "!" : devices[signer].primary
            for (index, body) in Self.bodies.enumerated() {
                try sign("\(devices[signer].name)\(key)/body\(index)", signer, body, user, fakedTime: time)
            }
        }
        // Other hash algorithms, dates in the future, signature expirations, notations.
        let body = Self.bodies[2]
        for digest in ["SHA1", "SHA224", "SHA256", "SHA384", "SHA512"] {
            for (signer, user) in [(a, devices[a].primary), (sub, devices[sub].fingerprints[1] + "!"), (rsa, devices[rsa].primary)] {
                try? sign("\(devices[signer].name)/\(digest)", signer, body, user, ["--digest-algo", digest])
            }
        }
        for ahead in [60, day, 400 * day] {
            try sign("a/\(ahead)s ahead", a, body, devices[a].primary, fakedTime: now + ahead)
            try sign("subkeyed sub/\(ahead)s ahead", sub, body, devices[sub].fingerprints[1] + "!", fakedTime: now + ahead)
        }
        try sign("lasting/expired signature", lasting, body, devices[lasting].primary, ["--default-sig-expire", "1d"], fakedTime: now - 2 * day)
        try sign("lasting/expiring signature", lasting, body, devices[lasting].primary, ["--default-sig-expire", "1d"])
        for notation in ["!critical@rookery.test=1", "plain@rookery.test=1", "!preferred-email-encoding@pgp.com=pgpmime"] {
            try sign("a/notation \(notation)", a, body, devices[a].primary, ["--sig-notation", notation])
        }
        try craft(a: a, b: b, lasting: lasting)

        try gpg.revoke(devices[revoked].primary)
        for index in devices.indices {
            devices[index].stored = try openPGP.exportPublicKey(fingerprint: devices[index].primary)
        }
        derive(mutating: [a, b, sub, lasting, mixed])
    }

    private mutating func add(_ name: String, _ fingerprints: [String]) throws -> Int {
        devices.append(Device(name: name, fingerprints: fingerprints))
        return devices.count - 1
    }

    private mutating func sign(
        _ label: String, _ signer: Int, _ body: Data, _ user: String,
        _ options: [String] = [], fakedTime: Int? = nil
    ) throws {
        let signature = try gpg.sign(body, by: user, options: options, fakedTime: fakedTime)
        originals.append((label, signer, body, signature))
    }

    /// Signatures gpg does not make, signed with the real secret keys of `a` and `lasting`.
    private mutating func craft(a: Int, b: Int, lasting: Int) throws {
        let body = Self.bodies[2]
        let aKey = try gpg.ed25519SecretKey(devices[a].primary)
        let lastingKey = try gpg.ed25519SecretKey(devices[lasting].primary)
        let aFpr = devices[a].primary
        let bFpr = devices[b].primary
        let lastingFpr = devices[lasting].primary
        typealias S = CraftedSignature
        func keep(_ label: String, _ signer: Int, _ crafted: CraftedSignature) throws {
            let key = signer == a ? aKey : lastingKey
            originals.append(("crafted/" + label, signer, body, try crafted.sign(body, with: key)))
        }
        try keep("plain SHA-512", a, S.plain(by: aFpr, at: now))
        var sha256 = S.plain(by: aFpr, at: now)
        sha256.hashAlgorithm = 8
        try keep("plain SHA-256", a, sha256)
        for type: UInt8 in [1, 4, 5, 6, 7, 8, 12, 13, 20, 24, 25, 26, 28, 29, 31, 34, 35, 36, 37, 38, 39, 40, 41, 50, 99, 100, 105, 110, 127] {
            var hashed = S.plain(by: aFpr, at: now)
            hashed.hashed += S.subpacket(type, critical: true, [1])
            try keep("critical \(type) hashed", a, hashed)
            var unhashed = S.plain(by: aFpr, at: now)
            unhashed.unhashed += S.subpacket(type, critical: true, [1])
            try keep("critical \(type) unhashed", a, unhashed)
        }
        var plain50 = S.plain(by: aFpr, at: now)
        plain50.hashed += S.subpacket(50, [1])
        try keep("non-critical 50", a, plain50)
        try keep(
            "critical creation and issuer", a,
            S(
                hashed: S.time(2, now, critical: true) + S.subpacket(33, critical: true, [4] + Hex.bytes(aFpr)!),
                unhashed: S.subpacket(16, critical: true, Array(Hex.bytes(aFpr)!.suffix(8)))))
        let lastingCreated = now - 10 * day
        for (label, offset) in [("before the key", -100), ("at the key", 0), ("a day ahead", day), ("a year ahead", 365 * day)] {
            try keep("created \(label)", lasting, S.plain(by: lastingFpr, at: lastingCreated + offset))
        }
        for (label, created, expires) in [
            ("expired", now - 2 * day, day), ("expiring", now, day), ("expires 0", now, 0),
            ("expired a second ago", now - 100, 99), ("expiring critical", now - 100, 1_000)
        ] {
            var crafted = S.plain(by: lastingFpr, at: created)
            crafted.hashed += S.time(3, expires, critical: label.contains("critical"))
            try keep("signature \(label)", lasting, crafted)
        }
        var unhashedExpiry = S.plain(by: lastingFpr, at: now - 2 * day)
        unhashedExpiry.unhashed += S.time(3, day)
        try keep("expiration unhashed", lasting, unhashedExpiry)
        try keep("no issuer", a, S(hashed: S.time(2, now)))
        try keep("key ID only", a, S(hashed: S.time(2, now), unhashed: S.issuerKeyID(aFpr)))
        try keep("fingerprint only", a, S(hashed: S.issuer(aFpr) + S.time(2, now)))
        try keep("key ID hashed", a, S(hashed: S.issuerKeyID(aFpr) + S.time(2, now)))
        try keep("fingerprint a, key ID b", a, S(hashed: S.issuer(aFpr) + S.time(2, now), unhashed: S.issuerKeyID(bFpr)))
        try keep("names b", a, S.plain(by: bFpr, at: now))
        try keep("no creation time", a, S(hashed: S.issuer(aFpr), unhashed: S.issuerKeyID(aFpr)))
        try keep("two creation times", a, S(hashed: S.issuer(aFpr) + S.time(2, now) + S.time(2, now - 5)))
        try keep("creation time unhashed", a, S(hashed: S.issuer(aFpr), unhashed: S.time(2, now) + S.issuerKeyID(aFpr)))
        try keep("creation time hashed and unhashed", a, S(hashed: S.issuer(aFpr) + S.time(2, now), unhashed: S.time(2, now - 5)))
    }

    /// Every original against its own device and every other one; then, for the plain originals
    /// over short bodies by `signers`, every byte of the signature flipped five ways, every byte of
    /// the body flipped, and every truncation.
    private mutating func derive(mutating signers: [Int]) {
        for original in originals {
            for device in devices.indices {
                let label = device == original.signer ? original.label : "\(original.label) as \(devices[device].name)"
                cases.append(Case(label: label, claimed: device, body: original.body, signature: original.signature))
            }
        }
        let mutable = originals.filter { original in
            signers.contains(original.signer) && ["/body1", "/body2", "/plain SHA-512", "/plain SHA-256"].contains { original.label.hasSuffix($0) }
        }
        for original in mutable {
            let signature = [UInt8](original.signature)
            let body = [UInt8](original.body)
            for position in signature.indices {
                for mask: UInt8 in [0x01, 0x04, 0x10, 0x80, 0xFF] {
                    var flipped = signature
                    flipped[position] ^= mask
                    cases.append(
                        Case(
                            label: "\(original.label) signature[\(position)]^\(mask)", claimed: original.signer,
                            body: original.body, signature: Data(flipped)))
                }
                if position > 0 {
                    cases.append(
                        Case(
                            label: "\(original.label) cut to \(position)", claimed: original.signer,
                            body: original.body, signature: Data(signature.prefix(position))))
                }
            }
            for position in body.indices {
                var flipped = body
                flipped[position] ^= 0x20
                cases.append(
                    Case(
                        label: "\(original.label) body[\(position)]", claimed: original.signer,
                        body: Data(flipped), signature: original.signature))
            }
            cases.append(
                Case(
                    label: "\(original.label) body extended", claimed: original.signer,
                    body: original.body + [0x0A], signature: original.signature))
        }
    }
}
