/// A golden image recipe (one `images/NAME.yml`): a base or a parent image plus packages, files and commands.
///
/// The configuration reader produces it; image builders (the local provider's layers, later cloud snapshots) read it.
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

        /// Creates a file entry.
        public init(path: String, content: String? = nil, source: String? = nil, mode: String = "0644", owner: String = "root") {
            self.path = path
            self.content = content
            self.source = source
            self.mode = mode
            self.owner = owner
        }
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

    /// Creates a recipe.
    public init(name: String, from: Located<String>? = nil, suite: String? = nil, mirror: String? = nil, packages: [String] = [],
                files: [File] = [], run: [String] = [], location: SourceLocation) {
        self.name = name
        self.from = from
        self.suite = suite
        self.mirror = mirror
        self.packages = packages
        self.files = files
        self.run = run
        self.location = location
    }
}
