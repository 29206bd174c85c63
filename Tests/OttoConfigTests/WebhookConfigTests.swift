import Testing
@testable import OttoConfig
import OttoCore

/// `webhooks/NAME.yml`: a receiver of the deployment ledger's events; its mistakes at file:line:col.
@Suite struct WebhookConfigTests {
    @Test func readsAWebhook() throws {
        let project = try loadProject(["webhooks/ci.yml": """
            webhook: ci
            url: https://hooks.example.net/otto
            secret_file: keys/hook.secret
            events: [deployment.completed, deployment.failed]
            environments: [production]
            """])
        let hook = try #require(project.webhooks.first)
        #expect(hook.name == "ci" && hook.url == "https://hooks.example.net/otto" && hook.secretFile == "keys/hook.secret")
        #expect(hook.events == [.deploymentCompleted, .deploymentFailed] && hook.environments == ["production"])
        #expect(hook.subscription == WebhookSubscription(name: "ci", events: [.deploymentCompleted, .deploymentFailed], environments: ["production"]))
    }

    @Test func mistakesAtTheirPlace() {
        let errors = loadErrors(["webhooks/ci.yml": """
            webhook: ci
            url: http://hooks.example.net/otto
            events: [deployment.complete]
            """])
        #expect(errors == [
            "webhooks/ci.yml:1:1: error: a webhook needs its signing secret: `secret_env: VARIABLE` or `secret_file: PATH` (never the secret itself)",
            "webhooks/ci.yml:2:6: error: a webhook's url is https (or http to a loopback address: 127.0.0.1, localhost), got \"http://hooks.example.net/otto\"",
            "webhooks/ci.yml:3:10: error: unknown event \"deployment.complete\"; events: deployment.created, deployment.started, "
                + "deployment.completed, deployment.failed, deployment.rolled_back, deployment.promoted; did you mean `deployment.completed`?",
        ])
        #expect(loadErrors(["webhooks/ci.yml": "webhook: cd\nurl: http://127.0.0.1:9/x\nsecret_env: X\n"])
                == ["webhooks/ci.yml:1:10: error: webhook `cd` is in webhooks/ci.yml; name the file webhooks/cd.yml"])
    }
}
