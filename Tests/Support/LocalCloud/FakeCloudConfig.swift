import Foundation
import OttoConfig
import OttoCore

/// The part of cloud-init a cloud machine's ssh depends on: what a create's user data asks of the host keys and of
/// the login user's authorized keys. `LocalCloudMachines` (behind the fake DigitalOcean's droplets and moto's
/// instances) applies it to the machine's root before the first boot, where cloud-init would (before sshd starts).
///
/// Understood: a `#cloud-config` document, alone or as the `text/cloud-config` parts of a MIME `multipart/mixed`
/// document (7bit, 8bit or base64 parts; several cloud-config parts are merged in order, later keys winning and
/// `ssh_authorized_keys` adding up). From it: `ssh_deletekeys` (default true), `ssh_genkeytypes` (default rsa,
/// ecdsa, ed25519), `ssh_keys` with `ed25519_private` and `ed25519_public`, and `ssh_authorized_keys` (for the
/// cloud's default user: root on DigitalOcean, `admin` on Debian's AMIs).
///
/// Not run, and listed in `ignored`: scripts (user data starting with `#!`, `text/x-shellscript` parts, boothooks),
/// other MIME parts, and cloud-config keys beyond those above (`runcmd`, `packages`, `write_files`, ...).
///
/// Refused with a reason (`FakeCloudConfigError`): user data of no known format (`#include` and other formats that
/// need a network or a part handler), YAML that does not parse, keys of the wrong shape, host keys other than
/// ed25519 (the images serve ed25519 only), half a key pair, and text that is not a key where a key belongs.
public struct FakeCloudConfig: Sendable, Hashable {
    /// `ssh_deletekeys`: remove the image's host keys first.
    public var deleteKeys = true
    /// `ssh_genkeytypes`: the host key types generated when missing.
    public var generateKeyTypes = ["rsa", "ecdsa", "ed25519"]
    /// `ssh_keys.ed25519_private`: the OpenSSH private key text.
    public var hostPrivateKey: String?
    /// `ssh_keys.ed25519_public`: `ssh-ed25519 AAAA… [comment]`.
    public var hostPublicKey: String?
    /// `ssh_authorized_keys`: public key lines for the default user (root on DigitalOcean).
    public var authorizedKeys: [String] = []
    /// `disable_root` (cloud-init's default true): when false, the keys given to the login user are root's too.
    public var disableRoot = true
    /// What was not applied, one line each (`text/x-shellscript part (not run)`, `cloud-config key runcmd`).
    public var ignored: [String] = []

    /// cloud-init's defaults (empty user data).
    public init() {}

    /// Reads `userData` (nil or blank: the defaults).
    public static func parse(_ userData: String?) throws(FakeCloudConfigError) -> FakeCloudConfig {
        var config = FakeCloudConfig()
        guard let raw = userData, !raw.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { return config }
        try config.read(raw.replacingOccurrences(of: "\r\n", with: "\n"), what: "user data", mimeAllowed: true)
        return config
    }

    /// Reads one document: cloud-config, a script, or (at the top) a MIME document.
    private mutating func read(_ text: String, what: String, mimeAllowed: Bool) throws(FakeCloudConfigError) {
        let firstLine = String(text.prefix { $0 != "\n" }).trimmingCharacters(in: .whitespaces)
        if firstLine.hasPrefix("#cloud-config") {
            try readCloudConfig(text, what: what)
        } else if firstLine.hasPrefix("#!") || firstLine.hasPrefix("#cloud-boothook") {
            ignored.append("\(what): a script (not run)")
        } else if mimeAllowed, firstLine.lowercased().hasPrefix("content-type:") || firstLine.lowercased().hasPrefix("mime-version:") {
            try readMIME(text, what: what)
        } else {
            throw FakeCloudConfigError("\(what) is neither a #cloud-config document, a MIME multipart document nor a #! script (it starts \(Self.quote(firstLine)))")
        }
    }

    // MARK: MIME

