import Foundation
import OttoTestSupport
import Testing

/// A sensitive attribute's value (a unit's environment, the content of a file marked `sensitive: true`) never shows in
/// `otto plan`, its `--json`, or the errors of a failed apply; a saved plan keeps it (mode 0600) so that apply can use
/// it. A file not marked sensitive shows its content as a diff.
@Suite struct SensitiveValueCLITests {
    static let secret = "s3cret-token-9f2c"

    @Test func sensitiveValuesNeverShowInPlansOrErrors() async throws {
        // A static host that does not answer (nothing listens on loopback port 1): planned, never reached.
        let p = try CLIProject(inventory: "hosts:\n  ghost: { address: 127.0.0.1, port: 1, groups: [boxes] }\n", environment: [:])
        try p.write("sites/s.yml", """
            site: s
            domain: s.test
            provider: static
            machines:
              boxes: { count: 1 }
            files:
              - { on: boxes, path: /tmp/otto-never-written, content: "password=\(Self.secret)", sensitive: true }
              - { on: boxes, path: /tmp/otto-greeting, content: "greeting=hello\\nlanguage=en\\n" }
            units:
              - { name: w.service, on: boxes, exec: /bin/true, restart: always, environment: { TOKEN: "\(Self.secret)" } }
            """)
        // Without refresh everything is to create, so every attribute the configuration sets is listed.
        let plan = try await p.otto("plan", "--refresh=false")
        #expect(plan.status == 0, "\(plan.stderr)")
        #expect(plan.stdout.contains("environment = (sensitive)"), "\(plan.stdout)")
        #expect(!(plan.stdout + plan.stderr).contains(Self.secret))
        // The sensitive file shows no text, not even its hash; the other one shows its content as a diff.
        #expect(plan.stdout.contains("content_sha256 = (sensitive)"), "\(plan.stdout)")
        #expect(plan.stdout.contains("""
                  --- /dev/null
                  +++ after: /tmp/otto-greeting
                  @@ -0,0 +1,2 @@
                  +greeting=hello
                  +language=en

            """), "\(plan.stdout)")

        let json = try await p.otto("plan", "--refresh=false", "--json", "-out", p.dir + "/saved.plan")
        #expect(json.status == 0, "\(json.stderr)")
        #expect(json.stdout.contains("(sensitive)"))
        #expect(!(json.stdout + json.stderr).contains(Self.secret))
        #expect(json.stdout.contains(#""diff":"--- /dev/null\n+++ after: /tmp/otto-greeting\n@@ -0,0 +1,2 @@\n+greeting=hello\n+language=en\n""#),
                "\(json.stdout)")
        let saved = try String(contentsOfFile: p.dir + "/saved.plan", encoding: .utf8)
        #expect(saved.contains(Self.secret), "the saved plan must keep the values apply needs")
        let mode = (try FileManager.default.attributesOfItem(atPath: p.dir + "/saved.plan")[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == 0o600)

        let apply = try await p.otto("apply", "--auto-approve")
        #expect(apply.status == 1)
        #expect(!(apply.stdout + apply.stderr).contains(Self.secret), "\(apply.stdout)\(apply.stderr)")
    }
}
