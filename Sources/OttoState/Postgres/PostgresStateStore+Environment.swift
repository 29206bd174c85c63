import OttoCore
import PostgresNIO

extension PostgresStateStore: EnvironmentBoundState {
    /// As `SQLiteStateStore`'s: `meta.environment` holds the environment's name, `''` for a project without environments,
    /// NULL before the first binding. The meta row is locked (`FOR UPDATE`) while it is read and set, so two processes
    /// binding at once see one another's binding.
    public func bindEnvironment(_ environment: String?) throws {
        let wanted = environment ?? ""
        let stored: String? = try writeBlocking("bind the state to its environment") { s in
            let current = try s.query("SELECT environment FROM meta WHERE singleton = 1 FOR UPDATE").first?.decode(String?.self) ?? nil
            // Unbound, or a project's state from before it had environments taken over by one of them.
            if current == nil || (current == "" && !wanted.isEmpty) {
                try s.query("UPDATE meta SET environment = \(wanted) WHERE singleton = 1")
                return wanted
            }
            return current
        }
        guard let stored, stored != wanted else { return }
        throw EnvironmentMismatch.error(path: location.description, stored: stored.isEmpty ? nil : stored, wanted: environment)
    }
}
