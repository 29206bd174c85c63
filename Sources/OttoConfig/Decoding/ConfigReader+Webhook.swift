import Foundation
import OttoCore

extension ConfigReader {
    /// Decodes `webhooks/NAME.yml`; `fileName` is NAME, which `webhook:` must repeat.
    func webhook(_ root: YAMLNode, fileName: String) -> WebhookSpec? {
        guard let f = fields(root, "a webhook", allowed: ["webhook", "url", "secret_env", "secret_file", "events", "environments"],
                             required: ["webhook", "url"]) else { return nil }
        guard let name = self.name(f["webhook"], "webhook name") else { return nil }
        if name != fileName {
            error(f["webhook"]?.location, "webhook `\(name)` is in webhooks/\(fileName).yml; name the file webhooks/\(name).yml")
        }
        var url: String?
        if let node = f["url"], let text = string(node) {
            if let u = URL(string: text), let host = u.host, !host.isEmpty,
               u.scheme == "https" || (u.scheme == "http" && ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)) {
                url = text
            } else {
                error(node.location, "a webhook's url is https (or http to a loopback address: 127.0.0.1, localhost), got \(Value.string(text))")
            }
        }
        let secretEnv = f["secret_env"].flatMap(string), secretFile = f["secret_file"].flatMap(string)
        if secretEnv == nil && secretFile == nil {
            error(root.location, "a webhook needs its signing secret: `secret_env: VARIABLE` or `secret_file: PATH` (never the secret itself)")
        } else if secretEnv != nil && secretFile != nil {
            error(f.keyLocation("secret_file"), "give `secret_env` or `secret_file`, not both")
        }
        var events: Set<LedgerEventKind> = []
        for item in f["events"].map({ list($0, "events") }) ?? [] {
            guard let text = string(item) else { continue }
            if let kind = LedgerEventKind(rawValue: text) { events.insert(kind) } else {
                var message = "unknown event \(Value.string(text)); events: \(LedgerEventKind.allCases.map(\.rawValue).joined(separator: ", "))"
                if let guess = EditDistance.closest(to: text, in: LedgerEventKind.allCases.map(\.rawValue)) { message += "; did you mean `\(guess)`?" }
                error(item.location, message)
            }
        }
        var environments: Set<String> = []
        for item in f["environments"].map({ list($0, "environments") }) ?? [] { if let e = self.name(item, "environment name") { environments.insert(e) } }
        guard let url else { return nil }
        return WebhookSpec(name: name, url: url, secretEnv: secretEnv, secretFile: secretFile, events: events,
                           environments: environments, location: root.location)
    }

    /// The items of a list node (an error and none for anything else).
    func list(_ node: YAMLNode, _ what: String) -> [YAMLNode] {
        guard let items = node.items else { error(node.location, "expected \(what) (a list), got \(node.kindDescription)"); return [] }
        return items
    }
}
