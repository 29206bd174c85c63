import Foundation
import OttoCore
#if canImport(Glibc)
import Glibc
#endif

extension LocalMachineProvider {
    /// Stops a machine (nspawn gets SIGTERM: the guest powers off; after `grace` seconds everything left in its
    /// cgroups is killed), then unmounts its overlay. Leaves its directory, netns and address in place.
    public func stop(_ machine: String, grace: Double = 15) async throws {
        try requireRoot()
        let dir = machineDirectory(machine)
        let supervisor = LocalHost.readPid(dir + "/supervisor.pid"), nspawn = LocalHost.readPid(dir + "/nspawn.pid")
        let supAlive = { LocalHost.isAlive(supervisor, marker: dir + " ") }
        let nspawnAlive = { LocalHost.isAlive(nspawn, marker: dir + "/merged ") }
        if FileManager.default.fileExists(atPath: dir) { try? LocalHost.write("", to: dir + "/stop") }
        if nspawnAlive(), let nspawn { kill(nspawn, SIGTERM) }
        let deadline = Date().addingTimeInterval(grace)
        while (supAlive() || nspawnAlive()) && Date() < deadline { try await Task.sleep(for: .milliseconds(50)) }
        // whatever did not stop: kill it, and anything else left in the machine's cgroups
        if supAlive(), let supervisor { kill(supervisor, SIGKILL) }
        if nspawnAlive(), let nspawn { kill(nspawn, SIGKILL) }
        let cgroup = LocalNames.cgroup(machine, scope: settings.scope)
        let killDeadline = Date().addingTimeInterval(10)
        while case let pids = LocalHost.cgroupPids(cgroup), !pids.isEmpty, Date() < killDeadline {
            for pid in pids { kill(pid, SIGKILL) }
            try await Task.sleep(for: .milliseconds(50))
        }
        let merged = dir + "/merged"
        var attempts = 0
        while LocalHost.mountPoints().contains(merged) {
            attempts += 1
            let out = try await LocalCommand.run(["umount", merged], check: attempts >= 5)
            if out.status != 0 { try await Task.sleep(for: .milliseconds(200)) }
        }
    }

    /// Stops the machine and removes everything it had: overlay mount, netns, veth, cgroups and its directory.
    /// A machine that is already gone is fine. Only otto's own names, only under the state directory.
    func teardown(_ machine: String) async throws {
        guard LocalNames.isMachineName(machine) else { return } // never anything otto could not have created
        let dir = machineDirectory(machine)
        try await stop(machine)
        let ns = LocalNames.netns(machine, scope: settings.scope), veth = LocalNames.veth(machine, scope: settings.scope)
        if LocalHost.netnsNames().contains(ns) { try await LocalCommand.run(["ip", "netns", "del", ns]) }
        if FileManager.default.fileExists(atPath: "/sys/class/net/\(veth)") {
            _ = try await LocalCommand.run(["ip", "link", "del", veth], check: false) // usually gone with the netns
        }
        LocalHost.removeCgroup(LocalNames.cgroup(machine, scope: settings.scope))
        if FileManager.default.fileExists(atPath: dir) { try LocalRootFS.removeTree(dir) }
    }

    /// Deletes the bridge when no machine is left on it (no machine directory, no port). Returns true if deleted.
    @discardableResult
    public func removeBridgeIfUnused() async throws -> Bool {
        try requireRoot()
        let bridge = settings.bridge
        guard FileManager.default.fileExists(atPath: "/sys/class/net/\(bridge)/bridge") else { return false }
        // In use while any machine's veth is attached (a machine keeps its veth while it exists, even stopped);
        // machines of other bridges in the same state directory do not count.
        let ports = (try? FileManager.default.contentsOfDirectory(atPath: "/sys/class/net/\(bridge)/brif")) ?? []
        guard ports.isEmpty else { return false }
        try await LocalCommand.run(["ip", "link", "del", bridge])
        return true
    }
}
