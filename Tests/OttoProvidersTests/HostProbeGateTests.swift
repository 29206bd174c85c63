import Foundation
import Glibc
import OttoCore
@testable import OttoProviders
import OttoSSH
import OttoTestSupport
import Synchronization
import Testing

/// The gate of a warm session's probe (`HostProbe.Gate`), run under a real /bin/sh against real files, with the
/// commands the gated probes start (`sha256sum`, `stat`, `dpkg-query`) counted through wrappers first on the PATH: a
/// gated probe skips them only while nothing it watches changed, and any change shows on the next probe.
@Suite struct HostProbeGateTests {
    /// A session's memos, in memory.
    final class Memos: ProbeMemos {
        private let values = Mutex<[String: any Sendable]>([:])
        func memo<T: Sendable>(_ key: String, as type: T.Type) -> T? { values.withLock { $0[key] as? T } }
        func setMemo<T: Sendable>(_ key: String, _ value: T?) { values.withLock { $0[key] = value } }
    }

    /// A scratch host: a file, a directory of two files, a dpkg database, and wrappers that log every run of the
    /// commands a gated probe skips.
    struct Host {
        let dir: String
        let environment: [String: String]
        var log: String { dir + "/calls.log" }

        init(_ scratch: TempDir) throws {
            dir = scratch.path
            let bin = dir + "/bin"
            try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
            try FileManager.default.createDirectory(atPath: dir + "/www/sub", withIntermediateDirectories: true)
            for tool in ["sha256sum", "stat", "dpkg-query", "systemctl"] {
                let real = ["/usr/bin/\(tool)", "/bin/\(tool)"].first { FileManager.default.isExecutableFile(atPath: $0) } ?? "/bin/false"
                try "#!/bin/sh\necho \(tool) >> \(ShellQuote.quote(dir + "/calls.log"))\nexec \(real) \"$@\"\n"
                    .write(toFile: bin + "/" + tool, atomically: true, encoding: .utf8)
                chmod(bin + "/" + tool, 0o755)
            }
            try "server { }\n".write(toFile: dir + "/site.conf", atomically: false, encoding: .utf8)
            try "a".write(toFile: dir + "/www/index.html", atomically: false, encoding: .utf8)
            try "b".write(toFile: dir + "/www/sub/page.html", atomically: false, encoding: .utf8)
            let db = try HostProbeTests.DpkgDatabase(dir + "/dpkg")
            try db.replace([HostProbeTests.DpkgDatabase.entry("otto-a", "install ok installed")])
            var env = ProcessInfo.processInfo.environment
            env["PATH"] = bin + ":" + (env["PATH"] ?? "/usr/bin:/bin")
            env["DPKG_ADMINDIR"] = dir + "/dpkg"
            environment = env
        }

        var requests: [ObserveRequest] {
            [ObserveRequest(address: "directory.s.www", providerID: nil, attributes: ["path": .string(dir + "/www")]),
             ObserveRequest(address: "file.s.site", providerID: nil, attributes: ["path": .string(dir + "/site.conf")]),
             ObserveRequest(address: "package.s.p", providerID: nil, attributes: ["names": ["otto-a"]]),
             ObserveRequest(address: "service.s.nginx", providerID: nil, attributes: ["name": "otto-surely-not-a-unit.service"])]
        }

        /// One probe as `HostProvider` runs it on a warm session; the commands it started, in order.
        func probe(_ requests: [ObserveRequest], _ memos: Memos) async throws -> (facts: [HostProbe.Facts], calls: [String]) {
            try? FileManager.default.removeItem(atPath: log)
            let facts = try await HostProbe.run(requests, memos: memos, gated: true) { script in
                let r = try await runProcess(["/bin/sh", "-s"], input: script, environment: environment)
                #expect(r.status == 0, "\(r.stderr)")
                return r.stdout
            }
            let calls = (try? String(contentsOfFile: log, encoding: .utf8))?.split(separator: "\n").map(String.init) ?? []
            return (facts, calls)
        }

        /// Sets the access and modification times of `path` back to `time`, to the nanosecond (the change time moves:
        /// no user call sets that).
        func setModified(_ path: String, _ time: timespec) {
            var times = [time, time]
            #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        }
    }

