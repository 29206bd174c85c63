/// A built local image: a content-addressed chain of root file system layers.
public struct LocalImage: Sendable, Hashable {
    /// Recipe name (`image:`).
    public var name: String
    /// Content hash (SHA-256 hex) of the recipe, its parent's id and its `source:` files.
    public var id: String
    /// Layer directories, topmost first: exactly what overlayfs takes as `lowerdir` (joined with `:`).
    public var layers: [String]
    /// The image's own directory, `<state_dir>/images/<id>`.
    public var directory: String
    /// True when the image was already built (nothing was rebuilt).
    public var cached: Bool
    /// Seconds the build took (0 when cached).
    public var seconds: Double

    /// The short form of the id (12 hex digits) for display.
    public var shortID: String { String(id.prefix(12)) }
}
