import HTTPTypes
import OttoCore

/// What the routes call for desired state: the `DesiredStateStore` the CLI provides (the configuration layer's
/// implementation), with its answers as response buffers and its refusals as `APIError`s. The server never sees YAML
/// or the project.
struct DesiredStateAPI: Sendable {
    /// The store every read and write goes to.
    let store: any DesiredStateStore

    /// The desired state now.
    var snapshot: Snapshot { Snapshot(view: store.current) }

    /// The desired state at one moment, as response bodies.
    struct Snapshot: Sendable {
        let view: any DesiredStateView

        /// `GET /inv`.
        var inventoryBody: [UInt8] { view.inventoryBody }
        /// `GET /inv/{item}` bodies by host name.
        var hostBodies: Bodies { Bodies(view: view, kind: .host) }
        /// `GET /dom/ns/{domain}` bodies by domain.
        var nameserverBodies: Bodies { Bodies(view: view, kind: .nameservers) }
        /// `GET /dom/dns/{domain}` bodies by domain.
        var recordBodies: Bodies { Bodies(view: view, kind: .records) }
        /// The desired resources (for plan answers).
        var resources: [Resource] { view.resources }
        /// The YAML site `name`, if any.
        func site(named name: String) -> SiteSummary? { view.site(named: name) }
        /// The YAML sites declaring app `app` (only `site` when given); 404 when there are none.
        func releaseSites(app: String, site: String?) throws(APIError) -> [String] {
            do { return try view.releaseSites(app: app, site: site) } catch { throw APIError(error) }
        }
    }

    /// One kind of read answer, looked up by host name or domain.
    struct Bodies: Sendable {
        let view: any DesiredStateView
        let kind: APIItemKind

        subscript(_ name: String) -> [UInt8]? {
            switch kind {
            case .host: return view.hostBody(name)
            case .nameservers: return view.nameserversBody(name)
            case .records: return view.recordsBody(name)
            case .release: return nil
            }
        }
    }

    /// Outcome of a write: whether it created the item, and the state after it.
    struct Written: Sendable {
        var created: Bool
        var snapshot: Snapshot

        init(_ write: DesiredStateWrite) {
            created = write.created
            snapshot = Snapshot(view: write.state)
        }
    }

    /// Re-reads the YAML files when they changed.
    func reloadIfFilesChanged() async { await store.reloadIfFilesChanged() }

    /// `POST /inv/{item}`.
    func putHost(_ name: String, body: [UInt8]) async throws(APIError) -> Written {
        do { return Written(try await store.putHost(name, body: body)) } catch { throw APIError(error) }
    }

    /// `DELETE /inv/{item}`.
    func deleteHost(_ name: String) async throws(APIError) {
        do { try await store.deleteHost(name) } catch { throw APIError(error) }
    }

    /// `POST /dom/ns/{domain}`.
    func setNameservers(_ domain: String, nameservers: [String], provider: String?) async throws(APIError) -> Written {
        do { return Written(try await store.setNameservers(domain, nameservers: nameservers, provider: provider)) } catch { throw APIError(error) }
    }

    /// `DELETE /dom/ns/{domain}`.
    func deleteNameservers(_ domain: String) async throws(APIError) {
        do { try await store.deleteNameservers(domain) } catch { throw APIError(error) }
    }

    /// `PUT /dom/dns/{domain}`.
    func putRecords(_ domain: String, body: [UInt8]?, recs: [RecordQuery], provider: String?) async throws(APIError) -> Written {
        do {
            return Written(try await store.putRecords(domain, body: body, edits: recs.map(\.edit), provider: provider))
        } catch {
            throw APIError(error)
        }
    }

    /// `DELETE /dom/dns/{domain}`.
    func deleteRecords(_ domain: String, recs: [RecordQuery]) async throws(APIError) {
        do { try await store.deleteRecords(domain, edits: recs.map(\.edit)) } catch { throw APIError(error) }
    }

    /// `PUT /site/walk/{site}?params=…`: the walk settings, or 422 with located diagnostics.
    func walkSpec(params: String, site: String, domain: String) throws(APIError) -> WalkSpec {
        do { return try store.walkSpec(params: params, site: site, domain: domain) } catch { throw APIError(error) }
    }
}

extension RecordQuery {
    /// The edit the desired state store applies.
    var edit: RecordSetEdit { RecordSetEdit(name: name, type: type, ttl: ttl, value: value) }
}

extension APIError {
    /// The answer for a refused read or write of desired state.
    init(_ error: DesiredStateError) {
        switch error {
        case .badRequest(let code, let message, let details): self.init(.badRequest, code, message, details: details)
        case .notFound(let message): self = .notFound(message)
        case .yamlOwned(let what, let location): self = .yamlOwned(what, at: location)
        case .conflict(let code, let message): self.init(.conflict, code, message)
        case .invalid(let diagnostics): self = .invalid(diagnostics)
        case .unavailable(let message): self.init(.serviceUnavailable, "state.unavailable", message)
        }
    }
}
