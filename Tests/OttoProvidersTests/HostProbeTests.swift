import Foundation
import OttoCore
@testable import OttoProviders
import OttoTestSupport
import Testing

/// The probe script runs under a real /bin/sh against real files; rendering is checked by the tools that read it.
@Suite struct HostProbeTests {
    private func request(_ kind: String, _ name: String, _ attrs: [String: Value]) -> ObserveRequest {
        ObserveRequest(address: ResourceAddress(kind: kind, name: name), providerID: nil, attributes: attrs)
    }

    @Test func probeReportsFilesDirectoriesAndMissingThings() async throws {
        let scratch = try TempDir(prefix: "otto-probe")
        defer { scratch.cleanup() }
        let dir = scratch.path
        try FileManager.default.createDirectory(atPath: dir + "/www/sub dir", withIntermediateDirectories: true)
        try "hello\n".write(toFile: dir + "/motd", atomically: true, encoding: .utf8)
        try "a".write(toFile: dir + "/www/index.html", atomically: true, encoding: .utf8)
        try "b".write(toFile: dir + "/www/sub dir/it's here.txt", atomically: true, encoding: .utf8)
        chmod(dir + "/motd", 0o640)
        let requests = [
            request("file", "a", ["path": .string(dir + "/motd")]),
            request("file", "b", ["path": .string(dir + "/nothing")]),
            request("directory", "c", ["path": .string(dir + "/www")]),
            request("directory", "d", ["path": .string(dir + "/none")]),
            request("package", "e", ["names": ["coreutils", "surely-not-a-package"]]),
        ]
        let script = HostProbe.script(requests)
        let r = try await runProcess(["/bin/sh", "-s"], input: script)
        #expect(r.status == 0, "\(r.stderr)")
        let facts = HostProbe.parse(r.stdout, count: requests.count)
        #expect(facts[0].values["sha"] == HostProvider.sha256(Array("hello\n".utf8)))
        #expect(facts[0].values["stat"]?.hasPrefix("640 ") == true)
        #expect(facts[1].missing)
        #expect(facts[2].files == ["index.html": HostProvider.sha256(Array("a".utf8)),
                                   "sub dir/it's here.txt": HostProvider.sha256(Array("b".utf8))])
        #expect(facts[2].fileModes["index.html"] != nil && facts[2].fileModes.count == 2)
        #expect(facts[2].dirModes.allSatisfy { $0.count == 4 })
        #expect(facts[3].missing)
        #expect(facts[4].packages["coreutils"] == "installed")
        #expect(facts[4].packages["surely-not-a-package"] == nil)
    }

    /// A dpkg database of its own (the probe reads `DPKG_ADMINDIR` as dpkg-query does): `status` and `updates/`.
    struct DpkgDatabase {
        let dir: String

        init(_ dir: String) throws {
            self.dir = dir
            try FileManager.default.createDirectory(atPath: dir + "/updates", withIntermediateDirectories: true)
        }

        static func entry(_ name: String, _ status: String, version: String = "1.0") -> String {
            "Package: \(name)\nStatus: \(status)\nPriority: optional\nSection: misc\nMaintainer: otto <otto@example.invalid>\n"
                + "Architecture: all\nVersion: \(version)\nDescription: test package\n\n"
        }

        /// Replaces `status` by a rename, as dpkg does (a new inode).
        func replace(_ entries: [String]) throws {
            try entries.joined().write(toFile: dir + "/status.new", atomically: false, encoding: .utf8)
            #expect(rename(dir + "/status.new", dir + "/status") == 0)
        }

        /// Rewrites `status` in place (same inode).
        func rewrite(_ entries: [String]) throws {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: dir + "/status"))
            defer { try? handle.close() }
            try handle.truncate(atOffset: 0)
            try handle.write(contentsOf: Data(entries.joined().utf8))
        }
    }

    /// On a warm session the package probe only stats dpkg's database while it is unchanged, and asks dpkg-query again
    /// whenever it changed: replaced (dpkg's way), rewritten in place with the same size, or with dpkg's journal in
    /// `updates/`; and when the names asked for change, or a name was unknown.
    @Test func aWarmPackageProbeAsksDpkgAgainWheneverItsDatabaseChanged() async throws {
        let scratch = try TempDir(prefix: "otto-dpkg")
        defer { scratch.cleanup() }
        let db = try DpkgDatabase(scratch.path)
        typealias E = DpkgDatabase
        try db.replace([E.entry("otto-a", "install ok installed"), E.entry("otto-b", "install ok installed")])
        var environment = ProcessInfo.processInfo.environment
        environment["DPKG_ADMINDIR"] = db.dir
        let kind = try #require(HostKinds.table["package"])
        let both = request("package", "p", ["names": ["otto-a", "otto-b"]])
        var memo: String?
        // One probe as HostProvider runs it on one session: the script with the memo, then `recall` keeps the next one.
        func probe(_ r: ObserveRequest) async throws -> (installed: [String], skipped: Bool) {
            let out = try await runProcess(["/bin/sh", "-s"], input: HostProbe.script([r], memos: [memo]), environment: environment)
            #expect(out.status == 0, "\(out.stderr)")
            var facts = HostProbe.parse(out.stdout, count: 1)[0]
            memo = kind.recall(&facts, r.attributes, memo: memo)
            var a = r.attributes
            #expect(kind.observe(&a, requested: r.attributes, facts: facts))
            return ((a["names"]?.listValue ?? []).compactMap(\.stringValue), facts.values["pkgsame"] != nil)
        }

        var r = try await probe(both)
        #expect(r.installed == ["otto-a", "otto-b"] && !r.skipped && memo != nil)
        r = try await probe(both)
        #expect(r.installed == ["otto-a", "otto-b"] && r.skipped)

        // otto-b removed behind otto's back (dpkg replaces status).
        try db.replace([E.entry("otto-a", "install ok installed"), E.entry("otto-b", "deinstall ok config-files")])
        r = try await probe(both)
        #expect(r.installed == ["otto-a"] && !r.skipped)
        r = try await probe(both)
        #expect(r.installed == ["otto-a"] && r.skipped)

        // Rewritten in place with the same size (same inode and size; the modification time moves).
        try await Task.sleep(for: .milliseconds(50))
        try db.rewrite([E.entry("otto-a", "install ok installed", version: "2.0"), E.entry("otto-b", "deinstall ok config-files")])
        r = try await probe(both)
        #expect(r.installed == ["otto-a"] && !r.skipped)

        // dpkg's journal: a change dpkg has not folded into status yet (it runs, or was interrupted).
        try E.entry("otto-a", "deinstall ok config-files").write(toFile: db.dir + "/updates/0000", atomically: false, encoding: .utf8)
        r = try await probe(both)
        #expect(r.installed == [] && !r.skipped)
        r = try await probe(both)
        #expect(r.installed == [] && r.skipped)

        // Other names: asked again; a name dpkg does not know: nothing is kept, so the next probe asks again too.
        try FileManager.default.removeItem(atPath: db.dir + "/updates/0000")
        let one = request("package", "p", ["names": ["otto-b"]])
        r = try await probe(one)
        #expect(r.installed == [] && !r.skipped)
        let unknown = request("package", "p", ["names": ["otto-a", "surely-not-a-package"]])
        r = try await probe(unknown)
        #expect(r.installed == ["otto-a"] && !r.skipped && memo == nil)
        r = try await probe(unknown)
        #expect(r.installed == ["otto-a"] && !r.skipped)
    }

    /// Services: `systemctl show` once per unit; a unit that does not exist is neither enabled nor running.
    @Test func theServiceProbeReadsOneSystemctlShow() async throws {
        let script = HostProbe.script([request("service", "s", ["name": "otto-surely-not-a-unit.service"])])
        #expect(script.contains("systemctl show -p UnitFileState -p ActiveState"))
        let r = try await runProcess(["/bin/sh", "-s"], input: script)
        var a: [String: Value] = [:]
        #expect(HostKinds.table["service"]?.observe(&a, requested: [:], facts: HostProbe.parse(r.stdout, count: 1)[0]) == true)
        #expect(a["enabled"] == false && a["running"] == false)
    }

    /// Many files: find runs sha256sum in several batches, and its own lines never mix with sha256sum's.
    @Test func aLargeDirectoryListsEveryFileWithItsHashAndMode() async throws {
        let scratch = try TempDir(prefix: "otto-probe-many")
        defer { scratch.cleanup() }
        let dir = scratch.path + "/www"
        try FileManager.default.createDirectory(atPath: dir + "/d", withIntermediateDirectories: true)
        var want: [String: String] = [:]
        for i in 0..<3000 {
            let name = "d/file-with-a-rather-long-name-to-fill-the-argument-list-\(i).txt"
            try "\(i)".write(toFile: dir + "/" + name, atomically: false, encoding: .utf8)
            want[name] = HostProvider.sha256(Array("\(i)".utf8))
        }
        let r = try await runProcess(["/bin/sh", "-s"], input: HostProbe.script([request("directory", "w", ["path": .string(dir)])]))
        #expect(r.status == 0, "\(r.stderr)")
        let facts = HostProbe.parse(r.stdout, count: 1)[0]
        #expect(facts.files == want)
        #expect(facts.fileModes.count == want.count && Set(facts.fileModes.keys) == Set(want.keys))
        #expect(facts.dirModes.count == 1)
    }

    @Test func textsOfChangedFilesAreReadForDiffs() async throws {
        let scratch = try TempDir(prefix: "otto-texts")
        defer { scratch.cleanup() }
        let dir = scratch.path
        try "hello\nworld\n".write(toFile: dir + "/motd", atomically: true, encoding: .utf8)
        try Data([0x61, 0x00, 0x62]).write(to: URL(fileURLWithPath: dir + "/binary"))
        try Data(repeating: 0x61, count: HostProbe.maxTextBytes + 1).write(to: URL(fileURLWithPath: dir + "/big"))
        try "it's here\n".write(toFile: dir + "/it's", atomically: true, encoding: .utf8)
        let script = HostProbe.textScript([(0, dir + "/motd"), (1, dir + "/binary"), (2, dir + "/big"), (3, dir + "/none"), (4, dir + "/it's")])
        let r = try await runProcess(["/bin/sh", "-s"], input: script)
        #expect(r.status == 0, "\(r.stderr)")
        #expect(HostProbe.texts(r.stdout, count: 5) == [0: "hello\nworld\n", 4: "it's here\n"])
    }

    @Test func templatesRenderAsPlainTextWithTheirVariables() throws {
        let text = try HostRender.template("""
            # {{machine}} <{{address}}>
            {{#group.addresses}}
            server {{.}}:80
            {{/group.addresses}}
            limit={{vars.limits.max}} on={{#vars.on}}yes{{/vars.on}} missing=[{{vars.nope}}] & {{{vars.amp}}} {{vars.amp}}
            """, variables: ["machine": "demo-web-0", "address": "10.0.0.1", "group": ["addresses": ["10.0.0.1", "10.0.0.2"]],
                             "vars": ["limits": ["max": 3], "on": true, "amp": "a&b<c>", "null": nil]])
        #expect(text == """
            # demo-web-0 <10.0.0.1>
            server 10.0.0.1:80
            server 10.0.0.2:80
            limit=3 on=yes missing=[] & a&b<c> a&b<c>
            """)
        #expect(throws: (any Error).self) { try HostRender.template("{{#open}}never closed", variables: [:]) }
        // Rendered once its references are resolved; until then unknown.
        let p = HostProvider(projectRoot: "/nonexistent")
        let r = Resource(address: "template.s./etc/x.web[0]", provider: "host", attributes: [
            "path": "/etc/x", "template": "at {{address}}\n", "variables": ["address": .ref(.init("machine.s.web[0]", "ipv4"))]])
        #expect(p.derive(r).attributes["content_sha256"] == .unknown)
        var resolved = r
        resolved.attributes["variables"] = ["address": "10.213.0.9"]
        #expect(p.derive(resolved).attributes["content"] == "at 10.213.0.9\n")
        #expect(p.derive(resolved).attributes["content_sha256"] == .string(HostProvider.sha256(Array("at 10.213.0.9\n".utf8))))
    }

    @Test func nginxRenderingQuotesWhatIsNotAToken() throws {
        let text = try #require(HostRender.nginx(["name": "demo", "server_name": "demo.test www.demo.test", "root": "/srv/www/my site",
                                                  "listen": 80, "directives": ["ssi on;"]]))
        #expect(text.contains("    server_name demo.test www.demo.test;\n"))
        #expect(text.contains("    root \"/srv/www/my site\";\n"))
        #expect(text.contains("    ssi on;\n"))
        #expect(HostRender.nginxToken("a\"b$c") == "\"a\\\"b\\$c\"")
    }

    @Test func haproxyRenderingListsEveryServerWithChecks() throws {
        let text = try #require(HostRender.haproxy(["name": "demo", "bind": ":80", "balance": "roundrobin", "backend": "web",
                                                    "health_path": "/healthz", "health_interval_ms": 2000,
                                                    "servers": [["name": "demo-web-0", "address": "10.213.0.2", "port": 80],
                                                                ["name": "demo-web-1", "address": "10.213.0.3", "port": 80]]]))
        #expect(text.contains("    server demo-web-0 10.213.0.2:80 check\n    server demo-web-1 10.213.0.3:80 check\n"))
        #expect(text.contains("option httpchk GET /healthz"))
        // Unresolved addresses: nothing to render yet.
        #expect(HostRender.haproxy(["name": "demo", "bind": ":80", "balance": "roundrobin", "backend": "web",
                                    "servers": [["name": "x", "address": .ref(.init("machine.m", "ipv4")), "port": 80]]]) == nil)
    }

    @Test func unitRenderingEscapesSpecifiersAndQuotes() throws {
        let text = try #require(HostRender.unit(["name": "w.service", "exec": "/bin/echo 100%", "restart": "always",
                                                 "environment": ["GREETING": "say \"hi\""]]))
        #expect(text.contains("ExecStart=/bin/echo 100%%\n"))
        #expect(text.contains("Environment=\"GREETING=say \\\"hi\\\"\"\n"))
    }

    @Test func deriveHashesContentAndLeavesUnknownsUnknown() {
        let p = HostProvider(projectRoot: "/nonexistent")
        let file = p.derive(Resource(address: "file.s.x", provider: "host", attributes: ["path": "/etc/x", "content": "hi"]))
        #expect(file.attributes["content_sha256"] == .string(HostProvider.sha256(Array("hi".utf8))))
        #expect(file.attributes["reachable"] == true)
        let lb = p.derive(Resource(address: "haproxy.s.lb[0]", provider: "host", attributes: [
            "name": "s", "bind": ":80", "balance": "roundrobin", "backend": "web",
            "servers": [["name": "w", "address": .ref(.init("machine.s.web[0]", "ipv4")), "port": 80]]]))
        #expect(lb.attributes["content_sha256"] == .unknown)
        // At apply the address is known: deriving the planned resource again renders it, despite the stale unknowns.
        var resolved = lb
        resolved.attributes["servers"] = [["name": "w", "address": "10.213.0.2", "port": 80]]
        let applied = p.derive(resolved)
        #expect(applied.attributes["content"]?.stringValue?.contains("server w 10.213.0.2:80 check") == true)
        #expect(applied.attributes["content_sha256"]?.isFullyKnown == true)
    }
}

/// A rendered file is rendered once per run: refresh, plan and apply derive the same resource, and only a change of
/// its inputs renders it again.
@Suite struct HostRenderOnceTests {
    @Test func eachResourceRendersOncePerRunUnlessItsInputsChange() {
        let p = HostProvider(projectRoot: "/nonexistent")
        let site = Resource(address: "nginx_site.s.web[0]", provider: "host", attributes: [
            "name": "s", "server_name": "s.test", "root": "/srv/www", "listen": 80, "directives": ["ssi on;"],
            "host": .ref(.init("machine.s.web[0]", "ipv4")), "machine": "machine.s.web[0]"])
        let first = p.derive(site)
        var resolved = first
        resolved.attributes["host"] = "10.213.0.2"  // apply: the connection is known now; the rendering does not read it
        let again = p.derive(p.derive(resolved))
        #expect(p.renderCount == 1)
        #expect(first.attributes["content_sha256"] == again.attributes["content_sha256"])
        #expect(again.attributes["content"]?.stringValue?.contains("    ssi on;\n") == true)
        var changed = again
        changed.attributes["directives"] = ["ssi off;"]
        let other = p.derive(changed)
        #expect(p.renderCount == 2)
        #expect(other.attributes["content"]?.stringValue?.contains("    ssi off;\n") == true)
        #expect(other.attributes["content_sha256"] != again.attributes["content_sha256"])
    }

    @Test func everyHostKindIsRegisteredOnce() {
        #expect(HostKinds.all.map(\.kind) == ["file", "directory", "package", "service", "unit", "nginx_site", "haproxy", "template"])
        #expect(HostKinds.table.count == HostKinds.all.count)
        #expect(HostKinds.all.filter(\.isRendered).map(\.kind) == ["unit", "nginx_site", "haproxy", "template"])
        #expect(HostKinds.all.compactMap(\.handlerService) == ["nginx", "haproxy"])
    }
}

@Suite struct HostUnitVerifyTests {
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/systemd-analyze")))
    func renderedUnitVerifiesCleanly() async throws {
        let scratch = try TempDir(prefix: "otto-unit")
        defer { scratch.cleanup() }
        let dir = scratch.path
        let text = try #require(HostRender.unit(["name": "demo-worker.service", "exec": "/usr/bin/sleep 100%", "restart": "always"]))
        try text.write(toFile: dir + "/demo-worker.service", atomically: true, encoding: .utf8)
        let r = try await runProcess(["systemd-analyze", "verify", dir + "/demo-worker.service"])
        #expect(r.status == 0)
        #expect((r.stdout + r.stderr).trimmingCharacters(in: .whitespacesAndNewlines).isEmpty, "\(r.stdout)\(r.stderr)")
        // The rule apply relies on: a unit with an unknown key still exits 0, but says so.
        try (text + "Bogus=1\n").write(toFile: dir + "/demo-worker.service", atomically: true, encoding: .utf8)
        let bad = try await runProcess(["systemd-analyze", "verify", dir + "/demo-worker.service"])
        #expect(!(bad.stdout + bad.stderr).isEmpty)
    }
}
