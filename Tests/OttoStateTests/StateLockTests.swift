import Foundation
import GRDB
import OttoCore
@testable import OttoState
import OttoTestSupport
import Testing

/// A process of its own holding the flock of one lock file (util-linux `flock --no-fork FILE sleep 60`: the sleep itself
/// holds it), as another otto would.
final class ForeignHolder {
    let process: ChildProcess

    init(lockFile: String) async throws {
        process = try await ChildProcess.start(["/usr/bin/flock", "--exclusive", "--no-fork", lockFile, "/bin/sleep", "60"])
        // Held once `flock -n` on the same file fails (30 s: starting processes is slow on a loaded machine).
        let deadline = ContinuousClock.now + .seconds(30)
        while ContinuousClock.now < deadline {
            if try await runProcess(["/usr/bin/flock", "--nonblock", lockFile, "/bin/true"]).status != 0 { return }
            try await Task.sleep(for: .milliseconds(10))
        }
        process.kill()
        throw OttoError("test.flock", "flock did not take \(lockFile)")
    }

    var pid: Int32 { process.pid }

    /// SIGKILLs the holder and waits for it.
    func kill() async {
        process.kill(SIGKILL)
        await process.waitForExit()
    }

    deinit { process.kill(SIGKILL) }
}

let hasFlockCLI = FileManager.default.isExecutableFile(atPath: "/usr/bin/flock")

/// Plants a lock row the way a holder writes it.
func plantLockRow(_ store: SQLiteStateStore, scope: StateScope, id: String, pid: Int32, host: String = ProcessIdentity.host,
                  command: String = "otto apply", since: Double = 0) async throws {
    try await store.write("plant a lock row") { db in
        try db.execute(sql: """
            INSERT INTO locks (scope, id, pid, host, user, command, since) VALUES (?, ?, ?, ?, 'root', ?, ?)
            ON CONFLICT (scope) DO UPDATE SET id = excluded.id, pid = excluded.pid, host = excluded.host, command = excluded.command
            """, arguments: [scope.key, id, pid, host, command, since])
    }
}

@Suite("State locks")
struct StateLockTests {
    /// "At once": the holder keeps its lock until after both attempts, so an attempt that waited for the holder
    /// would never return (the time limit turns that into a failure); each fails while the holder still holds.
    @Test("a site's lock is taken, and a second lock of it fails at once naming the holder", .timeLimit(.minutes(1)))
    func secondAcquireFails() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        #expect(try await store.locks().isEmpty)
        let lease = try await store.lock([.site("demo")], command: "otto apply", timeout: .zero)
        let lock = try #require(lease.locks.first)
        #expect(lease.locks.count == 1)
        #expect(lock.scope == .site("demo"))
        #expect(lock.pid == getpid())
        #expect(lock.host == ProcessIdentity.host)
        #expect(UUID(uuidString: lock.id) != nil)
        #expect(try await store.locks() == [lock])

