import Foundation
import GRDB
import OttoCore

extension SQLiteStateStore {
    public func startRun(command: String, user: String) async throws -> Int64 {
        try await write("record the start of a run") { db in
            try db.execute(sql: "INSERT INTO runs (command, user, host, started) VALUES (?, ?, ?, ?)",
                           arguments: [command, user, ProcessIdentity.host, Date().timeIntervalSince1970])
            return db.lastInsertedRowID
        }
    }

    public func finishRun(id: Int64, outcome: String, summary: String) async throws {
        let path = self.path
        try await write("record the end of run \(id)") { db in
            try db.execute(sql: "UPDATE runs SET finished = ?, outcome = ?, summary = ? WHERE id = ?",
                           arguments: [Date().timeIntervalSince1970, outcome, summary, id])
            if db.changesCount == 0 {
                throw OttoError("state.run", "there is no run \(id) in the state database \(path)", causeText: nil)
            }
        }
    }

    public func runs(limit: Int) async throws -> [RunRecord] {
        try await read("read the run history") { db in
            try Row.fetchAll(db, sql: """
                SELECT id, command, user, host, started, finished, outcome, summary FROM runs
                ORDER BY id DESC LIMIT ?
                """, arguments: [max(0, limit)]).map { row in
                let finished: Double? = row[5]
                return RunRecord(id: row[0], command: row[1], user: row[2], host: row[3],
                                 started: Date(timeIntervalSince1970: row[4]),
                                 finished: finished.map(Date.init(timeIntervalSince1970:)),
                                 outcome: row[6], summary: row[7])
            }
        }
    }
}
