import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import OttoConfig
import OttoCore
import OttoEngine
import OttoPlan
import OttoServer
import OttoState
import OttoTestSupport
import Synchronization

/// Secrets of the tests' tokens.
enum TestTokens {
    static let read = "read-secret-0123456789"
    static let write = "write-secret-0123456789"

    static var set: TokenSet {
        var tokens = TokenSet()
        try! tokens.add(name: "reader", scope: .read, secret: read)
        try! tokens.add(name: "writer", scope: .write, secret: write)
        return tokens
    }
}

/// The YAML of the tests' project: one PowerDNS provider, one static host, a site with DNS, a walk and a static group.
enum TestProject {
    static let inventory = """
        providers:
          pdns: { type: powerdns, url: "http://127.0.0.1:1", api_key_env: OTTO_TEST_NO_KEY }
        hosts:
          yamlhost: { address: 192.0.2.50, groups: [web] }
        """
    static let site = """
        site: shop
        domain: shop.test
        provider: static
        machines:
          web: { count: 1 }
        dns:
          provider: pdns
          records:
            - { name: www, type: A, value: 192.0.2.10 }
        walk: { every: 5m, depth: 2 }
        """
    static let plainSite = """
        site: blog
        domain: blog.test
        """
}

/// What the server tests need of a state: the store itself, the API items and the ledgers (both backends' stores are).
typealias ServerStateStore = StateStore & APIItemStore & ReleaseLedger & DeployLedger

/// A temporary project directory with its own state database: SQLite in the project (`.otto/state.db`), or a fresh
/// PostgreSQL database (`make(.postgres)`).
final class ServerFixture: Sendable {
    let dir: String
    let store: any ServerStateStore
    let desired: DesiredStateService
    let runs: FakeRunService
    let walks: InMemoryWalkService

    /// `files` (project-relative path → text) are written before the project is read (bundles of apps, ...).
    /// A project whose state is on `backend`. Opens the store on a dispatch thread (PostgreSQL's opening blocks).
    static func make(_ backend: StoreBackend, inventory: String = TestProject.inventory,
                     sites: [String: String] = ["shop": TestProject.site, "blog": TestProject.plainSite],
                     files: [String: String] = [:]) async throws -> ServerFixture {
        let state: String? = backend == .sqlite ? nil : try await backend.freshStateURL().url
        return try await Blocking.run { try ServerFixture(inventory: inventory, sites: sites, files: files, state: state) }
    }

    /// `state`: the `--state` URL (nil: SQLite, the project's `.otto/state.db`).
    init(inventory: String = TestProject.inventory, sites: [String: String] = ["shop": TestProject.site, "blog": TestProject.plainSite],
         files: [String: String] = [:], state: String? = nil) throws {
        dir = NSTemporaryDirectory() + "otto-server-\(UUID().uuidString.prefix(8))"
        for folder in ["inventory", "sites"] {
            try FileManager.default.createDirectory(atPath: dir + "/" + folder, withIntermediateDirectories: true)
        }
        for (path, text) in files {
            let full = dir + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try text.write(toFile: full, atomically: true, encoding: .utf8)
        }
        try inventory.write(toFile: dir + "/inventory/main.yml", atomically: true, encoding: .utf8)
        for (name, text) in sites { try text.write(toFile: dir + "/sites/\(name).yml", atomically: true, encoding: .utf8) }
        guard let opened = try StateURL.open(state ?? "sqlite:" + dir + "/.otto/state.db", root: dir) as? any ServerStateStore else {
            throw PostgresServerError("the state store of \(state ?? "sqlite") is not a ServerStateStore")
        }
        store = opened
        let items = store
        desired = try DesiredStateService(root: dir, store: APIItemAccess(read: { try items.apiItems() },
                                                                          write: { put, remove in try items.writeAPIItems(put: put, remove: remove) }))
        runs = FakeRunService()
        walks = InMemoryWalkService()
    }

    deinit { try? FileManager.default.removeItem(atPath: dir) }

    func configuration(maxBody: Int = 1 << 20, storedReads: Bool = true) -> APIServerConfiguration {
        APIServerConfiguration(listen: ListenAddress(host: "127.0.0.1", port: 0), tokens: TestTokens.set, maxBodyBytes: maxBody,
                               storedReads: storedReads)
    }

    func server(maxBody: Int = 1 << 20, storedReads: Bool = true) throws -> APIServer {
        try APIServer(configuration: configuration(maxBody: maxBody, storedReads: storedReads), desiredState: desired, runs: runs,
                      walks: walks, releases: store, deployments: store, metrics: { "otto_up 1\n" }, statusPage: { "<html>status</html>" })
    }

