import Testing
@testable import OttoConfig
import OttoCore
import OttoTestSupport

/// Environments (`environments/NAME.yml`): one site definition, overlaid per environment; each environment's own
/// inventory folder; provider-facing names that keep environments apart; and every mistake at its file:line:col.
@Suite struct EnvironmentTests {
    static let site = """
        site: shop
        domain: shop.test
        provider: local
        machines:
          web: { count: 2, image: web }
        vars: { greeting: hello, tier: base }
        walk: { every: 5m, depth: 2 }
        """
    static let staging = """
        environment: staging
        state: sqlite:.otto/stg.db
        vars: { tier: staging }
        providers:
          local: { subnet: 10.213.0.96/27, bridge: otto-stg }
          pdns: { type: powerdns, url: "http://127.0.0.1:8081", api_key_env: STAGING_PDNS_KEY }
        sites:
          shop:
            domain: staging.shop.test
            machines: { web: { count: 1 } }
            walk: ~
        """
    static let production = """
        environment: production
        providers:
          local: { subnet: 10.213.0.128/27, bridge: otto-prd }
        """

    static func files(_ extra: [String: String] = [:]) -> [String: String] {
        var files = ["inventory/main.yml": standardInventory, "sites/shop.yml": site, "images/web.yml": "image: web\npackages: [nginx]\n",
                     "environments/staging.yml": staging, "environments/production.yml": production]
        files.merge(extra) { _, new in new }
        return files
    }

    static func load(_ files: [String: String], environment: String?) throws(DiagnosticsError) -> Project {
        let dir = try! TempDir()
        for (path, text) in files { dir.write(path, text) }
        return try Project.load(root: dir.path, environment: environment)
    }

    static func errors(_ files: [String: String], environment: String?) -> [String] {
        do {
            _ = try load(files, environment: environment)
            return []
        } catch {
            return error.diagnostics.filter { $0.severity == .error }.map(\.description)
        }
    }

    @Test func overlaysSitesVarsAndProviders() throws {
        let staging = try Self.load(Self.files(), environment: "staging")
        #expect(staging.environment?.name == "staging" && staging.environment?.state == "sqlite:.otto/stg.db")
        #expect(staging.environmentNames == ["production", "staging"])
        let site = try #require(staging.sites.first)
        #expect(site.domain == "staging.shop.test" && site.environment == "staging")
        #expect(site.group("web")?.count == 1)
        #expect(site.group("web")?.image?.value == "web")  // kept from sites/shop.yml: mappings merge key by key
        #expect(site.walk == nil)  // `walk: ~` removes it
        #expect(site.vars == ["greeting": .string("hello"), "tier": .string("staging")])
        let local = try #require(staging.inventory.providers["local"])
        #expect(local.type == "local" && local.settings["subnet"]?.stringValue == "10.213.0.96/27")
        #expect(local.settings["bridge"]?.stringValue == "otto-stg")
        #expect(staging.inventory.providers["pdns"]?.settings["api_key_env"]?.stringValue == "STAGING_PDNS_KEY")
        // Provider-facing names carry the environment; addresses do not.
        let machine = try #require(staging.resources.first { $0.address.description == "machine.shop.web[0]" })
        #expect(machine.attributes["name"] == .string("shop-staging-web-0"))
        #expect(!staging.resources.contains { $0.address.description == "machine.shop.web[1]" })

        let production = try Self.load(Self.files(), environment: "production")
        #expect(production.environment?.state == EnvironmentSpec.defaultState("production"))
        let prodSite = try #require(production.sites.first)
        #expect(prodSite.domain == "shop.test" && prodSite.group("web")?.count == 2 && prodSite.walk != nil)
        #expect(production.inventory.providers["pdns"] == nil)
        #expect(production.inventory.providers["local"]?.settings["bridge"]?.stringValue == "otto-prd")
        let names = production.resources.filter { $0.address.kind == "machine" }.compactMap { $0.attributes["name"]?.stringValue }
        #expect(names.sorted() == ["shop-production-web-0", "shop-production-web-1"])
    }

    @Test func withoutEnvironmentsNothingChanges() throws {
        var files = Self.files()
        files["environments/staging.yml"] = nil
        files["environments/production.yml"] = nil
        let project = try Self.load(files, environment: nil)
        #expect(project.environment == nil && project.environmentNames.isEmpty)
        let names = project.resources.filter { $0.address.kind == "machine" }.compactMap { $0.attributes["name"]?.stringValue }
        #expect(names.sorted() == ["shop-web-0", "shop-web-1"])
    }

