import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

/// The state backends the shared store suites run against: SQLite (a file in a temp directory) and PostgreSQL (a
/// database of its own on the test process's shared PostgreSQL 15 server, `PostgresServer.shared()`).
enum StoreBackend: String, CaseIterable, Sendable, CustomTestStringConvertible {
    case sqlite
    case postgres

    var testDescription: String { rawValue }
}

/// One state for one test: its URL, and a way to open it again (another client of the same state).
final class StoreFixture: Sendable {
    let backend: StoreBackend
    /// The `--state` URL.
    let url: String
    /// The first store opened on it.
    let store: any StateStore
    private let directory: TempDir?

    private init(backend: StoreBackend, url: String, store: any StateStore, directory: TempDir?) {
        self.backend = backend
        self.url = url
        self.store = store
        self.directory = directory
    }

    /// A new, empty state on `backend`.
    static func make(_ backend: StoreBackend) async throws -> StoreFixture {
        switch backend {
        case .sqlite:
            let dir = try TempDir()
            let url = "sqlite:" + dir.file("state.db")
            let store = try await Blocking.run { try StateURL.open(url, root: dir.path) }
            return StoreFixture(backend: backend, url: url, store: store, directory: dir)
        case .postgres:
            let server = try await PostgresServer.shared()
            let database = try await server.makeDatabase()
            let url = server.url(database, "project=test")
            let store = try await Blocking.run { try StateURL.open(url, root: "/nonexistent") }
            return StoreFixture(backend: backend, url: url, store: store, directory: nil)
        }
    }

    /// Opens the same state again (as another process would).
    func reopen() async throws -> any StateStore {
        let url = self.url
        return try await Blocking.run { try StateURL.open(url, root: "/nonexistent") }
    }

    /// Removes the SQLite file's directory (a PostgreSQL database goes with the shared server).
    func cleanup() {
        directory?.cleanup()
    }
}
