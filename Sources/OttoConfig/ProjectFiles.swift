import Foundation
#if canImport(Glibc)
import Glibc
#endif
import OttoCore

/// The parsed YAML files of a project, before they are checked and expanded: read once, then built into a
/// ``Project`` with any set of API items (the HTTP API builds a candidate project for every write this way).
public struct ProjectFiles: Sendable {
    /// The project root.
    public var root: String
    /// Parsed documents per file, by display path (`sites/demo.yml`), in load order.
    var files: [(String, [YAMLNode])]
    /// Problems found while listing and parsing (errors make every build fail).
    public var diagnostics: [Diagnostic]
    /// False for in-memory sources: nothing is read from or checked on disk.
    var onDisk: Bool
    /// What the files were when read (path, size, modification time), to tell whether they changed since.
    public var fingerprint: [String]
    /// The environment the project is built for (`--env`), nil for a project without environments.
    public var environment: String? = nil

    /// Lists and parses `inventory/`, `images/`, `sites/` and `environments/` under `root` (never throws: problems are in
    /// `diagnostics`).
    public static func read(root: String, limits: YAMLLimits = .default, environment: String? = nil) -> ProjectFiles {
        var diagnostics: [Diagnostic] = []
        let sources = list(root: root, diagnostics: &diagnostics)
        var files: [(String, [YAMLNode])] = []
        // Files parse on every CPU at once; results and errors stay in the files' order.
        let parsed = Blocking.map(sources) { source in
            Result<[YAMLNode], DiagnosticsError> { () throws(DiagnosticsError) in
                guard isAnsibleINI(source.displayPath) else {
                    return try YAMLReader.parse(contentsOf: source.path, displayPath: source.displayPath, limits: limits)
                }
                let bytes = try YAMLReader.readFile(source.path, displayPath: source.displayPath, limits: limits)
                return [try AnsibleINI.parse(bytes: bytes, displayPath: source.displayPath, limits: limits)]
            }
        }
        for (source, result) in zip(sources, parsed) {
            switch result {
            case .success(let documents): files.append((source.displayPath, documents))
            case .failure(let error): diagnostics.append(contentsOf: error.diagnostics)
            }
        }
        return ProjectFiles(root: root, files: files, diagnostics: diagnostics, onDisk: true,
                            fingerprint: fingerprint(sources.map(\.path)), environment: environment)
    }

    /// Parses in-memory files named like `sites/demo.yml`.
    public static func parse(sources: [(displayPath: String, text: String)], root: String = ".",
                             limits: YAMLLimits = .default, environment: String? = nil) -> ProjectFiles {
        var diagnostics: [Diagnostic] = []
        var files: [(String, [YAMLNode])] = []
        let folders = Project.folders
        let rank = { (p: String) in folders.firstIndex { p.hasPrefix($0 + "/") } ?? folders.count }
        for source in sources.sorted(by: { (rank($0.displayPath), $0.displayPath) < (rank($1.displayPath), $1.displayPath) }) {
            guard folders.contains(where: { source.displayPath.hasPrefix($0 + "/") }) else {
                diagnostics.append(Diagnostic(at: nil, "\(source.displayPath) is not under inventory/, images/, sites/ or environments/"))
                continue
            }
            do {
                let documents = isAnsibleINI(source.displayPath)
                    ? [try AnsibleINI.parse(bytes: Array(source.text.utf8), displayPath: source.displayPath, limits: limits)]
                    : try YAMLReader.parse(source.text, displayPath: source.displayPath, limits: limits)
                files.append((source.displayPath, documents))
            } catch {
                diagnostics.append(contentsOf: error.diagnostics)
            }
        }
        return ProjectFiles(root: root, files: files, diagnostics: diagnostics, onDisk: false, fingerprint: [], environment: environment)
    }

