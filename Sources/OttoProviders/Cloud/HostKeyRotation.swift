import Foundation
import OttoCore
import OttoSSH

/// Replaces the host key that travelled in a new cloud machine's user data with one made on the machine, and moves
/// the pin to it, so the key anyone could read from the metadata service stops being valid.
///
/// Every step can be interrupted and run again (the next apply sees `host_key_pending` and finishes the job):
/// 1. connect, accepting any pinned key (waiting for the machine's sshd to come up);
/// 2. if the machine already presents a rotated pin, only the stale pins are removed;
/// 3. otherwise make `ssh_host_ed25519_key.otto-next` on the machine (kept if an earlier try made it) and read its
///    public half;
/// 4. pin it beside the boot key (a tag on the machine: both are accepted meanwhile);
/// 5. move it over the host key and reload sshd (existing sessions live on);
/// 6. connect again, accepting only the new key;
/// 7. unpin the boot key.
struct HostKeyRotation: Sendable {
    /// The machine's address, SSH port and login user.
    var host: String
    var port: Int
    var user: String
    /// otto's private key for the login.
    var identityFile: String
    /// The machine, for messages (`machine.web.web[0]`, `droplet 123`).
    var machine: String
    /// How long to wait for sshd to answer (a machine just booted).
    var bootTimeout: Duration = .seconds(300)

    /// Runs the rotation; returns the key now pinned. `pin` records a new key beside the others; `unpin` removes one
    /// (`boot` tells which kind of pin it is).
    func run(_ pins: HostKeyPins, pin: @Sendable (String) async throws -> Void,
             unpin: @Sendable (_ key: String, _ boot: Bool) async throws -> Void) async throws -> String {
        let session = try await connect(accepting: pins.all, within: bootTimeout)
        defer { Task { await session.close() } }
        let presented = session.hostKey
        if pins.current.contains(where: { Self.same($0, presented) }) {
            try await dropStale(pins, keep: presented, unpin: unpin)
            return presented
        }
        let made = try await sudo(session, Self.prepareScript, doing: "make a new host key")
        guard let next = made.split(separator: "\n").compactMap({ Self.keyLine(String($0)) }).first else {
            throw OttoError("provider.host_key", "\(machine): making a new host key printed no key (\(made.prefix(200)))")
        }
        if !pins.current.contains(where: { Self.same($0, next) }) { try await pin(next) }
        _ = try await sudo(session, Self.installScript, doing: "install the new host key and reload sshd")
        let check = try await connect(accepting: [next], within: .seconds(30))
        await check.close()
        try await dropStale(HostKeyPins(boot: pins.boot, current: pins.current + [next]), keep: next, unpin: unpin)
        return next
    }

    /// Removes every pin but `keep`.
    private func dropStale(_ pins: HostKeyPins, keep: String, unpin: @Sendable (String, Bool) async throws -> Void) async throws {
        for key in pins.current where !Self.same(key, keep) { try await unpin(key, false) }
        if let boot = pins.boot, !Self.same(boot, keep) { try await unpin(boot, true) }
    }

    /// Connects with the pinned keys, retrying while the machine is not up yet (refused, timed out, no banner, keys
    /// not installed yet). A host key that matches no pin is refused at once.
    func connect(accepting keys: [String], within limit: Duration) async throws -> SSHSession {
        let target = SSHTarget(host: host, port: port, user: user, identityFiles: [identityFile],
                               hostKeyPolicy: .pinned(keys.joined(separator: "\n")), connectTimeout: .seconds(5))
        let deadline = ContinuousClock.now + limit
        var last: (any Error)?
        var refusedSince: ContinuousClock.Instant?
        while ContinuousClock.now < deadline {
            do {
                return try await SSHSession.connect(target)
            } catch let error as SSHError where error.code.hasPrefix("ssh.hostkey") || error.code == "ssh.key" || error.code == "ssh.rsa_unsupported" {
                throw OttoError("provider.host_key", "\(machine): \(error.message)", cause: error)
            } catch let error as SSHError where error.code == "ssh.auth" {
                // The host key matched, but the key is refused: cloud-init may still be installing it; not for long.
                last = error
                let since = refusedSince ?? ContinuousClock.now
                refusedSince = since
                if ContinuousClock.now - since > .seconds(60) { break }
            } catch {
                last = error
            }
            try await Task.sleep(for: .milliseconds(500))
        }
        throw OttoError("provider.host_key",
                        "\(machine): no SSH login to \(user)@\(host):\(port) with \(identityFile)\(refusedSince == nil ? " within \(limit)" : ": the machine presents its pinned host key but refuses the login key"), so otto could not replace the host key it sent in user data; check that the machine carries otto's key (ssh_keys / key_name) for \(user) and that port \(port) is open to otto",
                        cause: last)
    }

    /// Runs a script as root (through `sudo -n` for another login user); returns its output, throws on failure.
    private func sudo(_ session: SSHSession, _ script: String, doing what: String) async throws -> String {
        let command = user == "root" ? "/bin/sh -c \(ShellQuote.quote(script))" : "sudo -n /bin/sh -c \(ShellQuote.quote(script))"
        let result = try await session.exec(command, timeout: .seconds(60))
        guard result.status == 0 else {
            throw OttoError("provider.host_key", "\(machine): could not \(what) (status \(result.status)): \(result.stderrText.suffix(500))")
        }
        return result.stdoutText
    }

    /// `TYPE BASE64` of a public key line, nil when it is none.
    static func keyLine(_ text: String) -> String? {
        let fields = text.split(separator: " ")
        guard fields.count >= 2, fields[0].hasPrefix("ssh-") || fields[0].hasPrefix("ecdsa-"), Data(base64Encoded: String(fields[1])) != nil else { return nil }
        return fields[0] + " " + fields[1]
    }

    /// True when two key lines hold the same key (comments aside).
    static func same(_ a: String, _ b: String) -> Bool { keyLine(a) != nil && keyLine(a) == keyLine(b) }

    /// Makes the next key beside the current one, unless an interrupted rotation already did; prints its public half.
    static let prepareScript = """
        set -e
        f=/etc/ssh/ssh_host_ed25519_key
        if [ ! -s "$f.otto-next" ] || [ ! -s "$f.otto-next.pub" ]; then
          rm -f "$f.otto-next" "$f.otto-next.pub"
          ssh-keygen -q -t ed25519 -N '' -C "root@$(hostname)" -f "$f.otto-next" </dev/null >/dev/null
        fi
        cat "$f.otto-next.pub"
        """

    /// Puts the next key in place and makes sshd read it (a reload: open sessions stay).
    static let installScript = """
        set -e
        f=/etc/ssh/ssh_host_ed25519_key
        chmod 600 "$f.otto-next"
        mv -f "$f.otto-next.pub" "$f.pub"
        mv -f "$f.otto-next" "$f"
        systemctl reload ssh 2>/dev/null || systemctl reload sshd 2>/dev/null || kill -HUP "$(cat /run/sshd.pid)"
        """
}
