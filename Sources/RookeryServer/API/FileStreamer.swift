import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import RookeryCore

/// Sends a file (a release tarball: tens of megabytes) in chunks read on the blocking pool, so
/// neither memory nor the event loop pays for its size.
struct FileStreamer: Sendable {
    let pool: BlockingPool
    /// Small, because a slow reader must take about one chunk per `response_timeout` (see
    /// ResponseDeadline): 64 KiB keeps that within reach of a poor mobile link.
    static let chunkSize = 64 << 10

    func response(path: String, fileName: String? = nil) async throws -> Response {
        let handle = try await pool.run { () throws -> FileHandle in
            guard let handle = FileHandle(forReadingAtPath: path) else {
                throw ProtocolError(.notFound, "the release file is missing on the server")
            }
            return handle
        }
        let size = try await pool.run { try handle.seekToEnd() }
        try await pool.run { try handle.seek(toOffset: 0) }
        var headers: HTTPFields = [.contentType: "application/gzip"]
        if let fileName { headers[.contentDisposition] = "attachment; filename=\"\(fileName)\"" }
        let pool = self.pool
        let body = ResponseBody(contentLength: Int(size)) { writer in
            defer { try? handle.close() }
            while true {
                let chunk = try await pool.run { try handle.read(upToCount: Self.chunkSize) ?? Data() }
                if chunk.isEmpty { break }
                try await writer.write(ByteBuffer(bytes: chunk))
            }
            try await writer.finish(nil)
        }
        return Response(status: .ok, headers: headers, body: body)
    }
}
