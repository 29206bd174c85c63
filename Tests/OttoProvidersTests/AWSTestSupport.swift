import Foundation
import OttoCore
import OttoHTTP
import OttoTestSupport
@testable import OttoProviders

/// What the AWS provider tests share: a moto_server per test and a provider pointed at it.
enum AWSTest {
    /// A secret that must never show up in any error or description.
    static let secret = "otto-test-SECRET-wJalrXUtnFEMI-K7MDENG"

    /// A provider for `endpoint` with fast polling and its own rate-limit buckets (a fresh access key id). Host keys
    /// default to `known_hosts` (moto's instances never boot); instances that are real machines (`MotoMachineProxy`)
    /// take `.pinned` with a real `sshKey`.
    static func provider(endpoint: String, name: String = "aws", tag: String = "otto", pageSize: Int = 1000,
                         timeout: Duration = .seconds(30), recipes: [String: ImageRecipe] = [:], baseImage: String? = nil,
                         sshKey: String = "/keys/otto", hostKeys: HostKeyMode = .knownHosts) -> AWSProvider {
        let credentials = AWSCredentials(accessKeyID: "AKIDOTTO" + UUID().uuidString.prefix(8).uppercased(), secretAccessKey: secret,
                                         sessionToken: "otto-test-SESSION-token")
        var settings = AWSSettings(region: "us-east-1", credentials: credentials, credentialsOrigin: "the test", endpoint: endpoint,
                                   tag: tag, sshUser: "admin", sshKey: sshKey, knownHosts: nil, rateLimit: 500, burst: 500,
                                   route53RateLimit: 500, route53Burst: 500, timeout: timeout, pollInterval: .milliseconds(50),
                                   waitTimeout: .seconds(30), dependencyTimeout: .seconds(5))
        settings.hostKeys = hostKeys
        settings.baseImage = baseImage
        let client = HTTPClient(configuration: HTTPClientConfiguration(retry: RetryPolicy(maxAttempts: 3, baseDelay: .milliseconds(20))))
        return AWSProvider(name: name, settings: settings, recipes: recipes, projectRoot: "/", client: client, ec2PageSize: pageSize)
    }

    /// Runs `body` with a fresh moto_server and a provider pointed at it.
    static func withMoto(environment: [String: String] = [:], pageSize: Int = 1000,
                         _ body: (MotoServer, AWSProvider) async throws -> Void) async throws {
        let server = try await MotoServer.start(environment: environment)
        defer { server.stop() }
        try await body(server, provider(endpoint: server.endpoint, pageSize: pageSize))
    }

    static func request(_ resource: Resource, id: String? = nil, pendingKey: String? = nil) -> ObserveRequest {
        ObserveRequest(address: resource.address, providerID: id, attributes: resource.attributes, pendingKey: pendingKey)
    }

    /// The attributes the planner would compare: desired keys minus computed ones, unordered lists sorted.
    static func compared(_ attributes: [String: Value], schema: KindSchema, keys: some Sequence<String>) -> [String: Value] {
        var out: [String: Value] = [:]
        for key in keys where !schema.computed.contains(key) {
            var value = attributes[key] ?? .null
            if schema.unordered.contains(key), let list = value.listValue { value = .list(list.sorted { $0.description < $1.description }) }
            out[key] = value
        }
        return out
    }

    /// True when observing `resource` again would plan no change.
    static func noDiff(_ observed: ObservedResource?, _ resource: Resource, _ provider: AWSProvider) -> Bool {
        guard let observed, let schema = provider.schema(for: resource.kind) else { return false }
        return compared(observed.attributes, schema: schema, keys: resource.attributes.keys)
            == compared(resource.attributes, schema: schema, keys: resource.attributes.keys)
    }

    /// The text of an error as a user could ever see it (message and cause).
    static func text(_ error: any Error) -> String {
        if let otto = error as? OttoError { return otto.message + " " + (otto.cause ?? "") }
        return String(describing: error)
    }

    /// `<tag>value</tag>` occurrences in an XML answer.
    static func values(_ tag: String, in xml: String) -> [String] {
        xml.components(separatedBy: "<\(tag)>").dropFirst().compactMap { $0.components(separatedBy: "</\(tag)>").first }
    }
}
