import OpenAPIRuntime

/// `/healthz`, `/metrics`, `/` and `/openapi.json`.
extension APIHandlers {
    func healthz(_ input: Operations.healthz.Input) async throws -> Operations.healthz.Output {
        guard let database = await environment.health() else { return .ok(.init(body: .json(.init(status: .ok)))) }
        let report = Components.Schemas.DatabaseHealth(status: database.reachable ? .ok : .unreachable, replica: database.replica,
                                                       sites_held: database.sitesHeld, error: database.error)
        if database.reachable { return .ok(.init(body: .json(.init(status: .ok, database: report)))) }
        return .serviceUnavailable(.init(body: .json(.init(status: .degraded, database: report))))
    }

    func metrics(_ input: Operations.metrics.Input) async throws -> Operations.metrics.Output {
        .ok(.init(body: .text_plain_charset_utf_hyphen_8_version__0_period_0_period_4(HTTPBody(await environment.metrics()))))
    }

    func statusPage(_ input: Operations.statusPage.Input) async throws -> Operations.statusPage.Output {
        .ok(.init(body: .text_html_charset_utf_hyphen_8(HTTPBody(await environment.statusPage()))))
    }

    func openapi(_ input: Operations.openapi.Input) async throws -> Operations.openapi.Output {
        .ok(.init(body: .json(OpenAPIDocument.object)))
    }
}
