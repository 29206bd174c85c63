import Foundation
import HTTPTypes
import OttoCore

/// What `GET /v1/status` answers: every resource with its status, load-balancer backends, and when it was made.
/// `{"generated_at", "resources": [{"address", "status", "detail", "source"}], "backends": [{"load_balancer",
///   "server", "health"}], "summary": {"total", "in_sync"}}`. Statuses are those of `otto status`: ok, unmanaged,
/// missing, not created, drifted, changed, orphaned, unreachable.
public struct StatusReport: Sendable {
    /// One resource.
    public struct Row: Sendable {
        /// Address.
        public var address: String
        /// ok, drifted, missing, ...
        public var status: String
        /// Address, reason or error.
        public var detail: String
        /// `yaml` or `api`.
        public var source: String
        /// Creates a row.
        public init(address: String, status: String, detail: String, source: String = "yaml") {
            self.address = address
            self.status = status
            self.detail = detail
            self.source = source
        }
    }

    /// One load-balancer backend.
    public struct Backend: Sendable {
        /// The haproxy resource.
        public var loadBalancer: String
        /// Server name.
        public var server: String
        /// UP, DOWN, ...
        public var health: String
        /// Creates a backend row.
        public init(loadBalancer: String, server: String, health: String) {
            self.loadBalancer = loadBalancer
            self.server = server
            self.health = health
        }
    }

    /// When the report was made.
    public var generatedAt: Date
    /// Resources.
    public var resources: [Row]
    /// Load-balancer backends.
    public var backends: [Backend]

    /// Creates a report.
    public init(generatedAt: Date = Date(), resources: [Row] = [], backends: [Backend] = []) {
        self.generatedAt = generatedAt
        self.resources = resources
        self.backends = backends
    }

    /// The report as the API sends it (`Status` in openapi.yaml).
    var document: Components.Schemas.Status {
        get throws(APIError) {
            let rows = try resources.map { row throws(APIError) in
                guard let source = Components.Schemas.Status.resourcesPayloadPayload.sourcePayload(rawValue: row.source) else {
                    throw APIError(.internalServerError, "internal", "resource \(row.address) has source \(JSONQuoted(row.source)); expected yaml or api")
                }
                return Components.Schemas.Status.resourcesPayloadPayload(address: row.address, status: row.status, detail: row.detail, source: source)
            }
            return Components.Schemas.Status(
                generated_at: generatedAt, resources: rows,
                backends: backends.map { .init(load_balancer: $0.loadBalancer, server: $0.server, health: $0.health) },
                summary: .init(total: resources.count, in_sync: resources.filter { $0.status == "ok" }.count))
        }
    }
}
