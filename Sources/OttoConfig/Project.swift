import Foundation
import OttoCore

/// A whole otto project: the sites, inventory and images under one root, checked together and expanded
/// into the desired resources.
public struct Project: Sendable {
    /// The project root directory.
    public var root: String
    /// Sites, in file order (`sites/` sorted by name).
    public var sites: [Site]
    /// Providers, hosts and groups merged from every `inventory/` file.
    public var inventory: Inventory
    /// Image recipes by name.
    public var images: [String: ImageRecipe]
    /// The desired resources every site expands into, in a stable order.
    public var resources: [Resource]
    /// DNS-only sites made from zones written over the HTTP API (`/dom/ns`, `/dom/dns`), one per domain, named after
    /// the domain (`dns_zone.example.com`); validated and expanded exactly like YAML sites.
    public var apiSites: [Site] = []
    /// Apps held on an earlier build by `otto rollback` / `otto release`, by `SITE/APP` (API items of kind `release`).
    public var releasePins: [String: AppReleasePin] = [:]

    /// The environment this project was built for (`--env`), nil for a project without environments.
    public var environment: EnvironmentSpec?
    /// Every environment the project defines (`environments/*.yml`), sorted.
    public var environmentNames: [String] = []
    /// The webhooks of the deployment ledger (`webhooks/*.yml`), by name.
    public var webhooks: [WebhookSpec] = []
    /// The promotion pipelines (`pipelines/*.yml`), by app.
    public var pipelines: [String: PipelineSpec] = [:]

    /// Folders read under the root, in this order.
    public static let folders = ["inventory", "images", "sites", EnvironmentSpec.folder, "webhooks", "pipelines"]

    /// Reads `inventory/`, `images/` and `sites/` (`*.yml` and `*.yaml`, sorted by name; a missing folder is
    /// empty), merges the desired state written over the HTTP API (`api`, from the state database; see
    /// ``APIItem``), checks everything and expands the sites. Throws every problem found, each at `file:line:col`
    /// (`api:/inv/web1:1:20` inside an API item).
    public static func load(root: String, limits: YAMLLimits = .default, api: [APIItem] = [],
                            environment: String? = nil) throws(DiagnosticsError) -> Project {
        let files = ProjectFiles.read(root: root, limits: limits, environment: environment)
        return try files.load(api: api)
    }

    /// Loads a project from in-memory files named like `sites/demo.yml`, `inventory/x.yml` or `images/web.yml`
    /// (for callers and tests that do not have a directory); checks and expands exactly like ``load(root:limits:api:)``.
    public static func load(sources: [(displayPath: String, text: String)], root: String = ".", limits: YAMLLimits = .default,
                            api: [APIItem] = [], environment: String? = nil) throws(DiagnosticsError) -> Project {
        try ProjectFiles.parse(sources: sources, root: root, limits: limits, environment: environment).load(api: api)
    }

    /// Builds the project from parsed files; throws every error found so far and in the build, keeps warnings.
    static func finish(root: String, files: consuming [(String, [YAMLNode])], diagnostics: [Diagnostic],
                       onDisk: Bool, api: [APIItem], environment: String?) throws(DiagnosticsError) -> Project {
        var diagnostics = diagnostics
        var project = build(root: root, files: consume files, onDisk: onDisk, api: api, environment: environment, givesBackMemory: true)
        if let e = project.error { diagnostics.append(contentsOf: e.diagnostics) }
        if diagnostics.contains(where: { $0.severity == .error }) { throw DiagnosticsError(diagnostics) }
        project.project.warnings = diagnostics + project.project.warnings
        return project.project
    }

    /// DNS records and units from which a project counts as large: its YAML's memory is given back once decoded.
    static let largeProject = 10_000

    /// Warnings found while loading (errors are thrown instead).
    public var warnings: [Diagnostic] = []
    /// Every file besides the YAML that building the project read or looked for (unit files, `source:` and
    /// `template:` files, SSH public keys, content directories, app bundles), sorted: with the YAML files' fingerprint,
    /// what decides whether a project loaded earlier is still the one on disk.
    public var inputs: [String] = []

