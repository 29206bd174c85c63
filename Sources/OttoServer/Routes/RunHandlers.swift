import HTTPTypes
import OttoCore
import OttoPlan

/// `/v1`: plans, applies, runs and status, through the ``RunService`` the CLI provides.
extension APIHandlers {
    func plan(_ input: Operations.plan.Input) async throws -> Operations.plan.Output {
        let request = try Self.runRequest(try body(), apply: false)
        let plan = try await Self.call { try await environment.runs.plan(request) }
        var sources: [ResourceAddress: ResourceSource] = [:]
        for r in desired.snapshot.resources { sources[r.address] = r.source }
        return .ok(.init(body: .json(PlanDocument(plan, sources: sources))))
    }

    func apply(_ input: Operations.apply.Input) async throws -> Operations.apply.Output {
        let request = try Self.runRequest(try body(), apply: true)
        let run = try await Self.call { try await environment.runs.startApply(request) }
        return .accepted(.init(headers: .init(Location: "/v1/runs/" + run.id), body: .json(run)))
    }

    func getRun(_ input: Operations.getRun.Input) async throws -> Operations.getRun.Output {
        let id = input.path.id
        guard let run = try await Self.call({ try await environment.runs.run(id: id) }) else {
            throw APIError.notFound("no run \(JSONQuoted(id))")
        }
        return .ok(.init(body: .json(run)))
    }

    func status(_ input: Operations.status.Input) async throws -> Operations.status.Output {
        let report = try await Self.call { try await environment.runs.status() }
        return .ok(.init(body: .json(try report.document)))
    }

    /// Reads `{"sites", "targets", "replace", "destroy", "refresh_only", "refresh", "parallelism"}` (all optional; an empty body
    /// is `{}`); unknown keys, wrong types and bad addresses are 422, malformed JSON 400.
    static func runRequest(_ body: [UInt8], apply: Bool) throws(APIError) -> RunRequest {
        guard !body.isEmpty else { return RunRequest() }
        let file = SourceLocation.apiPrefix + (apply ? "/v1/apply" : "/v1/plan")
        let node: JSONNode
        do {
            node = try JSONNode.parse(body, file: file)
        } catch {
            let lines = error.diagnostics.map(\.description)
            throw APIError(.badRequest, "body.malformed", lines.joined(separator: "; "), details: lines)
        }
        var problems: [Diagnostic] = []
        func problem(_ at: SourceLocation, _ message: String) { problems.append(Diagnostic(at: at, message)) }
        guard let entries = node.entries else {
            throw APIError.invalid([Diagnostic(at: node.location, "expected a JSON object, got \(node.kindDescription)")])
        }
        let allowed = ["sites", "targets", "replace", "destroy", "refresh_only", "refresh"] + (apply ? ["parallelism"] : [])
        var request = RunRequest()
        var destroy = false, refreshOnly = false
        func bool(_ n: JSONNode) -> Bool? {
            if case .bool(let b)? = n.scalar { return b }
            problem(n.location, "expected true or false, got \(n.kindDescription)")
            return nil
        }
        func strings(_ n: JSONNode) -> [String] {
            guard let items = n.items else { problem(n.location, "expected a list of strings, got \(n.kindDescription)"); return [] }
            return items.compactMap { item in
                if case .string(let s)? = item.scalar { return s }
                problem(item.location, "expected a string, got \(item.kindDescription)")
                return nil
            }
        }
        for e in entries {
            let key = e.key.text ?? ""
            switch key {
            case "sites": request.options.sites = strings(e.value)
            case "targets": request.options.targets = strings(e.value)
            case "replace":
                request.options.replace = strings(e.value).compactMap { text in
                    guard let a = ResourceAddress(parsing: text) else {
                        problem(e.value.location, "invalid address \(Value.string(text)) in replace: expected KIND.NAME")
                        return nil
                    }
                    return a
                }
            case "destroy": destroy = bool(e.value) ?? false
            case "refresh_only": refreshOnly = bool(e.value) ?? false
            case "refresh": request.options.refresh = bool(e.value) ?? true
            case "parallelism" where apply:
                if case .int(let n)? = e.value.scalar, (1...1000).contains(n) { request.parallelism = n } else {
                    problem(e.value.location, "parallelism must be an integer from 1 to 1000, got \(e.value.kindDescription)")
                }
            default:
                problem(e.key.location, "unknown key \(Value.string(key)); expected one of \(allowed.joined(separator: ", "))")
            }
        }
        if destroy && refreshOnly { problem(node.location, "destroy and refresh_only cannot be combined") }
        if refreshOnly && !request.options.refresh { problem(node.location, "refresh_only needs refresh") }
        if !problems.isEmpty { throw APIError.invalid(problems) }
        request.options.mode = destroy ? .destroy : (refreshOnly ? .refreshOnly : .normal)
        return request
    }
}
