import Foundation
import OttoTestSupport

/// A network namespace for one `otto serve` replica, on a private bridge (`otto-t8`, 10.213.0.224/29: the host side is
/// .225, where the test's PostgreSQL and PowerDNS listen; the namespace is .226), and a blackhole route in it that cuts
/// the replica off from both and is taken away again. Needs root and `ip`.
struct ReplicaNetwork {
    static let bridge = "otto-t8"
    static let namespace = "otto-cut"
    static let hostAddress = "10.213.0.225"
    static let replicaAddress = "10.213.0.226"
    static let subnet = "10.213.0.224/29"
    static let hostVeth = "otto-cut-h"
    static let replicaVeth = "otto-cut-n"

    static var available: Bool { geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") }

    /// `ip netns exec NS`: what runs the replica in the namespace (it execs, so the PID is the replica's).
    static var wrapper: [String] { ["/usr/sbin/ip", "netns", "exec", namespace] }

    /// Makes the bridge, the namespace and the link between them (after removing what a crashed run left).
    static func make() throws -> ReplicaNetwork {
        remove()
        let steps: [[String]] = [
            ["link", "add", bridge, "type", "bridge"],
            ["addr", "add", hostAddress + "/29", "dev", bridge],
            ["link", "set", bridge, "up"],
            ["netns", "add", namespace],
            ["link", "add", hostVeth, "type", "veth", "peer", "name", replicaVeth],
            ["link", "set", hostVeth, "master", bridge],
            ["link", "set", hostVeth, "up"],
            ["link", "set", replicaVeth, "netns", namespace],
            ["-n", namespace, "addr", "add", replicaAddress + "/29", "dev", replicaVeth],
            ["-n", namespace, "link", "set", replicaVeth, "up"],
            ["-n", namespace, "link", "set", "lo", "up"],
        ]
        for step in steps {
            let (status, output) = ip(step)
            guard status == 0 else {
                remove()
                throw CloudTestError("ip \(step.joined(separator: " ")): \(output)")
            }
        }
        return ReplicaNetwork()
    }

    /// Cuts the namespace off from the host's side: whatever it sends there is dropped.
    func cut() throws {
        let (status, output) = Self.ip(["-n", Self.namespace, "route", "add", "blackhole", Self.hostAddress + "/32"])
        guard status == 0 else { throw CloudTestError("cannot cut the replica off: \(output)") }
    }

    /// Takes the cut away.
    func heal() throws {
        let (status, output) = Self.ip(["-n", Self.namespace, "route", "del", "blackhole", Self.hostAddress + "/32"])
        guard status == 0 else { throw CloudTestError("cannot heal the replica's network: \(output)") }
    }

    /// Deletes the namespace and the bridge (the veth pair goes with the namespace). Blocks briefly: for `defer`.
    static func remove() {
        _ = ip(["netns", "del", namespace])
        _ = ip(["link", "del", hostVeth])
        _ = ip(["link", "del", bridge])
    }

    /// Runs `ip ARGS`; its status and what it wrote.
    @discardableResult
    static func ip(_ arguments: [String]) -> (Int32, String) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/sbin/ip")
        process.arguments = arguments
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        do { try process.run() } catch { return (-1, "\(error)") }
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        return (process.terminationStatus, output)
    }
}
