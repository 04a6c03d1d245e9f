import Foundation
import RookeryCore
import RookeryTestSupport
import Testing

// Rookery's shares against Debian's libgfshare tools, the real binaries: shares from `gfsplit` are
// read and combined by Rookery, and `gfcombine` combines shares Rookery wrote. bin/test installs
// libgfshare-bin; without it these tests fail (they never skip).

@Suite struct GfshareInteropTests {
    let sandbox: Sandbox
    init() throws { sandbox = try Sandbox() }

    static let gfsplit = "/usr/bin/gfsplit"
    static let gfcombine = "/usr/bin/gfcombine"

    /// (threshold N, share count M), as gfsplit's -n and -m. gfsplit refuses N = 1.
    @Test(arguments: [(2, 3), (3, 5), (5, 5), (40, 255), (255, 255)])
    func sharesFromGfsplitCombineInRookery(threshold: Int, shareCount: Int) throws {
        let secret = randomData(3000)
        try secret.write(to: URL(fileURLWithPath: sandbox.path + "/secret"))
        let shareDirectory = try sandbox.directory("shares")
        // -m before -n: gfsplit checks -n against the share count seen so far (5 by default).
        try run(Self.gfsplit, ["-m", "\(shareCount)", "-n", "\(threshold)", sandbox.path + "/secret", shareDirectory + "/key"])

        let names = try FileManager.default.contentsOfDirectory(atPath: shareDirectory)
        #expect(names.count == shareCount)
        let shares = try names.map { try ShareFile.read(path: shareDirectory + "/" + $0) }
        for _ in 0..<3 {
            let subset = Array(shares.shuffled().prefix(threshold))
            #expect(try ShamirSharing.combine(subset) == secret, "shares \(subset.map(\.x))")
        }
        #expect(try ShamirSharing.combine(shares) == secret)
        if threshold > 1 {
            #expect(try ShamirSharing.combine(Array(shares.shuffled().prefix(threshold - 1))) != secret)
        }
    }

    /// gfcombine wants at least two share files, so N = 1 is not tried.
    @Test(arguments: [(2, 3), (3, 5), (20, 40)])
    func sharesFromRookeryCombineInGfcombine(threshold: Int, shareCount: Int) throws {
        let secret = randomData(4096)
        let shares = try ShamirSharing.split(secret, threshold: threshold, xCoordinates: randomXs(shareCount))
        let paths = try shares.map { try ShareFile.write($0, directory: sandbox.path, stem: "key") }

        let chosen = Array(paths.shuffled().prefix(threshold))
        let output = sandbox.path + "/recombined"
        try run(Self.gfcombine, ["-o", output] + chosen)
        #expect(try Data(contentsOf: URL(fileURLWithPath: output)) == secret, "shares \(chosen)")

        if threshold > 2 {
            let tooFew = sandbox.path + "/too-few"
            try run(Self.gfcombine, ["-o", tooFew] + chosen.dropLast())
            #expect(try Data(contentsOf: URL(fileURLWithPath: tooFew)) != secret)
        }
    }

    /// Runs a libgfshare tool and requires it to succeed.
    private func run(_ tool: String, _ arguments: [String]) throws {
        try #require(
            FileManager.default.isExecutableFile(atPath: tool),
            "\(tool) is missing: install Debian's libgfshare-bin (apt-get install libgfshare-bin; bin/test does this)")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: tool)
        process.arguments = arguments
        process.currentDirectoryURL = URL(fileURLWithPath: sandbox.path)
        let errors = Pipe()
        process.standardError = errors
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let said = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(tool) \(arguments.joined(separator: " ")) failed: \(said)")
    }
}
