import Foundation
import OttoCore

extension ConfigReader {
    static let appKeys = ["name", "on", "version", "bundle", "run", "port", "health", "hooks", "strategy", "keep", "drain_timeout",
                          "watch", "lb"]
    static let strategies = ["blue-green", "rolling"]

    /// One `apps:` entry (docs/config.md, "Apps").
    func app(_ node: YAMLNode) -> AppSpec? {
        guard let f = fields(node, "an apps entry", allowed: Self.appKeys, required: ["name", "on", "version", "bundle", "run", "port"])
        else { return nil }
        let name = self.name(f["name"], "app name")
        let on = groupRef(f, "on", in: "app")
        let version = f["version"].flatMap(appVersion)
        let bundle = f["bundle"].flatMap(appBundle)
        let run = f["run"].flatMap(appRun)
        let port = f["port"].map { int($0, in: 1...65534, "port (the app uses port and port + 1)") } ?? nil
        let health = f["health"].map(appHealth) ?? AppHealthSpec.defaults
        let hooks = f["hooks"].map(appHooks) ?? AppHooks.none
        let strategy = f["strategy"].map(appStrategy) ?? .blueGreen
        let keep = f["keep"].map { int($0, in: 1...Int.max, "keep") } ?? 3
        let drain = f["drain_timeout"].map(duration) ?? ConfigDuration(parsing: "30s")
        let watch = f["watch"].map(appWatch) ?? AppWatchSpec.defaults
        let lb = f["lb"].flatMap(appLoadBalancer)
        guard let name, let on, let version, let bundle, let run, let port, let health, let hooks, let strategy, let keep, let drain,
              let watch else { return nil }
        if f["lb"] != nil && lb == nil { return nil }
        return AppSpec(name: name, on: on, version: version, bundle: bundle, run: run, port: port, health: health, hooks: hooks,
                       strategy: strategy, keep: keep, drainTimeout: drain, watch: watch, lb: lb, location: node.location,
                       nameLocation: f["name"]?.location ?? node.location, portLocation: f["port"]?.location ?? node.location)
    }

    /// `version:`: 1 to 128 letters, digits, `.`, `_`, `+` and `-`, starting with a letter or a digit (it names a
    /// directory on the machines).
    func appVersion(_ node: YAMLNode) -> String? {
        guard let text = string(node) else { return nil }
        let allowed = text.utf8.allSatisfy { c in
            (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 46 || c == 95 || c == 43 || c == 45
        }
        guard (1...128).contains(text.utf8.count), allowed, let first = text.first, first.isLetter || first.isNumber else {
            error(node.location, "invalid version \(Value.string(text)): use 1 to 128 letters, digits, `.`, `_`, `+` and `-`, "
                  + "starting with a letter or a digit")
            return nil
        }
        return text
    }

    /// `bundle:`: a project path (a directory, or a `.tar.gz` / `.tgz` file; it must exist) or `{url: https://…, sha256: …}`.
    func appBundle(_ node: YAMLNode) -> AppBundle? {
        if node.entries != nil {
            guard let f = fields(node, "bundle", allowed: ["url", "sha256"], required: ["url"]) else { return nil }
            var url: String?
            if let u = f["url"], let text = string(u) {
                if text.lowercased().hasPrefix("http://") {
                    error(u.location, "bundle URL \(Value.string(text)) is plain http: use https (the download must not be alterable on the way)")
                } else if !text.lowercased().hasPrefix("https://") || !Self.isAbsoluteHTTPURL(text) {
                    error(u.location, "bundle url must be an absolute https URL, like https://example.com/hello-1.0.0.tar.gz; got \(Value.string(text))")
                } else {
                    url = text
                }
            }
            var sha: String?
            if let s = f["sha256"] {
                if let text = string(s) {
                    let lower = text.lowercased()
                    if lower.utf8.count == 64, lower.utf8.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) { sha = lower } else {
                        error(s.location, "sha256 must be 64 hexadecimal digits (what `sha256sum FILE` prints), got \(Value.string(text))")
                    }
                }
            } else {
                error(node.location, "a bundle URL needs `sha256:` (64 hexadecimal digits, what `sha256sum FILE` prints): "
                      + "otto refuses a download it cannot verify")
            }
            guard let url, let sha else { return nil }
            return .url(url, sha256: sha)
        }
        guard node.scalar != nil else {
            error(node.location, "expected bundle (a project path, or {url, sha256}), got \(node.kindDescription)")
            return nil
        }
        guard let path = string(node) else { return nil }
        let isArchive = path.hasSuffix(".tar.gz") || path.hasSuffix(".tgz")
        guard !path.isEmpty, !path.contains("\0") else {
            error(node.location, "bundle must be a project path (a directory or a .tar.gz file)")
            return nil
        }
        guard onDisk else { return isArchive ? .archive(path) : .directory(path) }
        let full = path.hasPrefix("/") ? path : root + "/" + path
        var isDir: ObjCBool = false
        guard exists(full, isDirectory: &isDir) else {
            error(node.location, "bundle \(Value.string(path)) does not exist (a directory or a .tar.gz file, relative to the project root)")
            return nil
        }
        if isDir.boolValue { return .directory(path) }
        guard isArchive else {
            error(node.location, "bundle \(Value.string(path)) is a file but not a gzipped tarball: give a directory, or a .tar.gz or .tgz file")
            return nil
        }
        return .archive(path)
    }

