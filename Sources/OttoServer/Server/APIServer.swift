import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import Logging
import NIOCore
import NIOSSL
import OttoCore
import ServiceLifecycle

/// `otto serve`'s HTTP API as a swift-service-lifecycle `Service`: put it in a `ServiceGroup` (with the
/// drift-correction service and the walk scheduler) and it serves until the group shuts down gracefully, finishing
/// requests in flight.
///
/// ```swift
/// let desired = try DesiredStateService(root: root, store: items) // OttoConfig's DesiredStateStore
/// let server = try APIServer(configuration: config, desiredState: desired, runs: myRuns, walks: myWalks, releases: store, deployments: ledger,
///                            metrics: { prometheusText() }, statusPage: { renderStatusPage() }, logger: logger)
/// let group = ServiceGroup(configuration: .init(services: [server, drift], gracefulShutdownSignals: [.sigterm, .sigint],
///                                               logger: logger))
/// try await group.run()
/// ```
public struct APIServer: Service {
    let environment: APIEnvironment
    let tls: TLSConfiguration?
    let onListening: @Sendable (ListenAddress) async -> Void

    /// Creates the server.
    ///
    /// - Parameters:
    ///   - configuration: listen address, TLS files, tokens, limits; checked with `validate()` here (a plaintext
    ///     non-loopback listener is refused unless explicitly allowed).
    ///   - desiredState: the YAML + API desired state the `/inv` and `/dom` routes read and write (the configuration
    ///     layer's implementation; the server never sees YAML).
    ///   - runs: plans, applies, runs and status (`/v1`).
    ///   - walks: walk history and walkers (`/site/walk`).
    ///   - releases: the release ledger (`/v1/apps/{app}/releases`).
    ///   - deployments: the deployment ledger (`/v1/artifacts`, `/v1/deployments`), one per project.
    ///   - metrics: the Prometheus text exposition for `GET /metrics`.
    ///   - statusPage: the HTML of `GET /`.
    ///   - health: how this replica reaches the state's database (`/healthz`); nil for a state with no server (SQLite).
    ///   - logger: where requests that change something, and errors, are logged (never with secrets).
    ///   - onListening: called once the socket is bound, with the real port (useful with port 0).
    public init(configuration: APIServerConfiguration, desiredState: any DesiredStateStore, runs: any RunService,
                walks: any WalkService, releases: any ReleaseLedger, deployments: any DeployLedger, metrics: @escaping @Sendable () async -> String = { "" },
                statusPage: @escaping @Sendable () async -> String = { APIServer.placeholderStatusPage },
                health: @escaping @Sendable () async -> DatabaseHealth? = { nil },
                logger: Logger = Logger(label: "otto.api"),
                onListening: @escaping @Sendable (ListenAddress) async -> Void = { _ in }) throws {
        try configuration.validate()
        environment = APIEnvironment(configuration: configuration, desired: DesiredStateAPI(store: desiredState), runs: runs, walks: walks,
                                     releases: releases, deployments: deployments, metrics: metrics, statusPage: statusPage, health: health,
                                     logger: logger)
        tls = try configuration.tls.map { try Self.tlsConfiguration(certificate: $0.certificate, key: $0.key) }
        self.onListening = onListening
    }

    /// The Hummingbird application (for in-process tests with HummingbirdTesting).
    public func application() throws -> some ApplicationProtocol {
        let configuration = environment.configuration
        let server: HTTPServerBuilder = try tls.map { try .tls(.http1(), tlsConfiguration: $0) } ?? .http1()
        let listen = configuration.listen
        let callback = onListening
        let desired = environment.desired
        var app = Application(router: try APIRouter.build(environment), server: server,
                              configuration: ApplicationConfiguration(address: .hostname(listen.host, port: listen.port)),
                              onServerRunning: { channel in
                                  let port = channel.localAddress?.port ?? listen.port
                                  await callback(ListenAddress(host: listen.host, port: port))
                              },
                              logger: environment.logger)
        app.addServices(ReloadService(desired: desired, interval: configuration.reloadInterval))
        return app
    }

    /// Serves until graceful shutdown (or cancellation).
    public func run() async throws {
        try await application().run()
    }

    static func tlsConfiguration(certificate: String, key: String) throws -> TLSConfiguration {
        do {
            let chain = try NIOSSLCertificate.fromPEMFile(certificate).map { NIOSSLCertificateSource.certificate($0) }
            guard !chain.isEmpty else { throw OttoError("serve.tls", "\(certificate) holds no PEM certificate") }
            let privateKey = try NIOSSLPrivateKey(file: key, format: .pem)
            return TLSConfiguration.makeServerConfiguration(certificateChain: chain, privateKey: .privateKey(privateKey))
        } catch let e as OttoError {
            throw e
        } catch {
            throw OttoError("serve.tls", "cannot load the TLS certificate \(certificate) and key \(key) (PEM files expected)", cause: error)
        }
    }

    /// Served at `/` until the status page is wired in.
    public static let placeholderStatusPage = """
        <!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">\
        <title>otto</title></head><body><h1>otto</h1><p>The API is at <a href="/openapi.json">/openapi.json</a>.</p></body></html>
        """
}

/// How a replica reaches the state's database, for `/healthz`.
public struct DatabaseHealth: Sendable {
    /// True when a query just answered.
    public var reachable: Bool
    /// This replica, `HOST/PID`.
    public var replica: String
    /// Sites whose lock it holds now.
    public var sitesHeld: Int
    /// Why it is out of reach.
    public var error: String?

    /// Creates a report.
    public init(reachable: Bool, replica: String, sitesHeld: Int, error: String? = nil) {
        self.reachable = reachable
        self.replica = replica
        self.sitesHeld = sitesHeld
        self.error = error
    }
}

/// Re-reads the YAML files every `interval` when they changed, until graceful shutdown.
struct ReloadService: Service {
    let desired: DesiredStateAPI
    let interval: Duration

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !Task.isCancelled {
                try? await Task.sleep(for: interval)
                if Task.isCancelled { return }
                await desired.reloadIfFilesChanged()
            }
        }
    }
}
