/// Bounds the YAML reader enforces so a hostile or broken file fails fast with a clear error.
public struct YAMLLimits: Sendable, Hashable {
    /// Deepest nesting of sequences and mappings allowed.
    public var maxDepth: Int
    /// Most nodes per file, counting every alias expansion at its full size (billion-laughs protection).
    public var maxNodes: Int
    /// Largest file accepted, in bytes.
    public var maxFileSize: Int

    /// Creates limits.
    public init(maxDepth: Int = 128, maxNodes: Int = 2_000_000, maxFileSize: Int = 64 << 20) {
        self.maxDepth = maxDepth
        self.maxNodes = maxNodes
        self.maxFileSize = maxFileSize
    }

    /// 128 levels, 2,000,000 nodes, 64 MiB.
    public static let `default` = YAMLLimits()
}
