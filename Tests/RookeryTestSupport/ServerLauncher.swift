import Foundation
import RookeryCore

/// Starts the real `rookery server` in the background, for the end-to-end tests and the
/// benchmarks alike, and waits until it listens.
public enum ServerLauncher {
    /// How long a server may take to listen before it counts as failed.
    public static let startTimeout: TimeInterval = 30

    /// Runs `binary server --port-file ... arguments` with ROOKERY_HOME set to `root`, and returns
    /// the process and the port it listens on (its first, with several) once it has written it.
    /// `standardError`: where the server logs; nil leaves it on this process's own.
    public static func start(
        binary: String, root: String, arguments: [String],
        standardError: FileHandle? = nil
    ) throws -> (process: Process, port: Int) {
        let portFile = root + "/port"
        try? FileManager.default.removeItem(atPath: portFile)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = ["server", "--port-file", portFile] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["ROOKERY_HOME": root]) { $1 }
        process.standardOutput = FileHandle.nullDevice
        if let standardError { process.standardError = standardError }
        try process.run()
        let deadline = Date().addingTimeInterval(startTimeout)
        while Date() < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8),
                let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), port > 0
            {
                return (process, port)
            }
            guard process.isRunning else {
                throw SettingsError("rookery server in \(root) exited with status \(process.terminationStatus) before it listened; its log says why")
            }
            usleep(20_000)
        }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        throw SettingsError("rookery server in \(root) did not listen within \(Int(startTimeout)) s; its log says why")
    }
}
