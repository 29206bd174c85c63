import HTTPTypes
import Hummingbird
import OttoCore
import OttoPlan

/// `/v1`: plans, applies, runs and status, through the ``RunService`` the CLI provides.
extension APIHandlers {
    static func plan(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let request = try runRequest(try await r.body(), apply: false)
        let plan = try await call { try await r.environment.runs.plan(request) }
        return Responses.json(.ok, PlanRendering.json(plan, resources: r.environment.desired.snapshot.resources))
    }

    static func apply(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let request = try runRequest(try await r.body(), apply: true)
        let run = try await call { try await r.environment.runs.startApply(request) }
        var headers = HTTPFields()
        headers[.location] = "/v1/runs/" + run.id
        return Responses.json(.accepted, run.json, headers: headers)
    }

    static func getRun(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let id = try r.parameter("id")
        guard let run = try await call({ try await r.environment.runs.run(id: id) }) else {
            throw APIError.notFound("no run \(JSONQuoted(id))")
        }
        return Responses.json(.ok, run.json)
    }

    static func status(_ r: APIRequest) async throws(APIError) -> Response {
        try r.query.check(allowed: [])
        let report = try await call { try await r.environment.runs.status() }
        return Responses.json(.ok, report.json)
    }

    /// Reads `{"targets", "replace", "destroy", "refresh_only", "refresh", "parallelism"}` (all optional; an empty body
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
        let allowed = ["targets", "replace", "destroy", "refresh_only", "refresh"] + (apply ? ["parallelism"] : [])
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
