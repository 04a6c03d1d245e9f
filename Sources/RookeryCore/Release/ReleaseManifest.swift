import Crypto
import FoundationEssentials

/// The signed table of contents of a client release: its number, when it was made, and for every
/// file its path, size, permission bits and SHA-256. The server signs the exact bytes of
/// `manifest.json`; a device installs a release only if that signature is by its pinned server
/// key and every file matches its line here.
public struct ReleaseManifest: Codable, Sendable, Equatable {
    public struct File: Codable, Sendable, Equatable {
        public let path: String
        public let size: Int
        public let mode: Int
        public let sha256: String

        public init(path: String, contents: Data, mode: Int) {
            self.path = path
            self.size = contents.count
            self.mode = mode
            self.sha256 = ReleaseManifest.sha256Hex(contents)
        }
    }

    public let release: Int
    public let createdAt: String
    public let files: [File]

    /// The archive members that carry the manifest itself; they come first in every tarball.
    public static let manifestName = "manifest.json"
    public static let signatureName = "manifest.json.sig"

    public init(release: Int, createdAt: Date, files: [File]) {
        self.release = release
        self.createdAt = RFC3339.string(from: createdAt)
        self.files = files
    }

    enum CodingKeys: String, CodingKey {
        case release
        case createdAt = "created_at"
        case files
    }

    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .prettyPrinted]
        return try encoder.encode(self)
    }

    public static func decode(_ data: Data) throws -> ReleaseManifest {
        try JSONDecoder().decode(ReleaseManifest.self, from: data)
    }

    public static func sha256Hex(_ data: Data) -> String {
        Hex.string(SHA256.hash(data: data))
    }
}
