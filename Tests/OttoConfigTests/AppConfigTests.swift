import Crypto
import Foundation
import Testing
@testable import OttoConfig
import OttoCore
import OttoTestSupport

/// `apps:` in a site: the schema, its defaults, every error at its position, and bundle digests.
@Suite struct AppConfigTests {
    /// A site with a web group behind nginx (port 80) and an lb group running haproxy (bind :80); apps start at line 10.
    static let base = """
        site: demo
        domain: demo.test
        provider: local
        machines:
          web: { count: 2 }
          lb: {}
        nginx: { on: web }
        haproxy: { on: lb, backend: web }
        apps:

        """
    static let siteWithoutHAProxy = """
        site: demo
        domain: demo.test
        provider: local
        machines:
          web: { count: 2 }
          lb: {}
        nginx: { on: web }

        apps:

        """

    /// Project files besides the site: a directory bundle, a tarball and a text file.
    static let projectFiles = [
        "inventory/main.yml": standardInventory,
        "apps/hello/server.py": "print('hello')\n",
        "apps/hello.tar.gz": "not really gzip, but a file\n",
        "apps/notes.txt": "notes\n",
    ]

    /// A valid one-line app; `with` replaces or adds keys (written as `key: value` in the flow mapping).
    static func entry(_ extra: String = "", name: String = "hello", port: String = "8080") -> String {
        "  - { name: \(name), on: web, version: \"1.0.0\", bundle: apps/hello, run: { exec: \"python3 server.py\" }, port: \(port)"
            + (extra.isEmpty ? "" : ", " + extra) + " }\n"
    }

    static func errors(_ apps: String, site: String = base) -> [String] {
        var files = projectFiles
        files["sites/demo.yml"] = site + apps
        return loadErrors(files)
    }

    static func load(_ apps: String) throws -> Site {
        var files = projectFiles
        files["sites/demo.yml"] = base + apps
        return try #require(try loadProject(files).sites.first)
    }

    /// `sites/demo.yml:LINE:COL: error: ` where COL is the 1-based column of `needle` in `text`.
    static func at(_ line: Int, _ text: String, _ needle: String, occurrence: Int = 1) -> String {
        var range = text.startIndex..<text.endIndex
        var found: Range<String.Index>?
        for _ in 0..<occurrence {
            found = text.range(of: needle, range: range)
            range = found!.upperBound..<text.endIndex
        }
        return "sites/demo.yml:\(line):\(text.distance(from: text.startIndex, to: found!.lowerBound) + 1): error: "
    }

