import Foundation
import OttoCore

private typealias A = AttributeName.App
private typealias HA = AttributeName.HAProxy
private typealias M = AttributeName.Machine

extension Project {
    /// The machine connection of `machine.SITE.GROUP[i]` as a map an `app` resource carries (references to the
    /// machine's own attributes), with its name.
    private static func appMachine(_ site: Site, _ group: String, _ i: Int) -> Value {
        let machine = machineAddress(site.name, group, i)
        var m: [String: Value] = [A.machineName: .string(site.machineName(group, i))]
        for (mine, theirs) in connectionAttributes { m[mine] = .ref(Value.Reference(machine, theirs)) }
        return .map(m)
    }

    /// The `apps` entries of the site's haproxy resource: a frontend and a backend per app with `lb:`, two server
    /// slots per machine of the app's group (`AppSlot`), independent of which release serves.
    func haproxyApps(_ site: Site) -> [Value] {
        site.apps.compactMap { app -> Value? in
            guard let lb = app.lb, let group = site.group(app.on.value) else { return nil }
            var slots: [Value] = []
            for i in 0..<group.count {
                let address = Value.ref(Value.Reference(Self.machineAddress(site.name, group.name, i), M.ipv4))
                for (slot, offset) in [("a", 0), ("b", 1)] {
                    slots.append(.map([HA.serverName: .string(site.machineName(group.name, i) + "_" + slot), HA.serverAddress: address,
                                       HA.serverPort: .int(app.port + offset)]))
                }
            }
            return .map([HA.appName: .string(app.name), HA.appBind: .string(lb.bind), HA.appHealthPath: .string(app.health.path),
                         HA.appHealthIntervalMS: .int(app.health.interval.milliseconds), HA.appSlots: .list(slots)])
        }
    }

    /// One `app` resource per app of the site (provider `apps`), carrying its bundle's digest: the release's identity.
    func expandApps(_ site: Site, into out: inout [Resource], reader r: ConfigReader) {
        let s = site.name
        for app in site.apps {
            guard let group = site.group(app.on.value) else { continue }
            let digest: String
            do { digest = try app.bundle.digest(root: root) } catch {
                // validation already said so when the bundle is missing on disk; an in-memory project has no files
                if r.onDisk { r.error(app.location, "app `\(app.name)`: \(error)") }
                digest = ""
            }
            var deps: [Dependency] = (0..<group.count).map { Dependency(Self.machineAddress(s, group.name, $0), at: app.on.location) }
            var attrs: [String: Value] = [
                A.name: .string(app.name), A.version: .string(app.version), A.digest: .string(digest),
                A.exec: .string(app.run.exec), A.port: .int(app.port),
                A.healthPath: .string(app.health.path), A.healthStatus: .int(app.health.status),
                A.healthIntervalMS: .int(app.health.interval.milliseconds), A.healthTimeoutMS: .int(app.health.timeout.milliseconds),
                A.minHealthyMS: .int(app.health.minHealthyTime.milliseconds), A.healthyDeadlineMS: .int(app.health.healthyDeadline.milliseconds),
                A.keep: .int(app.keep), A.drainTimeoutMS: .int(app.drainTimeout.milliseconds),
                A.watchMS: .int(app.watch.duration.milliseconds), A.watchMax5xxPerMille: .int(Int((app.watch.max5xxRate * 1000).rounded())),
                A.watchMaxConnectionErrors: .int(app.watch.maxConnectionErrors),
                A.machines: .list((0..<group.count).map { Self.appMachine(site, group.name, $0) }),
                A.backend: .string("app_\(app.name)"),
            ]
            switch app.bundle {
            case .directory(let p), .archive(let p): attrs[A.bundlePath] = .string(p)
            case .url(let u, _): attrs[A.bundleURL] = .string(u)
            }
            let pin = releasePins[AppReleasePin.itemName(site: s, app: app.name)]
            // In a later stage of the app's pipeline, builds only come by promotion: the app is held on the promoted
            // build whatever the site's version says now, and is not deployed at all before its first promotion.
            var promotedOnly = false
            if let env = environment?.name, let pipeline = pipelines[app.name], pipeline.site == nil || pipeline.site == s,
               pipeline.previous(env) != nil {
                promotedOnly = true
                if pin == nil {
                    r.bag.warning(app.location, "app `\(app.name)` enters \(env) only by promotion (pipelines/\(app.name).yml): `otto promote \(app.name) --to \(env)`; until then it is not deployed here")
                    continue
                }
            }
            if let pin {
                if promotedOnly || (pin.overVersion == app.version && (pin.overDigest == digest || !r.onDisk)) {
                    // held on a build: the machines copy it from a kept release, else it comes from otto's bundle store or the pin's URL
                    attrs[A.version] = .string(pin.version)
                    attrs[A.digest] = .string(pin.digest)
                    if pin.digest != digest {  // the site's own bundle is this build: it stays the source
                        attrs[A.bundlePath] = nil
                        attrs[A.bundleURL] = pin.bundleURL.map { .string($0) }
                    }
                    attrs[A.releaseReason] = .string(pin.reason)
                    if pin.rollback { attrs[A.rollbackOf] = .int(pin.release) }
                } else {
                    r.bag.warning(app.location, "app `\(app.name)` is no longer held on release \(pin.release) (\(pin.version)) by `\(pin.rollback ? "otto rollback" : "otto release")`: the site's version or bundle changed since (version \(app.version))")
                }
            }
            if app.run.user != "root" { attrs[A.user] = .string(app.run.user) }
            if !app.run.environment.isEmpty { attrs[A.environment] = .map(app.run.environment.mapValues { .string($0) }) }
            if let body = app.health.body { attrs[A.healthBody] = .string(body) }
            var hooks: [String: Value] = [:]
            if let h = app.hooks.beforeStart { hooks["before_start"] = .string(h) }
            if let h = app.hooks.afterStart { hooks["after_start"] = .string(h) }
            if let h = app.hooks.beforeStop { hooks["before_stop"] = .string(h) }
            if !hooks.isEmpty { attrs[A.hooks] = .map(hooks) }
            switch app.strategy {
            case .blueGreen: attrs[A.strategy] = "blue-green"
            case .rolling(.count(let n)): attrs[A.strategy] = .string("rolling:\(n)")
            case .rolling(.percent(let p)): attrs[A.strategy] = .string("rolling:\(p)%")
            }
            if app.lb != nil, let h = site.haproxy, let lbGroup = site.group(h.on.value) {
                attrs[A.balancers] = .list((0..<lbGroup.count).map { Self.appMachine(site, lbGroup.name, $0) })
                // the backend must be in haproxy's configuration (and haproxy running) before traffic moves
                deps += (0..<lbGroup.count).map { Dependency(ResourceAddress(kind: "service", name: "\(s).haproxy.\(lbGroup.name)[\($0)]"), at: app.location) }
            }
            out.append(Resource(address: ResourceAddress(kind: "app", name: "\(s).\(app.name)"), provider: "apps", attributes: attrs,
                                dependencies: deps, location: app.location))
        }
    }
}
