import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

/// A state belongs to one environment: bound on first use, refused to any other (and to a project without
/// environments once an environment has it); a state used without environments is taken over by the first environment.
/// On both backends.
@Suite struct StateEnvironmentTests {
    @Test(arguments: StoreBackend.allCases)
    func boundOnceAndRefusedToOthers(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any EnvironmentBoundState
        try store.bindEnvironment("staging")
        try store.bindEnvironment("staging")
        try await fixture.store.put(recordWithEveryValue("demo.www.A"))
        // Another process opens the same state.
        let reopened = try await fixture.reopen()
        let again = reopened as! any EnvironmentBoundState
        let other = #expect(throws: OttoError.self) { try again.bindEnvironment("production") }
        #expect(other?.code == "state.environment")
        #expect(other?.message == "the state \(fixture.stateName) belongs to environment `staging`, not environment `production`: give each "
                + "environment its own state (its file's `state:`, or leave --state and OTTO_STATE out)")
        let none = #expect(throws: OttoError.self) { try again.bindEnvironment(nil) }
        #expect(none?.message.contains("belongs to environment `staging`, not a project without environments: choose it with --env staging") == true)
        // Refusing changed nothing.
        try again.bindEnvironment("staging")
        #expect(try await reopened.snapshot().records.count == 1)
    }

    @Test(arguments: StoreBackend.allCases)
    func aStateFromBeforeEnvironmentsIsTakenOverOnce(_ backend: StoreBackend) async throws {
        let fixture = try await StoreFixture.make(backend)
        defer { fixture.cleanup() }
        let store = fixture.store as! any EnvironmentBoundState
        try store.bindEnvironment(nil)
        try store.bindEnvironment(nil)
        try store.bindEnvironment("production")
        #expect(throws: OttoError.self) { try store.bindEnvironment(nil) }
        #expect(throws: OttoError.self) { try store.bindEnvironment("staging") }
        try store.bindEnvironment("production")
    }
}
