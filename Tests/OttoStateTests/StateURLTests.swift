import Foundation
import OttoCore
import OttoTestSupport
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
        for url in ["s3://bucket/state", "http://127.0.0.1/state"] {
            let error = #expect(throws: OttoError.self) { try StateURL.open(url, root: "/nonexistent") }
            #expect(error?.code == "state.url")
            #expect(error?.message.contains("sqlite:PATH") == true)
            #expect(error?.message.contains(String(url.prefix { $0 != ":" })) == true)
        }
    }

    @Test("postgres:// URLs: server, database, project (from the URL, else the project directory), TLS, lock session timeout")
    func postgresURLs() throws {
        let a = try PostgresLocation("postgres://otto:s3cret@db.example:6543/state?project=Shop-Front&sslmode=disable&lock_session_timeout=4s",
                                     root: "/srv/whatever")
        #expect(a.host == "db.example" && a.port == 6543 && a.user == "otto" && a.password == "s3cret" && a.database == "state")
        #expect(a.project == "shop_front" && a.schema == "otto_shop_front")
        #expect(a.tls == .disable && a.lockSessionTimeout == .seconds(4))
        #expect(!a.description.contains("s3cret"))
        let b = try PostgresLocation("postgresql://otto@127.0.0.1/state", root: "/home/ops/My Site")
        #expect(b.project == "my_site" && b.port == 5432 && b.tls == .prefer && b.lockSessionTimeout == .seconds(10))
        let c = try PostgresLocation("postgres:///state?host=/run/postgresql&user=ops", root: "/p/x")
        #expect(c.socketDirectory == "/run/postgresql" && c.host == nil && c.user == "ops")
        #expect(StateURL.display("postgres://u:hunter2@h/d") == "postgres://u:***@h/d")
        for (url, words) in [("postgres://h/", "names no database"), ("postgres://h/d?sslmode=maybe", "sslmode=maybe"),
                             ("postgres://h/d?lock_session_timeout=0s", "lock_session_timeout"),
                             ("postgres://u:hunter2@h/d?bogus=1", "bogus")] {
            let error = #expect(throws: OttoError.self) { try PostgresLocation(url, root: "/p") }
            #expect(error?.code == "state.url")
            #expect(error?.message.contains(words) == true, "\(error?.message ?? "")")
            #expect(error?.message.contains("hunter2") == false)
        }
        // A PostgreSQL URL is not an SQLite path.
        #expect(throws: OttoError.self) { try StateURL.sqlitePath("postgres://h/d", root: "/p") }
    }

    @Test("a PostgreSQL server that does not answer gives state.connect, without the password")
    func postgresUnreachable() async throws {
        let port = freeLoopbackPort()
        let url = "postgres://otto:hunter2@127.0.0.1:\(port)/state?sslmode=disable"
        let error = await #expect(throws: OttoError.self) { try await Blocking.run { try StateURL.open(url, root: "/p") } }
        #expect(error?.code == "state.connect")
        #expect(error?.message.contains("127.0.0.1:\(port)") == true)
        #expect(error?.description.contains("hunter2") == false)
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

@Suite("PostgreSQL statements")
struct PostgresStatementTests {
    @Test("schema text is cut at semicolons outside quotes, dollar quotes and comments")
    func split() {
        let sql = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT ';');
            CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no; never'; END; $$ LANGUAGE plpgsql;
            /* block; comment */ CREATE TABLE "b;c" (y int);
            DO $tag$ BEGIN PERFORM 1; END $tag$;
            """
        let parts = PostgresSession.statements(sql)
        #expect(parts.count == 4, "\(parts)")
        #expect(parts[0].hasSuffix("CREATE TABLE a (x text DEFAULT ';')"))
        #expect(parts[1].hasSuffix("$$ LANGUAGE plpgsql"))
        #expect(parts[2].hasSuffix("CREATE TABLE \"b;c\" (y int)"))
        #expect(parts[3] == "DO $tag$ BEGIN PERFORM 1; END $tag$")
    }
}
