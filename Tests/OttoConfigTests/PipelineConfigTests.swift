import Foundation
import Testing
@testable import OttoConfig
import OttoCore
import OttoTestSupport

/// `pipelines/APP.yml`: the environments an app's builds move through, their gates and failure policies; the app is
/// deployed in a later stage only by promotion; every mistake at its file:line:col.
@Suite struct PipelineConfigTests {
    static let site = """
        site: shop
        domain: shop.test
        provider: local
        machines:
          web: { count: 1, image: web }
        apps:
          - name: hello
            on: web
            version: "1.0.0"
            bundle: apps/hello
            run: { exec: "/usr/bin/python3 {{release_dir}}/server.py" }
            port: 8080
        """
    static let pipeline = """
        pipeline: hello
        stages:
          - environment: staging
            on_failure: redeploy_last_good
          - environment: production
            soak: 10m
            error_budget: { max_5xx_per_mille: 5 }
            approval: true
            windows: ["Mon-Fri 09:00-17:00", "Sat 10:00-12:00 Europe/Berlin"]
            freezes:
              - { from: "2026-12-20T00:00:00Z", to: "2027-01-04T00:00:00Z", reason: holidays }
            on_failure: ignore
        """

    static func files(_ extra: [String: String] = [:]) -> [String: String] {
        var files = EnvironmentTests.files(["sites/shop.yml": site, "pipelines/hello.yml": pipeline, "apps/hello/server.py": "print('hi')\n"])
        files.merge(extra) { _, new in new }
        return files
    }

    @Test func readsStagesGatesAndPolicies() throws {
        let project = try EnvironmentTests.load(Self.files(), environment: "staging")
        let p = try #require(project.pipelines["hello"])
        #expect(p.stages.map(\.environment) == ["staging", "production"] && p.site == nil)
        #expect(p.stages[0].onFailure == .redeployLastGood && PromotionGates.gates(of: p.stages[0]) == [.success])
        let prod = p.stages[1]
        #expect(prod.soak?.milliseconds == 600_000 && prod.max5xxPerMille == 5 && prod.approval && prod.onFailure == .ignore)
        #expect(prod.windows.map(\.text) == ["Mon-Fri 09:00-17:00", "Sat 10:00-12:00 Europe/Berlin"])
        #expect(prod.freezes == [Freeze(from: ISO8601.date("2026-12-20T00:00:00Z")!, to: ISO8601.date("2027-01-04T00:00:00Z")!, reason: "holidays")])
        #expect(p.previous("production")?.environment == "staging" && p.previous("staging") == nil)
        // a bare environment name is a stage without gates
        let bare = try EnvironmentTests.load(Self.files(["pipelines/hello.yml": "pipeline: hello\nstages: [staging, production]\n"]),
                                             environment: "staging")
        #expect(bare.pipelines["hello"]?.stages.map(\.onFailure) == [.webhooks, .webhooks])
    }

    @Test func theFirstStageDeploysTheSitesBuildLaterStagesOnlyPromotedOnes() throws {
        let staging = try EnvironmentTests.load(Self.files(), environment: "staging")
        let app = try #require(staging.resources.first { $0.address.description == "app.shop.hello" })
        #expect(app.attributes["version"] == "1.0.0" && app.attributes["bundle_path"] == "apps/hello")
        // production before any promotion: machines, no app, and a warning that says how it gets there
        let production = try EnvironmentTests.load(Self.files(), environment: "production")
        #expect(!production.resources.contains { $0.address.kind == "app" })
        #expect(production.resources.contains { $0.address.description == "machine.shop.web[0]" })
        #expect(production.warnings.map(\.description).contains { $0.contains("app `hello` enters production only by promotion") })
        // after a promotion the pin holds it on the promoted build, whatever the site's version says now
        let pin = AppReleasePin(version: "0.9.0", digest: String(repeating: "e", count: 64), release: 0, rollback: false,
                                reason: "otto promote from staging", overVersion: "0.8.0", overDigest: "x",
                                bundleURL: "https://ci.example.net/hello-0.9.0.tgz")
        let dir = try TempDir()
        for (path, text) in Self.files() { dir.write(path, text) }
        let held = try Project.load(root: dir.path, api: [try pin.item(site: "shop", app: "hello")], environment: "production")
        let promoted = try #require(held.resources.first { $0.address.kind == "app" })
        #expect(promoted.attributes["version"] == "0.9.0" && promoted.attributes["digest"] == .string(pin.digest))
        #expect(promoted.attributes["bundle_path"] == nil && promoted.attributes["bundle_url"] == "https://ci.example.net/hello-0.9.0.tgz")
    }

    @Test func mistakesAtTheirPlace() {
        let errors = EnvironmentTests.errors(Self.files(["pipelines/hello.yml": """
            pipeline: hello
            stages:
              - environment: staging
                soak: 5m
              - environment: prodution
                windows: ["Mon-Fri 17:00-09:00"]
                error_budget: { max_5xx_per_mille: 2000 }
                on_failure: retry
              - environment: staging
            """]), environment: "staging")
        #expect(errors == [
            "pipelines/hello.yml:4:5: error: the first stage (staging) is deployed by `otto apply`, not promoted into: its gates go on the stage after it",
            "pipelines/hello.yml:5:5: error: pipeline `hello`: no environment `prodution` (environments: production, staging); did you mean `production`?",
            "pipelines/hello.yml:6:15: error: window \"Mon-Fri 17:00-09:00\": `17:00-09:00` is not HH:MM-HH:MM with the first before the second (use two windows across midnight)",
            "pipelines/hello.yml:7:40: error: max_5xx_per_mille must be between 0 and 1000, got 2000",
            "pipelines/hello.yml:8:17: error: unknown on_failure \"retry\"; one of redeploy_last_good, webhooks, ignore",
            "pipelines/hello.yml:9:5: error: environment `staging` is in the pipeline twice",
        ], "\(errors)")
        #expect(EnvironmentTests.errors(Self.files(["pipelines/hello.yml": "pipeline: hola\nstages: [staging]\n"]), environment: "staging") == [
            "pipelines/hello.yml:1:1: error: pipeline `hola`: no site declares app `hola` under `apps:`",
            "pipelines/hello.yml:1:11: error: the pipeline of app `hola` is in pipelines/hello.yml; name the file pipelines/hola.yml",
        ])
        #expect(loadErrors(["sites/shop.yml": Self.site, "inventory/main.yml": standardInventory, "apps/hello/x": "",
                            "pipelines/hello.yml": "pipeline: hello\nstages: [staging]\n"])
                == ["pipelines/hello.yml:1:1: error: pipeline `hello` moves builds between environments, but this project has none: define them in environments/NAME.yml"])
    }
}
