import NIOCore

/// The hand-written OpenAPI 3 document served at `/openapi.json` (see `OpenAPIDocument+Text.swift`).
enum OpenAPIDocument {
    /// The document as a response body.
    static let buffer = ByteBuffer(string: text)
}