    @Test func environmentsOwnInventoryIsReadOnlyForIt() throws {
        let files = Self.files(["environments/staging/hosts.ini": "[db]\nstg-db ansible_host=10.213.0.99\n",
                                "environments/production/hosts.yml": "all:\n  children:\n    db:\n      hosts:\n        prd-db: { ansible_host: 10.213.0.130 }\n"])
        let staging = try Self.load(files, environment: "staging")
        #expect(staging.inventory.hosts.keys.sorted() == ["stg-db"])
        #expect(staging.inventory.hosts["stg-db"]?.location.description == "environments/staging/hosts.ini:2:1")
        let production = try Self.load(files, environment: "production")
        #expect(production.inventory.hosts.keys.sorted() == ["prd-db"])
    }

    @Test func choosingIsRequiredAndChecked() {
        #expect(Self.errors(Self.files(), environment: nil)
                == ["error: this project has environments (production, staging): choose one with --env NAME or OTTO_ENV"])
        #expect(Self.errors(Self.files(), environment: "stagign")
                == ["error: no environment `stagign`; defined: production, staging; did you mean `staging`?"])
        var none = Self.files()
        none["environments/staging.yml"] = nil
        none["environments/production.yml"] = nil
        #expect(Self.errors(none, environment: "staging")
                == ["error: no environment `staging`: this project defines none (environments/NAME.yml)"])
    }

    @Test func mistakesPointIntoTheEnvironmentFile() {
        let misnamed = Self.errors(Self.files(["environments/production.yml": "environment: prod\n"]), environment: "staging")
        #expect(misnamed == ["environments/production.yml:1:14: error: environment `prod` is in environments/production.yml; "
                             + "name the file environments/prod.yml or write `environment: production`"])
        // A value the overlay brings is checked where it is written.
        let badCount = Self.errors(Self.files(["environments/staging.yml": """
            environment: staging
            sites:
              shop:
                machines: { web: { count: lots } }
                domian: x.test
            """]), environment: "staging")
        #expect(badCount.contains { $0.hasPrefix("environments/staging.yml:4:31: error: expected an integer") }, "\(badCount)")
        #expect(badCount.contains { $0.hasPrefix("environments/staging.yml:5:5: error: unknown key `domian` in a site; did you mean `domain`?") })
        let unknownSite = Self.errors(Self.files(["environments/staging.yml": "environment: staging\nsites:\n  shopp: { domain: a.test }\n"]),
                                      environment: "staging")
        #expect(unknownSite == ["environments/staging.yml:3:3: error: environment `staging` changes site `shopp`, which no file in sites/ defines"])
        let renamed = Self.errors(Self.files(["environments/staging.yml": "environment: staging\nsites:\n  shop: { site: other }\n"]),
                                  environment: "staging")
        #expect(renamed.first?.hasPrefix("environments/staging.yml:3:11: error: an environment cannot rename a site") == true)
        let unknownKey = Self.errors(Self.files(["environments/staging.yml": "environment: staging\nstat: x\n"]), environment: "staging")
        #expect(unknownKey == ["environments/staging.yml:2:1: error: unknown key `stat` in an environment; did you mean `state`?"])
    }

    @Test func unreadFilesOfEnvironmentsAreReported() throws {
        let project = try Self.load(Self.files(["environments/staging/notes.txt": "x", "environments/README": "x",
                                                "environments/qa/hosts.ini": "[db]\nqa-db\n"]), environment: "staging")
        let warnings = project.warnings.map(\.description)
        #expect(warnings.contains { $0.hasPrefix("environments/staging/notes.txt:1:1: warning: notes.txt is not read") })
        #expect(warnings.contains { $0.hasPrefix("environments/README:1:1: warning: README is not read") })
        #expect(warnings.contains { $0.hasPrefix("environments/qa:1:1: warning: qa is not read") })
    }

    @Test func overlayMergesMappingsReplacesTheRestAndRemovesNulls() throws {
        let base = try YAMLReader.parse("a: { b: 1, c: [1, 2], d: { e: x } }\nf: keep\ng: drop\n", displayPath: "base.yml")[0]
        let over = try YAMLReader.parse("a: { c: [3], d: { h: y } }\ng: ~\ni: new\n", displayPath: "over.yml")[0]
        let merged = base.overlaid(with: over)
        #expect(merged.value == .map(["a": .map(["b": .int(1), "c": .list([.int(3)]), "d": .map(["e": .string("x"), "h": .string("y")])]),
                                      "f": .string("keep"), "i": .string("new")]))
        #expect(merged["a"]?["c"]?.location.description == "over.yml:1:9")
        #expect(merged["f"]?.location.description == "base.yml:2:4")
    }
}
