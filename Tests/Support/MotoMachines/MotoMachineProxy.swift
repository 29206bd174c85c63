import Foundation
import Logging
import OttoCore
import OttoProviders

/// A proxy in front of a moto_server whose EC2 instances are real local machines (`LocalCloudMachines`): moto keeps
/// the API's state, the proxy boots, stops and captures the machines as a cloud would, so otto can SSH to an instance
/// on `provider: aws` end to end.
///
/// It listens on loopback and forwards every request to moto unchanged (method, path and query, headers with the
/// SigV4 `Authorization` moto picks the service from, body) and returns moto's answer, except that after a
/// successful EC2 Query API call (`Action=…`, Version 2016-11-15; form body or query string) it acts:
/// - `ImportKeyPair`: keeps the public key (`PublicKeyMaterial`, base64 of the OpenSSH line) by `KeyName`;
///   `CreateKeyPair` keeps the public half of the key moto made; `DeleteKeyPair` forgets it.
/// - `RunInstances`: boots one machine per instance moto made, from the local image standing in for `ImageId` (a
///   base AMI of `machines.baseImages`) or from the layer `CreateImage` captured as that AMI, with the user data
///   (`UserData`, base64: cloud-config `ssh_keys`, `ssh_deletekeys`, MIME multipart…) applied as cloud-init would;
///   the key pair's key is authorised for the login user (`admin`, made with passwordless sudo when the image lacks
///   it). The answer waits for the boots (so its addresses are the machines').
/// - `DescribeInstances` and `RunInstances`' answer: each instance's `ipAddress`, `privateIpAddress` and `publicIp`
///   (its own and its network interfaces') become its machine's address; an instance without a machine (its boot
///   failed, or it was made behind the proxy's back) has them removed, so nothing ever connects to moto's made-up
///   addresses. The rest of the XML stays byte for byte. A describe first waits for the machine operations under way
///   on the instances it lists (so `running` means sshd answers).
/// - `StopInstances` (a graceful stop: 15 s, 2 s with `Force`), `StartInstances`, `RebootInstances`,
///   `TerminateInstances` (destroys the machine): queued on the instance's machine, answered at once.
/// - `CreateImage`: captures the instance's machine as a layer keyed by the AMI id moto returned (stopped if it is;
///   without `NoReboot=true` a running machine is stopped for the copy and started again); answered once captured.
///   `DeregisterImage` forgets the layer (removed once no machine boots from it; machines booted from it live on).
///
/// What fails on the machines' side (a boot, a capture, an unknown key pair) never changes moto's answer: it is
/// listed in `failures()` with the reason (and passed to `log`).
public final class MotoMachineProxy: Sendable {
    /// `http://127.0.0.1:PORT`: the AWS provider's `endpoint` (instead of moto's).
    public let endpoint: String
    /// The port the proxy listens on.
    public let port: Int
    /// The moto_server it forwards to.
    public let moto: String
    /// The machines behind the instances.
    public let machines: LocalCloudMachines
    /// The login user the key pair is authorised for.
    public let loginUser: String
    private let handler: Handler
    private let server: LoopbackHTTPServer

    private init(moto: String, machines: LocalCloudMachines, loginUser: String, handler: Handler, server: LoopbackHTTPServer) {
        self.endpoint = server.baseURL
        self.port = server.port
        self.moto = moto
        self.machines = machines
        self.loginUser = loginUser
        self.handler = handler
        self.server = server
    }

    /// Starts a proxy for the moto_server at `moto` (`http://127.0.0.1:PORT`) on `host`:`port` (0: any free port),
    /// with instances booted on `machines`; returns once it listens. `log` hears every failure as it happens.
    public static func start(moto: String, machines: LocalCloudMachines, loginUser: String = "admin", host: String = "127.0.0.1",
                             port: Int = 0, logLevel: Logger.Level = .critical,
                             log: (@Sendable (String) -> Void)? = nil) async throws -> MotoMachineProxy {
        guard host == "127.0.0.1" || host == "localhost" || host == "::1" else {
            throw FakeServerError("the moto proxy listens on loopback only (127.0.0.1, ::1), not \(host)")
        }
        let handler = Handler(forwarder: try HTTPForwarder(endpoint: moto), machines: machines, loginUser: loginUser, book: Book(log: log))
        let server = try await LoopbackHTTPServer.start(label: "otto-moto-proxy", host: host, port: port, logLevel: logLevel) { request in
            try await handler.respond(request)
        }
        return MotoMachineProxy(moto: moto, machines: machines, loginUser: loginUser, handler: handler, server: server)
    }

    /// Stops listening (calls in flight are cut off). The machines stay: `machines.cleanUp()` removes them.
    public func stop() async {
        await handler.book.release()
        await server.stop()
    }

    /// Blocks until the server ends (the standalone binary runs until killed).
    public func wait() async {
        await server.wait()
    }

    /// What failed on the machines' side, as `<instance or image>: <what>: <reason>` lines (empty when all went well).
    public func failures() async -> [String] {
        await handler.book.failures() + machines.failures()
    }

    /// Waits until the machine operations queued so far (stops, starts, terminations) have ended.
    public func settle() async {
        await machines.settle()
    }

    /// From the next successful answer to the EC2 `action` on (once sent), every request is parked, neither
    /// forwarded nor answered, until `releaseParked()`: a client is held right after that call, to be killed there.
    public func holdRequests(after action: String) async {
        await handler.book.hold(after: action)
    }

    /// How many requests are parked by `holdRequests(after:)` now.
    public func parkedRequests() async -> Int {
        await handler.book.parkedCount()
    }

    /// Ends the hold: the parked requests are answered 503 (never forwarded to moto); later ones are forwarded again.
    public func releaseParked() async {
        await handler.book.release()
    }

    /// The instances the proxy booted machines for (whether or not the boot worked), in launch order.
    public func launchedInstances() async -> [String] {
        await handler.book.launchedInOrder()
    }

    /// The bookworm base that stands in for a Debian AMI: systemd, sshd and sudo (for the `admin` login user).
    public static let debian12: ImageRecipe = ImageRecipe(name: "debian-12-ami", suite: "bookworm", packages: ["sudo"],
                                                          location: SourceLocation(file: "MotoMachineProxy.swift", line: 1, column: 1))

    /// Builds (or finds already built) `recipe` and returns machines whose base AMIs `amis` all boot from it, named
    /// `<prefix><instance id>`, on a provider of `settings`.
    public static func machines(settings: LocalSettings, amis: [String], recipe: ImageRecipe = debian12, prefix: String = "mto-",
                                progress: (String) -> Void = { _ in }) async throws -> LocalCloudMachines {
        try await LocalCloudMachines.build(settings: settings, images: Dictionary(amis.map { ($0, recipe) }, uniquingKeysWith: { a, _ in a }),
                                           prefix: prefix, providerName: "moto-machines", progress: progress)
    }
}
