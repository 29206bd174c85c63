import Foundation
import OttoTestSupport

extension CLIProject {
    /// Runs `otto ARGS --dir DIR` and awaits it without holding a thread, so that servers living in this test
    /// process (the fake DigitalOcean's actor) keep the cooperative pool while otto runs.
    func run(_ args: String...) async throws -> ProcessResult {
        try await runProcess([CLIProject.binary] + args + ["--dir", dir], environment: environment)
    }

    /// Writes an ed25519 key pair at `keys/otto` (and `keys/otto.pub`), as an operator would make one.
    func makeSSHKey() async throws {
        try FileManager.default.createDirectory(atPath: dir + "/keys", withIntermediateDirectories: true)
        let r = try await runProcess(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "otto-test", "-f", dir + "/keys/otto"])
        guard r.status == 0 else { throw CloudTestError("ssh-keygen failed: \(r.stderr)") }
    }
}

/// A failure in a cloud test's own set-up.
struct CloudTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// The lines of otto's state for `address` (`otto state show`), as `name = value`.
func stateAttribute(_ shown: String, _ name: String) -> String? {
    for line in shown.split(separator: "\n") {
        let trimmed = line.trimmingCharacters(in: .whitespaces)
        if trimmed.hasPrefix(name + " = ") { return String(trimmed.dropFirst(name.count + 3)) }
    }
    return nil
}

/// Asks moto what exists, with boto3 from the project's venv: `body` is Python that sets `out` (JSON-encodable);
/// `ec2` and `r53` are clients for `endpoint`.
func motoQuery(_ endpoint: String, _ body: String) async throws -> Any {
    let script = """
        import boto3, json
        kw = dict(endpoint_url="\(endpoint)", region_name="us-east-1", aws_access_key_id="AKIDTESTQUERY", aws_secret_access_key="x")
        ec2 = boto3.client("ec2", **kw)
        r53 = boto3.client("route53", **kw)
        \(body.split(separator: "\n", omittingEmptySubsequences: false).joined(separator: "\n"))
        print(json.dumps(out, default=str))
        """
    let r = try await runProcess([MotoServer.packageRoot + "/.venv/bin/python", "-c", script])
    guard r.status == 0 else { throw CloudTestError("moto query failed: \(r.stderr)") }
    return try JSONSerialization.jsonObject(with: Data(r.stdout.utf8), options: [.fragmentsAllowed])
}

/// Live (not terminated) instances in moto: id → (name, tags, type, image, state).
func motoInstances(_ endpoint: String) async throws -> [String: [String: String]] {
    let out = try await motoQuery(endpoint, """
        out = {}
        for r in ec2.describe_instances()["Reservations"]:
            for i in r["Instances"]:
                if i["State"]["Name"] in ("terminated", "shutting-down"): continue
                tags = {t["Key"]: t["Value"] for t in i.get("Tags", [])}
                out[i["InstanceId"]] = dict(name=tags.get("Name", ""), managed=tags.get("otto:managed", ""), type=i["InstanceType"],
                                            image=i["ImageId"], state=i["State"]["Name"], ip=i.get("PublicIpAddress") or i.get("PrivateIpAddress", ""))
        """)
    return out as? [String: [String: String]] ?? [:]
}
