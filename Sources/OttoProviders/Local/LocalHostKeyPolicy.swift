/// How `LocalMachineProvider.createMachine` gives a new machine its ssh host key. The images' sshd serves one
/// ed25519 host key (`/etc/ssh/ssh_host_ed25519_key`, see `LocalImageBuilder.depersonalise`).
public enum LocalHostKeyPolicy: Sendable, Hashable {
    /// The image's host keys are removed and a fresh ed25519 key is generated (what `create` does).
    case generate
    /// The image's host keys are removed and this ed25519 pair is installed (private key 0600, public key 0644), as
    /// cloud-init does with `ssh_keys`. `privateKey` is the OpenSSH private key text, `publicKey` the
    /// `ssh-ed25519 AAAA… [comment]` line; the pair is checked with `ssh-keygen -y` before the machine boots.
    case install(privateKey: String, publicKey: String)
    /// The image's host keys stay as they are (a captured layer carries those of the machine it was captured from);
    /// a fresh ed25519 key is generated only when the image has none.
    case keepImageKeys
}
