import NIOCore
import OttoCore

extension JSON {
    /// The compact encoding in a buffer, ready to be a response body.
    public var buffer: ByteBuffer { ByteBuffer(bytes: encoded) }
}
