import Dispatch
import Foundation
@testable import OttoConfig
import OttoCore
import OttoTestSupport
import Synchronization
import Testing

/// Writes to the desired state that arrive together are checked one after another and committed in one transaction.
@Suite struct DesiredStateBatchTests {
    /// API items in memory, counting transactions; the next transaction can be held (to let writes pile up behind
    /// it), and the next ones made to fail.
    final class Items: Sendable {
        struct Book { var items: [APIItemKey: APIItem] = [:]; var transactions = 0; var holdNext = true; var held = false; var failures = 0 }
        let book = Mutex(Book())
        let gate = DispatchSemaphore(value: 0)
        /// True while a transaction waits for `release()`.
        var isHolding: Bool { book.withLock { $0.held } }

        var access: APIItemAccess {
            APIItemAccess(read: { [self] in book.withLock { Array($0.items.values) } }, write: { [self] put, remove in
                if book.withLock({ b in defer { b.holdNext = false }; b.held = b.holdNext; return b.holdNext }) {
                    gate.wait()
                    book.withLock { $0.held = false }
                }
                try book.withLock { b in
                    b.transactions += 1
                    if b.failures > 0 { b.failures -= 1; throw DiskFull() }
                    for key in remove { b.items[key] = nil }
                    for item in put { b.items[item.key] = item }
                }
            })
        }
        func release() { gate.signal() }
    }

    struct DiskFull: Error, CustomStringConvertible { var description: String { "disk full" } }

    static func project() throws -> TempDir {
        let dir = try TempDir(prefix: "otto-batch")
        dir.write("inventory/main.yml", "providers:\n  pdns: { type: powerdns, url: \"http://127.0.0.1:1\" }\n")
        return dir
    }

    /// Waits (off the cooperative pool's clock, briefly) until `condition` holds.
    static func until(_ condition: () -> Bool) async throws {
        for _ in 0..<2000 where !condition() { try await Task.sleep(for: .milliseconds(5)) }
        #expect(condition())
    }

    @Test func writesThatArriveTogetherAreCheckedInOrderAndCommittedOnce() async throws {
        let dir = try Self.project()
        let items = Items()
        let service = try DesiredStateService(root: dir.path, store: items.access)
        // The first write's transaction is held, so the next 40 wait together.
        async let first = service.putHost("w0", body: Array(#"{"address": "192.0.2.200"}"#.utf8))
        try await Self.until { items.isHolding }
        let outcomes = try await withThrowingTaskGroup(of: (Int, Result<Bool, any Error>).self) { group in
            for i in 0..<40 {
                group.addTask {
                    // 0..<30: new hosts; 30..<35: a bad port; 35..<40: one host written five times.
                    let name = i < 35 ? "w\(i + 1)" : "dup"
                    let port = i >= 30 && i < 35 ? 70000 : 22
                    let body = #"{"address": "192.0.2.\#(i + 1)", "port": \#(port), "groups": ["web"]}"#
                    do {
                        let written = try await service.putHost(name, body: Array(body.utf8))
                        // Each write answers with its own document, even when a later write of the batch replaced it.
                        let answer = String(decoding: written.state.hostBody(name) ?? [], as: UTF8.self)
                        #expect(answer.contains("\"192.0.2.\(i + 1)\""), "\(name): \(answer)")
                        return (i, .success(written.created))
                    } catch { return (i, .failure(error)) }
                }
            }
            try await Self.until { service.pending.withLock { $0.count } == 40 }
            items.release()
            var out: [Int: Result<Bool, any Error>] = [:]
            for try await (i, outcome) in group { out[i] = outcome }
            return out
        }
        #expect(try await first.created)
        #expect(items.book.withLock { $0.transactions } == 2, "one transaction for the first write, one for the 40 after it")
        for i in 0..<30 { #expect((try? outcomes[i]?.get()) == true, "w\(i + 1)") }
        for i in 30..<35 {
            guard case .failure(let error)? = outcomes[i], case DesiredStateError.invalid(let problems) = error else {
                Issue.record("w\(i + 1): \(String(describing: outcomes[i]))")
                continue
            }
            #expect(problems.contains { $0.message.contains("port") }, "\(problems)")
        }
        // The five writes of one host went in order: the first created it, the last one's address stays.
        let dupCreated = (35..<40).compactMap { try? outcomes[$0]?.get() }
        #expect(dupCreated.count == 5 && dupCreated.filter { $0 }.count == 1, "\(dupCreated)")
        let stored = items.book.withLock { $0.items }
        #expect(stored.count == 32 && stored[APIItemKey(.host, "w31")] == nil)
        let dupAddress = service.snapshot.project.inventory.hosts["dup"]?.address
        #expect(dupAddress != nil && stored[APIItemKey(.host, "dup")]?.document.contains(dupAddress! + "\"") == true)
        // What is published is what a full build of the stored items gives.
        let full = DesiredStateSnapshot(files: service.snapshot.files, items: stored)
        #expect(HostWritePatchTests.differences(service.snapshot, full).isEmpty, "\(HostWritePatchTests.differences(service.snapshot, full))")
        #expect(service.snapshot.project.inventory.groups["web"]?.count == 31)
    }

    @Test func aFailedCommitFailsTheWholeBatchAndPublishesNothing() async throws {
        let dir = try Self.project()
        let items = Items()
        let service = try DesiredStateService(root: dir.path, store: items.access)
        async let first = service.putHost("a0", body: Array("{}".utf8))
        try await Self.until { items.isHolding }
        let results = try await withThrowingTaskGroup(of: String.self) { group in
            for i in 1...5 {
                group.addTask {
                    do { _ = try await service.putHost("a\(i)", body: Array("{}".utf8)); return "ok" } catch { return "\(error)" }
                }
            }
            try await Self.until { service.pending.withLock { $0.count } == 5 }
            items.book.withLock { $0.failures = 2 }
            items.release()
            var out: [String] = []
            for try await r in group { out.append(r) }
            return out
        }
        let firstOutcome: String
        do { _ = try await first; firstOutcome = "ok" } catch { firstOutcome = "\(error)" }
        #expect(firstOutcome.contains("disk full"), "\(firstOutcome)")
        // Both transactions failed: every write of the batch says why, and nothing was published or stored.
        #expect(results.count == 5 && results.allSatisfy { $0.contains("disk full") }, "\(results)")
        #expect(service.snapshot.project.inventory.hosts.isEmpty && items.book.withLock { $0.items.isEmpty })
        #expect(items.book.withLock { $0.transactions } == 2)
        // The next write goes through.
        #expect(try await service.putHost("a1", body: Array("{}".utf8)).created)
        #expect(Set(service.snapshot.project.inventory.hosts.keys) == ["a1"])
    }
}

