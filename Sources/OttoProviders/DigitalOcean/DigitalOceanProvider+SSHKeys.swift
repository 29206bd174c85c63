import Crypto
import Foundation
import OttoCore
import OttoHTTP

private typealias K = AttributeName.SSHKey

extension DigitalOceanProvider {
    /// The fingerprint DigitalOcean gives a public key: the MD5 of the key blob, as colon-separated hex. Nil when
    /// `publicKey` is not `TYPE BASE64 [COMMENT]`.
    static func fingerprint(_ publicKey: String) -> String? {
        let fields = publicKey.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" })
        guard fields.count >= 2, let blob = Data(base64Encoded: String(fields[1])), !blob.isEmpty else { return nil }
        return Insecure.MD5.hash(data: blob).map { String(format: "%02x", $0) }.joined(separator: ":")
    }

    /// One paginated list of the account's keys; each request is matched by id, else by the fingerprint of its
    /// `public_key`, else by name.
    func observeKeys(_ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        let keys = try await listKeys()
        var result: [ResourceAddress: ObservedResource] = [:]
        for request in requests {
            let wantedName = request.attributes[K.name]?.stringValue
            let wantedKey = request.attributes[K.publicKey]?.stringValue
            let key: DigitalOceanModel.SSHKey?
            if let text = request.providerID, !text.isEmpty {
                key = keys.first { String($0.id) == text || $0.fingerprint == text }
            } else if let fingerprint = wantedKey.flatMap(Self.fingerprint), let match = keys.first(where: { $0.fingerprint == fingerprint }) {
                key = match
            } else {
                key = wantedName.flatMap { name in keys.first { $0.name == name } }
            }
            if let key { result[request.address] = keyObservation(key, wantedName: wantedName, wantedKey: wantedKey) }
        }
        return result
    }

    func listKeys() async throws -> [DigitalOceanModel.SSHKey] {
        do {
            return try await api.list(DigitalOceanModel.SSHKey.self, "/v2/account/keys", key: "ssh_keys")
        } catch {
            throw api.wrap(error, doing: "list the account's SSH keys")
        }
    }

    /// `public_key` is reported as configured when the fingerprints agree (DigitalOcean may trim what was uploaded);
    /// `owned` is false for a key that carries another name than otto's (it existed before otto adopted it).
    func keyObservation(_ key: DigitalOceanModel.SSHKey, wantedName: String?, wantedKey: String?) -> ObservedResource {
        let publicKey = wantedKey.flatMap { Self.fingerprint($0) == key.fingerprint ? $0 : nil } ?? key.publicKey
        return ObservedResource(providerID: String(key.id), attributes: [
            K.name: .string(key.name),
            K.publicKey: .string(publicKey),
            K.fingerprint: .string(key.fingerprint),
            "owned": .bool(wantedName == nil || wantedName == key.name),
        ])
    }

    /// POST /v2/account/keys. A key already in the account (422 "already in use", also what a retried create whose
    /// answer was lost gets) is adopted: found by fingerprint, `owned: false` when it carries another name.
    func createKey(_ resource: Resource) async throws -> ObservedResource {
        let address = resource.address
        let name = try Self.attributes.string(resource.attributes, K.name, of: address)
        let publicKey = try Self.attributes.string(resource.attributes, K.publicKey, of: address)
        guard let fingerprint = Self.fingerprint(publicKey) else {
            throw OttoError("provider.digitalocean.attribute", "\(address): public_key is not an OpenSSH public key (TYPE BASE64 [COMMENT])")
        }
        let action = "add SSH key \(name) (\(address))"
        do {
            let response = try await api.send(.post, "/v2/account/keys", body: DigitalOceanModel.NewKey(name: name, publicKey: publicKey),
                                              idempotent: true)
            let key = try DigitalOceanAPI.decode(DigitalOceanModel.SSHKeyEnvelope.self, from: response).sshKey
            return keyObservation(key, wantedName: name, wantedKey: publicKey)
        } catch let error as HTTPError where error.status == 422 {
            guard let existing = try await listKeys().first(where: { $0.fingerprint == fingerprint }) else {
                throw api.wrap(error, doing: action)
            }
            return keyObservation(existing, wantedName: name, wantedKey: publicKey)
        } catch {
            throw api.wrap(error, doing: action)
        }
    }

    /// Renames an owned key (PUT); an adopted key is left as it is.
    func updateKey(_ resource: Resource, current: ObservedResource) async throws -> ObservedResource {
        let name = try Self.attributes.string(resource.attributes, K.name, of: resource.address)
        guard current.attributes["owned"] != .bool(false), current.attributes[K.name]?.stringValue != name else { return current }
        do {
            let response = try await api.send(.put, "/v2/account/keys/\(DigitalOceanAPI.segment(current.providerID))",
                                              body: DigitalOceanModel.KeyRename(name: name), idempotent: true)
            let key = try DigitalOceanAPI.decode(DigitalOceanModel.SSHKeyEnvelope.self, from: response).sshKey
            return keyObservation(key, wantedName: name, wantedKey: resource.attributes[K.publicKey]?.stringValue)
        } catch {
            throw api.wrap(error, doing: "rename SSH key \(current.providerID) to \(name) (\(resource.address))")
        }
    }

    /// DELETE /v2/account/keys/ID, unless the key is not otto's (`owned: false`); a key already gone is fine.
    func deleteKey(_ address: ResourceAddress, current: ObservedResource) async throws {
        if current.attributes["owned"] == .bool(false) { return }
        let id = current.providerID.isEmpty ? (current.attributes[K.fingerprint]?.stringValue ?? "") : current.providerID
        guard !id.isEmpty else { return }
        do {
            _ = try await api.send(.delete, "/v2/account/keys/\(DigitalOceanAPI.segment(id))", idempotent: true)
        } catch let error as HTTPError where error.status == 404 {
            return
        } catch {
            throw api.wrap(error, doing: "delete SSH key \(id) (\(address))")
        }
    }
}
