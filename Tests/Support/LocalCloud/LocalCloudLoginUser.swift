import Foundation
import OttoCore

/// The login user a cloud's first-boot agent sets up on images whose default user is not root (cloud-init's
/// `default_user`: `admin` on Debian's AMIs): made when the image lacks it (home, own group, bash, no password),
/// the keys added to its `~/.ssh/authorized_keys`, and passwordless sudo (`/etc/sudoers.d/90-cloud-init-users`).
///
/// Runs the image's own tools (useradd, install, ...) in a chroot of the machine's root before it first boots, so a
/// symlink in the image never leads out of it. The image must have sudo.
enum LocalCloudLoginUser {
    /// Names useradd takes without `--badname`: a letter or '_' first, then a-z, 0-9, '_' and '-', at most 32.
    static func isUserName(_ name: String) -> Bool {
        guard let first = name.utf8.first, name.utf8.count <= 32, (0x61...0x7a).contains(first) || first == 0x5f else { return false }
        return name.utf8.allSatisfy { (0x61...0x7a).contains($0) || (0x30...0x39).contains($0) || $0 == 0x5f || $0 == 0x2d }
    }

    /// Sets up `user` with `keys` (public key lines) in the root file system at `root` (a host path).
    static func install(_ user: String, keys: [String], root: String) async throws {
        for key in keys where key.contains("\n") {
            throw OttoError("fake.backing.user", "a key for \(user) spans several lines: give one public key line each")
        }
        let lines = keys.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) }.filter { !$0.isEmpty }
        let result = try await runProcess(["chroot", root, "/bin/sh", "-c", script, "otto-login-user", user] + lines,
                                          environment: ["PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C",
                                                        "HOME": "/root"])
        guard result.status == 0 else {
            throw OttoError("fake.backing.user", "could not set up login user \(user) in the machine's root (status \(result.status))",
                            causeText: (result.stderr + result.stdout).trimmingCharacters(in: .whitespacesAndNewlines))
        }
    }

    /// The user and the keys arrive as positional arguments, never in the script.
    static let script = #"""
    set -e
    user=$1; shift
    if [ ! -x /usr/bin/sudo ]; then
      echo "the image has no sudo (/usr/bin/sudo): login user $user could not become root; give the base image the sudo package" >&2
      exit 3
    fi
    if ! getent passwd "$user" >/dev/null; then
      useradd --create-home --shell /bin/bash --user-group --password '*' "$user"
    fi
    group=$(id -gn "$user")
    home=$(getent passwd "$user" | cut -d: -f6)
    [ -d "$home" ] || install -d -m 755 -o "$user" -g "$group" "$home"
    install -d -m 700 -o "$user" -g "$group" "$home/.ssh"
    keys="$home/.ssh/authorized_keys"
    touch "$keys"
    for key in "$@"; do
      grep -qxF -- "$key" "$keys" || printf '%s\n' "$key" >> "$keys"
    done
    chown "$user:$group" "$keys"
    chmod 600 "$keys"
    mkdir -p /etc/sudoers.d
    printf '# written by the stand-in cloud, as cloud-init does\n%s ALL=(ALL) NOPASSWD:ALL\n' "$user" > /etc/sudoers.d/90-cloud-init-users
    chmod 440 /etc/sudoers.d/90-cloud-init-users
    """#
}