    /// Builds a project from parsed files named `inventory/…`, `images/…` or `sites/…`; returns it with the
    /// problems found (the project is only meaningful when there are no errors).
    /// Takes `parsed` (consuming): its YAML is let go once the sites are decoded, before the project is checked and
    /// expanded. With `givesBackMemory` (a load that consumed the only copy of the YAML) and a large project, the memory
    /// it held goes back to the system then; a rebuild from files kept for later (the API) has nothing to give back.
    static func build(root: String, files parsed: consuming [(String, [YAMLNode])], onDisk: Bool, api: [APIItem] = [],
                      environment: String? = nil, givesBackMemory: Bool = false) -> (project: Project, error: DiagnosticsError?) {
        let reader = ConfigReader(root: root, onDisk: onDisk)
        var (files, spec, environments) = Self.files(consume parsed, forEnvironment: environment, reader: reader)
        var inventory = Inventory()
        var images: [String: ImageRecipe] = [:]
        var sites: [Site] = []
        var webhooks: [WebhookSpec] = []
        var pipelines: [String: PipelineSpec] = [:]
        // Site files decode on every CPU at once, each with a reader of its own; what each reports joins the
        // project's diagnostics at its file's place below, so the order is as if they had been read one by one.
        let inputs = reader.inputs
        let decoded = Blocking.map(files) { path, documents -> (Site?, [Diagnostic])? in
            guard path.hasPrefix("sites/"), let document = documents.first else { return nil }
            let own = ConfigReader(root: root, onDisk: onDisk, inputs: inputs)
            return (own.site(document), own.bag.all)
        }
        for ((path, documents), decodedSite) in zip(files, decoded) {
            if documents.isEmpty {
                reader.bag.warning(SourceLocation(file: path, line: 1, column: 1), "file is empty")
                continue
            }
            if ProjectFiles.isInventory(path) {
                for doc in documents { reader.inventory(doc, into: &inventory) }
                continue
            }
            if path.hasPrefix("webhooks/") {
                let fileName = String(path.dropFirst("webhooks/".count).prefix { $0 != "." })
                if documents.count > 1 { reader.error(documents[1].location, "a webhook file holds one webhook") }
                if let hook = reader.webhook(documents[0], fileName: fileName) { webhooks.append(hook) }
                continue
            }
            if path.hasPrefix("pipelines/") {
                let fileName = String(path.dropFirst("pipelines/".count).prefix { $0 != "." })
                if documents.count > 1 { reader.error(documents[1].location, "a pipeline file holds one app's pipeline") }
                if let pipeline = reader.pipeline(documents[0], fileName: fileName) { pipelines[pipeline.app] = pipeline }
                continue
            }
            let isSite = path.hasPrefix("sites/")
            if documents.count > 1 {
                reader.error(documents[1].location, isSite ? "a site file holds one site; put each site in its own file"
                                                           : "an image file holds one image; put each image in its own file")
            }
            if isSite {
                let (site, diagnostics) = decodedSite ?? (nil, [])  // every site file with a document was decoded above
                reader.bag.append(contentsOf: diagnostics)
                if var site {
                    site.environment = spec?.name
                    sites.append(site)
                }
            } else if let image = reader.image(documents[0]) {
                if let first = images[image.name] {
                    reader.error(image.location, "image `\(image.name)` is already defined at \(first.location)")
                } else {
                    images[image.name] = image
                }
            }
        }
        files = []  // the YAML's last reader was above
        // The YAML was freed on the threads that decoded it: give it back, not keep it in their arenas. Only after a large
        // project (what a small one frees is little, and `otto serve` loads its project again every pass).
        if givesBackMemory && sites.reduce(0, { $0 + ($1.dns?.records.count ?? 0) + $1.units.count }) >= Self.largeProject {
            HeapMemory.returnFreed()
        }
        let apiSites = mergeAPI(api, into: &inventory, yamlSites: sites, reader: reader)
        var project = Project(root: root, sites: sites, inventory: inventory, images: images, resources: [])
        project.environment = spec
        project.environmentNames = environments
        project.webhooks = webhooks
        project.pipelines = pipelines
        project.checkPipelines(into: reader)
        project.apiSites = apiSites
        project.releasePins = releasePins(api, reader: reader)
        project.validate(into: reader)
        project.resources = project.expand(into: reader)
        project.inputs = reader.inputs.sorted
        let all = reader.bag.all
        project.warnings = all.filter { $0.severity == .warning }
        return (project, reader.bag.hasErrors ? DiagnosticsError(all) : nil)
    }

