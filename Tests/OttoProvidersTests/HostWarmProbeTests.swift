import Foundation
import OttoCore
import OttoSSH
import OttoTestSupport
import OttoTestTags
import Testing
@testable import OttoProviders

/// `otto serve`'s warm sessions through a real sshd: the package probe remembers dpkg's answer on the session, and a
/// package removed behind otto's back still shows on the next probe over that session; a new session starts afresh.
@Suite(.tags(.sshd), .endToEnd) struct HostWarmProbeTests {
    @Test func aPackageRemovedBehindOttosBackShowsOnTheNextWarmProbe() async throws {
        let scratch = try TempDir(prefix: "otto-warm-dpkg")
        defer { scratch.cleanup() }
        typealias E = HostProbeTests.DpkgDatabase
        let db = try E(scratch.path + "/dpkg")
        try db.replace([E.entry("otto-a", "install ok installed"), E.entry("otto-b", "install ok installed")])
        // The commands sshd runs read this database (dpkg-query honours DPKG_ADMINDIR, and so does the probe).
        let sshd = try await SSHServer.start(extraConfig: "SetEnv DPKG_ADMINDIR=\(db.dir)")
        defer { sshd.stop() }
        let pool = SSHPool()
        let attributes: [String: Value] = [
            "host": "127.0.0.1", "ssh_port": .int(sshd.port), "ssh_user": "root", "ssh_key": .string(sshd.clientKeyPath),
            "host_key": .string(sshd.hostKey), "machine": "box", "names": ["otto-a", "otto-b"],
        ]
        let address = ResourceAddress(kind: "package", name: "p.box")
        let target = try #require(HostConnection(attributes)).target
        // One run: a provider of its own on the shared pool, as `otto serve` makes one per scheduled run.
        func installed() async throws -> [String] {
            let provider = HostProvider(projectRoot: scratch.path, sessions: pool)
            let found = try await provider.observeAll(["package": [ObserveRequest(address: address, providerID: nil, attributes: attributes)]])
            let a = try #require(found[address]?.attributes)
            #expect(a["reachable"] == true, "\(a)")
            return (a["names"]?.listValue ?? []).compactMap(\.stringValue)
        }
        func memo() async throws -> String? { try await pool.session(for: target).memo("host.probe \(address)") }

        #expect(try await installed() == ["otto-a", "otto-b"])
        let first = try #require(try await memo())
        #expect(try await installed() == ["otto-a", "otto-b"])
        #expect(try await memo() == first)

        try db.replace([E.entry("otto-a", "install ok installed"), E.entry("otto-b", "deinstall ok config-files")])
        #expect(try await installed() == ["otto-a"])
        #expect(try await memo() != first)
        #expect(await pool.connects == 1)

        // A new session (the old one closed) starts without memos, and asks dpkg.
        try await pool.session(for: target).close()
        try db.replace([E.entry("otto-a", "install ok installed"), E.entry("otto-b", "install ok installed")])
        #expect(try await installed() == ["otto-a", "otto-b"])
        #expect(await pool.connects == 2)
        await pool.closeAll()
    }

    /// The probe writes its output once, at the end: many facts (each file: printf, sha256sum, printf, stat, each writing)
    /// reach the controller in a few packets, so the session thread wakes a few times per host and pass, not once per
    /// process. The facts are the same as those written line by line.
    @Test func aProbeOfManyFactsWakesTheSessionThreadAFewTimesOnly() async throws {
        let scratch = try TempDir(prefix: "otto-warm-packets")
        defer { scratch.cleanup() }
        var requests: [ObserveRequest] = []
        for i in 0..<8 {
            try "file \(i)\n".write(toFile: scratch.path + "/f\(i)", atomically: true, encoding: .utf8)
            requests.append(ObserveRequest(address: ResourceAddress(kind: "file", name: "f\(i)"), providerID: nil,
                                           attributes: ["path": .string(scratch.path + "/f\(i)")]))
        }
        requests.append(ObserveRequest(address: ResourceAddress(kind: "file", name: "gone"), providerID: nil,
                                       attributes: ["path": .string(scratch.path + "/gone")]))
        let sshd = try await SSHServer.start()
        defer { sshd.stop() }
        let attributes: [String: Value] = [
            "host": "127.0.0.1", "ssh_port": .int(sshd.port), "ssh_user": "root", "ssh_key": .string(sshd.clientKeyPath),
            "host_key": .string(sshd.hostKey), "machine": "box",
        ]
        let session = try await SSHSession.connect(try #require(HostConnection(attributes)).target)
        let result = try await session.exec("sh -s", stdin: Array(HostProbe.script(requests).utf8), timeout: .seconds(60))
        await session.close()
        #expect(result.status == 0, "\(result.stderrText)")
        let facts = HostProbe.parse(result.stdoutText, count: requests.count)
        for i in 0..<8 {
            #expect(facts[i].values["sha"] == HostProvider.sha256(Array("file \(i)\n".utf8)))
            #expect(facts[i].values["stat"]?.isEmpty == false && !facts[i].missing)
        }
        #expect(facts[8].missing)
        // Line by line this was up to 33 packets (four writes per file); in one piece: the output, then EOF, exit status and
        // close (one or two packets), maybe a window adjust for the script sent.
        #expect(result.socketWaits <= 5, "\(result.socketWaits) waits")
    }
}
