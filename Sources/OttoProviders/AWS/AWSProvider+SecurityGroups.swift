import OttoCore

private typealias G = AttributeName.SecurityGroup

extension AWSProvider {
    /// One paginated DescribeSecurityGroups of otto's groups (tag `otto:managed`), matched by providerID, else name;
    /// then one call by id and one by name for requests still unmatched (imports, groups otto did not create).
    func observeSecurityGroups(_ requests: [ObserveRequest]) async throws -> [ResourceAddress: ObservedResource] {
        var groups: [EC2SecurityGroup]
        do {
            groups = try await client.describeSecurityGroups(filters: [("tag:otto:managed", [settings.tag])])
            func unmatched() -> [ObserveRequest] { requests.filter { match($0, in: groups) == nil } }
            let ids = Set(unmatched().compactMap(\.providerID).filter { !$0.isEmpty })
            if !ids.isEmpty { groups += try await client.describeSecurityGroups(filters: [("group-id", ids.sorted())]) }
            let names = Set(unmatched().filter { $0.providerID?.isEmpty != false }.compactMap { $0.attributes[G.name]?.stringValue })
            if !names.isEmpty { groups += try await client.describeSecurityGroups(filters: [("group-name", names.sorted())]) }
        } catch {
            throw client.wrap(error, doing: "list security groups")
        }
        var result: [ResourceAddress: ObservedResource] = [:]
        for request in requests {
            if let group = match(request, in: groups) { result[request.address] = securityGroupObservation(group) }
        }
        return result
    }

    /// The group for a request: by providerID when it has one (otherwise it is gone), else by name, otto's first.
    private func match(_ request: ObserveRequest, in groups: [EC2SecurityGroup]) -> EC2SecurityGroup? {
        if let id = request.providerID, !id.isEmpty { return groups.first { $0.id == id } }
        guard let name = request.attributes[G.name]?.stringValue else { return nil }
        let named = groups.filter { $0.name == name }
        return named.first { $0.tags["otto:managed"] == settings.tag } ?? named.first
    }

    /// The group as otto's attributes; `ingress` as maps `{protocol, port, cidr}` (`to_port` for a range).
    func securityGroupObservation(_ group: EC2SecurityGroup) -> ObservedResource {
        ObservedResource(providerID: group.id, attributes: [
            G.name: .string(group.name),
            G.description: .string(group.description),
            G.ingress: .list(Set(group.ingress).sorted().map(Self.ingressValue)),
            G.id: .string(group.id),
            "vpc_id": group.vpcID.map(Value.string) ?? .null,
            "owned": .bool(group.tags["otto:managed"] == settings.tag),
        ])
    }

    static func ingressValue(_ rule: IngressRule) -> Value {
        var map: [String: Value] = [AttributeName.SecurityGroup.ruleProtocol: .string(rule.protocol), AttributeName.SecurityGroup.ruleCIDR: .string(rule.cidr)]
        if let from = rule.fromPort { map[AttributeName.SecurityGroup.rulePort] = .int(from) }
        if let to = rule.toPort, to != rule.fromPort { map["to_port"] = .int(to) }
        return .map(map)
    }

    /// The desired rules: each map's `protocol` (default tcp), `port`, optional `to_port`, `cidr` (default 0.0.0.0/0).
    func desiredIngress(_ resource: Resource) throws -> [IngressRule] {
        let address = resource.address
        guard let value = resource.attributes[G.ingress], value != .null else { return [] }
        guard let list = value.listValue else {
            throw OttoError("provider.aws.attribute", "\(address): 'ingress' must be a list of {protocol, port, cidr} maps")
        }
        return try list.map { item in
            guard let map = item.mapValue else {
                throw OttoError("provider.aws.attribute", "\(address): every 'ingress' rule must be a map {protocol, port, cidr}, got \(item)")
            }
            func port(_ key: String) throws -> Int? {
                switch map[key] {
                case nil, .null?: return nil
                case .int(let n)? where (0...65535).contains(n): return n
                case .string(let text)?: if let n = Int(text), (0...65535).contains(n) { return n }
                default: break
                }
                throw OttoError("provider.aws.attribute", "\(address): ingress '\(key)' must be a port number, got \(map[key]!)")
            }
            let proto = map[AttributeName.SecurityGroup.ruleProtocol]?.stringValue?.lowercased() ?? "tcp"
            let from = try port(AttributeName.SecurityGroup.rulePort)
            guard from != nil || proto == "-1" else {
                throw OttoError("provider.aws.attribute", "\(address): ingress rule \(item) needs a 'port'")
            }
            return IngressRule(protocol: proto, fromPort: from, toPort: try port("to_port") ?? from,
                               cidr: map[AttributeName.SecurityGroup.ruleCIDR]?.stringValue ?? "0.0.0.0/0")
        }
    }

