import Foundation
import Testing

/// The client links FoundationEssentials, never Foundation: with Foundation come CoreFoundation,
/// FoundationInternationalization and ICU, 10 MB of the release binary and 4 MB of the tarball
/// (docs/benchmarks.md). An `import Foundation` in any target the client links, or a dependency
/// that imports it, shows here as a library the (dynamically linked) test build needs.
@Suite struct ClientLinkageTests {
    static let foundationBeyondEssentials = ["libFoundation.so", "libFoundationInternationalization.so", "lib_FoundationICU.so"]

    /// The shared libraries `binary` names as needed (its ELF dynamic section).
    static func neededLibraries(_ binary: String) throws -> [String] {
        let output = try runProcess("/usr/bin/readelf", ["-d", binaryDirectory + "/" + binary], environment: [:])
        #expect(output.status == 0, "\(output.stderr)")
        return output.stdout.split(separator: "\n").compactMap { line in
            guard line.contains("(NEEDED)"), let open = line.firstIndex(of: "["), let close = line.lastIndex(of: "]") else { return nil }
            return String(line[line.index(after: open)..<close])
        }
    }

    @Test func theClientNeedsFoundationEssentialsOnly() throws {
        let needed = try Self.neededLibraries("rookery-client")
        #expect(needed.contains("libFoundationEssentials.so"), "\(needed)")
        #expect(needed.filter { Self.foundationBeyondEssentials.contains($0) } == [], "\(needed)")
    }

    /// The server keeps full Foundation (Yams needs it), so the check above reads what it means to.
    @Test func theServerNeedsFullFoundation() throws {
        #expect(try Self.neededLibraries("rookery").contains("libFoundation.so"))
    }
}
