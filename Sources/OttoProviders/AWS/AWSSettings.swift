import Foundation
import OttoCore
import OttoHTTP

/// Settings of an `aws` provider (an inventory `providers:` entry of type `aws`), with defaults.
///
/// Inventory keys: `region`, `endpoint`, `profile`, `access_key_id_env`, `secret_access_key_env`, `session_token_env`,
/// `credentials_file`, `ssh_key`, `ssh_user`, `known_hosts`, `tag`, `rate_limit`, `burst`, `route53_rate_limit`,
/// `route53_burst`, `timeout`, `host_keys` (`pinned`, the default, or `known_hosts`: see `HostKeyMode`), and for image
/// builds `base_image` (the AMI recipes without `from` start from), `builder_size` (default `t3.micro`),
/// `builder_security_groups` (group ids that let otto reach port 22 of a builder; default: the VPC's default group). Credentials are resolved by `AWSCredentialSource`; `description` never shows the secret.
public struct AWSSettings: Sendable, CustomStringConvertible {
    /// The region every EC2 call goes to (`us-east-1`); Route53 is global and signs for `us-east-1`.
    public var region: String
    /// One URL for every service instead of AWS's own endpoints (`http://127.0.0.1:5000` for moto_server); nil for AWS.
    public var endpoint: String?
    /// The access key requests are signed with.
    public var credentials: AWSCredentials
    /// Where the credentials came from, for messages (`environment variables AWS_ACCESS_KEY_ID…`, `profile default in …`).
    public var credentialsOrigin: String
    /// Value of the `otto:managed` tag on everything otto creates; observation lists only what carries it.
    public var tag: String
    /// User otto logs in as on instances (default `admin`, Debian's AMIs).
    public var sshUser: String
    /// Private key for SSH to instances (absolute path; the public half is `sshKey + ".pub"`), if set.
    public var sshKey: String?
    /// known_hosts file host keys are checked against, if set.
    public var knownHosts: String?
    /// EC2 requests per second, sustained (default 20).
    public var rateLimit: Double
    /// EC2 requests allowed back to back (default 100).
    public var burst: Int
    /// Route53 requests per second (default 5, Route53's documented per-account limit).
    public var route53RateLimit: Double
    /// Route53 requests allowed back to back (default 5).
    public var route53Burst: Int
    /// Longest time one HTTP attempt may take (default 30 s).
    public var timeout: Duration
    /// How often instance states are polled while waiting (default 2 s).
    public var pollInterval: Duration
    /// Longest wait for an instance to reach a state (default 10 min).
    public var waitTimeout: Duration
    /// How long a security group delete keeps retrying while instances that use it terminate (default 5 min).
    public var dependencyTimeout: Duration
    /// How new instances' host keys are checked.
    public var hostKeys: HostKeyMode = .pinned
    /// The AMI image recipes without `from` start from (no default: AMI ids differ per region).
    public var baseImage: String?
    /// The instance type of image builders.
    public var builderSize = "t3.micro"
    /// Security groups of image builders.
    public var builderSecurityGroups: [String] = []

    /// Creates settings from values; everything but region and credentials has a default.
    public init(region: String, credentials: AWSCredentials, credentialsOrigin: String = "given credentials", endpoint: String? = nil,
                tag: String = "otto", sshUser: String = "admin", sshKey: String? = nil, knownHosts: String? = nil,
                rateLimit: Double = 20, burst: Int = 100, route53RateLimit: Double = 5, route53Burst: Int = 5,
                timeout: Duration = .seconds(30), pollInterval: Duration = .seconds(2), waitTimeout: Duration = .seconds(600),
                dependencyTimeout: Duration = .seconds(300)) {
        self.region = region
        self.credentials = credentials
        self.credentialsOrigin = credentialsOrigin
        self.endpoint = endpoint.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
        self.tag = tag
        self.sshUser = sshUser
        self.sshKey = sshKey
        self.knownHosts = knownHosts
        self.rateLimit = rateLimit
        self.burst = burst
        self.route53RateLimit = route53RateLimit
        self.route53Burst = route53Burst
        self.timeout = timeout
        self.pollInterval = pollInterval
        self.waitTimeout = waitTimeout
        self.dependencyTimeout = dependencyTimeout
    }