    /// A MIME entity: its headers (names lower-cased, folded lines joined) and its body.
    private static func entity(_ text: String) -> (headers: [String: String], body: String) {
        var headers: [String: String] = [:]
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
        var last: String?
        while let line = lines.first, !line.trimmingCharacters(in: .whitespaces).isEmpty {
            lines = lines.dropFirst()
            if line.first == " " || line.first == "\t", let name = last {
                headers[name, default: ""] += " " + line.trimmingCharacters(in: .whitespaces)
            } else if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                headers[name] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                last = name
            }
        }
        return (headers, lines.dropFirst().joined(separator: "\n"))
    }

    /// `type/subtype` (lower-cased) and the parameters of a Content-Type value.
    private static func contentType(_ value: String?) -> (type: String, parameters: [String: String]) {
        let fields = (value ?? "text/plain").split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        var parameters: [String: String] = [:]
        for field in fields.dropFirst() {
            guard let equals = field.firstIndex(of: "=") else { continue }
            var text = field[field.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if text.count >= 2, text.hasPrefix("\""), text.hasSuffix("\"") { text = String(text.dropFirst().dropLast()) }
            parameters[field[..<equals].trimmingCharacters(in: .whitespaces).lowercased()] = text
        }
        return ((fields.first ?? "text/plain").lowercased(), parameters)
    }

    private mutating func readMIME(_ text: String, what: String) throws(FakeCloudConfigError) {
        let (headers, body) = Self.entity(text)
        try readPart(headers: headers, body: body, what: what)
    }

    private mutating func readPart(headers: [String: String], body: String, what: String) throws(FakeCloudConfigError) {
        let (type, parameters) = Self.contentType(headers["content-type"])
        var content = body
        switch headers["content-transfer-encoding"]?.lowercased() {
        case nil, "7bit", "8bit", "binary":
            break
        case "base64":
            let compact = body.filter { !$0.isWhitespace }
            guard let data = Data(base64Encoded: compact), let decoded = String(data: data, encoding: .utf8) else {
                throw FakeCloudConfigError("\(what): a base64 part does not decode to UTF-8 text")
            }
            content = decoded.replacingOccurrences(of: "\r\n", with: "\n")
        case let other?:
            throw FakeCloudConfigError("\(what): Content-Transfer-Encoding \(other) is not supported (use 7bit or base64)")
        }
        if type.hasPrefix("multipart/") {
            guard let boundary = parameters["boundary"], !boundary.isEmpty else {
                throw FakeCloudConfigError("\(what): \(type) without a boundary parameter")
            }
            let parts = try Self.split(content, boundary: boundary, what: what)
            for (index, part) in parts.enumerated() {
                let (partHeaders, partBody) = Self.entity(part)
                try readPart(headers: partHeaders, body: partBody, what: "\(what) part \(index + 1)")
            }
            return
        }
        switch type {
        case "text/cloud-config":
            try readCloudConfig(content, what: what)
        case "text/x-shellscript", "text/cloud-boothook", "text/x-shellscript-per-boot", "text/x-shellscript-per-instance",
             "text/x-shellscript-per-once":
            ignored.append("\(what): \(type) (not run)")
        case "text/plain", "text/x-not-multipart":
            // cloud-init reads a plain part by its first line, as it reads the whole user data.
            try read(content, what: what, mimeAllowed: false)
        default:
            ignored.append("\(what): \(type) (not applied)")
        }
    }

    /// The parts of a multipart body: between `--boundary` lines, up to `--boundary--`.
    private static func split(_ body: String, boundary: String, what: String) throws(FakeCloudConfigError) -> [String] {
        var parts: [String] = []
        var current: [String]?
        var closed = false
        for line in body.split(separator: "\n", omittingEmptySubsequences: false) {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            if trimmed == "--" + boundary + "--" {
                if let current { parts.append(current.joined(separator: "\n")) }
                current = nil
                closed = true
                break
            }
            if trimmed == "--" + boundary {
                if let current { parts.append(current.joined(separator: "\n")) }
                current = []
                continue
            }
            current?.append(String(line))
        }
        if let current { parts.append(current.joined(separator: "\n")) }
        guard !parts.isEmpty else { throw FakeCloudConfigError("\(what): no part separated by --\(boundary)") }
        guard closed else { throw FakeCloudConfigError("\(what): the multipart document does not end with --\(boundary)--") }
        return parts
    }

    // MARK: cloud-config

    private mutating func readCloudConfig(_ text: String, what: String) throws(FakeCloudConfigError) {
        let documents: [YAMLNode]
        do {
            documents = try YAMLReader.parse(text, displayPath: what)
        } catch {
            throw FakeCloudConfigError("\(what): the #cloud-config is not valid YAML: \(error)")
        }
        guard documents.count <= 1 else { throw FakeCloudConfigError("\(what): the #cloud-config holds \(documents.count) YAML documents, not one") }
        guard let root = documents.first else { return }
        if case .scalar(let value, _) = root.content, value.isEmpty || value == "null" || value == "~" { return }
        guard case .mapping(let entries) = root.content else {
            throw FakeCloudConfigError("\(what): the #cloud-config is not a mapping of keys")
        }
        for entry in entries {
            guard case .scalar(let key, _) = entry.key.content else { throw FakeCloudConfigError("\(what): a key is not a plain name") }
            let value = entry.value
            switch key {
            case "ssh_deletekeys":
                deleteKeys = try Self.bool(value, "\(what): ssh_deletekeys")
            case "ssh_genkeytypes":
                generateKeyTypes = try Self.strings(value, "\(what): ssh_genkeytypes")
            case "ssh_authorized_keys":
                for key in try Self.strings(value, "\(what): ssh_authorized_keys") {
                    guard Self.isPublicKeyLine(key) else {
                        throw FakeCloudConfigError("\(what): ssh_authorized_keys holds \(Self.quote(key)), which is not a public key line")
                    }
                    authorizedKeys.append(key.trimmingCharacters(in: .whitespacesAndNewlines))
                }
            case "ssh_keys":
                try readSSHKeys(value, what: what)
            case "disable_root":
                disableRoot = try Self.bool(value, "\(what): disable_root")
            default:
                ignored.append("\(what): cloud-config key \(key) (not applied)")
            }
        }
        if (hostPrivateKey == nil) != (hostPublicKey == nil) {
            throw FakeCloudConfigError("\(what): ssh_keys gives \(hostPrivateKey == nil ? "ed25519_public without ed25519_private" : "ed25519_private without ed25519_public"): give both")
        }
    }

    private mutating func readSSHKeys(_ node: YAMLNode, what: String) throws(FakeCloudConfigError) {
        guard case .mapping(let entries) = node.content else { throw FakeCloudConfigError("\(what): ssh_keys is not a mapping") }
        for entry in entries {
            guard case .scalar(let name, _) = entry.key.content else { throw FakeCloudConfigError("\(what): a key of ssh_keys is not a plain name") }
            guard case .scalar(let text, _) = entry.value.content else {
                throw FakeCloudConfigError("\(what): ssh_keys.\(name) is not text (write a private key as a `|` block)")
            }
            switch name {
            case "ed25519_private":
                guard text.contains("-----BEGIN "), text.contains("PRIVATE KEY-----"), text.contains("-----END ") else {
                    throw FakeCloudConfigError("\(what): ssh_keys.ed25519_private is not a private key (no -----BEGIN … PRIVATE KEY----- block)")
                }
                hostPrivateKey = text.hasSuffix("\n") ? text : text + "\n"
            case "ed25519_public":
                let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
                guard line.hasPrefix("ssh-ed25519 "), Self.isPublicKeyLine(line) else {
                    throw FakeCloudConfigError("\(what): ssh_keys.ed25519_public is not an `ssh-ed25519 AAAA…` line")
                }
                hostPublicKey = line
            case "ed25519_certificate":
                ignored.append("\(what): ssh_keys.ed25519_certificate (not applied)")
            default:
                throw FakeCloudConfigError("\(what): ssh_keys.\(name) cannot be used: the images' sshd serves one ed25519 host key (give ed25519_private and ed25519_public)")
            }
        }
    }

    private static func bool(_ node: YAMLNode, _ what: String) throws(FakeCloudConfigError) -> Bool {
        if case .scalar(let text, .plain) = node.content {
            switch text.lowercased() {
            case "true", "yes", "on": return true
            case "false", "no", "off": return false
            default: break
            }
        }
        throw FakeCloudConfigError("\(what) must be true or false")
    }

    private static func strings(_ node: YAMLNode, _ what: String) throws(FakeCloudConfigError) -> [String] {
        switch node.content {
        case .scalar(let text, .plain) where text.isEmpty || text == "null" || text == "~":
            return []
        case .sequence(let items):
            var out: [String] = []
            for item in items {
                guard case .scalar(let text, _) = item.content else { throw FakeCloudConfigError("\(what) must be a list of strings") }
                out.append(text)
            }
            return out
        default:
            throw FakeCloudConfigError("\(what) must be a list of strings")
        }
    }

    /// `TYPE BASE64 [COMMENT]` on one line, with a base64 blob.
    private static func isPublicKeyLine(_ text: String) -> Bool {
        let line = text.trimmingCharacters(in: .whitespacesAndNewlines)
        let fields = line.split(separator: " ", omittingEmptySubsequences: true)
        return !line.contains("\n") && fields.count >= 2 && Data(base64Encoded: String(fields[1])) != nil
    }

    private static func quote(_ text: String) -> String {
        Value.string(text.count > 60 ? String(text.prefix(60)) + "…" : text).description
    }
}

/// User data a backing cannot apply, with the reason.
public struct FakeCloudConfigError: Error, Sendable, CustomStringConvertible {
    /// Why.
    public var message: String
    /// Creates an error.
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}
