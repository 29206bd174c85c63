import ArgumentParser
import Foundation
import OttoConfig
import OttoCore
import OttoPlan
import OttoProviders
import OttoState

/// `otto promote APP --to ENV`: deploys to ENV the exact build that succeeded in the environment before it in the app's
/// pipeline, once every gate of ENV's stage passes.
struct Promote: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Promote an app's build to the next environment of its pipeline (pipelines/APP.yml): the exact digest that succeeded before, never a rebuild.",
        discussion: """
            The build is the newest deployment of the app in the stage before ENV (of --version when given). The gates of ENV's \
            stage are checked first (success there, soak, error budget, approval, windows, freezes); a refused promotion names \
            each gate that refused and why, and changes nothing. Then the promotion is recorded in the deployment ledger, the \
            app is held on that build in ENV (as `otto release` holds it) and ENV is applied for the app.
            """)
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The app (its pipeline is pipelines/APP.yml).") var app: String
    @Option(name: .long, help: "The environment to promote into.") var to: String
    @Option(name: .long, help: "The version to promote (default: the newest deployment in the environment before).") var version: String?
    @OptionGroup var run: ApplyRunOptions

    func run() async throws {
        var target = global
        let previous: APIItem?, items: any APIItemStore, siteName: String
        do {
            if let env = global.environment, env != to {
                throw OttoError("cli.flags", "--env \(env) and --to \(to) disagree: a promotion runs in the environment it promotes into")
            }
            target.env = to
            let ctx = try await ProjectContext.open(target)
            let promotion = try await PromotionCheck.prepare(ctx, target: target, app: app, version: version)
            let refusals = try await promotion.refusals()
            if !refusals.isEmpty {
                throw OttoError("promote.refused", "promotion of \(app) \(promotion.candidate?.version ?? version ?? "") from \(promotion.from) to \(to) refused:\n"
                                + refusals.map { "  - \($0.gate.rawValue): \($0)" }.joined(separator: "\n"))
            }
            guard let source = promotion.candidate, let ledger = ctx.deployLedger, let store = ctx.store as? any APIItemStore else {
                throw OttoError("promote.state", "this state keeps no deployment ledger or pins")
            }
            let artifact = try await ledger.artifact(source.artifact)
            let (record, deployment) = try await ledger.recordPromotion(source: source, to: to, by: ProjectContext.actor,
                                                                       gates: PromotionGates.gates(of: promotion.stage), at: Date())
            siteName = promotion.site.name
            items = store
            let pin = AppReleasePin(version: source.version, digest: source.digest, release: 0, rollback: false,
                                    reason: "otto promote from \(promotion.from) (deployment \(source.id), promotion \(record.id))",
                                    overVersion: promotion.spec.version, overDigest: try promotion.spec.bundle.digest(root: ctx.root),
                                    bundleURL: artifact?.url)
            previous = try await Blocking.run { try store.holdRelease(pin, site: siteName, app: app) }
            Terminal.out("promotion \(record.id): \(app) \(source.version) (sha256 \(source.digest.prefix(12))) from \(promotion.from) "
                         + "to \(to), deployment \(deployment.id); gates passed: \(record.gates.map(\.rawValue).joined(separator: ", "))\n")
        } catch { throw fail(error) }
        try await runApply(global: target, options: { PlanOptions(targets: ["app.\(siteName).\(app)"]) }, run: run, planFile: nil,
                           command: "otto promote", declined: {
            try? await Blocking.run { try items.restoreRelease(previous, site: siteName, app: app) }
        })
    }
}

/// `otto approve APP --to ENV`: records that the build waiting to enter ENV may enter it.
struct Approve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Approve an app's build for an environment whose pipeline stage asks for approval (`approval: true`).",
        discussion: "The build approved is the one `otto promote APP --to ENV` would promote now (or --version's); the approval is for that digest only.")
    @OptionGroup var global: GlobalOptions
    @Argument(help: "The app (its pipeline is pipelines/APP.yml).") var app: String
    @Option(name: .long, help: "The environment the build may enter.") var to: String
    @Option(name: .long, help: "The version to approve (default: the newest deployment in the environment before).") var version: String?
    @Option(name: .long, help: "Why, or a link (recorded with the approval).") var note: String = ""

    func run() async throws {
        do {
            var target = global
            if let env = global.environment, env != to {
                throw OttoError("cli.flags", "--env \(env) and --to \(to) disagree: an approval is for the environment promoted into")
            }
            target.env = to
            let ctx = try await ProjectContext.open(target)
            let check = try await PromotionCheck.prepare(ctx, target: target, app: app, version: version)
            guard let build = check.candidate, let ledger = ctx.deployLedger else {
                throw OttoError("approve.none", "app \(app) was never deployed to \(check.from)\(version.map { " as version \($0)" } ?? ""): there is nothing to approve for \(to)")
            }
            let a = try await ledger.recordApproval(app: app, environment: to, version: build.version, digest: build.digest,
                                                    by: ProjectContext.actor, note: note, at: Date())
            Terminal.out("approval \(a.id): \(app) \(build.version) (sha256 \(build.digest.prefix(12))) may enter \(to), by \(a.by)\n")
        } catch { throw fail(error) }
    }
}

