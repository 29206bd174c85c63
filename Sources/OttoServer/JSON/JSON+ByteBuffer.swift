import Foundation
import NIOCore
import OttoCore

extension JSON {
    /// The compact encoding in a buffer, ready to be a response body.
    public var buffer: ByteBuffer { ByteBuffer(bytes: encoded) }

    /// A JSON document the server rendered earlier (the snapshot's bodies).
    init(rendered buffer: ByteBuffer) throws(APIError) {
        try self.init(rendered: Array(buffer.readableBytesView))
    }

    /// A JSON document rendered earlier, as bytes.
    init(rendered bytes: [UInt8]) throws(APIError) {
        do {
            self = try JSONDecoder().decode(JSON.self, from: Data(bytes))
        } catch {
            throw APIError(.internalServerError, "internal", "a stored document could not be read back")
        }
    }
}