    @Test func fullAppParses() throws {
        let site = try Self.load("""
              - name: hello
                on: web
                version: "1.0.0"
                bundle: apps/hello
                run:
                  exec: "/usr/bin/python3 {{release_dir}}/server.py --port {{port}}"
                  user: nobody
                  environment: { MODE: prod, WORKERS: 4 }
                port: 8080
                health: { path: /healthz, status: 204, body: ok, interval: 500ms, timeout: 1s, min_healthy_time: 2s, healthy_deadline: 30s }
                hooks: { before_start: hooks/before-start, after_start: hooks/after-start, before_stop: hooks/before-stop }
                strategy: { rolling: { max_parallel: "50%" } }
                keep: 5
                drain_timeout: 10s
                watch: { for: 2m, max_5xx_rate: 0.05, max_connection_errors: 0 }
                lb: { bind: ":8080" }
              - name: other
                on: web
                version: 2.1
                bundle: { url: "https://example.com/other-2.1.tar.gz", sha256: "\(String(repeating: "AB", count: 32))" }
                run: { exec: other }
                port: 9000
                strategy: { rolling: { max_parallel: 3 } }
              - { name: packed, on: web, version: v3, bundle: apps/hello.tar.gz, run: { exec: x }, port: 9100 }
            """)
        #expect(site.apps.map(\.name) == ["hello", "other", "packed"])
        let a = try #require(site.app("hello"))
        #expect(a.on.value == "web" && a.version == "1.0.0" && a.bundle == .directory("apps/hello"))
        #expect(a.run == AppRunSpec(exec: "/usr/bin/python3 {{release_dir}}/server.py --port {{port}}", user: "nobody",
                                    environment: ["MODE": "prod", "WORKERS": "4"]))
        #expect(a.port == 8080 && a.ports == 8080...8081 && AppSlot.a.port(base: a.port) == 8080 && AppSlot.b.port(base: a.port) == 8081)
        #expect(a.health.path == "/healthz" && a.health.status == 204 && a.health.body == "ok")
        #expect(a.health.interval.milliseconds == 500 && a.health.timeout.milliseconds == 1000)
        #expect(a.health.minHealthyTime.milliseconds == 2000 && a.health.healthyDeadline.milliseconds == 30_000)
        #expect(a.hooks == AppHooks(beforeStart: "hooks/before-start", afterStart: "hooks/after-start", beforeStop: "hooks/before-stop"))
        #expect(a.strategy == .rolling(maxParallel: .percent(50)))
        #expect(a.keep == 5 && a.drainTimeout.milliseconds == 10_000)
        #expect(a.watch.duration.milliseconds == 120_000 && a.watch.max5xxRate == 0.05 && a.watch.maxConnectionErrors == 0)
        #expect(a.lb?.bind == ":8080" && a.lb?.port == 8080)
        #expect(a.location.line == 10 && a.nameLocation.line == 10 && a.portLocation.line == 18)

        let b = try #require(site.app("other"))
        #expect(b.version == "2.1")
        #expect(b.bundle == .url("https://example.com/other-2.1.tar.gz", sha256: String(repeating: "ab", count: 32)))
        #expect(b.strategy == .rolling(maxParallel: .count(3)))
        // defaults
        #expect(b.run.user == "root" && b.run.environment.isEmpty)
        #expect(b.health == AppHealthSpec.defaults)
        #expect(b.health.path == "/" && b.health.status == 200 && b.health.body == nil && b.health.interval.milliseconds == 1000
                && b.health.timeout.milliseconds == 2000 && b.health.minHealthyTime.milliseconds == 3000
                && b.health.healthyDeadline.milliseconds == 60_000)
        #expect(b.hooks == .none && b.keep == 3 && b.drainTimeout.milliseconds == 30_000 && b.lb == nil)
        #expect(b.watch.duration.milliseconds == 60_000 && b.watch.max5xxRate == 0.01 && b.watch.maxConnectionErrors == 10)

        let c = try #require(site.app("packed"))
        #expect(c.bundle == .archive("apps/hello.tar.gz") && c.strategy == .blueGreen)
    }

    @Test func maxParallelBatchSizes() {
        #expect(AppMaxParallel.count(1).batchSize(machines: 4) == 1)
        #expect(AppMaxParallel.count(9).batchSize(machines: 4) == 4)
        #expect(AppMaxParallel.percent(50).batchSize(machines: 4) == 2)
        #expect(AppMaxParallel.percent(50).batchSize(machines: 3) == 2)
        #expect(AppMaxParallel.percent(1).batchSize(machines: 3) == 1)
        #expect(AppMaxParallel.percent(100).batchSize(machines: 3) == 3)
    }

    @Test func strategyForms() throws {
        #expect(try Self.load(Self.entry("strategy: blue-green")).apps[0].strategy == .blueGreen)
        #expect(try Self.load(Self.entry("strategy: { rolling: {} }")).apps[0].strategy == .rolling(maxParallel: .count(1)))
        #expect(try Self.load(Self.entry("strategy: { rolling: }")).apps[0].strategy == .rolling(maxParallel: .count(1)))
        #expect(try Self.load(Self.entry("strategy: { rolling: { max_parallel: \"100%\" } }")).apps[0].strategy
                == .rolling(maxParallel: .percent(100)))
    }

    @Test func unknownAndMissingKeys() {
        let e = Self.entry("prot: 1")
        #expect(Self.errors(e) == [Self.at(10, e, "prot") + "unknown key `prot` in an apps entry; did you mean `port`?"])
        let h = Self.entry("health: { pth: /x }")
        #expect(Self.errors(h) == [Self.at(10, h, "pth") + "unknown key `pth` in app health; did you mean `path`?"])
        let w = Self.entry("watch: { fro: 1m }")
        #expect(Self.errors(w) == [Self.at(10, w, "fro") + "unknown key `fro` in app watch; did you mean `for`?"])
        let k = Self.entry("hooks: { before_strat: x }")
        #expect(Self.errors(k) == [Self.at(10, k, "before_strat") + "unknown key `before_strat` in app hooks; did you mean `before_start`?"])
        let r = "  - { name: hello, on: web, version: \"1\", bundle: apps/hello, run: { exce: x }, port: 8080 }\n"
        // diagnostics come sorted by position, then by message
        #expect(Self.errors(r) == [Self.at(10, r, "{ exce") + "app run is missing the required key `exec`",
                                   Self.at(10, r, "exce") + "unknown key `exce` in app run; did you mean `exec`?"])
        let m = "  - { name: hello, on: web }\n"
        #expect(Self.errors(m) == ["bundle", "port", "run", "version"].map { Self.at(10, m, "{") + "an apps entry is missing the required key `\($0)`" })
        let top = "  - { name: hello, on: web, version: \"1\", bundle: apps/hello, run: { exec: x }, port: 8080 }\naps: 1\n"
        #expect(Self.errors(top) == ["sites/demo.yml:11:1: error: unknown key `aps` in a site; did you mean `apps`?"])
    }

    @Test func badValues() {
        func one(_ extra: String, _ needle: String, _ message: String, name: String = "hello", port: String = "8080") {
            let e = Self.entry(extra, name: name, port: port)
            #expect(Self.errors(e) == [Self.at(10, e, needle) + message], "\(extra)")
        }
        one("", "Hello", "invalid app name \"Hello\": use lowercase letters, digits and `-`", name: "Hello")
        one("", "0 }", "port (the app uses port and port + 1) must be between 1 and 65534, got 0", port: "0")
        one("", "65535", "port (the app uses port and port + 1) must be between 1 and 65534, got 65535", port: "65535")
        one("keep: 0", "0 }", "keep must be at least 1, got 0")
        one("drain_timeout: 3x", "3x", "invalid duration \"3x\": use a number with a unit, like 500ms, 2s, 5m, 1h or 1h30m")
        one("health: { path: healthz }", "healthz", "health path must start with `/` and hold no spaces, like /healthz; got \"healthz\"")
        one("health: { status: 700 }", "700", "status must be between 100 and 599, got 700")
        one("health: { interval: 0s }", "0s", "interval must be more than 0")
        one("health: { timeout: 0ms }", "0ms", "timeout must be more than 0")
        one("health: { min_healthy_time: 5s, healthy_deadline: 5s }", "5s }",
            "healthy_deadline (5s) must be longer than min_healthy_time (5s): a release could never become healthy in time")
        one("hooks: { before_start: ../x }", "../x", "hook before_start must be a path inside the bundle, relative and without `..`, like hooks/before-start; got \"../x\"")
        one("hooks: { after_start: /bin/true }", "/bin/true", "hook after_start must be a path inside the bundle, relative and without `..`, like hooks/after-start; got \"/bin/true\"")
        one("hooks: { before_stop: a/../../b }", "a/../../b", "hook before_stop must be a path inside the bundle, relative and without `..`, like hooks/before-stop; got \"a/../../b\"")
        one("strategy: blue_green", "blue_green", "unknown strategy \"blue_green\"; expected `blue-green` or `{ rolling: { max_parallel: N } }`; did you mean `blue-green`?")
        one("strategy: rolling", "rolling", "strategy rolling takes its settings: write `strategy: { rolling: { max_parallel: 1 } }` (a number or a percentage like \"25%\")")
        one("strategy: { rolling: { max_parallel: 0 } }", "0 }", "max_parallel must be at least 1, got 0")
        one("strategy: { rolling: { max_parallel: \"150%\" } }", "\"150%\"", "max_parallel must be a number of machines (at least 1) or a percentage from 1% to 100% like \"25%\", got string \"150%\"")
        one("strategy: { rolling: { max_paralel: 2 } }", "max_paralel", "unknown key `max_paralel` in rolling strategy; did you mean `max_parallel`?")
        one("watch: { max_5xx_rate: 2 }", "2 }", "max_5xx_rate must be a number from 0 to 1 (0.01 is 1 %), got integer 2")
        one("watch: { max_connection_errors: -1 }", "-1", "max_connection_errors must be at least 0, got -1")
        one("lb: { bind: 8080 }", "8080 }", "lb bind must be [ADDRESS]:PORT with a port from 1 to 65535, like \":8080\" or \"0.0.0.0:8080\"; got \"8080\"")
        one("lb: {}", "{}", "app lb is missing the required key `bind`")
    }

    @Test func badEnvironmentName() {
        let e = "  - { name: hello, on: web, version: \"1\", bundle: apps/hello, run: { exec: x, environment: { 1X: a } }, port: 8080 }\n"
        #expect(Self.errors(e) == [Self.at(10, e, "1X") + "invalid environment variable name \"1X\": use letters, digits and `_`, not starting with a digit"])
    }

    @Test func badVersions() {
        for bad in ["\"1 0\"", "\"../1\"", "\"\"", "\"-rc1\""] {
            let e = "  - { name: hello, on: web, version: \(bad), bundle: apps/hello, run: { exec: x }, port: 8080 }\n"
            let text = String(bad.dropFirst().dropLast())
            #expect(Self.errors(e) == [Self.at(10, e, bad) + "invalid version \(Value.string(text)): use 1 to 128 letters, digits, `.`, `_`, `+` and `-`, starting with a letter or a digit"])
        }
    }

    @Test func bundles() {
        func bundle(_ text: String) -> String {
            "  - { name: hello, on: web, version: \"1\", bundle: \(text), run: { exec: x }, port: 8080 }\n"
        }
        let missing = bundle("apps/nope")
        #expect(Self.errors(missing) == [Self.at(10, missing, "apps/nope") + "bundle \"apps/nope\" does not exist (a directory or a .tar.gz file, relative to the project root)"])
        let text = bundle("apps/notes.txt")
        #expect(Self.errors(text) == [Self.at(10, text, "apps/notes.txt") + "bundle \"apps/notes.txt\" is a file but not a gzipped tarball: give a directory, or a .tar.gz or .tgz file"])
        let list = bundle("[a]")
        #expect(Self.errors(list) == [Self.at(10, list, "[a]") + "expected bundle (a project path, or {url, sha256}), got a list"])
        let sha = String(repeating: "0", count: 64)
        let http = bundle("{ url: \"http://example.com/x.tar.gz\", sha256: \(sha) }")
        #expect(Self.errors(http) == [Self.at(10, http, "\"http:") + "bundle URL \"http://example.com/x.tar.gz\" is plain http: use https (the download must not be alterable on the way)"])
        let ftp = bundle("{ url: \"ftp://example.com/x\", sha256: \(sha) }")
        #expect(Self.errors(ftp) == [Self.at(10, ftp, "\"ftp:") + "bundle url must be an absolute https URL, like https://example.com/hello-1.0.0.tar.gz; got \"ftp://example.com/x\""])
        let noSHA = bundle("{ url: \"https://example.com/x.tar.gz\" }")
        #expect(Self.errors(noSHA) == [Self.at(10, noSHA, "{ url") + "a bundle URL needs `sha256:` (64 hexadecimal digits, what `sha256sum FILE` prints): otto refuses a download it cannot verify"])
        let shortSHA = bundle("{ url: \"https://example.com/x.tar.gz\", sha256: abc }")
        #expect(Self.errors(shortSHA) == [Self.at(10, shortSHA, "abc") + "sha256 must be 64 hexadecimal digits (what `sha256sum FILE` prints), got \"abc\""])
        let notHex = bundle("{ url: \"https://example.com/x.tar.gz\", sha256: \(String(repeating: "g", count: 64)) }")
        #expect(Self.errors(notHex).count == 1)
        let unknown = bundle("{ url: \"https://example.com/x.tar.gz\", sha256: \(sha), sha265: 1 }")
        #expect(Self.errors(unknown) == [Self.at(10, unknown, "sha265:") + "unknown key `sha265` in bundle; did you mean `sha256`?"])
    }

    @Test func crossChecks() {
        let group = Self.entry().replacingOccurrences(of: "on: web", with: "on: wbe")
        #expect(Self.errors(group) == [Self.at(10, group, "wbe") + "app `hello` names machine group `wbe`, which site `demo` does not define; did you mean `web`?"])

        let twice = Self.entry() + Self.entry(port: "9000")
        #expect(Self.errors(twice) == [Self.at(11, Self.entry(port: "9000"), "hello") + "app `hello` is already defined at sites/demo.yml:10:13"])

        let nginx = Self.entry(port: "79")
        #expect(Self.errors(nginx) == [Self.at(10, nginx, "79") + "app `hello` (ports 79 and 80) clashes with nginx's listen 80 on machine group `web` "
                                       + "(sites/demo.yml:7:8); an app takes port and port + 1: choose a free pair"])

        let second = Self.entry(name: "other", port: "8081")
        let overlap = Self.entry() + second
        #expect(Self.errors(overlap) == [Self.at(11, second, "8081") + "app `other` (ports 8081 and 8082) clashes with app `hello`'s ports 8080 and 8081 "
                                         + "on machine group `web` (sites/demo.yml:10:109); an app takes port and port + 1: choose a free pair"])
        #expect(Self.errors(Self.entry() + Self.entry(name: "other", port: "8082")).isEmpty)
        // the same ports on different groups are fine
        #expect(Self.errors(Self.entry() + Self.entry(name: "other").replacingOccurrences(of: "on: web", with: "on: lb")).isEmpty)

        let onLB = Self.entry(port: "80").replacingOccurrences(of: "on: web", with: "on: lb")
        #expect(Self.errors(onLB) == [Self.at(10, onLB, "80 }") + "app `hello` (ports 80 and 81) clashes with haproxy's bind :80 on machine group `lb` "
                                      + "(sites/demo.yml:8:10); an app takes port and port + 1: choose a free pair"])

        let lbClash = Self.entry("lb: { bind: \"*:80\" }")
        #expect(Self.errors(lbClash) == [Self.at(10, lbClash, "{ bind") + "app `hello`'s lb bind *:80 clashes with haproxy's bind :80 on machine group `lb` (sites/demo.yml:8:10)"])
        let twoLBs = Self.entry("lb: { bind: \":8080\" }") + Self.entry("lb: { bind: \"0.0.0.0:8080\" }", name: "other", port: "9000")
        let secondLB = Self.entry("lb: { bind: \"0.0.0.0:8080\" }", name: "other", port: "9000")
        #expect(Self.errors(twoLBs) == [Self.at(11, secondLB, "{ bind") + "app `other`'s lb bind 0.0.0.0:8080 clashes with app `hello`'s lb bind :8080 "
                                        + "on machine group `lb` (sites/demo.yml:10:119)"])

        let noHAProxy = Self.entry("lb: { bind: \":8080\" }")
        #expect(Self.errors(noHAProxy, site: Self.siteWithoutHAProxy)
                == [Self.at(10, noHAProxy, "{ bind") + "app `hello` has `lb:`, but site `demo` has no `haproxy:` to carry its frontend; add `haproxy:` to the site or remove `lb:`"])
        #expect(Self.errors(Self.entry(), site: Self.siteWithoutHAProxy).isEmpty)
    }

    @Test func directoryDigest() throws {
        let dir = try TempDir(prefix: "otto-bundle")
        dir.write("b/server.py", "print('hi')\n")
        dir.write("b/hooks/before-start", "#!/bin/sh\n")
        dir.write("b/a.txt", "")
        chmod(dir.file("b/server.py"), 0o644)
        chmod(dir.file("b/a.txt"), 0o600)
        chmod(dir.file("b/hooks/before-start"), 0o755)
        chmod(dir.file("b/hooks"), 0o750)
        try FileManager.default.createSymbolicLink(atPath: dir.file("b/current"), withDestinationPath: "server.py")
        func sha(_ s: String) -> String { AppBundle.hex(SHA256.hash(data: Array(s.utf8))) }
        let manifest = try AppBundle.directoryManifest(dir.file("b"))
        #expect(manifest == """
            file 0600 \(sha("")) a.txt
            link \(sha("server.py")) current
            dir 0750 hooks
            file 0755 \(sha("#!/bin/sh\n")) hooks/before-start
            file 0644 \(sha("print('hi')\n")) server.py

            """)
        let digest = try AppBundle.directory("b").digest(root: dir.path)
        #expect(digest == sha(manifest) && digest.count == 64)
        #expect(try AppBundle.directory(dir.file("b")).digest(root: "/elsewhere") == digest)
        // a mode, a content and a name each change it; a time does not
        try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 0)], ofItemAtPath: dir.file("b/server.py"))
        #expect(try AppBundle.directory("b").digest(root: dir.path) == digest)
        chmod(dir.file("b/server.py"), 0o755)
        let moded = try AppBundle.directory("b").digest(root: dir.path)
        #expect(moded != digest)
        dir.write("b/server.py", "print('ho')\n")
        chmod(dir.file("b/server.py"), 0o755)
        let changed = try AppBundle.directory("b").digest(root: dir.path)
        #expect(changed != moded)
        try FileManager.default.moveItem(atPath: dir.file("b/a.txt"), toPath: dir.file("b/z.txt"))
        #expect(try AppBundle.directory("b").digest(root: dir.path) != changed)
        #expect(throws: OttoError.self) { try AppBundle.directory("missing").digest(root: dir.path) }
    }

    @Test func archiveAndURLDigests() throws {
        let dir = try TempDir(prefix: "otto-bundle")
        let bytes = (0..<3_000_000).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        dir.write("hello.tar.gz", bytes: bytes)
        #expect(try AppBundle.archive("hello.tar.gz").digest(root: dir.path) == AppBundle.hex(SHA256.hash(data: bytes)))
        let sha = String(repeating: "ab", count: 32)
        #expect(try AppBundle.url("https://example.com/x.tar.gz", sha256: sha).digest(root: dir.path) == sha)
        #expect(throws: OttoError.self) { try AppBundle.archive("nope.tar.gz").digest(root: dir.path) }
    }

    /// `otto rollback` / `otto release` hold an app on a kept build: the app resource gets the pinned version and
    /// digest and no bundle to upload, and the ledger's reason; once the site's version moves, the pin no longer applies.
    @Test func aReleasePinHoldsTheAppUntilTheSiteMovesOn() throws {
        let dir = try TempDir(prefix: "otto-pin")
        for (path, text) in Self.projectFiles { dir.write(path, text) }
        dir.write("sites/demo.yml", Self.base + Self.entry())
        let own = try AppBundle.directory("apps/hello").digest(root: dir.path)
        let old = String(repeating: "c", count: 64)
        let pin = AppReleasePin(version: "0.9.0", digest: old, release: 2, rollback: true, reason: "otto rollback to release 2",
                                overVersion: "1.0.0", overDigest: own)
        let item = try pin.item(site: "demo", app: "hello")
        #expect(item.key == APIItemKey(.release, "demo/hello") && item.key.file == "api:/apps/demo/hello/release")
        #expect(try AppReleasePin(item: item) == pin)

        let held = try #require(try Project.load(root: dir.path, api: [item]).resources.first { $0.address.description == "app.demo.hello" })
        typealias A = AttributeName.App
        #expect(held.attributes[A.version] == "0.9.0" && held.attributes[A.digest] == .string(old))
        #expect(held.attributes[A.bundlePath] == nil && held.attributes[A.rollbackOf] == 2)
        #expect(held.attributes[A.releaseReason] == "otto rollback to release 2")

        // the site releases 1.1.0: the pin no longer applies, and a warning says so
        dir.write("sites/demo.yml", Self.base + Self.entry().replacingOccurrences(of: "1.0.0", with: "1.1.0"))
        let moved = try Project.load(root: dir.path, api: [item])
        let app = try #require(moved.resources.first { $0.address.description == "app.demo.hello" })
        #expect(app.attributes[A.version] == "1.1.0" && app.attributes[A.digest] == .string(own) && app.attributes[A.bundlePath] == "apps/hello")
        #expect(app.attributes[A.rollbackOf] == nil)
        #expect(moved.warnings.map(\.message).contains { $0.contains("no longer held on release 2") }, "\(moved.warnings)")

        // an unreadable pin is an error at its item, never a crash
        let bad = APIItem(key: APIItemKey(.release, "demo/hello"), document: "{\"version\": 1}")
        #expect(throws: DiagnosticsError.self) { try Project.load(root: dir.path, api: [bad]) }
    }
}
