import GRDB
import OttoCore

extension SQLiteStateStore: EnvironmentBoundState {
    /// Stored as the environment's name, `''` for a project without environments, NULL before the first binding. A state
    /// bound to no environment is taken over by the first environment that uses it (a project that adds environments
    /// keeps its state as one of them); a state bound to an environment is never used by another or without one.
    public func bindEnvironment(_ environment: String?) throws {
        let wanted = environment ?? ""
        let path = self.path
        let stored: String? = try writeBlocking("bind the state to its environment") { db in
            let current = try String?.fetchOne(db, sql: "SELECT environment FROM meta WHERE singleton = 1") ?? nil
            // Unbound, or a project's state from before it had environments taken over by one of them.
            if current == nil || (current == "" && !wanted.isEmpty) {
                try db.execute(sql: "UPDATE meta SET environment = ? WHERE singleton = 1", arguments: [wanted])
                return wanted
            }
            return current
        }
        guard let stored, stored != wanted else { return }
        throw EnvironmentMismatch.error(path: path, stored: stored.isEmpty ? nil : stored, wanted: environment)
    }
}
