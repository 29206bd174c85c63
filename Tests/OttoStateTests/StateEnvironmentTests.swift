import Foundation
import OttoCore
import OttoTestSupport
import Testing
@testable import OttoState

/// A state belongs to one environment: bound on first use, refused to any other (and to a project without
/// environments once an environment has it); a state used without environments is taken over by the first environment.
@Suite struct StateEnvironmentTests {
    @Test func boundOnceAndRefusedToOthers() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let path = dir.file("state.db")
        var store: SQLiteStateStore? = try SQLiteStateStore(path: path)
        try store?.bindEnvironment("staging")
        try store?.bindEnvironment("staging")
        try await store?.put(recordWithEveryValue("demo.www.A"))
        store = nil
        let again = try SQLiteStateStore(path: path)
        let other = #expect(throws: OttoError.self) { try again.bindEnvironment("production") }
        #expect(other?.code == "state.environment")
        #expect(other?.message == "the state \(path) belongs to environment `staging`, not environment `production`: give each "
                + "environment its own state (its file's `state:`, or leave --state and OTTO_STATE out)")
        let none = #expect(throws: OttoError.self) { try again.bindEnvironment(nil) }
        #expect(none?.message.contains("belongs to environment `staging`, not a project without environments: choose it with --env staging") == true)
        // Refusing changed nothing.
        try again.bindEnvironment("staging")
        #expect(try await again.snapshot().records.count == 1)
    }

    @Test func aStateFromBeforeEnvironmentsIsTakenOverOnce() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try SQLiteStateStore(path: dir.file("state.db"))
        try store.bindEnvironment(nil)
        try store.bindEnvironment(nil)
        try store.bindEnvironment("production")
        #expect(throws: OttoError.self) { try store.bindEnvironment(nil) }
        #expect(throws: OttoError.self) { try store.bindEnvironment("staging") }
        try store.bindEnvironment("production")
    }
}
