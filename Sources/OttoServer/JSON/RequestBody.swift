/// A JSON request body as the generated API sees it: any JSON value, kept as nothing. The handlers read the body's
/// bytes from ``APIRequestContext`` and give them to the configuration reader, whose diagnostics point at
/// `api:/PATH:LINE:COL` and which answers 422 for what YAML would reject (see openapi-generator-config.yaml).
struct RequestBody: Codable, Hashable, Sendable {
    init() {}
    init(from decoder: any Decoder) throws {}
    func encode(to encoder: any Encoder) throws {
        var c = encoder.singleValueContainer()
        try c.encodeNil()
    }
}