    /// CreateSecurityGroup with otto's tag, then the ingress rules. A group of that name that already exists (a lost
    /// answer, or someone else's) is adopted; it stays `owned: false` unless it carries otto's tag.
    func createSecurityGroup(_ resource: Resource) async throws -> ObservedResource {
        let address = resource.address
        let name = try AWSProvider.attributes.string(resource.attributes, G.name, of: address)
        let description = try AWSProvider.attributes.optionalString(resource.attributes, G.description, of: address) ?? "otto \(name)"
        let rules = try desiredIngress(resource)
        var id: String
        do {
            id = try await client.createSecurityGroup(name: name, description: description,
                                                      tags: [("otto:managed", settings.tag), ("otto:address", address.description)])
        } catch let error as AWSServiceError where error.code == "InvalidGroup.Duplicate" {
            id = try await existingGroupID(named: name, address: address, cause: error)
        } catch where isAmbiguous(error) {
            id = try await existingGroupID(named: name, address: address, cause: error)
        } catch {
            throw client.wrap(error, doing: "create security group \(name) (\(address))")
        }
        return try await setIngress(groupID: id, rules, address: address)
    }

    private func existingGroupID(named name: String, address: ResourceAddress, cause: any Error) async throws -> String {
        let found: [EC2SecurityGroup]
        do {
            found = try await client.describeSecurityGroups(filters: [("group-name", [name])])
        } catch {
            throw client.wrap(error, doing: "look up security group \(name) (\(address))")
        }
        guard let group = found.first(where: { $0.tags["otto:managed"] == settings.tag }) ?? found.first else {
            throw client.wrap(cause, doing: "create security group \(name) (\(address))")
        }
        return group.id
    }

    /// Authorizes missing rules and revokes extra ones.
    func updateSecurityGroup(_ resource: Resource, current: ObservedResource) async throws -> ObservedResource {
        try await setIngress(groupID: current.providerID, try desiredIngress(resource), address: resource.address)
    }

    /// Reads the group, authorizes what `rules` adds and revokes what it drops, and returns the group as it is now.
    private func setIngress(groupID: String, _ rules: [IngressRule], address: ResourceAddress) async throws -> ObservedResource {
        do {
            guard var group = try await client.describeSecurityGroups(filters: [("group-id", [groupID])]).first else {
                throw OttoError("provider.aws.missing", "\(address): security group \(groupID) no longer exists; plan again to create it")
            }
            let want = Set(rules)
            let have = Set(group.ingress)
            let add = want.subtracting(have).sorted()
            let drop = have.subtracting(want).sorted()
            try await changeIngress("AuthorizeSecurityGroupIngress", groupID: groupID, add, tolerating: "InvalidPermission.Duplicate")
            try await changeIngress("RevokeSecurityGroupIngress", groupID: groupID, drop, tolerating: "InvalidPermission.NotFound")
            group.ingress = Array(want)
            return securityGroupObservation(group)
        } catch let error as OttoError {
            throw error
        } catch {
            throw client.wrap(error, doing: "set the ingress rules of security group \(groupID) (\(address))")
        }
    }

    /// One call for all rules; when EC2 refuses it because one rule is already there (or already gone), the rules
    /// are sent one by one and that refusal is ignored.
    private func changeIngress(_ action: String, groupID: String, _ rules: [IngressRule], tolerating code: String) async throws {
        do {
            try await client.changeIngress(action, groupID: groupID, rules)
        } catch let error as AWSServiceError where error.code == code {
            guard rules.count > 1 else { return }
            for rule in rules {
                do {
                    try await client.changeIngress(action, groupID: groupID, [rule])
                } catch let error as AWSServiceError where error.code == code {
                    continue
                }
            }
        }
    }

    /// DeleteSecurityGroup for groups otto made; retried while EC2 says instances still use it (they are terminating),
    /// up to `settings.dependencyTimeout`.
    func deleteSecurityGroup(_ address: ResourceAddress, current: ObservedResource) async throws {
        let id = current.providerID
        guard !id.isEmpty else { return }
        let clock = ContinuousClock()
        let deadline = clock.now + settings.dependencyTimeout
        do {
            var owned = current.attributes["owned"]?.boolValue
            if owned == nil {
                owned = try await client.describeSecurityGroups(filters: [("group-id", [id])]).first?.tags["otto:managed"] == settings.tag
            }
            guard owned == true else { return }
            while true {
                do {
                    try await client.deleteSecurityGroup(id: id)
                    return
                } catch let error as AWSServiceError where error.code == "DependencyViolation" && clock.now < deadline {
                    try await Task.sleep(for: max(settings.pollInterval, .milliseconds(100)))
                }
            }
        } catch let error as AWSServiceError where error.code == "InvalidGroup.NotFound" {
            return
        } catch let error as AWSServiceError where error.code == "DependencyViolation" {
            throw OttoError("provider.aws.in_use",
                            "AWS refused to delete security group \(id) (\(address)): \(error); instances or network interfaces still use it",
                            causeText: error.httpDescription)
        } catch {
            throw client.wrap(error, doing: "delete security group \(id) (\(address))")
        }
    }
}
