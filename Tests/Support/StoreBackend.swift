import Foundation

/// The state backends the shared store suites run against: SQLite (a file in a temp directory) and PostgreSQL (a
/// database of its own on the test process's shared PostgreSQL 15 server, `PostgresServer.shared()`). Here, in the
/// support target, so every test target can run its state-backed suites on both (OttoStateTests' `StoreFixture`, the
/// server tests' `ServerFixture`).
public enum StoreBackend: String, CaseIterable, Sendable {
    case sqlite
    case postgres

    /// The `--state` URL of a new, empty state on this backend, and the directory that holds it (SQLite; remove it when
    /// done). A PostgreSQL state is a new database on the shared server, project `test`.
    public func freshStateURL() async throws -> (url: String, directory: TempDir?) {
        switch self {
        case .sqlite:
            let dir = try TempDir()
            return ("sqlite:" + dir.file("state.db"), dir)
        case .postgres:
            let server = try await PostgresServer.shared()
            let database = try await server.makeDatabase()
            return (server.url(database, "project=test"), nil)
        }
    }
}
