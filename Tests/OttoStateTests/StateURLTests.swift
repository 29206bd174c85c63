import Foundation
import OttoCore
import Testing
@testable import OttoState

@Suite("StateURL")
struct StateURLTests {
    @Test("sqlite: URLs and plain paths resolve against the root")
    func paths() async throws {
        #expect(try StateURL.sqlitePath("sqlite:state/x.db", root: "/proj") == "/proj/state/x.db")
        #expect(try StateURL.sqlitePath("sqlite:/var/lib/otto.db", root: "/proj") == "/var/lib/otto.db")
        #expect(try StateURL.sqlitePath("sqlite:///var/lib/otto.db", root: "/proj") == "/var/lib/otto.db")
        #expect(try StateURL.sqlitePath("other/state.db", root: "/proj") == "/proj/other/state.db")
        #expect(try StateURL.sqlitePath("/abs/state.db", root: "/proj") == "/abs/state.db")
        #expect(try StateURL.sqlitePath("", root: "/proj") == "/proj/.otto/state.db")
        #expect(try StateURL.sqlitePath("sqlite:", root: "/proj") == "/proj/.otto/state.db")
    }

    @Test("other schemes are refused with the supported forms listed")
    func unsupported() async throws {
        for url in ["postgres://otto@127.0.0.1/otto", "s3://bucket/state", "http://127.0.0.1/state"] {
            let error = #expect(throws: OttoError.self) { try StateURL.open(url, root: "/nonexistent") }
            #expect(error?.code == "state.url")
            #expect(error?.message.contains("sqlite:PATH") == true)
            #expect(error?.message.contains(String(url.prefix { $0 != ":" })) == true)
        }
    }

    @Test("open creates the default database and its directory")
    func openDefault() async throws {
        let dir = try TempDir()
        defer { dir.cleanup() }
        let store = try StateURL.open("", root: dir.path)
        try await store.put(recordWithEveryValue("demo.www.A"))
        #expect(FileManager.default.fileExists(atPath: dir.file(".otto/state.db")))
        let again = try StateURL.open("sqlite:.otto/state.db", root: dir.path)
        #expect(try await again.snapshot().records.count == 1)
    }
}