    /// Runs `body` against the server in process (Hummingbird's router test framework).
    func withClient<T: Sendable>(maxBody: Int = 1 << 20, storedReads: Bool = true,
                                 _ body: @Sendable (Client) async throws -> T) async throws -> T {
        try await server(maxBody: maxBody, storedReads: storedReads).application().test(.router) { client in
            try await body(Client(client: client))
        }
    }

    /// The items in the state database.
    func storedItems() throws -> [APIItem] { try store.apiItems() }

    /// The project as the CLI would load it (YAML plus the stored API items).
    func loadProject() throws -> Project { try Project.load(root: dir, api: storedItems()) }
}

/// A response with its body decoded.
struct Reply: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let text: String

    /// The body as JSON (a dictionary or an array).
    var json: Any? { try? JSONSerialization.jsonObject(with: Data(text.utf8), options: [.fragmentsAllowed]) }
    var object: [String: Any] { json as? [String: Any] ?? [:] }
    /// `error.code` of an error answer.
    var errorCode: String? { (object["error"] as? [String: Any])?["code"] as? String }
    var errorMessage: String? { (object["error"] as? [String: Any])?["message"] as? String }
}

/// Who calls.
enum Caller: Sendable, CaseIterable {
    case anonymous, badToken, reader, writer
    /// A browser: HTTP Basic with the read token as the password, or with a wrong one.
    case browserReader, browserBadToken

    var header: String? {
        switch self {
        case .anonymous: return nil
        case .badToken: return "Bearer not-a-valid-token-at-all"
        case .reader: return "Bearer " + TestTokens.read
        case .writer: return "Bearer " + TestTokens.write
        case .browserReader: return "Basic " + Data("ops:\(TestTokens.read)".utf8).base64EncodedString()
        case .browserBadToken: return "Basic " + Data("ops:not-a-valid-token-at-all".utf8).base64EncodedString()
        }
    }
}

/// A small client over the test framework's.
struct Client: Sendable {
    let client: any TestClientProtocol

    func call(_ method: HTTPRequest.Method, _ uri: String, as caller: Caller = .writer, body: String? = nil,
              contentType: String? = "application/json") async throws -> Reply {
        var headers = HTTPFields()
        if let h = caller.header { headers[.authorization] = h }
        if body != nil, let contentType { headers[.contentType] = contentType }
        return try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { r in
            Reply(status: r.status, headers: r.headers, text: String(buffer: r.body))
        }
    }

    func get(_ uri: String, as caller: Caller = .reader) async throws -> Reply { try await call(.get, uri, as: caller) }
    func post(_ uri: String, _ body: String? = nil, as caller: Caller = .writer) async throws -> Reply {
        try await call(.post, uri, as: caller, body: body)
    }
    func put(_ uri: String, _ body: String? = nil, as caller: Caller = .writer) async throws -> Reply {
        try await call(.put, uri, as: caller, body: body)
    }
    func delete(_ uri: String, as caller: Caller = .writer) async throws -> Reply { try await call(.delete, uri, as: caller) }
}

/// A `RunService` double: plans are empty, applies finish at once with one event, status lists one resource.
final class FakeRunService: RunService {
    let book = RunBook()
    private let requests = Mutex<[RunRequest]>([])
    /// Every request made, in order.
    var seen: [RunRequest] { requests.withLock { $0 } }

    func plan(_ request: RunRequest) async throws -> Plan {
        requests.withLock { $0.append(request) }
        let change = ResourceChange(address: "dns_record.shop.www.A", provider: "pdns", action: .create, before: nil,
                                    after: Resource(address: "dns_record.shop.www.A", provider: "pdns", attributes: ["ttl": 300]),
                                    changes: [AttributeChange(name: "ttl", before: nil, after: 300),
                                              AttributeChange(name: "content", before: nil, after: "secret text")],
                                    reason: .doesNotExist, dependencies: [])
        return Plan(options: request.options, stateLineage: "lineage-1", stateSerial: 3, changes: [change], drift: [])
    }

    func startApply(_ request: RunRequest) async throws -> RunInfo {
        requests.withLock { $0.append(request) }
        return book.start(kind: "apply") { recorder in
            recorder.handle(.started("dns_record.shop.www.A", .create))
            recorder.handle(.finished("dns_record.shop.www.A", .create, seconds: 0.01))
            var summary = ApplySummary()
            summary.outcomes["dns_record.shop.www.A"] = .succeeded
            summary.actions["dns_record.shop.www.A"] = .create
            return RunOutcome(summary)
        }
    }

    func run(id: String) async throws -> RunInfo? { book.run(id: id) }

    func status() async throws -> StatusReport {
        StatusReport(resources: [StatusReport.Row(address: "dns_zone.shop", status: "ok", detail: "shop.test.")])
    }
}