    func appRun(_ node: YAMLNode) -> AppRunSpec? {
        guard let f = fields(node, "app run", allowed: ["exec", "user", "environment"], required: ["exec"]) else { return nil }
        var exec: String?
        if let e = f["exec"], let text = string(e) {
            if text.trimmingCharacters(in: .whitespaces).isEmpty { error(e.location, "exec must not be empty") } else { exec = text }
        }
        var user = "root"
        if let u = f["user"], let text = string(u) {
            if !text.isEmpty, !text.contains(where: { $0 == " " || $0 == "/" || $0 == ":" || $0.isNewline }) { user = text } else {
                error(u.location, "invalid user name \(Value.string(text))")
            }
        }
        var environment: [String: String] = [:]
        if let e = f["environment"] {
            if let entries = e.entries {
                for entry in entries {
                    guard let key = entry.key.text else { error(entry.key.location, "expected a text key, got \(entry.key.kindDescription)"); continue }
                    let valid = key.first.map { $0 == "_" || ($0.isASCII && $0.isLetter) } == true
                        && key.allSatisfy { $0 == "_" || ($0.isASCII && ($0.isLetter || $0.isNumber)) }
                    if !valid {
                        error(entry.key.location, "invalid environment variable name \(Value.string(key)): use letters, digits and `_`, not starting with a digit")
                    } else if let value = string(entry.value) {
                        environment[key] = value
                    }
                }
            } else { error(e.location, "expected environment (a mapping), got \(e.kindDescription)") }
        }
        guard let exec else { return nil }
        return AppRunSpec(exec: exec, user: user, environment: environment)
    }

    /// A duration that must be more than zero.
    func positiveDuration(_ node: YAMLNode?, _ what: String, default text: String) -> ConfigDuration? {
        guard let node else { return ConfigDuration(parsing: text) }
        guard let d = duration(node) else { return nil }
        guard d.milliseconds > 0 else { error(node.location, "\(what) must be more than 0"); return nil }
        return d
    }

    func appHealth(_ node: YAMLNode) -> AppHealthSpec? {
        guard let f = fields(node, "app health", allowed: ["path", "status", "body", "interval", "timeout", "min_healthy_time",
                                                           "healthy_deadline"]) else { return nil }
        var spec = AppHealthSpec.defaults
        var ok = true
        if let p = f["path"] {
            if let text = string(p) {
                if text.hasPrefix("/"), !text.contains(where: { $0 == " " || $0.isNewline }) { spec.path = text } else {
                    error(p.location, "health path must start with `/` and hold no spaces, like /healthz; got \(Value.string(text))")
                    ok = false
                }
            } else { ok = false }
        }
        if let s = f["status"] { if let v = int(s, in: 100...599, "status") { spec.status = v } else { ok = false } }
        if let b = f["body"] { if let v = string(b) { spec.body = v } else { ok = false } }
        func setDuration(_ key: String, positive: Bool, _ apply: (ConfigDuration) -> Void) {
            guard let n = f[key] else { return }
            let d = positive ? positiveDuration(n, key, default: "") : duration(n)
            if let d { apply(d) } else { ok = false }
        }
        setDuration("interval", positive: true) { spec.interval = $0 }
        setDuration("timeout", positive: true) { spec.timeout = $0 }
        setDuration("min_healthy_time", positive: false) { spec.minHealthyTime = $0 }
        setDuration("healthy_deadline", positive: true) { spec.healthyDeadline = $0 }
        if ok, spec.healthyDeadline.milliseconds <= spec.minHealthyTime.milliseconds {
            error(f["healthy_deadline"]?.location ?? f["min_healthy_time"]?.location ?? node.location,
                  "healthy_deadline (\(spec.healthyDeadline)) must be longer than min_healthy_time (\(spec.minHealthyTime)): "
                  + "a release could never become healthy in time")
            ok = false
        }
        return ok ? spec : nil
    }