    /// Checks and expands the files with `api` merged in. The project is returned even when it has errors (with
    /// every diagnostic, warnings included), so callers can tell new problems from old ones.
    public func build(api: [APIItem]) -> (project: Project, diagnostics: [Diagnostic]) {
        let built = Project.build(root: root, files: files, onDisk: onDisk, api: api, environment: environment)
        return (built.project, diagnostics + (built.error?.diagnostics ?? built.project.warnings))
    }

    /// Checks and expands the files with `api` merged in; throws every error (at its `file:line:col`), keeps warnings.
    /// Consumes the files: their parsed YAML is let go as soon as the sites are decoded, before the project is checked
    /// and expanded (a large project's YAML is about as big as its resources).
    public consuming func load(api: [APIItem] = []) throws(DiagnosticsError) -> Project {
        var parsed: [(String, [YAMLNode])] = []
        swap(&parsed, &files)
        return try Project.finish(root: root, files: consume parsed, diagnostics: diagnostics, onDisk: onDisk, api: api, environment: environment)
    }

    /// The environment `environment` names under `root`, checked (see ``selectedEnvironment()``), reading only
    /// `environments/`: what a command needs to find its state before it reads the whole project, or without doing so.
    public static func environment(_ environment: String?, root: String,
                                   limits: YAMLLimits = .default) throws(DiagnosticsError) -> EnvironmentSpec? {
        var diagnostics: [Diagnostic] = []
        let files = list(root: root, folders: [EnvironmentSpec.folder], diagnostics: &diagnostics)
            .filter { EnvironmentSpec.fileName($0.displayPath) != nil }
        var parsed: [(String, [YAMLNode])] = []
        for file in files {
            do { parsed.append((file.displayPath, try YAMLReader.parse(contentsOf: file.path, displayPath: file.displayPath, limits: limits))) }
            catch { diagnostics.append(contentsOf: error.diagnostics) }
        }
        return try ProjectFiles(root: root, files: parsed, diagnostics: diagnostics.filter { $0.severity == .error }, onDisk: true,
                                fingerprint: [], environment: environment).selectedEnvironment()
    }

    /// The environment the files are read for (`environment`), checked: throws when the project's environments do not
    /// include it, or when the project has environments and none was chosen. Nil for a project without environments.
    /// Cheap (only `environments/*.yml` are decoded): commands call it to find the state before building the project.
    public func selectedEnvironment() throws(DiagnosticsError) -> EnvironmentSpec? {
        let reader = ConfigReader(root: root, onDisk: onDisk)
        let (spec, _) = Project.environment(environment, in: files.filter { EnvironmentSpec.fileName($0.0) != nil }, reader: reader)
        if reader.bag.hasErrors { throw DiagnosticsError(diagnostics + reader.bag.all) }
        return spec
    }

    /// The current fingerprint of the project's YAML files under `root` (cheap: a directory listing and a stat each).
    public static func currentFingerprint(root: String) -> [String] {
        var ignored: [Diagnostic] = []
        return fingerprint(list(root: root, diagnostics: &ignored).map(\.path))
    }

    /// What a stat says of each of `paths` (size, modification and change times, inode; `missing`): any write to one
    /// of them, or one appearing or going, changes it.
    public static func fingerprint(_ paths: [String]) -> [String] {
        paths.map { path in
            var st = stat()
            guard stat(path, &st) == 0 else { return path + " missing" }
            return "\(path) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec) \(st.st_ino)"
        }
    }

    /// True for an Ansible INI inventory: `inventory/*.ini`, or `inventory/hosts` (Ansible's own name for one), and the
    /// same in an environment's inventory folder (`environments/NAME/hosts.ini`).
    static func isAnsibleINI(_ displayPath: String) -> Bool {
        guard isInventory(displayPath) else { return false }
        return displayPath.hasSuffix(".ini") || displayPath.hasSuffix("/hosts")
    }