        // Same instance, then a second instance on the same file (its own open file description, which flock
        // excludes exactly like another process).
        let other = try SQLiteStateStore(path: dir.file("state.db"))
        for contender in [store, other] {
            do {
                _ = try await contender.lock([.site("demo")], command: "otto destroy", timeout: .zero)
                Issue.record("a second lock was granted")
            } catch let error as StateLockedError {
                #expect(try await store.locks() == [lock], "the holder still holds its lock")
                #expect(error.waited == .zero)
                #expect(error.holder == lock)
                #expect(!error.holderIsGone)
                let text = error.description
                #expect(text.hasPrefix("site demo is locked by `otto apply` (pid \(lock.pid) on host \(lock.host), "
                                       + "user \(lock.user), since "))
                #expect(text.contains("lock id \(lock.id))"))
                #expect(text.contains("pass --lock-timeout"))
                #expect(error.asOttoError.code == "state.locked")
                #expect(error.asOttoError.message == text)
            }
        }
        await lease.release()
        #expect(try await other.locks().isEmpty)
        let again = try await other.lock([.site("demo")], command: "otto destroy", timeout: .zero)
        #expect(again.locks.first?.id != lock.id)
        #expect(try await store.locks().first?.command == "otto destroy")
        await again.release()
    }

    @Test("locks of different sites do not exclude each other; the account scope is a lock of its own")
    func perSite() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let a = try SQLiteStateStore(path: dir.file("state.db"))
        let b = try SQLiteStateStore(path: dir.file("state.db"))
        let first = try await a.lock([.site("shop")], command: "otto apply --site shop", timeout: .zero)
        let second = try await b.lock([.site("blog")], command: "otto apply --site blog", timeout: .zero)
        let account = try await b.lock([.account], command: "otto apply", timeout: .zero)
        #expect(try await a.locks().map(\.scope) == [.site("blog"), .site("shop"), .account])
        // A lock of several scopes fails as a whole when one is held, and keeps none of the others.
        await #expect(throws: StateLockedError.self) {
            _ = try await b.lock([.site("news"), .site("shop")], command: "otto apply", timeout: .zero)
        }
        let news = try await a.lock([.site("news")], command: "otto apply --site news", timeout: .zero)
        await news.release()
        await first.release()
        await second.release()
        await account.release()
        #expect(try await a.locks().isEmpty)
    }

    @Test("racing lockers on separate connections: exactly one wins")
    func race() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("state.db")
        _ = try SQLiteStateStore(path: path)
        let stores = try (0..<8).map { _ in try SQLiteStateStore(path: path) }
        let leases = await withTaskGroup(of: (any StateLease)?.self) { group in
            for store in stores {
                group.addTask { try? await store.lock([.site("demo"), .account], command: "otto apply", timeout: .zero) }
            }
            var results: [(any StateLease)?] = []
            for await lease in group { results.append(lease) }
            return results
        }
        #expect(leases.count == 8)
        #expect(leases.compactMap { $0 }.count == 1)
        for lease in leases.compactMap({ $0 }) { await lease.release() }
    }

    @Test("--lock-timeout waits for the holder, and fails after it naming the holder and the wait")
    func waits() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        let other = try SQLiteStateStore(path: dir.file("state.db"))
        let held = try await store.lock([.site("demo")], command: "otto apply", timeout: .zero)
        let started = ContinuousClock.now
        let error = await #expect(throws: StateLockedError.self) {
            _ = try await other.lock([.site("demo")], command: "otto plan", timeout: .milliseconds(300))
        }
        #expect(ContinuousClock.now - started >= .milliseconds(300))
        #expect(error?.waited ?? .zero >= .milliseconds(300))
        #expect(error?.description.contains("waited 0.3 s for it") == true)
        // Released while the second waits: it gets the lock.
        Task {
            try await Task.sleep(for: .milliseconds(200))
            await held.release()
        }
        let waited = try await other.lock([.site("demo")], command: "otto plan", timeout: .seconds(10))
        #expect(waited.locks.first?.command == "otto plan")
        await waited.release()
    }

    @Test("a lock held by another process (flock CLI, row written with sqlite3) is refused and named",
          .enabled(if: hasSQLite3CLI && hasFlockCLI))
    func lockFromAnotherProcess() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("state.db")
        let store = try SQLiteStateStore(path: path)
        let holder = try await ForeignHolder(lockFile: store.lockFile(.site("demo")))
        let since = try Date("2026-11-22T20:30:00Z", strategy: .iso8601)
        let insert = "INSERT INTO locks (scope, id, pid, host, user, command, since) VALUES "
            + "('site:demo', 'cli-lock', \(holder.pid), '\(ProcessIdentity.host)', 'root', 'otto apply', "
            + "\(since.timeIntervalSince1970));"
        let taken = try await runProcess([sqlite3Path, "-cmd", ".timeout 5000", path, insert])
        #expect(taken.status == 0, "\(taken.stderr)")

        let error = await #expect(throws: StateLockedError.self) {
            _ = try await store.lock([.site("demo")], command: "otto plan", timeout: .zero)
        }
        #expect(error?.description == "site demo is locked by `otto apply` (pid \(holder.pid) on host "
                + "\(ProcessIdentity.host), user root, since 2026-11-22T20:30:00Z, lock id cli-lock); "
                + "wait for it to finish, or pass --lock-timeout DURATION to wait for it")
        // force-unlock cannot take a lock from a running process.
        let refused = await #expect(throws: OttoError.self) { try await store.forceUnlock(id: "cli-lock") }
        #expect(refused?.code == "state.unlock")
        #expect(refused?.message.contains("held by a running process") == true)
        #expect(refused?.message.contains("pid \(holder.pid)") == true)

        // The holder is SIGKILLed: its lock dies with it; no force-unlock is needed, and the stale row is replaced.
        await holder.kill()
        let mine = try await store.lock([.site("demo")], command: "otto apply", timeout: .zero)
        #expect(try await store.locks() == mine.locks)

        // And the other way round: while we hold it, another process cannot take the flock.
        let probe = try await runProcess(["/usr/bin/flock", "--nonblock", store.lockFile(.site("demo")), "/bin/true"])
        #expect(probe.status != 0)
        await mine.release()
        let free = try await runProcess(["/usr/bin/flock", "--nonblock", store.lockFile(.site("demo")), "/bin/true"])
        #expect(free.status == 0)
    }

    @Test("a row left by a holder that died does not lock anything, and is not listed")
    func staleRow() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        // A process that has exited: its pid is free (and not reused within this test in practice).
        let done = try await ChildProcess.start(["/bin/true"])
        await done.waitForExit()
        let deadPID = done.pid
        #expect(!ProcessIdentity.isAlive(deadPID))
        try await plantLockRow(store, scope: .site("demo"), id: "stale", pid: deadPID)
        #expect(try await store.locks().isEmpty)
        #expect(try await store.locks(includingStale: true).map(\.id) == ["stale"])
        let lease = try await store.lock([.site("demo")], command: "otto apply", timeout: .zero)
        #expect(try await store.locks() == lease.locks)
        await lease.release()

        // On another host we cannot tell whether the holder lives, so its row is listed.
        try await plantLockRow(store, scope: .account, id: "remote", pid: deadPID, host: "some-other-host")
        #expect(try await store.locks().map(\.id) == ["remote"])
        // Its flock is free here, so force-unlock removes the row.
        try await store.forceUnlock(id: "remote")
        #expect(try await store.locks(includingStale: true).isEmpty)
    }

    @Test("force-unlock of an unknown id fails naming the locks; of a live lock it refuses; a live lock stays")
    func forceUnlock() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        let none = await #expect(throws: OttoError.self) { try await store.forceUnlock(id: "anything") }
        #expect(none?.code == "state.unlock")
        #expect(none?.message.contains("the state holds no lock") == true)

        let lease = try await store.lock([.site("demo")], command: "otto apply", timeout: .zero)
        let lock = try #require(lease.locks.first)
        let wrong = await #expect(throws: OttoError.self) { try await store.forceUnlock(id: "not-the-id") }
        #expect(wrong?.message.contains("\(lock.id) (site demo, `otto apply`)") == true)
        #expect(try await store.locks() == [lock])
        let other = try SQLiteStateStore(path: dir.file("state.db"))
        let live = await #expect(throws: OttoError.self) { try await other.forceUnlock(id: lock.id) }
        #expect(live?.message.contains("held by a running process") == true)
        #expect(try await store.locks() == [lock])
        await lease.release()
        // Releasing twice does nothing.
        await lease.release()
        _ = try await other.lock([.site("demo")], command: "otto apply", timeout: .zero)
    }
}