    /// Each pipeline's environments are the project's, and its app is declared by a site (its `site:`, when given).
    func checkPipelines(into reader: ConfigReader) {
        for pipeline in pipelines.values.sorted(by: { $0.app < $1.app }) {
            if environmentNames.isEmpty {
                reader.error(pipeline.location, "pipeline `\(pipeline.app)` moves builds between environments, but this project has none: define them in environments/NAME.yml")
                continue
            }
            for stage in pipeline.stages where !environmentNames.contains(stage.environment) {
                var message = "pipeline `\(pipeline.app)`: no environment `\(stage.environment)` (environments: \(environmentNames.joined(separator: ", ")))"
                if let guess = EditDistance.closest(to: stage.environment, in: environmentNames) { message += "; did you mean `\(guess)`?" }
                reader.error(stage.location, message)
            }
            let declaring = sites.filter { s in s.apps.contains { $0.name == pipeline.app } && (pipeline.site == nil || s.name == pipeline.site) }
            if declaring.isEmpty {
                reader.error(pipeline.location, "pipeline `\(pipeline.app)`: no site\(pipeline.site.map { " named `\($0)`" } ?? "") declares app `\(pipeline.app)` under `apps:`")
            } else if declaring.count > 1 {
                reader.error(pipeline.location, "pipeline `\(pipeline.app)`: sites \(declaring.map(\.name).joined(separator: ", ")) all declare app `\(pipeline.app)`; say which with `site:`")
            }
        }
    }

    /// Every check that needs the whole project, as diagnostics (empty when the project is consistent).
    public func validate() -> [Diagnostic] {
        let reader = ConfigReader(root: root)
        validate(into: reader)
        _ = expand(into: reader)
        return reader.bag.all
    }
}

extension Project {
    /// The site a resource belongs to: every per-site address is `KIND.SITE…` (provider-wide ones such as
    /// `ssh_key.PROVIDER` belong to none).
    public func site(of address: ResourceAddress) -> Site? {
        let first = address.name.prefix { $0 != "." && $0 != "[" }
        return sites.first { $0.name == first }
    }
}

extension Project {
    /// The YAML sites whose `apps:` declare `app`, in file order.
    public func sites(declaringApp app: String) -> [Site] {
        sites.filter { $0.app(app) != nil }
    }

    /// Every app name declared by some site, sorted, without repeats.
    public var appNames: [String] { Array(Set(sites.flatMap { $0.apps.map(\.name) })).sorted() }

    /// The sites `otto releases APP [--site S]` and `GET /v1/apps/{app}/releases?site=S` cover: `site` when it declares
    /// `app`, else every site declaring it. Throws `OttoError` `config.app` (with a did-you-mean) when none does.
    public func releaseSites(app: String, site: String?) throws -> [Site] {
        if let site {
            guard let s = sites.first(where: { $0.name == site }) else {
                let guess = EditDistance.closest(to: site, in: sites.map(\.name)).map { "; did you mean `\($0)`?" } ?? ""
                throw OttoError("config.app", "no site `\(site)` is defined in sites/\(guess)")
            }
            guard s.app(app) != nil else {
                let guess = EditDistance.closest(to: app, in: s.apps.map(\.name)).map { "; did you mean `\($0)`?" } ?? ""
                throw OttoError("config.app", "site `\(site)` declares no app `\(app)`\(guess)")
            }
            return [s]
        }
        let declaring = sites(declaringApp: app)
        guard !declaring.isEmpty else {
            let guess = EditDistance.closest(to: app, in: appNames).map { "; did you mean `\($0)`?" } ?? ""
            throw OttoError("config.app", "no site declares an app `\(app)` (under `apps:` in sites/)\(guess)")
        }
        return declaring
    }
}
