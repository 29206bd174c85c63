import Foundation
import Logging
import OttoConfig
import OttoCore
import OttoEngine
import OttoPlan
import OttoServer
import OttoState
import ServiceLifecycle

/// Carries out the deployments the ledger asks of this environment (totem's orchestrator role): a deployment created
/// over the API (`POST /v1/deployments`, or `POST /v1/artifacts` with `deploy_to`) waits in CREATED; `otto serve` of
/// that environment holds the app on the artifact's build (a pin, as `otto release` writes) and applies the app, whose
/// provider takes the waiting deployment through STARTED to COMPLETED or FAILED. One deployment at a time, oldest
/// first. Promotions are deployed by `otto promote` itself and are left alone; a deployment this environment cannot
/// take (no site declares the app, or the environment takes the app only by promotion) is failed with the reason as a
/// verification by `otto serve`.
struct DeployToService: Service {
    let ledger: any DeployLedger
    /// This server's environment (`default` without environments).
    let environment: String
    let global: GlobalOptions
    let runs: ServeRunService
    let logger: Logger
    var tick: Duration = .seconds(1)

    func run() async {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do { try await step() } catch {
                logger.error("deployments: \(error)")
            }
            try? await Task.sleep(for: tick)
        }
    }

    /// Deploys what waits, oldest first.
    func step() async throws {
        let waiting = try await ledger.deployments(DeploymentQuery(environment: environment, state: .created, limit: 50))
        guard !waiting.isEmpty else { return }
        let promoted = Set(try await ledger.promotions(app: nil, to: environment, deployment: nil, limit: 1000).map(\.deployment))
        for d in waiting.reversed() where !promoted.contains(d.id) {
            if Task.isShuttingDownGracefully { return }
            try await deploy(d)
        }
    }

    /// Ends deployment `d` without deploying it: STARTED, then FAILED with `why` as a failed check by `otto serve`.
    private func refuse(_ d: Deployment, _ why: String) async throws {
        logger.warning("deployment \(d.id) of \(d.app) \(d.version) refused: \(why)")
        _ = try await ledger.updateDeployment(d.id, state: .started, verification: nil, at: Date())
        _ = try await ledger.updateDeployment(d.id, state: .failed, verification: Verification(by: "otto serve", result: .failed, note: why, at: Date()),
                                              at: Date())
    }

    private func deploy(_ d: Deployment) async throws {
        let ctx = try await ProjectContext.open(global)
        let sites = ctx.project.sites.filter { $0.app(d.app) != nil }
        guard sites.count == 1, let site = sites.first, let spec = site.app(d.app) else {
            return try await refuse(d, sites.isEmpty ? "no site of this project declares app \(d.app)"
                                                     : "sites \(sites.map(\.name).joined(separator: ", ")) all declare app \(d.app)")
        }
        if let pipeline = ctx.project.pipelines[d.app], pipeline.previous(environment) != nil {
            return try await refuse(d, "\(environment) takes builds of \(d.app) only by promotion (pipelines/\(d.app).yml): `otto promote \(d.app) --to \(environment)`")
        }
        guard let items = ctx.store as? any APIItemStore else { return try await refuse(d, "this state keeps no pins") }
        let artifact = try await ledger.artifact(d.artifact)
        let pin = AppReleasePin(version: d.version, digest: d.digest, release: 0, rollback: false,
                                reason: "deployment \(d.id) (created by \(d.createdBy))", overVersion: spec.version,
                                overDigest: try spec.bundle.digest(root: ctx.root), bundleURL: artifact?.url)
        try await Blocking.run { try items.holdRelease(pin, site: site.name, app: d.app) }
        logger.info("deploying \(d.app) \(d.version) (deployment \(d.id))")
        let address = "app.\(site.name).\(d.app)"
        var info = try await runs.startApply(RunRequest(options: PlanOptions(targets: [address])))
        while info.state == .running {
            try await Task.sleep(for: .milliseconds(200))
            info = try await runs.run(id: info.id) ?? info
        }
        guard let after = try await ledger.deployment(d.id), !after.state.isFinal else { return }
        // The run did not deploy it: the build serves already (nothing to change), or the run failed before the app.
        let serving = try await ctx.store.snapshot().records[ResourceAddress(kind: "app", name: "\(site.name).\(d.app)")]?.attributes["digest"]
        if info.state == .succeeded, serving == .string(d.digest) {
            if after.state == .created { _ = try await ledger.updateDeployment(d.id, state: .started, verification: nil, at: Date()) }
            _ = try await ledger.updateDeployment(d.id, state: .completed, verification: nil, at: Date())
        } else {
            let why = info.error.map { "\($0)" } ?? info.outcome.map { "run \(info.id) \(info.state.rawValue): \($0.summary)" } ?? "run \(info.id) \(info.state.rawValue)"
            if after.state == .created { _ = try await ledger.updateDeployment(d.id, state: .started, verification: nil, at: Date()) }
            _ = try await ledger.updateDeployment(d.id, state: .failed, verification: Verification(by: "otto serve", result: .failed, note: why, at: Date()),
                                                  at: Date())
        }
    }
}
