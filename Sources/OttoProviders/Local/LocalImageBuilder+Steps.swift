import Foundation
import OttoConfig
import OttoCore

extension LocalImageBuilder {
    /// debootstrap the base into `dir/rootfs`, de-personalise it, then apply the recipe's files and commands.
    func buildBase(_ recipe: ImageRecipe, dir: String, projectRoot: String) async throws {
        let rootfs = dir + "/rootfs"
        let log = dir + "/build.log"
        let cache = settings.stateDir + "/cache/debootstrap"
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        var include = Self.basePackages
        for p in recipe.packages where !include.contains(p) { include.append(p) }
        try await LocalCommand.run(["debootstrap", "--variant=minbase", "--cache-dir=\(cache)",
                                    "--include=\(include.joined(separator: ","))",
                                    recipe.suite ?? settings.suite, rootfs, settings.mirror(for: recipe.mirror)], log: log)
        let fs = LocalRootFS(root: rootfs)
        try depersonalise(fs)
        try await customize(recipe, fs: fs, installPackages: false, projectRoot: projectRoot, log: log)
    }

    /// Pitfall 5: debootstrap bakes in the build host's hostname, machine-id, resolver and ssh host keys.
    func depersonalise(_ fs: LocalRootFS) throws {
        try fs.write("/etc/machine-id", "")              // empty: a transient id per boot, no first-boot prompt
        try fs.remove("/var/lib/dbus/machine-id")
        try fs.write("/etc/hostname", "localhost\n")
        try fs.write("/etc/resolv.conf", "")             // machines have no DNS (nspawn runs with --resolv-conf=off)
        let ssh = try fs.directory("/etc/ssh")
        for entry in (try? FileManager.default.contentsOfDirectory(atPath: ssh)) ?? [] where entry.hasPrefix("ssh_host_") {
            try fs.remove("/etc/ssh/" + entry)          // each machine gets its own key when it is created
        }
        try fs.write("/etc/ssh/sshd_config.d/otto.conf", "# written by otto: one ed25519 host key per machine\nHostKey /etc/ssh/ssh_host_ed25519_key\n")
        try fs.write("/etc/systemd/journald.conf.d/otto.conf", "[Journal]\nStorage=volatile\nRuntimeMaxUse=16M\n")
        try fs.directory("/root/.ssh", mode: 0o700)
        for dir in ["/var/lib/apt/lists", "/var/cache/apt/archives"] {
            let host = try fs.directory(dir)
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: host)) ?? [] where entry != "partial" && entry != "lock" {
                try? LocalHost.remove(host + "/" + entry)
            }
        }
    }

    /// Builds a layer: an overlay on `parentLayers` whose upper directory becomes the layer.
    func buildLayer(_ recipe: ImageRecipe, dir: String, parentLayers: [String], projectRoot: String) async throws {
        let upper = dir + "/upper", work = dir + "/work", merged = dir + "/merged"
        for d in [upper, work, merged] { try FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true) }
        try await LocalCommand.run(["mount", "-t", "overlay", "overlay", "-o",
                                    "lowerdir=\(parentLayers.joined(separator: ":")),upperdir=\(upper),workdir=\(work)", merged])
        let fs = LocalRootFS(root: merged)
        do {
            try await customize(recipe, fs: fs, installPackages: true, projectRoot: projectRoot, log: dir + "/build.log")
        } catch {
            try? await fs.unmountAll(includingRoot: true)
            throw error
        }
        try await fs.unmountAll(includingRoot: true)
        try LocalRootFS.removeTree(work)
        try LocalRootFS.removeTree(merged)
    }

    /// Inside a chroot of `fs`: install packages (when asked), write files, run commands, clean apt.
    func customize(_ recipe: ImageRecipe, fs: LocalRootFS, installPackages: Bool, projectRoot: String, log: String) async throws {
        let needsChroot = (installPackages && !recipe.packages.isEmpty) || !recipe.files.isEmpty || !recipe.run.isEmpty
        guard needsChroot else { return }
        try await fs.mountChroot()
        do {
            try fs.write("/usr/sbin/policy-rc.d", "#!/bin/sh\n# written by otto while building an image: start no daemon\nexit 101\n", mode: 0o755)
            let resolv = (try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? ""
            try fs.write("/etc/resolv.conf", resolv)
            if installPackages && !recipe.packages.isEmpty {
                try await fs.chroot(["apt-get", "update"], log: log)
                try await fs.chroot(["apt-get", "install", "-y", "--no-install-recommends", "-o", "Dpkg::Options::=--force-confdef",
                                     "-o", "Dpkg::Options::=--force-confold"] + recipe.packages, log: log)
            }
            for (i, f) in recipe.files.enumerated() {
                let staged = "/tmp/otto-file-\(i)"
                try fs.write(staged, String(decoding: try fileContents(f, projectRoot: projectRoot), as: UTF8.self), mode: 0o600)
                let owner = f.owner.split(separator: ":", maxSplits: 1).map(String.init)
                var argv = ["install", "-D", "-m", f.mode, "-o", owner[0]]
                if owner.count > 1 { argv += ["-g", owner[1]] }
                try await fs.chroot(argv + [staged, f.path], log: log)
                try fs.remove(staged)
            }
            for command in recipe.run { try await fs.chroot(["/bin/sh", "-ec", command], log: log) }
            try await fs.chroot(["apt-get", "clean"], log: log)
            let lists = try fs.directory("/var/lib/apt/lists")
            for entry in (try? FileManager.default.contentsOfDirectory(atPath: lists)) ?? [] where entry != "partial" && entry != "lock" {
                try? LocalHost.remove(lists + "/" + entry)
            }
            try fs.write("/etc/resolv.conf", "")
            try fs.remove("/usr/sbin/policy-rc.d")
        } catch {
            try? await fs.unmountAll()
            throw error
        }
        try await fs.unmountAll()
    }
}