    func appHooks(_ node: YAMLNode) -> AppHooks? {
        guard let f = fields(node, "app hooks", allowed: ["before_start", "after_start", "before_stop"]) else { return nil }
        var ok = true
        func hook(_ key: String) -> String? {
            guard let n = f[key] else { return nil }
            guard let text = string(n) else { ok = false; return nil }
            let parts = text.split(separator: "/", omittingEmptySubsequences: false)
            guard !text.isEmpty, !text.hasPrefix("/"), !text.contains("\0"), !parts.contains(".."), !parts.contains("") else {
                error(n.location, "hook \(key) must be a path inside the bundle, relative and without `..`, like hooks/\(key.replacingOccurrences(of: "_", with: "-")); got \(Value.string(text))")
                ok = false
                return nil
            }
            return text
        }
        let hooks = AppHooks(beforeStart: hook("before_start"), afterStart: hook("after_start"), beforeStop: hook("before_stop"))
        return ok ? hooks : nil
    }

    func appStrategy(_ node: YAMLNode) -> AppStrategy? {
        if node.entries == nil {
            guard let text = string(node) else { return nil }
            if text == "blue-green" { return .blueGreen }
            if text == "rolling" {
                error(node.location, "strategy rolling takes its settings: write `strategy: { rolling: { max_parallel: 1 } }` (a number or a percentage like \"25%\")")
                return nil
            }
            var message = "unknown strategy \(Value.string(text)); expected `blue-green` or `{ rolling: { max_parallel: N } }`"
            if let guess = EditDistance.closest(to: text, in: Self.strategies) { message += "; did you mean `\(guess)`?" }
            error(node.location, message)
            return nil
        }
        guard let f = fields(node, "strategy", allowed: ["rolling"], required: ["rolling"]), let r = f["rolling"] else { return nil }
        if r.isNull { return .rolling(maxParallel: .count(1)) }
        guard let rf = fields(r, "rolling strategy", allowed: ["max_parallel"]) else { return nil }
        guard let m = rf["max_parallel"] else { return .rolling(maxParallel: .count(1)) }
        if case .int(_)? = m.scalar {
            return int(m, in: 1...Int.max, "max_parallel").map { .rolling(maxParallel: .count($0)) }
        }
        if case .string(let text)? = m.scalar, text.hasSuffix("%"), let p = Int(text.dropLast()), (1...100).contains(p) {
            return .rolling(maxParallel: .percent(p))
        }
        error(m.location, "max_parallel must be a number of machines (at least 1) or a percentage from 1% to 100% like \"25%\", got \(m.kindDescription)")
        return nil
    }

    func appWatch(_ node: YAMLNode) -> AppWatchSpec? {
        guard let f = fields(node, "app watch", allowed: ["for", "max_5xx_rate", "max_connection_errors"]) else { return nil }
        var spec = AppWatchSpec.defaults
        var ok = true
        if let n = f["for"] { if let d = duration(n) { spec.duration = d } else { ok = false } }
        if let n = f["max_5xx_rate"] {
            let rate: Double? = switch n.scalar {
            case .int(let i)?: Double(i)
            case .double(let d)?: d
            default: nil
            }
            if let rate, rate >= 0, rate <= 1 { spec.max5xxRate = rate } else {
                error(n.location, "max_5xx_rate must be a number from 0 to 1 (0.01 is 1 %), got \(n.kindDescription)")
                ok = false
            }
        }
        if let n = f["max_connection_errors"] {
            if let v = int(n, in: 0...Int.max, "max_connection_errors") { spec.maxConnectionErrors = v } else { ok = false }
        }
        return ok ? spec : nil
    }

    func appLoadBalancer(_ node: YAMLNode) -> AppLoadBalancerSpec? {
        guard let f = fields(node, "app lb", allowed: ["bind"], required: ["bind"]), let b = f["bind"], let text = string(b) else { return nil }
        guard let port = Self.bindPort(text) else {
            error(b.location, "lb bind must be [ADDRESS]:PORT with a port from 1 to 65535, like \":8080\" or \"0.0.0.0:8080\"; got \(Value.string(text))")
            return nil
        }
        return AppLoadBalancerSpec(bind: text, port: port, location: node.location)
    }

    /// The port of an haproxy `bind` (`:80`, `*:80`, `0.0.0.0:80`, `[::]:80`), nil when it has none.
    static func bindPort(_ bind: String) -> Int? {
        guard let colon = bind.lastIndex(of: ":"), let port = Int(bind[bind.index(after: colon)...]), (1...65535).contains(port),
              !bind.contains(where: { $0 == " " || $0 == "," }) else { return nil }
        return port
    }
}
