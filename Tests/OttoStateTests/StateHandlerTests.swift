import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

@Suite struct StateHandlerTests {
    @Test func handlersArePersistedWithTheChangeAndClearedWhenRun() throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let reload = Handler(id: "reload nginx on machine.demo.web[0]", provider: "host", name: "reload nginx",
                             attributes: ["host": "10.213.0.2", "port": 22])
        let record = ResourceRecord(address: "nginx_site.demo.web[0]", provider: "host", providerID: "x", attributes: ["a": 1])
        do {
            let store = try SQLiteStateStore(path: dir.file("state.db"))
            try store.put([record], removing: [], handlers: [reload, reload])
            #expect(try store.pendingHandlers() == [reload])
            #expect(try store.snapshot().records[record.address] == record)
        }
        // A new process (a new store on the same file) still sees the pending handler.
        let reopened = try SQLiteStateStore(path: dir.file("state.db"))
        #expect(try reopened.pendingHandlers() == [reload])
        try reopened.handlerRan(id: reload.id)
        #expect(try reopened.pendingHandlers().isEmpty)
        try reopened.handlerRan(id: reload.id)  // running twice is harmless
    }
}