    /// True for a file of `inventory/` or of an environment's inventory folder (`environments/NAME/`).
    static func isInventory(_ displayPath: String) -> Bool {
        displayPath.hasPrefix("inventory/") || EnvironmentSpec.inventoryOwner(displayPath) != nil
    }

    /// The files otto reads, sorted by name in each folder (a missing folder is empty): `*.yml` and `*.yaml`, and in
    /// `inventory/` Ansible INI inventories too (`*.ini`, `hosts`). Anything else in `inventory/` (a visible file or
    /// folder) gets a warning saying it is not read, so an inventory is never skipped without a word.
    static func list(root: String, folders: [String] = Project.folders,
                     diagnostics: inout [Diagnostic]) -> [(displayPath: String, path: String)] {
        var sources: [(displayPath: String, path: String)] = []
        for folder in folders {
            let dir = root + "/" + folder
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: dir, isDirectory: &isDir) else { continue }
            guard isDir.boolValue else {
                diagnostics.append(Diagnostic(at: nil, "\(folder) is not a directory"))
                continue
            }
            list(folder: folder, dir: dir, into: &sources, diagnostics: &diagnostics)
            // `environments/NAME/`: the inventory files of environment NAME, read only for it.
            if folder == EnvironmentSpec.folder {
                for (name, _) in sources where EnvironmentSpec.fileName(name) != nil {
                    let env = EnvironmentSpec.fileName(name)!
                    if isDirectory(dir + "/" + env) {
                        list(folder: folder + "/" + env, dir: dir + "/" + env, into: &sources, diagnostics: &diagnostics)
                    }
                }
            }
        }
        return sources
    }

    /// Adds the files otto reads in one folder; warns about what it does not read where that is an inventory folder
    /// (an environment's own folder in `environments/` is read as its inventory, so it gets no warning there).
    private static func list(folder: String, dir: String, into sources: inout [(displayPath: String, path: String)],
                             diagnostics: inout [Diagnostic]) {
        do {
            let visible = try FileManager.default.contentsOfDirectory(atPath: dir).filter { !$0.hasPrefix(".") }.sorted()
            let environments = Set(visible.compactMap { EnvironmentSpec.fileName(folder + "/" + $0) })
            for name in visible {
                let displayPath = folder + "/" + name
                if name.hasSuffix(".yml") || name.hasSuffix(".yaml") || isAnsibleINI(displayPath) {
                    sources.append((displayPath, dir + "/" + name))
                } else if isInventory(displayPath) {
                    diagnostics.append(Diagnostic(.warning, at: SourceLocation(file: displayPath, line: 1, column: 1),
                                                  notReadMessage(name, isDirectory: isDirectory(dir + "/" + name))))
                } else if folder == EnvironmentSpec.folder, !(isDirectory(dir + "/" + name) && environments.contains(name)) {
                    diagnostics.append(Diagnostic(.warning, at: SourceLocation(file: displayPath, line: 1, column: 1),
                                                  "\(name) is not read: environments/ holds NAME.yml per environment and its inventory in NAME/"))
                }
            }
        } catch {
            diagnostics.append(Diagnostic(at: nil, "cannot list \(folder)/: \(error.localizedDescription)"))
        }
    }

    /// Why a file or folder of `inventory/` is not read, and what otto reads instead.
    static func notReadMessage(_ name: String, isDirectory: Bool) -> String {
        if isDirectory && (name == "group_vars" || name == "host_vars") {
            return "\(name)/ is not read: otto takes variables from the inventory itself (a group's `vars:` or "
                + "[group:vars], a host's variables on its line or under it)"
        }
        return (isDirectory ? "\(name)/ is not read: otto reads the files directly in inventory/" : "\(name) is not read")
            + "; it reads .yml and .yaml (its own inventory or an Ansible YAML inventory) and .ini or `hosts` (an Ansible INI inventory)"
    }

    private static func isDirectory(_ path: String) -> Bool {
        var isDir: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &isDir) && isDir.boolValue
    }
}
