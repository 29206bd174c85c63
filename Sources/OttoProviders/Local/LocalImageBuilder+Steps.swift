import Foundation
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
        try depersonalise(LocalRootFS(root: rootfs))
        try await customize(recipe, root: rootfs, overlay: nil, installPackages: false, projectRoot: projectRoot, log: log)
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
        try await customize(recipe, root: merged, overlay: (parentLayers.joined(separator: ":"), upper, work), installPackages: true,
                            projectRoot: projectRoot, log: dir + "/build.log")
        try LocalRootFS.removeTree(work)
        try LocalRootFS.removeTree(merged)
    }

    /// Installs packages (when asked), writes files and runs commands inside a chroot of `root`, then cleans apt.
    ///
    /// Everything runs in a private mount namespace (`unshare --mount`): the overlay, proc, sys and dev mounts exist
    /// only there and vanish with it, so no other process (a machine booting meanwhile) ever sees them and nothing
    /// is left mounted if the build fails. File contents and commands are staged in `<layer>/stage` and reach the
    /// script as arguments or files, never spliced into it; writes happen inside the chroot, so a symlink in the
    /// image cannot point them at the host.
    func customize(_ recipe: ImageRecipe, root: String, overlay: (lower: String, upper: String, work: String)?,
                   installPackages: Bool, projectRoot: String, log: String) async throws {
        let packages = installPackages ? recipe.packages : []
        guard !packages.isEmpty || !recipe.files.isEmpty || !recipe.run.isEmpty else { return }
        let stage = (root as NSString).deletingLastPathComponent + "/stage"
        try? LocalHost.remove(stage)
        try FileManager.default.createDirectory(atPath: stage, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try LocalHost.write("#!/bin/sh\n# written by otto while building an image: start no daemon\nexit 101\n", to: stage + "/policy-rc.d")
        try LocalHost.write((try? String(contentsOfFile: "/etc/resolv.conf", encoding: .utf8)) ?? "", to: stage + "/resolv.conf")
        var manifest = ""
        for (i, f) in recipe.files.enumerated() {
            guard !f.path.contains("\n"), !f.path.contains("\t"), !f.owner.contains("\t"), !f.owner.contains("\n") else {
                throw OttoError("image.file", "image file path or owner \(Value.string(f.path)) contains a tab or newline")
            }
            guard FileManager.default.createFile(atPath: stage + "/file-\(i)", contents: Data(try fileContents(f, projectRoot: projectRoot))) else {
                throw OttoError("image.file", "cannot stage \(f.path) in \(stage)")
            }
            manifest += "\(i)\t\(f.mode)\t\(f.owner.isEmpty ? "root" : f.owner)\t\(f.path)\n"
        }
        try LocalHost.write(manifest, to: stage + "/files")
        for (i, command) in recipe.run.enumerated() { try LocalHost.write(command + "\n", to: stage + String(format: "/run-%04d", i)) }
        let argv = ["unshare", "--mount", "--propagation", "private", "/bin/bash", "-c", Self.customizeScript, "otto-build",
                    root, overlay?.lower ?? "", overlay?.upper ?? "", overlay?.work ?? "", stage] + packages
        try await LocalCommand.run(argv, environment: LocalRootFS.chrootEnvironment, log: log)
        try LocalHost.remove(stage)
    }

    /// The build steps, run by bash in a private mount namespace. Arguments: ROOT LOWER UPPER WORK STAGE PACKAGES...
    static let customizeScript = #"""
    set -euo pipefail
    ROOT=$1 LOWER=$2 UPPER=$3 WORK=$4 STAGE=$5; shift 5
    if [ -n "$LOWER" ]; then mount -t overlay overlay -o "lowerdir=$LOWER,upperdir=$UPPER,workdir=$WORK" "$ROOT"; fi
    mount -t proc proc "$ROOT/proc"
    mount -t sysfs sysfs "$ROOT/sys"
    mount --bind /dev "$ROOT/dev"
    mkdir "$ROOT/tmp/otto-build"
    mount --bind "$STAGE" "$ROOT/tmp/otto-build"
    in_root() { chroot "$ROOT" "$@"; }
    in_root /bin/sh -ec 'install -m 0755 /tmp/otto-build/policy-rc.d /usr/sbin/policy-rc.d
      rm -f /etc/resolv.conf; cp /tmp/otto-build/resolv.conf /etc/resolv.conf'
    if [ $# -gt 0 ]; then
      echo "[otto-build] apt-get install $*"
      in_root apt-get update
      in_root apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold "$@"
    fi
    while IFS=$'\t' read -r n mode owner path; do
      echo "[otto-build] file $path"
      in_root install -D -m "$mode" "/tmp/otto-build/file-$n" "$path"
      in_root chown "$owner" "$path"
    done < "$STAGE/files"
    for f in $(cd "$STAGE" && ls | grep '^run-' | sort); do
      echo "[otto-build] run $(head -c 200 "$STAGE/$f")"
      in_root /bin/sh -e "/tmp/otto-build/$f"
    done
    in_root apt-get clean
    in_root /bin/sh -ec 'find /var/lib/apt/lists -mindepth 1 -maxdepth 1 ! -name partial ! -name lock -exec rm -rf {} +
      rm -f /etc/resolv.conf /usr/sbin/policy-rc.d; : > /etc/resolv.conf'
    umount "$ROOT/tmp/otto-build"
    rmdir "$ROOT/tmp/otto-build"
    """#
}
