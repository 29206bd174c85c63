import OttoCore
import OttoPlan

/// One resource as `otto status` and the status page show it: in sync, drifted, missing, unreachable...
public struct ResourceStatus: Sendable, Codable, Hashable {
    /// The address.
    public var address: String
    /// `ok`, `unmanaged`, `missing`, `not created`, `drifted`, `changed`, `orphaned` or `unreachable`.
    public var status: String
    /// What to show beside it: a machine's address and state, a service's state, a record's id, or the plan's reason.
    public var detail: String

    /// Creates a row.
    public init(address: String, status: String, detail: String) {
        self.address = address
        self.status = status
        self.detail = detail
    }

    /// The rows of a plan (refreshed), `recorded` telling what the state knew.
    public static func rows(_ plan: Plan, recorded: Set<ResourceAddress>) -> [ResourceStatus] {
        plan.changes.map { c in
            ResourceStatus(address: c.address.description, status: status(c, recorded: recorded.contains(c.address)), detail: detail(c))
        }
    }

    /// The status word for one planned change.
    public static func status(_ c: ResourceChange, recorded: Bool) -> String {
        if c.before?.attributes["reachable"] == .bool(false) { return "unreachable" }
        switch c.action {
        case .noop: return recorded ? "ok" : "unmanaged"
        case .create: return recorded ? "missing" : "not created"
        case .update, .replace:
            switch c.reason {
            case .drift: return "drifted"
            default: return "changed"
            }
        case .delete: return "orphaned"
        }
    }

    /// The detail for one planned change.
    public static func detail(_ c: ResourceChange) -> String {
        let a = c.before?.attributes ?? [:]
        if let reason = a["unreachable_reason"]?.stringValue { return reason }
        switch c.address.kind {
        case "machine":
            let ip = a["ipv4"]?.stringValue ?? "-"
            // Local machines report `running`; cloud machines the provider's own `status` (active, running, off...).
            let running = a["running"].map { $0 == .bool(true) ? "running" : "stopped" } ?? a["status"]?.stringValue ?? ""
            return c.action == .noop ? "\(ip) \(running)" : c.reason.description
        case "service", "unit":
            guard c.action == .noop else { return c.reason.description }
            return "\(a["running"] == .bool(true) ? "running" : "stopped"), \(a["enabled"] == .bool(true) ? "enabled" : "disabled")"
        case "dns_record":
            guard c.action == .noop else { return c.reason.description }
            return (a["records"]?.listValue ?? []).compactMap(\.stringValue).joined(separator: " ")
        default:
            return c.action == .noop ? (c.before?.providerID ?? "") : c.reason.description
        }
    }
}
