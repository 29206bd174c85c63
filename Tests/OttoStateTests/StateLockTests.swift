import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

@Suite("State lock")
struct StateLockTests {
    @Test("the lock is taken, and a second acquire fails at once naming the holder")
    func secondAcquireFails() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        #expect(try store.currentLock() == nil)
        let lock = try store.acquireLock(command: "otto apply")
        #expect(lock.pid == getpid())
        #expect(lock.host == ProcessIdentity.host)
        #expect(UUID(uuidString: lock.id) != nil)
        #expect(try store.currentLock() == lock)

        // Same instance, then a second instance on the same file (a separate SQLite connection,
        // which SQLite locks exactly like another process).
        let other = try SQLiteStateStore(path: dir.file("state.db"))
        for contender in [store, other] {
            let started = Date()
            do {
                _ = try contender.acquireLock(command: "otto destroy")
                Issue.record("a second lock was granted")
            } catch let error as StateLockedError {
                #expect(Date().timeIntervalSince(started) < 2, "acquire must not wait for the holder")
                #expect(error.holder == lock)
                #expect(!error.holderIsGone)
                let text = error.description
                #expect(text.hasPrefix("state is locked by `otto apply` (pid \(lock.pid) on host \(lock.host), "
                                       + "user \(lock.user), since "))
                #expect(text.contains("lock id \(lock.id))"))
                #expect(text.contains("run `otto force-unlock \(lock.id)`"))
                #expect(!text.contains("no longer running"))
                #expect(error.asOttoError.code == "state.locked")
                #expect(error.asOttoError.message == text)
            }
        }
        try store.releaseLock(id: lock.id)
        #expect(try other.currentLock() == nil)
        let again = try other.acquireLock(command: "otto destroy")
        #expect(again.id != lock.id)
        #expect(try store.currentLock()?.command == "otto destroy")
    }

    @Test("racing acquirers on separate connections: exactly one wins")
    func race() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("state.db")
        _ = try SQLiteStateStore(path: path)
        let stores = try (0..<8).map { _ in try SQLiteStateStore(path: path) }
        let outcomes = await withTaskGroup(of: Bool.self) { group in
            for store in stores {
                group.addTask {
                    await withCheckedContinuation { continuation in
                        DispatchQueue.global().async {
                            continuation.resume(returning: (try? store.acquireLock(command: "otto apply")) != nil)
                        }
                    }
                }
            }
            var results: [Bool] = []
            for await won in group { results.append(won) }
            return results
        }
        #expect(outcomes.filter { $0 }.count == 1)
        #expect(outcomes.count == 8)
    }

    @Test("a lock held by another process (sqlite3 CLI) is refused and named", .enabled(if: hasSQLite3CLI))
    func lockFromAnotherProcess() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("state.db")
        let store = try SQLiteStateStore(path: path)

        // A live process stands in as the holder.
        let sleeper = Process()
        sleeper.executableURL = URL(fileURLWithPath: "/bin/sleep")
        sleeper.arguments = ["30"]
        try sleeper.run()
        defer {
            kill(sleeper.processIdentifier, SIGKILL)
            sleeper.waitUntilExit()
        }
        let since = try Date("2026-11-22T20:30:00Z", strategy: .iso8601)
        let insert = "INSERT INTO lock (singleton, id, pid, host, user, command, since) VALUES "
            + "(1, 'cli-lock', \(sleeper.processIdentifier), '\(ProcessIdentity.host)', 'root', 'otto apply', "
            + "\(since.timeIntervalSince1970));"
        let taken = try runProcess(sqlite3Path, ["-cmd", ".timeout 5000", path, insert])
        #expect(taken.status == 0, "\(taken.stderr)")

        let error = #expect(throws: StateLockedError.self) { try store.acquireLock(command: "otto plan") }
        #expect(error?.description == "state is locked by `otto apply` (pid \(sleeper.processIdentifier) on host "
                + "\(ProcessIdentity.host), user root, since 2026-11-22T20:30:00Z, lock id cli-lock); "
                + "if that process is gone, run `otto force-unlock cli-lock`")

        // And the other way round: while we hold it, the other process cannot insert a second lock row.
        try store.forceUnlock(id: "cli-lock")
        let mine = try store.acquireLock(command: "otto apply")
        let refused = try runProcess(sqlite3Path, ["-cmd", ".timeout 5000", path, insert])
        #expect(refused.status != 0)
        #expect(refused.stderr.contains("UNIQUE constraint failed"))
        #expect(try store.currentLock() == mine)
    }

    @Test("a lock whose process is gone says so")
    func staleLock() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("state.db")
        let store = try SQLiteStateStore(path: path)
        // A process that has exited: its pid is free (and not reused within this test in practice).
        let done = Process()
        done.executableURL = URL(fileURLWithPath: "/bin/true")
        try done.run()
        done.waitUntilExit()
        let deadPID = done.processIdentifier
        #expect(!ProcessIdentity.isAlive(deadPID))
        try store.write("plant a stale lock") { db in
            try db.execute(sql: """
                INSERT INTO lock (singleton, id, pid, host, user, command, since) VALUES (1, 'stale', ?, ?, 'root',
                'otto apply', 0)
                """, arguments: [deadPID, ProcessIdentity.host])
        }
        let error = #expect(throws: StateLockedError.self) { try store.acquireLock(command: "otto apply") }
        #expect(error?.holderIsGone == true)
        #expect(error?.description.contains("that process is no longer running") == true)
        #expect(error?.description.contains("otto force-unlock stale") == true)

        // On another host we cannot tell, so we do not claim it is gone.
        try store.forceUnlock(id: "stale")
        try store.write("plant a remote lock") { db in
            try db.execute(sql: """
                INSERT INTO lock (singleton, id, pid, host, user, command, since) VALUES (1, 'remote', ?,
                'some-other-host', 'root', 'otto apply', 0)
                """, arguments: [deadPID])
        }
        let remote = #expect(throws: StateLockedError.self) { try store.acquireLock(command: "otto apply") }
        #expect(remote?.holderIsGone == false)
        #expect(remote?.description.contains("no longer running") == false)
    }

    @Test("force-unlock with the wrong id fails and keeps the lock; the right id removes it")
    func forceUnlock() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        let none = #expect(throws: OttoError.self) { try store.forceUnlock(id: "anything") }
        #expect(none?.code == "state.unlock")

        let lock = try store.acquireLock(command: "otto apply")
        let wrong = #expect(throws: OttoError.self) { try store.forceUnlock(id: "not-the-id") }
        #expect(wrong?.code == "state.unlock")
        #expect(wrong?.message.contains(lock.id) == true)
        #expect(try store.currentLock() == lock)

        // releaseLock with another id leaves someone else's lock alone.
        try store.releaseLock(id: "not-the-id")
        #expect(try store.currentLock() == lock)

        let other = try SQLiteStateStore(path: dir.file("state.db"))
        try other.forceUnlock(id: lock.id)
        #expect(try store.currentLock() == nil)
        _ = try other.acquireLock(command: "otto apply")
    }
}
