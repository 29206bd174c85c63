import OttoCore

private typealias K = AttributeName.SSHKey

extension AWSProvider {
    /// One DescribeKeyPairs filtered by the requested names (and one by id for requests whose name did not match).
    func observeKeyPairs(_ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        let names = Set(requests.compactMap { $0.attributes[K.name]?.stringValue })
        var pairs: [EC2KeyPair] = []
        do {
            if !names.isEmpty { pairs = try await client.describeKeyPairs(filters: [("key-name", names.sorted())]) }
            let known = Set(pairs.map(\.id))
            let ids = Set(requests.compactMap(\.providerID).filter { !$0.isEmpty && !known.contains($0) })
            if !ids.isEmpty { pairs += try await client.describeKeyPairs(filters: [("key-pair-id", ids.sorted())]) }
        } catch {
            throw client.wrap(error, doing: "list key pairs")
        }
        var result: [ResourceAddress: ObservedResource] = [:]
        for request in requests {
            let pair = request.providerID.flatMap { id in pairs.first { $0.id == id } }
                ?? request.attributes[K.name]?.stringValue.flatMap { name in pairs.first { $0.name == name } }
            if let pair { result[request.address] = keyPairObservation(pair, desiredPublicKey: request.attributes[K.publicKey]?.stringValue) }
        }
        return result
    }

    /// The key pair as otto's attributes. `public_key` is the desired text when it is the same key (EC2 may drop or
    /// change the comment), so only a different key shows as a change.
    func keyPairObservation(_ pair: EC2KeyPair, desiredPublicKey: String?) -> ObservedResource {
        var publicKey: Value = pair.publicKey.map(Value.string) ?? .null
        if let desired = desiredPublicKey, let actual = pair.publicKey, Self.keyMaterial(desired) == Self.keyMaterial(actual) {
            publicKey = .string(desired)
        }
        return ObservedResource(providerID: pair.id, attributes: [
            K.name: .string(pair.name),
            K.publicKey: publicKey,
            K.fingerprint: .string(pair.fingerprint),
            "id": .string(pair.id),
            "owned": .bool(pair.tags["otto:managed"] == settings.tag),
        ])
    }

    /// `TYPE BASE64` of an OpenSSH public key line (the comment dropped).
    static func keyMaterial(_ line: String) -> String {
        line.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" || $0 == "\r" }).prefix(2).joined(separator: " ")
    }

    /// ImportKeyPair with otto's tag. A key pair of that name that already holds the same key is adopted (owned only
    /// when it carries otto's tag, e.g. an import whose answer was lost); one with another key is an error.
    func createKeyPair(_ resource: Resource) async throws -> ObservedResource {
        let address = resource.address
        let name = try AWSProvider.attributes.string(resource.attributes, K.name, of: address)
        let publicKey = try AWSProvider.attributes.string(resource.attributes, K.publicKey, of: address)
        let doing = "import key pair \(name) (\(address))"
        do {
            let pair = try await client.importKeyPair(name: name, publicKey: publicKey,
                                                      tags: [("otto:managed", settings.tag), ("otto:address", address.description)])
            return keyPairObservation(pair, desiredPublicKey: publicKey)
        } catch let error as AWSServiceError where error.code == "InvalidKeyPair.Duplicate" {
            return try await adoptKeyPair(name: name, publicKey: publicKey, address: address, cause: error)
        } catch where isAmbiguous(error) {
            return try await adoptKeyPair(name: name, publicKey: publicKey, address: address, cause: error)
        } catch {
            throw client.wrap(error, doing: doing)
        }
    }

    private func adoptKeyPair(name: String, publicKey: String, address: ResourceAddress, cause: any Error) async throws -> ObservedResource {
        let existing: EC2KeyPair?
        do {
            existing = try await client.describeKeyPairs(filters: [("key-name", [name])]).first
        } catch {
            throw client.wrap(error, doing: "look up key pair \(name) (\(address))")
        }
        guard let existing else { throw client.wrap(cause, doing: "import key pair \(name) (\(address))") }
        guard let actual = existing.publicKey, Self.keyMaterial(actual) == Self.keyMaterial(publicKey) else {
            throw OttoError("provider.aws.key_conflict",
                            "\(address): a key pair named \(name) already exists in \(settings.region) with a different public key; delete it, or point `ssh_key` at the key it holds",
                            causeText: "\(cause)")
        }
        return keyPairObservation(existing, desiredPublicKey: publicKey)
    }

    /// DeleteKeyPair, only for key pairs otto made (`owned`); others are left alone.
    func deleteKeyPair(_ address: ResourceAddress, current: ObservedResource) async throws {
        guard !current.providerID.isEmpty else { return }
        do {
            var owned = current.attributes["owned"]?.boolValue
            var name = current.attributes[K.name]?.stringValue
            if owned == nil {
                let pair = try await client.describeKeyPairs(filters: [("key-pair-id", [current.providerID])]).first
                owned = pair?.tags["otto:managed"] == settings.tag
                name = pair?.name ?? name
            }
            guard owned == true else { return }
            try await client.deleteKeyPair(name: name, id: current.providerID)
        } catch let error as AWSServiceError where error.code == "InvalidKeyPair.NotFound" {
            return
        } catch {
            throw client.wrap(error, doing: "delete key pair \(current.providerID) (\(address))")
        }
    }
}