    @Test func aWarmProbeSkipsHashingWhileNothingChangedAndSeesEveryChange() async throws {
        let scratch = try TempDir(prefix: "otto-gate")
        defer { scratch.cleanup() }
        let host = try Host(scratch)
        let memos = Memos()
        let sha = { (text: String) in HostProvider.sha256(Array(text.utf8)) }

        // First probe: everything runs. Second: the listing is the same but not trusted yet (a write in the same clock
        // tick as the first listing would not show), so everything runs again. Third: only the service's systemctl.
        var r = try await host.probe(host.requests, memos)
        #expect(r.calls.contains("sha256sum") && r.calls.contains("dpkg-query"))
        #expect(r.facts[0].files == ["index.html": sha("a"), "sub/page.html": sha("b")])
        #expect(r.facts[1].values["sha"] == sha("server { }\n"))
        #expect(r.facts[2].packages == ["otto-a": "installed"])
        r = try await host.probe(host.requests, memos)
        #expect(r.calls.contains("sha256sum"))
        r = try await host.probe(host.requests, memos)
        #expect(r.calls == ["systemctl"], "\(r.calls)")
        // The facts stand as they were found: the same as a full probe's.
        #expect(r.facts[0].files == ["index.html": sha("a"), "sub/page.html": sha("b")])
        #expect(r.facts[0].fileModes.count == 2 && !r.facts[0].dirModes.isEmpty)
        #expect(r.facts[1].values["sha"] == sha("server { }\n") && r.facts[1].values["stat"]?.isEmpty == false)
        #expect(r.facts[2].packages == ["otto-a": "installed"])

        // Rewritten in place behind otto's back: same size, same inode, modification time set back as it was.
        var st = stat()
        #expect(stat(host.dir + "/site.conf", &st) == 0)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: host.dir + "/site.conf"))
        try handle.write(contentsOf: Data("server {x}\n".utf8))
        try handle.close()
        host.setModified(host.dir + "/site.conf", st.st_mtim)
        r = try await host.probe(host.requests, memos)
        #expect(r.calls.contains("sha256sum"))
        #expect(r.facts[1].values["sha"] == sha("server {x}\n"))
        _ = try await host.probe(host.requests, memos)
        r = try await host.probe(host.requests, memos)
        #expect(r.calls == ["systemctl"], "\(r.calls)")
        #expect(r.facts[1].values["sha"] == sha("server {x}\n"))

        // A file added deep in the directory, a mode changed, a package removed (dpkg replaces its status file), a file
        // deleted: each shows on the next probe.
        try "c".write(toFile: host.dir + "/www/sub/new.html", atomically: false, encoding: .utf8)
        r = try await host.probe(host.requests, memos)
        #expect(r.facts[0].files["sub/new.html"] == sha("c"))
        chmod(host.dir + "/www/index.html", 0o600)
        r = try await host.probe(host.requests, memos)
        #expect(r.facts[0].fileModes["index.html"] == "0600")
        try HostProbeTests.DpkgDatabase(host.dir + "/dpkg").replace([HostProbeTests.DpkgDatabase.entry("otto-a", "deinstall ok config-files")])
        r = try await host.probe(host.requests, memos)
        #expect(r.facts[2].packages["otto-a"] == "config-files")
        try FileManager.default.removeItem(atPath: host.dir + "/site.conf")
        r = try await host.probe(host.requests, memos)
        #expect(r.facts[1].missing)
        _ = try await host.probe(host.requests, memos)
        r = try await host.probe(host.requests, memos)
        #expect(r.calls == ["systemctl"], "\(r.calls)")
        #expect(r.facts[1].missing && r.facts[0].files.count == 3)

        // Other resources to probe: the remembered listing belongs to other probes, so everything runs.
        r = try await host.probe(Array(host.requests.prefix(2)), memos)
        #expect(r.calls.contains("sha256sum"))
    }

    /// A `find` without `-printf` (busybox's) lists nothing: nothing is gated, every probe hashes.
    @Test func aFindThatCannotListTurnsTheGateOff() async throws {
        let scratch = try TempDir(prefix: "otto-gate-busybox")
        defer { scratch.cleanup() }
        let host = try Host(scratch)
        try "#!/bin/sh\necho 'find: unrecognized: -printf' >&2\nexit 1\n".write(toFile: host.dir + "/bin/find", atomically: true, encoding: .utf8)
        chmod(host.dir + "/bin/find", 0o755)
        let memos = Memos()
        let file = Array(host.requests[1...1])
        for _ in 0..<4 {
            let r = try await host.probe(file, memos)
            #expect(r.calls.contains("sha256sum"), "\(r.calls)")
            #expect(r.facts[0].values["sha"] == HostProvider.sha256(Array("server { }\n".utf8)))
        }
    }

    /// A run's own session (the CLI) does not gate: its script lists nothing and runs every probe.
    @Test func anUngatedProbeRunsEverythingEveryTime() async throws {
        let scratch = try TempDir(prefix: "otto-gate-off")
        defer { scratch.cleanup() }
        let host = try Host(scratch)
        let memos = Memos()
        for _ in 0..<3 {
            try? FileManager.default.removeItem(atPath: host.log)
            _ = try await HostProbe.run(host.requests, memos: memos, gated: false) { script in
                #expect(!script.contains("find -H"))
                return try await runProcess(["/bin/sh", "-s"], input: script, environment: host.environment).stdout
            }
            let calls = (try? String(contentsOfFile: host.log, encoding: .utf8)) ?? ""
            #expect(calls.contains("sha256sum"))
        }
    }
}
