import OttoCore

/// One `images/NAME.yml`: a golden image recipe.
public struct ImageRecipe: Sendable, Hashable {
    /// A file written into the image.
    public struct File: Sendable, Hashable {
        /// Absolute path in the image.
        public var path: String
        /// Inline content, when given.
        public var content: String?
        /// Project-relative source file, when given (exactly one of content/source).
        public var source: String?
        /// Octal mode text (default `0644`).
        public var mode: String
        /// Owner (default root).
        public var owner: String
    }
    /// Name (`image:`).
    public var name: String
    /// Parent image (`from:`), when built on another image.
    public var from: Located<String>?
    /// Debian suite of the base (`base.suite`, default bookworm) when not built `from` another.
    public var suite: String?
    /// Debian mirror of the base (`base.mirror`), when given.
    public var mirror: String?
    /// Packages to install.
    public var packages: [String]
    /// Files to write.
    public var files: [File]
    /// Commands to run, in order.
    public var run: [String]
    /// Where it is declared.
    public var location: SourceLocation
}
