import OttoCore

/// `/inv`: inventory hosts, from YAML (read-only) and from the API.
extension APIHandlers {
    func listInventory(_ input: Operations.listInventory.Input) async throws -> Operations.listInventory.Output {
        .ok(.init(body: .json(try stored(desired.snapshot.inventoryBody))))
    }

    func getHost(_ input: Operations.getHost.Input) async throws -> Operations.getHost.Output {
        let name = input.path.item
        guard let body = desired.snapshot.hostBodies[name] else { throw APIError.notFound("no inventory host `\(name)`") }
        return .ok(.init(body: .json(try stored(body))))
    }

    func postHost(_ input: Operations.postHost.Input) async throws -> Operations.postHost.Output {
        let name = input.path.item
        let written = try await desired.putHost(name, body: try body())
        let host = try written.snapshot.hostBodies[name].map { bytes throws(APIError) in try stored(bytes) } ?? .object([])
        if written.created { return .created(.init(headers: .init(Location: "/inv/" + name), body: .json(host))) }
        return .ok(.init(body: .json(host)))
    }

    func deleteHost(_ input: Operations.deleteHost.Input) async throws -> Operations.deleteHost.Output {
        try await desired.deleteHost(input.path.item)
        return .noContent(.init())
    }
}
