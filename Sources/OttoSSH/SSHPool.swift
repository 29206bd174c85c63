/// One session per target for a whole run, reused for everything on that host. Concurrent callers for one target
/// share one connection attempt; a failed attempt is not cached (the next call tries again), and a session that
/// was closed or lost its connection is replaced on the next request.
public actor SSHPool {
    private var sessions: [SSHTarget: Task<SSHSession, any Error>] = [:]

    /// Creates an empty pool.
    public init() {}

    /// The open session for `target`, connecting if there is none.
    public func session(for target: SSHTarget) async throws -> SSHSession {
        while true {
            let task: Task<SSHSession, any Error>
            if let existing = sessions[target] {
                task = existing
            } else {
                task = Task { try await SSHSession.connect(target) }
                sessions[target] = task
            }
            do {
                let session = try await task.value
                if session.isOpen { return session }
                if sessions[target] == task { sessions[target] = nil }
            } catch {
                if sessions[target] == task { sessions[target] = nil }
                throw error
            }
        }
    }

    /// How many targets have a session (or a connection attempt) in the pool.
    public var count: Int { sessions.count }

    /// Closes every session and empties the pool.
    public func closeAll() async {
        let tasks = Array(sessions.values)
        sessions = [:]
        for task in tasks {
            if let session = try? await task.value { await session.close() }
        }
    }
}
