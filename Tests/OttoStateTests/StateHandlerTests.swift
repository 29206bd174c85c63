import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

@Suite struct StateHandlerTests {
    @Test(arguments: StoreBackend.allCases) func handlersArePersistedWithTheChangeAndClearedWhenRun(backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let reload = Handler(id: "reload nginx on machine.demo.web[0]", provider: "host", name: "reload nginx",
                             attributes: ["host": "10.213.0.2", "port": 22])
        let record = ResourceRecord(address: "nginx_site.demo.web[0]", provider: "host", providerID: "x", attributes: ["a": 1])
        do {
            let store = fixture.store
            try await store.put([record], removing: [], handlers: [reload, reload])
            #expect(try await store.pendingHandlers() == [reload])
            #expect(try await store.snapshot().records[record.address] == record)
        }
        // A new process (a new store on the same file) still sees the pending handler.
        let reopened = try await fixture.reopen()
        #expect(try await reopened.pendingHandlers() == [reload])
        try await reopened.handlerRan(id: reload.id)
        #expect(try await reopened.pendingHandlers().isEmpty)
        try await reopened.handlerRan(id: reload.id)  // running twice is harmless
    }
}
