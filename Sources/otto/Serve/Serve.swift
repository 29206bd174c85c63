import ArgumentParser
import Foundation
import Logging
import OttoCore
import OttoServer
import OttoState
import ServiceLifecycle

/// `otto serve`: the HTTP API (issue 5).
///
/// MINIMAL WIRING by the API helper, for the API's own tests: the API server with the real desired state, a
/// `RunService` on the real engine (`ServeRunService`) and an in-memory `WalkService`. The lead extends this command
/// with the drift-correction service, metrics, JSON logs, the status page and the real WalkService (OttoWalker).
struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the HTTP API: inventory, DNS, site walks, plans and applies.",
        discussion: """
            Tokens: --tokens FILE with lines `NAME SCOPE SECRET` (scope read or write; the file must be mode 0600), and/or \
            OTTO_API_TOKENS with the same lines separated by `;`. Listens on 127.0.0.1 by default; a non-loopback address \
            needs --tls-cert and --tls-key, or --insecure-listen.
            """)
    @OptionGroup var global: GlobalOptions

    @Option(name: .long, help: "Address to listen on: HOST:PORT, [IPV6]:PORT or :PORT (port 0 picks a free one).")
    var listen: String = ListenAddress.default.description

    @Option(name: .customLong("tls-cert"), help: "PEM certificate chain; with --tls-key the API speaks HTTPS only.")
    var tlsCert: String?

    @Option(name: .customLong("tls-key"), help: "PEM private key of --tls-cert.")
    var tlsKey: String?

    @Option(name: .long, help: "File of bearer tokens, one `NAME SCOPE SECRET` per line (scope read or write).")
    var tokens: String?

    @Flag(name: .customLong("insecure-listen"),
          help: "Allow listening on a non-loopback address without TLS (tokens then cross the network in clear text).")
    var insecureListen = false

    @Option(name: .customLong("max-body"), help: "Largest request body accepted, in bytes.")
    var maxBody: Int = 1 << 20

    func run() async throws {
        do {
            let root = (global.dir as NSString).standardizingPath
            guard FileManager.default.fileExists(atPath: root) else {
                throw OttoError("config.root", "project directory \(root) does not exist")
            }
            var configuration = APIServerConfiguration(listen: try ListenAddress(parsing: listen),
                                                       allowPlaintextNonLoopback: insecureListen, maxBodyBytes: maxBody)
            switch (tlsCert, tlsKey) {
            case (let cert?, let key?): configuration.tls = (cert, key)
            case (nil, nil): break
            default: throw OttoError("cli.flags", "--tls-cert and --tls-key go together")
            }
            var tokenSet = TokenSet()
            if let tokens { try tokenSet.add(file: tokens) }
            try tokenSet.add(environment: ProcessInfo.processInfo.environment)
            configuration.tokens = tokenSet
            if tokenSet.tokens.isEmpty {
                Terminal.err("otto serve: no API tokens (--tokens FILE or \(TokenSet.environmentVariable)): every route but /healthz and /openapi.json answers 401\n")
            }
            let store = try StateURL.open(global.stateURL, root: root)
            guard let items = store as? any APIItemStore else {
                throw OttoError("serve.state", "this state store cannot keep desired state written over the API")
            }
            let desired = try DesiredStateService(root: root, store: items)
            let book = RunBook()
            let logger = Logger(label: "otto.serve")
            let scheme = configuration.tls == nil ? "http" : "https"
            let server = try APIServer(configuration: configuration, desiredState: desired,
                                       runs: ServeRunService(global: global, book: book), walks: InMemoryWalkService(),
                                       logger: logger,
                                       onListening: { address in Terminal.out("otto serve: listening on \(scheme)://\(address)\n") })
            let group = ServiceGroup(configuration: .init(services: [server], gracefulShutdownSignals: [.sigterm, .sigint],
                                                          logger: logger))
            try await group.run()
            await book.waitForRunning()
        } catch { throw fail(error) }
    }
}
