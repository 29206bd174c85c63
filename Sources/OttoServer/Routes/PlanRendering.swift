import OttoCore
import OttoPlan

/// A plan as `POST /v1/plan` answers it:
/// `{"lineage", "serial", "mode", "created_at", "has_changes", "counts": {"create", "update", "replace", "delete", "noop"},
///   "changes": [{"address", "provider", "action", "reason", "source", "attributes": [{"name", "before", "after",
///   "forces_replace"}]}], "drift": [addresses], "refresh": {"seconds", "resources", "api_calls"} | null}`.
/// `changes` lists what does something (no-ops are only counted). Values of `content` and `user_data` are shown as
/// `"(sensitive)"`: files and cloud-init may hold secrets.
enum PlanRendering {
    static let sensitive: Set<String> = ["content", "user_data"]

    static func json(_ plan: Plan, resources: [Resource]) -> JSON {
        var sources: [ResourceAddress: ResourceSource] = [:]
        for r in resources { sources[r.address] = r.source }
        let counts = plan.counts
        func value(_ name: String, _ v: Value?) -> JSON {
            guard let v else { return .null }
            return sensitive.contains(name) ? .string("(sensitive)") : JSON(v)
        }
        let changes: [JSON] = plan.actionable.map { c in
            .object([
                ("address", .string(c.address.description)), ("provider", .string(c.provider)), ("action", .string(c.action.rawValue)),
                ("reason", .string(String(describing: c.reason))), ("source", .string((sources[c.address] ?? .yaml).rawValue)),
                ("attributes", .array(c.changes.map { a in
                    .object([("name", .string(a.name)), ("before", value(a.name, a.before)), ("after", value(a.name, a.after)),
                             ("forces_replace", .bool(a.forcesReplace))])
                })),
            ])
        }
        let refresh: JSON = plan.refresh.map { r in
            .object([("seconds", .double(r.seconds)), ("resources", .int(r.resources)),
                     ("api_calls", .object(r.apiCalls.sorted { $0.key < $1.key }.map { ($0.key, .int($0.value)) }))])
        } ?? .null
        return .object([
            ("lineage", .string(plan.stateLineage)), ("serial", .int(plan.stateSerial)), ("mode", .string(plan.options.mode.rawValue)),
            ("created_at", .date(plan.createdAt)), ("has_changes", .bool(plan.hasChanges)),
            ("counts", .object(Action.allCases.map { ($0.rawValue, .int(counts[$0] ?? 0)) })),
            ("changes", .array(changes)),
            ("drift", .strings(plan.drift.map(\.address.description))),
            ("refresh", refresh),
        ])
    }
}
