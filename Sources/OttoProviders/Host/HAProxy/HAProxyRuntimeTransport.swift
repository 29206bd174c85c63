/// How `HAProxyRuntime` reaches one haproxy: sends one runtime API command to its admin socket and returns haproxy's
/// whole answer. Implementations: `HAProxySSHTransport` (socat on the load balancer, over SSH) and
/// `HAProxySocketTransport` (a unix socket on this machine). Blocking work never runs on the cooperative pool.
public protocol HAProxyRuntimeTransport: Sendable {
    /// Sends `command` (one line, no newline) and returns haproxy's answer as it wrote it.
    func send(_ command: String) async throws -> String

    /// Replaces the file at `path` on haproxy's machine with `contents`, atomically (a temporary file in the same
    /// directory, then a rename): a reload reading the file sees the old text or the new, never a part.
    func replaceFile(_ path: String, with contents: String) async throws
}
