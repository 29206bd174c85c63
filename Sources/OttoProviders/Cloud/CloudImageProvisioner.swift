import Foundation
import OttoCore
import OttoSSH

/// Applies one recipe's layer to a builder machine over SSH (pinned host key), then removes what must not be in an
/// image: host keys, machine-id, cloud-init's state (so machines made from the image run cloud-init again and get
/// their own keys) and otto's login key.
///
/// Packages missing from the machine are installed with apt (`apt-get update` only when something is missing, so an
/// image whose packages are there already builds offline); files are uploaded (atomic rename, owner and mode);
/// commands run in order with `/bin/sh -e`, the first failure stops the build with its output.
struct CloudImageProvisioner: Sendable {
    var host: String
    var user: String
    var identityFile: String
    var hostKey: String
    var recipe: ImageRecipe
    var projectRoot: String
    var machine: String

    func run(progress: @escaping @Sendable (String) -> Void) async throws {
        let target = SSHTarget(host: host, port: 22, user: user, identityFiles: [identityFile], hostKeyPolicy: .pinned(hostKey))
        let session = try await SSHSession.connect(target)
        defer { Task { await session.close() } }
        if !recipe.packages.isEmpty {
            progress("\(machine): packages \(recipe.packages.joined(separator: " "))")
            try await root(session, Self.packagesScript, arguments: recipe.packages, doing: "install packages", timeout: .seconds(1800))
        }
        for file in recipe.files {
            progress("\(machine): file \(file.path)")
            let bytes = try ImageIdentity.fileContents(file, projectRoot: projectRoot)
            guard let mode = UInt32(file.mode, radix: 8) else {
                throw OttoError("image.file", "image `\(recipe.name)`: file \(file.path) has mode \(Value.string(file.mode)), which is not octal")
            }
            try await root(session, "mkdir -p \"$(dirname \"$1\")\"", arguments: [file.path], doing: "make the directory of \(file.path)")
            if user == "root" {
                try await session.upload(bytes, to: file.path, mode: mode, owner: file.owner, group: nil)
            } else {
                // Upload as the login user, then move into place as root.
                let staged = "/tmp/otto-image-file-\(UUID().uuidString.lowercased())"
                try await session.upload(bytes, to: staged, mode: 0o600)
                try await root(session, "install -m \"$2\" -o \"$3\" \"$1\" \"$4\" && rm -f \"$1\"",
                               arguments: [staged, file.mode, file.owner, file.path], doing: "install \(file.path)")
            }
        }
        for command in recipe.run {
            progress("\(machine): run \(command.prefix(120))")
            try await root(session, command, arguments: [], doing: "run \(Value.string(String(command.prefix(200))))", timeout: .seconds(1800))
        }
        let loginKey = try SSHHostKey.read(publicKeyFile: identityFile + ".pub")
        progress("\(machine): removing host keys, machine-id, cloud-init state and otto's key")
        try await root(session, Self.cleanScript, arguments: [String(loginKey.split(separator: " ")[1])], doing: "clean the machine for imaging")
    }

    /// Runs `script` as root with `/bin/sh -e` and positional `arguments` (each quoted); throws with its output when
    /// it fails.
    private func root(_ session: SSHSession, _ script: String, arguments: [String], doing what: String,
                      timeout: Duration = .seconds(300)) async throws {
        let argv = (["/bin/sh", "-e", "-c", script, "otto-image"] + arguments).map(ShellQuote.quote).joined(separator: " ")
        let command = user == "root" ? argv : "sudo -n " + argv
        let result = try await session.exec(command, timeout: timeout)
        guard result.status == 0 else {
            let output = (result.stdoutText + result.stderrText).suffix(2000)
            throw OttoError("image.step", "\(machine): could not \(what) (status \(result.status)): \(output)")
        }
    }

    /// Installs the packages given as arguments that are not installed yet.
    static let packagesScript = """
        missing=""
        for p in "$@"; do
          dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
        done
        [ -z "$missing" ] && exit 0
        export DEBIAN_FRONTEND=noninteractive
        apt-get update
        apt-get install -y --no-install-recommends -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold $missing
        """

    /// What a machine made from the image must not inherit. `$1`: the base64 of otto's login key.
    static let cleanScript = """
        apt-get clean 2>/dev/null || true
        rm -f /etc/ssh/ssh_host_*
        : > /etc/machine-id
        rm -f /var/lib/dbus/machine-id
        if command -v cloud-init >/dev/null 2>&1; then cloud-init clean --logs >/dev/null 2>&1 || true; fi
        rm -rf /var/lib/cloud/instances /var/lib/cloud/instance /var/lib/cloud/data /var/lib/cloud/sem
        for f in /root/.ssh/authorized_keys /home/*/.ssh/authorized_keys; do
          [ -f "$f" ] || continue
          grep -vF -- "$1" "$f" > "$f.otto-clean" || true
          chmod 600 "$f.otto-clean"
          chown --reference="$f" "$f.otto-clean" 2>/dev/null || true
          mv -f "$f.otto-clean" "$f"
        done
        sync
        """
}