    /// Reads an inventory entry's values: region from `region`, else `AWS_REGION`, else `AWS_DEFAULT_REGION`; credentials per
    /// `AWSCredentialSource.resolve`; paths (`ssh_key`, `known_hosts`, `credentials_file`) relative to `projectRoot`.
    ///
    /// - Throws: `OttoError` `provider.aws.config` for a bad setting, `provider.aws.region` without a region,
    ///   `provider.aws.credentials` without credentials (naming where otto looked, never a value).
    public init(_ config: ProviderSettingValues, projectRoot: String,
                environment: [String: String] = ProcessInfo.processInfo.environment) throws {
        let s = config.values
        let setting = config.place
        func text(_ key: String) throws -> String? {
            guard let value = s[key], value != .null else { return nil }
            guard let string = value.stringValue, !string.isEmpty else {
                throw OttoError("provider.aws.config", "\(setting): `\(key)` must be a non-empty string")
            }
            return string
        }
        func number(_ key: String) throws -> Double? {
            switch s[key] {
            case nil, .null?: return nil
            case .int(let i)?: if i > 0 { return Double(i) }
            case .double(let d)?: if d > 0 { return d }
            case .string(let t)?: if let d = Double(t), d > 0 { return d }
            default: break
            }
            throw OttoError("provider.aws.config", "\(setting): `\(key)` must be a positive number")
        }
        func path(_ key: String) throws -> String? {
            try text(key).map { Self.absolute($0, root: projectRoot, environment: environment) }
        }
        func nonEmpty(_ name: String) -> String? { environment[name].flatMap { $0.isEmpty ? nil : $0 } }

        guard let region = try text("region") ?? nonEmpty("AWS_REGION") ?? nonEmpty("AWS_DEFAULT_REGION") else {
            throw OttoError("provider.aws.region",
                            "\(setting) has no region: set `region:` in inventory, or AWS_REGION / AWS_DEFAULT_REGION")
        }
        let (credentials, origin) = try AWSCredentialSource.resolve(
            providerName: config.name,
            accessKeyIDEnv: try text("access_key_id_env"), secretAccessKeyEnv: try text("secret_access_key_env"),
            sessionTokenEnv: try text("session_token_env"), credentialsFile: try path("credentials_file"),
            profile: try text("profile"), environment: environment)
        var timeout = Duration.seconds(30)
        if let seconds = try number("timeout") { timeout = .milliseconds(Int(seconds * 1000)) }
        self.init(region: region, credentials: credentials, credentialsOrigin: origin, endpoint: try text("endpoint"),
                  tag: try text("tag") ?? "otto", sshUser: try text("ssh_user") ?? "admin", sshKey: try path("ssh_key"),
                  knownHosts: try path("known_hosts"), rateLimit: try number("rate_limit") ?? 20,
                  burst: Int(try number("burst") ?? 100), route53RateLimit: try number("route53_rate_limit") ?? 5,
                  route53Burst: Int(try number("route53_burst") ?? 5), timeout: timeout)
        hostKeys = try HostKeyMode(setting: s["host_keys"], place: setting)
        baseImage = try text("base_image")
        builderSize = try text("builder_size") ?? builderSize
        if let groups = s["builder_security_groups"], groups != .null {
            guard let list = groups.listValue?.compactMap(\.stringValue), list.count == groups.listValue?.count else {
                throw OttoError("provider.aws.config", "\(setting): `builder_security_groups` must be a list of security group ids")
            }
            builderSecurityGroups = list
        }
    }

    /// `~/x` and project-relative paths made absolute.
    static func absolute(_ path: String, root: String, environment: [String: String]) -> String {
        if path.hasPrefix("~/"), let home = environment["HOME"] ?? ProcessInfo.processInfo.environment["HOME"] {
            return home + path.dropFirst(1)
        }
        if path.hasPrefix("/") { return path }
        return URL(fileURLWithPath: root).appendingPathComponent(path).standardizedFileURL.path
    }

    /// Region, endpoint and the access key id; never the secret.
    public var description: String {
        "AWS region \(region)\(endpoint.map { " via \($0)" } ?? ""), \(credentials) from \(credentialsOrigin)"
    }
}
