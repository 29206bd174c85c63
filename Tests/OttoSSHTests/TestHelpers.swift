import Foundation
import OttoSSH
import OttoTestSupport
import Testing

/// Starts a real sshd, runs `body`, and stops the server whatever happens.
func withServer(_ body: (SSHServer) async throws -> Void) async throws {
    let server = try await SSHServer.start()
    defer { server.stop() }
    try await body(server)
}

/// Connects to `server` with its client key and pinned host key, runs `body`, closes the session.
func withSession(_ server: SSHServer, _ body: (SSHSession) async throws -> Void) async throws {
    let session = try await SSHSession.connect(server.target())
    do {
        try await body(session)
    } catch {
        await session.close()
        throw error
    }
    await session.close()
}

/// The SSHError `body` throws (a failed expectation when it throws something else or nothing).
func sshError(_ body: () async throws -> Void) async -> SSHError? {
    do {
        try await body()
        Issue.record("expected an SSHError, got success")
    } catch let error as SSHError {
        return error
    } catch {
        Issue.record("expected an SSHError, got \(error)")
    }
    return nil
}
