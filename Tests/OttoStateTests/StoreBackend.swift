import Foundation
import GRDB
import OttoCore
import OttoTestSupport
import PostgresNIO
import Testing
@testable import OttoState

extension StoreBackend: CustomTestStringConvertible {
    public var testDescription: String { rawValue }
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
        let (url, directory) = try await backend.freshStateURL()
        let root = directory?.path ?? "/nonexistent"
        let store = try await Blocking.run { try StateURL.open(url, root: root) }
        return StoreFixture(backend: backend, url: url, store: store, directory: directory)
    }

    /// Opens the same state again (as another process would).
    func reopen() async throws -> any StateStore {
        let url = self.url
        return try await Blocking.run { try StateURL.open(url, root: "/nonexistent") }
    }

    /// How errors name this state: the SQLite file's path, or the PostgreSQL location (without a password).
    var stateName: String {
        switch store {
        case let sqlite as SQLiteStateStore: return sqlite.path
        case let postgres as PostgresStateStore: return postgres.location.description
        default: return url
        }
    }

    /// Runs `sql` (one statement) in a write transaction of the store, under the ledgers' own code: what the database
    /// itself allows (its triggers, its constraints). Blocks.
    func executeRaw(_ sql: String) throws {
        switch store {
        case let sqlite as SQLiteStateStore:
            try sqlite.writeBlocking("run raw SQL") { db in try db.execute(sql: sql) }
        case let postgres as PostgresStateStore:
            try postgres.writeBlocking("run raw SQL") { s in try s.execute(sql) }
        default:
            Issue.record("no raw SQL for \(type(of: store))")
        }
    }

    /// The integer a query answers, as the database sees it: SQLite's through the sqlite3 command line tool (as an
    /// operator would look, outside otto's connection), PostgreSQL's through the store's connection.
    func integer(_ sql: String) async throws -> Int? {
        switch store {
        case let sqlite as SQLiteStateStore:
            let out = try await runProcess([sqlite3Path, "-cmd", ".timeout 5000", sqlite.path, sql]).stdout
            return Int(out.trimmingCharacters(in: .whitespacesAndNewlines))
        case let postgres as PostgresStateStore:
            return try postgres.readBlocking("run raw SQL") { s in
                try s.query(PostgresQuery(unsafeSQL: sql)).first?.decode(Int.self)
            }
        default:
            return nil
        }
    }

    /// Removes the SQLite file's directory (a PostgreSQL database goes with the shared server).
    func cleanup() {
        directory?.cleanup()
    }
}
