import Foundation
import OttoCore

/// The user data otto gives a new cloud machine: the operator's own `user_data`, merged with a cloud-config part that
/// installs the host key otto made for the machine (`HostKeyPair`) before sshd first starts.
///
/// - No user data: otto's `#cloud-config` alone.
/// - User data (a `#cloud-config`, a `#!` script, any other cloud-init format, or a MIME multipart document): a MIME
///   `multipart/mixed` document with the operator's part first, unchanged, and otto's cloud-config last, so cloud-init
///   runs both. Nothing of the operator's is rewritten.
/// - A cloud-config of the operator's that sets the host keys itself (`ssh_keys`, `ssh_deletekeys`, `ssh_genkeytypes`)
///   is refused: otto could not pin the machine's key.
enum CloudInitUserData {
    /// otto's cloud-config: delete the image's host keys, generate none, install exactly this one. With `rootLogin`
    /// (otto logs in as root on an image whose default user is another), `disable_root: false` lets cloud-init give
    /// root the machine's keys too.
    static func hostKeyConfig(_ key: HostKeyPair, rootLogin: Bool = false) -> String {
        let indented = key.privateKeyFile.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
        return """
            #cloud-config
            # written by otto: the machine's ssh host key, pinned by otto and replaced on the first connection
            \(rootLogin ? "disable_root: false\n" : "")ssh_deletekeys: true
            ssh_genkeytypes: []
            ssh_keys:
              ed25519_private: |
            \(indented)
              ed25519_public: \(key.publicKey) otto

            """
    }

    /// Where a user data's format is read from: its first line (cloud-init's "starts with" rules).
    static let partTypes: [(prefix: String, type: String)] = [
        ("#cloud-config", "text/cloud-config"), ("#!", "text/x-shellscript"), ("#include", "text/x-include-url"),
        ("#cloud-boothook", "text/cloud-boothook"), ("#part-handler", "text/part-handler"), ("## template: jinja", "text/jinja2"),
    ]

    /// The keys an operator's cloud-config may not set when otto pins host keys.
    static let reservedKeys = ["ssh_keys", "ssh_deletekeys", "ssh_genkeytypes"]

    /// The user data for a new machine; `user` is the operator's `user_data` (nil or empty: none).
    static func merged(user: String?, hostKey: HostKeyPair, machine: String, rootLogin: Bool = false) throws -> String {
        let ours = hostKeyConfig(hostKey, rootLogin: rootLogin)
        guard let user, !user.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return ours }
        let boundary = "otto-" + UUID().uuidString.lowercased()
        var userPart: String
        if user.lowercased().hasPrefix("content-type: multipart/") || user.lowercased().hasPrefix("mime-version:") {
            userPart = user  // a MIME document: its own headers make it a (nested) part
        } else if let format = partTypes.first(where: { user.hasPrefix($0.prefix) }) {
            if format.type == "text/cloud-config" {
                for line in user.split(separator: "\n") {
                    if let key = reservedKeys.first(where: { line.hasPrefix($0 + ":") }) {
                        throw OttoError("provider.user_data",
                                        "\(machine): user_data sets `\(key)`, but otto makes and pins each new machine's host key itself; remove `\(key)` from user_data, or set the provider's `host_keys: known_hosts` to manage host keys yourself")
                    }
                }
            }
            userPart = "Content-Type: \(format.type); charset=\"utf-8\"\nMIME-Version: 1.0\nContent-Transfer-Encoding: 8bit\n\n" + user
        } else {
            throw OttoError("provider.user_data",
                            "\(machine): user_data must be a cloud-init document (starting with #cloud-config, #!, #include, #cloud-boothook, #part-handler or ## template: jinja) or a MIME multipart document, so otto can add the machine's host key to it")
        }
        if !userPart.hasSuffix("\n") { userPart += "\n" }
        return """
            Content-Type: multipart/mixed; boundary="\(boundary)"
            MIME-Version: 1.0

            --\(boundary)
            \(userPart)--\(boundary)
            Content-Type: text/cloud-config; charset="utf-8"
            MIME-Version: 1.0
            Content-Transfer-Encoding: 8bit

            \(ours)--\(boundary)--

            """
    }
}
