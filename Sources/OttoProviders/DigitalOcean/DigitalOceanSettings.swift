import Foundation
import OttoCore
import OttoHTTP

/// Settings of a `digitalocean` provider (an inventory `providers:` entry of type `digitalocean`), with defaults.
///
/// Keys: `token_env` | `token_file` (where the API token comes from; never inline), `endpoint` (default
/// `https://api.digitalocean.com`), `region`, `ssh_key` (private key path; its `.pub` is the account key), `known_hosts`,
/// `tag` (default `otto`), `rate_limit` (requests per second, default 250/60), `burst` (default 250), `timeout` (per
/// request: seconds or a duration like `30s`, default 30 s), `ipv6` (default false), `host_keys` (`pinned`, the default: otto
/// makes each new droplet's host key, pins it and replaces it at the first connection; `known_hosts`: checked against
/// the `known_hosts` file as for machines otto did not make), `base_image` (where image recipes without `from` start,
/// default `debian-12-x64`), `builder_size` (the size of image builders, default `s-1vcpu-1gb`).
public struct DigitalOceanSettings: Sendable, CustomStringConvertible {
    /// The API token. Never printed.
    public var token: String
    /// The API root.
    public var endpoint: String
    /// Region for machines that name none.
    public var region: String?
    /// Private key path machines report as `ssh_key`.
    public var sshKey: String?
    /// known_hosts file machines report as `known_hosts`.
    public var knownHosts: String?
    /// The tag of otto's droplets.
    public var tag: String
    /// Requests per second, sustained.
    public var rate: Double
    /// Requests back to back.
    public var burst: Int
    /// Longest time for one request.
    public var timeout: Duration
    /// Whether new droplets get IPv6.
    public var ipv6: Bool
    /// How new droplets' host keys are checked.
    public var hostKeys: HostKeyMode
    /// Where image recipes without `from` start.
    public var baseImage = "debian-12-x64"
    /// The size of image builders.
    public var builderSize = "s-1vcpu-1gb"

    /// DigitalOcean's documented limit: 250 requests per minute (and 5,000 per hour).
    public static let defaultRate = 250.0 / 60.0

    /// Creates settings from values.
    public init(token: String, endpoint: String = "https://api.digitalocean.com", region: String? = nil, sshKey: String? = nil,
                knownHosts: String? = nil, tag: String = "otto", rate: Double = DigitalOceanSettings.defaultRate, burst: Int = 250,
                timeout: Duration = .seconds(30), ipv6: Bool = false, hostKeys: HostKeyMode = .pinned) {
        self.token = token
        self.endpoint = endpoint
        self.region = region
        self.sshKey = sshKey
        self.knownHosts = knownHosts
        self.tag = tag
        self.rate = rate
        self.burst = burst
        self.timeout = timeout
        self.ipv6 = ipv6
        self.hostKeys = hostKeys
    }

    /// Reads an inventory entry's values; the token through `SecretSource` (relative files from `root`), paths
    /// relative to `root`. Messages about a bad setting start with where the provider is declared.
    public init(_ config: ProviderSettingValues, root: String, environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let s = config.values
        let place = config.place
        func text(_ key: String) -> String? { s[key]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } }
        func number(_ key: String) throws -> Double? {
            guard let value = s[key], value != .null else { return nil }
            switch value {
            case .int(let n): return Double(n)
            case .double(let d): return d
            case .string(let t) where Double(t) != nil: return Double(t)
            default: throw OttoError("provider.config", "\(place): `\(key)` must be a number, got \(value)")
            }
        }
        func path(_ key: String) -> String? {
            text(key).map { ($0 as NSString).expandingTildeInPath }.map { $0.hasPrefix("/") ? $0 : URL(fileURLWithPath: root).appendingPathComponent($0).path }
        }
        if s["token"] != nil || s["api_token"] != nil {
            throw OttoError("provider.config", "\(place): the token never goes in YAML; put it in an environment variable (`token_env:`) or a file (`token_file:`)")
        }
        guard text("token_env") != nil || text("token_file") != nil else {
            throw OttoError("provider.config", "\(place) needs `token_env:` (an environment variable holding the API token) or `token_file:`")
        }
        let token: String
        do {
            token = try SecretSource.resolve(env: text("token_env"), file: text("token_file"), root: root, environment: environment)
        } catch let error as OttoError {
            throw OttoError(error.code, "\(place): \(error.message)", causeText: error.cause)
        }
        let rate = try number("rate_limit") ?? Self.defaultRate
        guard rate > 0 else { throw OttoError("provider.config", "\(place): `rate_limit` must be more than 0 requests per second") }
        let burst = try number("burst").map { Int($0) } ?? 250
        guard burst >= 1 else { throw OttoError("provider.config", "\(place): `burst` must be at least 1") }
        var timeout = Duration.seconds(30)
        if let value = s["timeout"], value != .null {
            if let seconds = try? number("timeout"), seconds > 0 {
                timeout = .milliseconds(Int(seconds * 1000))
            } else if let text = value.stringValue, let duration = ConfigDuration(parsing: text), duration.milliseconds > 0 {
                timeout = duration.duration
            } else {
                throw OttoError("provider.config", "\(place): `timeout` must be seconds or a duration like 30s, got \(value)")
            }
        }
        var ipv6 = false
        if let value = s["ipv6"], value != .null {
            guard let flag = value.boolValue else { throw OttoError("provider.config", "\(place): `ipv6` must be true or false") }
            ipv6 = flag
        }
        self.init(token: token, endpoint: text("endpoint") ?? "https://api.digitalocean.com", region: text("region"), sshKey: path("ssh_key"),
                  knownHosts: path("known_hosts"), tag: text("tag") ?? "otto", rate: rate, burst: burst, timeout: timeout, ipv6: ipv6,
                  hostKeys: try HostKeyMode(setting: s["host_keys"], place: place))
        baseImage = text("base_image") ?? baseImage
        builderSize = text("builder_size") ?? builderSize
    }
}

extension DigitalOceanSettings {
    /// The settings without the token.
    public var description: String {
        "DigitalOceanSettings(endpoint: \(endpoint), region: \(region ?? "-"), tag: \(tag), rate: \(rate)/s, burst: \(burst), token: [redacted])"
    }
}

extension DigitalOceanProvider {
    /// Creates a provider from inventory settings (see `DigitalOceanSettings`).
    public convenience init(name: String, settings: DigitalOceanSettings, concurrency: Int = 16, recipes: [String: ImageRecipe] = [:],
                            projectRoot: String = ".", progress: @escaping @Sendable (String) -> Void = { _ in }, client: HTTPClient) {
        self.init(name: name, endpoint: settings.endpoint, token: settings.token, region: settings.region, tag: settings.tag,
                  sshKey: settings.sshKey, knownHosts: settings.knownHosts, rate: settings.rate, burst: settings.burst,
                  concurrency: concurrency, timeout: settings.timeout, ipv6: settings.ipv6, hostKeys: settings.hostKeys,
                  recipes: recipes, projectRoot: projectRoot, baseImage: settings.baseImage, builderSize: settings.builderSize,
                  progress: progress, client: client)
    }
}
