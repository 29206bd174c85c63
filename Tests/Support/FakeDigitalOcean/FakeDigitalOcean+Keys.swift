import Crypto
import Foundation

extension FakeDigitalOcean {
    /// `GET /v2/account/keys`.
    func listKeys(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        paginate(keys.values.sorted { $0.id < $1.id }.map(\.json), key: "ssh_keys", request)
    }

    /// `POST /v2/account/keys`: 201; 422 when the key is malformed or already in the account (any name).
    func createKey(_ request: FakeHTTPRequest) -> FakeHTTPResponse {
        guard let body = request.json else { return .unprocessable("request payload validation failed") }
        guard let name = body["name"]?.string, !name.trimmingCharacters(in: .whitespaces).isEmpty else {
            return .unprocessable("Name can't be blank")
        }
        guard let publicKey = body["public_key"]?.string, let fingerprint = Self.fingerprint(publicKey) else {
            return .unprocessable("Key invalid, key should be of the format `type key [comment]`")
        }
        if keys.values.contains(where: { $0.fingerprint == fingerprint }) {
            return .unprocessable("SSH Key is already in use on your account")
        }
        let key = FakeSSHKey(id: nextKeyID, name: name, publicKey: publicKey.trimmingCharacters(in: .whitespacesAndNewlines),
                             fingerprint: fingerprint)
        nextKeyID += 1
        keys[key.id] = key
        return .json(201, ["ssh_key": key.json])
    }

    /// `GET /v2/account/keys/{id or fingerprint}`.
    func getKey(_ identifier: String) -> FakeHTTPResponse {
        guard let key = findKey(identifier) else { return .notFound }
        return .json(200, ["ssh_key": key.json])
    }

    /// `PUT /v2/account/keys/{id or fingerprint}`: renames.
    func updateKey(_ identifier: String, _ request: FakeHTTPRequest) -> FakeHTTPResponse {
        guard var key = findKey(identifier) else { return .notFound }
        if let value = request.json?["name"] {
            guard let name = value.string, !name.isEmpty else { return .unprocessable("Name can't be blank") }
            key.name = name
        }
        keys[key.id] = key
        return .json(200, ["ssh_key": key.json])
    }

    /// `DELETE /v2/account/keys/{id or fingerprint}`.
    func deleteKey(_ identifier: String) -> FakeHTTPResponse {
        guard let key = findKey(identifier) else { return .notFound }
        keys.removeValue(forKey: key.id)
        return .noContent
    }

    private func findKey(_ identifier: String) -> FakeSSHKey? {
        if let id = Int(identifier) { return keys[id] }
        return keys.values.first { $0.fingerprint == identifier }
    }

    /// Adds a key directly (an unrelated key otto must leave alone, or one that exists before otto runs).
    @discardableResult
    public func seedKey(name: String, publicKey: String) -> Int? {
        guard let fingerprint = Self.fingerprint(publicKey), !keys.values.contains(where: { $0.fingerprint == fingerprint }) else {
            return nil
        }
        let key = FakeSSHKey(id: nextKeyID, name: name, publicKey: publicKey, fingerprint: fingerprint)
        nextKeyID += 1
        keys[key.id] = key
        return key.id
    }

    /// The MD5 fingerprint DigitalOcean reports (colon-separated hex of the MD5 of the key blob), or nil when
    /// `publicKey` is not `TYPE BASE64 [COMMENT]` with a blob that names the same type.
    public static func fingerprint(_ publicKey: String) -> String? {
        let fields = publicKey.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
        guard fields.count >= 2, let blob = Data(base64Encoded: String(fields[1])), blob.count > 4 else { return nil }
        let type = String(fields[0])
        let known = ["ssh-ed25519", "ssh-rsa", "ssh-dss", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384", "ecdsa-sha2-nistp521",
                     "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com"]
        guard known.contains(type) else { return nil }
        let bytes = [UInt8](blob)
        let length = Int(bytes[0]) << 24 | Int(bytes[1]) << 16 | Int(bytes[2]) << 8 | Int(bytes[3])
        guard length == type.utf8.count, bytes.count >= 4 + length, String(decoding: bytes[4..<(4 + length)], as: UTF8.self) == type else {
            return nil
        }
        return Insecure.MD5.hash(data: blob).map { String(format: "%02x", $0) }.joined(separator: ":")
    }
}
