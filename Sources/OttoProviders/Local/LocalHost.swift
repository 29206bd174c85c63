import Foundation
import OttoCore
#if canImport(Glibc)
import Glibc
#endif

/// Small host queries and file helpers of the local provider: /proc, /run/netns, cgroups, locks, sockets.
enum LocalHost {
    /// The cgroup hierarchies a machine gets its own cgroup in (pitfall 1: no systemd as PID 1 here).
    static let cgroupRoots = ["/sys/fs/cgroup/unified", "/sys/fs/cgroup/systemd"]

    /// Reads a whole file with read(2) until end of file. /proc and /sys files report size 0 and hand out their
    /// content in chunks: Foundation's file reading returns only the first chunk of /proc/self/mountinfo.
    static func readFile(_ path: String) -> String? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var out: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = read(fd, &buf, buf.count)
            if n < 0 { if errno == EINTR { continue }; return nil }
            if n == 0 { break }
            out += buf[0..<n]
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Names of the network namespaces in /run/netns.
    static func netnsNames() -> Set<String> {
        Set((try? FileManager.default.contentsOfDirectory(atPath: "/run/netns")) ?? [])
    }

    /// True when `pid` is a live (not zombie) process whose command line contains `marker`.
    static func isAlive(_ pid: Int32?, marker: String) -> Bool {
        guard let pid, pid > 0 else { return false }
        guard let stat = readFile("/proc/\(pid)/stat"),
              let close = stat.lastIndex(of: ")") else { return false }
        let state = stat[stat.index(after: close)...].trimmingCharacters(in: .whitespaces).first
        if state == "Z" || state == "X" { return false }
        guard let cmd = readFile("/proc/\(pid)/cmdline") else { return false }
        let text = cmd.replacingOccurrences(of: "\0", with: " ")
        return text.contains(marker)
    }

    /// A pid read from a file.
    static func readPid(_ path: String) -> Int32? {
        readFile(path).flatMap { Int32($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Mount points (from /proc/self/mountinfo), unescaped.
    static func mountPoints() -> Set<String> {
        guard let text = readFile("/proc/self/mountinfo") else { return [] }
        var out = Set<String>()
        for line in text.split(separator: "\n") {
            let fields = line.split(separator: " ")
            if fields.count > 4 { out.insert(unescapeMount(String(fields[4]))) }
        }
        return out
    }

    private static func unescapeMount(_ s: String) -> String {
        guard s.contains("\\") else { return s }
        var bytes: [UInt8] = []
        let u = Array(s.utf8)
        var i = 0
        while i < u.count {
            if u[i] == 0x5c, i + 3 < u.count, let v = UInt8(String(decoding: u[(i + 1)...(i + 3)], as: UTF8.self), radix: 8) {
                bytes.append(v); i += 4
            } else { bytes.append(u[i]); i += 1 }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Processes in a cgroup subtree of the unified hierarchy.
    static func cgroupPids(_ name: String) -> [Int32] {
        var pids: [Int32] = []
        for root in cgroupRoots {
            let base = "\(root)/\(name)"
            guard FileManager.default.fileExists(atPath: base) else { continue }
            var dirs = [base]
            while let dir = dirs.popLast() {
                if let text = readFile("\(dir)/cgroup.procs") {
                    pids += text.split(separator: "\n").compactMap { Int32($0) }
                }
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                    var isDir: ObjCBool = false
                    if FileManager.default.fileExists(atPath: "\(dir)/\(entry)", isDirectory: &isDir), isDir.boolValue { dirs.append("\(dir)/\(entry)") }
                }
            }
        }
        return Array(Set(pids))
    }

    /// Creates the machine's cgroup in both hierarchies.
    /// Every machine's systemd needs several inotify instances, and the kernel's default allows 128 per user for
    /// all of root's processes: past about twenty machines, new ones die at boot with "Too many open files".
    /// Raises the limits (never lowers them) before a machine boots.
    static func ensureInotifyLimits() {
        for (path, wanted) in [("/proc/sys/fs/inotify/max_user_instances", 8192), ("/proc/sys/fs/inotify/max_user_watches", 524_288)] {
            guard let text = readFile(path), let now = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)), now < wanted else { continue }
            try? String(wanted).write(toFile: path, atomically: false, encoding: .utf8)
        }
    }

    static func makeCgroup(_ name: String) throws {
        for root in cgroupRoots where FileManager.default.fileExists(atPath: root) {
            try FileManager.default.createDirectory(atPath: "\(root)/\(name)", withIntermediateDirectories: true)
        }
    }

    /// Removes an (empty) cgroup subtree bottom-up in both hierarchies; a missing one is fine.
    static func removeCgroup(_ name: String) {
        for root in cgroupRoots {
            let base = "\(root)/\(name)"
            guard FileManager.default.fileExists(atPath: base) else { continue }
            var order: [String] = []
            var dirs = [base]
            while let dir = dirs.popLast() {
                order.append(dir)
                for entry in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] {
                    var isDir: ObjCBool = false
                    if FileManager.default.fileExists(atPath: "\(dir)/\(entry)", isDirectory: &isDir), isDir.boolValue { dirs.append("\(dir)/\(entry)") }
                }
            }
            for dir in order.sorted(by: { $0.count > $1.count }) { rmdir(dir) }
        }
    }

    /// Writes `text` to `path` atomically with `mode`.
    static func write(_ text: String, to path: String, mode: Int = 0o644) throws {
        try AtomicFile.write(Data(text.utf8), to: path, mode: mode, code: "provider.local.write")
    }

    /// Removes `path` (file, symlink or tree) when it exists.
    static func remove(_ path: String) throws {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        do { try FileManager.default.removeItem(atPath: path) } catch {
            throw OttoError("provider.local.remove", "cannot remove \(path)", cause: error)
        }
    }
}