/// What a promotion into an environment looks at: the pipeline's stage, the environment before, the build there and
/// what the gates need to judge it.
struct PromotionCheck {
    let pipeline: PipelineSpec
    let stage: PipelineStage
    let from: String
    let site: Site
    let spec: AppSpec
    let candidate: Deployment?
    let version: String?
    let ledger: any DeployLedger
    let target: GlobalOptions
    let root: String

    /// Finds the app's pipeline, the stage of `target`'s environment and the build in the stage before.
    static func prepare(_ ctx: ProjectContext, target: GlobalOptions, app: String, version: String?) async throws -> PromotionCheck {
        let env = ctx.project.environment?.name ?? "default"
        guard let pipeline = ctx.project.pipelines[app] else {
            throw OttoError("promote.pipeline", "app \(app) has no pipeline: write pipelines/\(app).yml (its stages, first to last)")
        }
        guard let stage = pipeline.stage(env) else {
            throw OttoError("promote.pipeline", "the pipeline of \(app) does not go to \(env) (stages: \(pipeline.stages.map(\.environment).joined(separator: ", ")))")
        }
        guard let from = pipeline.previous(env) else {
            throw OttoError("promote.pipeline", "\(env) is the first stage of \(app)'s pipeline: builds enter it with `otto apply --env \(env)`, not by promotion")
        }
        let sites = try ctx.project.releaseSites(app: app, site: pipeline.site)
        guard sites.count == 1, let site = sites.first, let spec = site.app(app) else {
            throw OttoError("cli.site", "app \(app) is declared by sites \(sites.map(\.name).joined(separator: ", ")); say which with `site:` in pipelines/\(app).yml")
        }
        guard let ledger = ctx.deployLedger else { throw OttoError("promote.state", "no deployment ledger") }
        let candidate = try await ledger.deployments(DeploymentQuery(app: app, environment: from.environment, version: version, limit: 1)).first
        return PromotionCheck(pipeline: pipeline, stage: stage, from: from.environment, site: site, spec: spec, candidate: candidate,
                              version: version, ledger: ledger, target: target, root: ctx.root)
    }

    /// Every gate that refuses now (empty: the promotion may go).
    func refusals() async throws -> [GateRefusal] {
        let approvals = stage.approval ? try await ledger.approvals(app: spec.name, environment: stage.environment, limit: 1000) : []
        var traffic = TrafficMeasure.unavailable("not asked")
        if stage.max5xxPerMille != nil, let c = candidate, c.state == .completed {
            traffic = await measure(c)
        }
        return PromotionGates.evaluate(PromotionGates.Input(stage: stage, from: from, candidate: candidate, version: version,
                                                            approvals: approvals, traffic: traffic, now: Date()))
    }

    /// haproxy's counters for the app in the environment before, now and when the deployment completed.
    private func measure(_ deployment: Deployment) async -> TrafficMeasure {
        do {
            guard let baseline = try await ledger.trafficSample(deployment: deployment.id) else {
                return .unavailable("no haproxy counters were kept when deployment \(deployment.id) completed (an app without `lb:`, or not deployed by otto)")
            }
            var sourceOptions = target
            sourceOptions.env = from
            let source = sourceOptions
            let environment = try ProjectFiles.environment(from, root: root)
            let store = try await Blocking.run { try ProjectContext.openState(source, root: root, environment: environment) }
            let address = ResourceAddress(kind: "app", name: "\(site.name).\(spec.name)")
            guard let record = try await store.snapshot().records[address] else {
                return .unavailable("\(from)'s state has no \(address)")
            }
            let provider = AppProvider(projectRoot: root)
            let now: TrafficSample
            do { now = try await provider.trafficSample(attributes: record.attributes) } catch {
                await provider.shutdown()
                throw error
            }
            await provider.shutdown()
            return .samples(baseline: baseline, now: now)
        } catch {
            return .unavailable("\(error)")
        }
    }
}
