import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import OttoCore

extension MotoMachineProxy {
    /// What the proxy remembers beside the machines: key pairs, the instances it launched, failures.
    actor Book {
        private var keys: [String: String] = [:]
        private var launched: [String] = []
        private var launchedSet: Set<String> = []
        private var failureLog: [String] = []
        /// Hears every failure as it is recorded.
        let log: (@Sendable (String) -> Void)?

        init(log: (@Sendable (String) -> Void)?) { self.log = log }

        func setKey(_ name: String, _ line: String) { keys[name] = line }
        func removeKey(_ name: String) { keys.removeValue(forKey: name) }
        func key(_ name: String) -> String? { keys[name] }

        func launch(_ ids: [String]) {
            for id in ids where launchedSet.insert(id).inserted { launched.append(id) }
        }
        func wasLaunched(_ id: String) -> Bool { launchedSet.contains(id) }
        func launchedInOrder() -> [String] { launched }

        func fail(_ line: String) {
            failureLog.append(line)
            log?(line)
        }
        func failures() -> [String] { failureLog }

        private var holdAfter: String?
        private var holding = false
        private var parked: [CheckedContinuation<Void, Never>] = []

        /// From the next successful `action` on, requests are parked instead of forwarded.
        func hold(after action: String) { holdAfter = action; holding = false }
        /// Notes a successful answer to `action`; once it is the one held after, later requests park.
        func answered(_ action: String) { if action == holdAfter { holding = true } }
        /// Parks the caller while requests are held; returns whether it was parked (and must not be forwarded).
        func parkIfHolding() async -> Bool {
            guard holding else { return false }
            await withCheckedContinuation { parked.append($0) }
            return true
        }
        /// How many requests are parked now.
        func parkedCount() -> Int { parked.count }
        /// Ends the hold: parked requests go on (to be refused), later ones are forwarded again.
        func release() {
            holdAfter = nil
            holding = false
            let waiting = parked
            parked = []
            for continuation in waiting { continuation.resume() }
        }
    }

    /// Forwards each request to moto and acts on EC2's answers (see `MotoMachineProxy`).
    struct Handler: Sendable {
        let forwarder: HTTPForwarder
        let machines: LocalCloudMachines
        let loginUser: String
        let book: Book

        /// Header fields that belong to one connection, never forwarded as they are.
        static let hopByHop: Set<String> = ["connection", "keep-alive", "transfer-encoding", "content-length", "proxy-connection", "date", "server"]

        func respond(_ request: Request) async throws -> Response {
            var request = request
            let body = Array(buffer: try await request.collectBody(upTo: 64 << 20))
            var headers: [(name: String, value: String)] = []
            if let authority = request.head.authority { headers.append(("Host", authority)) }  // HTTP/1 Host becomes :authority
            for field in request.headers { headers.append((field.name.rawName, field.value)) }
            let uri = request.head.path ?? "/"
            let form = EC2QueryForm(query: request.uri.query ?? "", contentType: request.headers[.contentType], body: body)
            if await book.parkIfHolding() {
                return Response(status: .serviceUnavailable, headers: [.contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: "held by the test, never forwarded\n")))
            }
            var answer: HTTPForwarder.Answer
            do {
                answer = try await forwarder.send(method: request.method.rawValue, uri: uri, headers: headers, body: body)
            } catch {
                return Response(status: .badGateway, headers: [.contentType: "text/plain"],
                                body: .init(byteBuffer: ByteBuffer(string: "the moto proxy could not reach moto: \(error)\n")))
            }
            if let action = form.ec2Action, answer.status == 200 {
                answer.body = await act(action, form, answer.body)
                await book.answered(action)
            }
            var fields = HTTPFields()
            for (name, value) in answer.headers where !Self.hopByHop.contains(name.lowercased()) {
                if let fieldName = HTTPField.Name(name) { fields.append(HTTPField(name: fieldName, value: value)) }
            }
            return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
        }

        /// Does what a cloud does after a successful `action`; returns the answer to send (rewritten addresses).
        func act(_ action: String, _ form: EC2QueryForm, _ answer: [UInt8]) async -> [UInt8] {
            switch action {
            case "ImportKeyPair":
                if let name = form["KeyName"], let material = form["PublicKeyMaterial"] {
                    if let data = Data(base64Encoded: material), let line = String(data: data, encoding: .utf8) {
                        await book.setKey(name, line.trimmingCharacters(in: .whitespacesAndNewlines))
                    } else {
                        await book.fail("key pair \(name): ImportKeyPair: PublicKeyMaterial is not base64 of a key line")
                    }
                }
            case "CreateKeyPair":
                if let name = form["KeyName"], let material = EC2AnswerText.firstText("keyMaterial", in: answer) {
                    do {
                        await book.setKey(name, try await Self.publicKey(ofPrivateKey: material))
                    } catch {
                        await book.fail("key pair \(name): CreateKeyPair: \(error)")
                    }
                }
            case "DeleteKeyPair":
                if let name = form["KeyName"] { await book.removeKey(name) }
            case "RunInstances":
                await runInstances(form, answer)
                return await withAddresses(answer, settle: false)
            case "DescribeInstances":
                return await withAddresses(answer, settle: true)
            case "StopInstances":
                await begin(form.list("InstanceId"), .stop(grace: form["Force"]?.lowercased() == "true" ? 2 : 15))
            case "StartInstances":
                await begin(form.list("InstanceId"), .start)
            case "RebootInstances":
                await begin(form.list("InstanceId"), .reboot(grace: 15))
            case "TerminateInstances":
                await begin(form.list("InstanceId"), .destroy)
            case "CreateImage":
                if let id = form["InstanceId"], let image = EC2AnswerText.firstText("imageId", in: answer), await book.wasLaunched(id) {
                    do {
                        try await machines.capture(id, as: image, stopRunning: form["NoReboot"]?.lowercased() != "true")
                    } catch {
                        await book.fail("\(image): CreateImage from \(id): \(error)")
                    }
                }
            case "DeregisterImage":
                if let image = form["ImageId"] {
                    do { try await machines.forgetImage(image) } catch { await book.fail("\(image): DeregisterImage: \(error)") }
                }
            default:
                break
            }
            return answer
        }

        /// Boots a machine for each instance of a RunInstances answer (all at once), waiting for them all.
        private func runInstances(_ form: EC2QueryForm, _ answer: [UInt8]) async {
            let instances = EC2AnswerText.instances(in: answer)
            guard !instances.isEmpty else { return }
            await book.launch(instances.map(\.id))
            var keys: [String] = []
            if let name = form["KeyName"], !name.isEmpty {
                if let key = await book.key(name) {
                    keys = [key]
                } else {
                    await book.fail("\(instances.map(\.id).joined(separator: ", ")): RunInstances: key pair \(name) has no public key the proxy knows (imported behind its back?): none authorised")
                }
            }
            var userData: String?
            if let encoded = form["UserData"], !encoded.isEmpty {
                guard let data = Data(base64Encoded: encoded, options: .ignoreUnknownCharacters) else {
                    for instance in instances { await book.fail("\(instance.id): boot: UserData is not base64") }
                    return
                }
                userData = String(decoding: data, as: UTF8.self)
            }
            let (data, authorized, user, requested) = (userData, keys, loginUser, form["ImageId"])
            await withTaskGroup(of: Void.self) { group in
                for instance in instances {
                    group.addTask {
                        let ami = requested ?? instance.imageID ?? ""
                        let image: LocalCloudBootRequest.Image = await machines.hasCaptured(ami) ? .captured(ami) : .base(ami)
                        let request = LocalCloudBootRequest(id: instance.id, hostname: instance.id, image: image, userData: data,
                                                            authorizedKeys: authorized, loginUser: user)
                        do {
                            _ = try await machines.boot(request)
                        } catch {
                            await book.fail("\(instance.id): boot from \(ami): \(error)")
                        }
                    }
                }
            }
        }

        /// Queues `operation` on the machines of the instances the proxy launched; a failure is logged.
        private func begin(_ ids: [String], _ operation: LocalCloudOperation) async {
            for id in ids where await book.wasLaunched(id) {
                let task = await machines.begin(operation, on: id)
                if let log = book.log {
                    Task {
                        do { try await task.value } catch { log("\(id): \(operation): \(error)") }
                    }
                }
            }
        }

        /// The answer with its instances' addresses set to their machines' (removed where there is none); with
        /// `settle`, after the machine operations under way on them have ended.
        private func withAddresses(_ answer: [UInt8], settle: Bool) async -> [UInt8] {
            let ids = EC2AnswerText.instances(in: answer).map(\.id)
            guard !ids.isEmpty else { return answer }
            if settle { await machines.settle(ids) }
            var addresses: [String: String] = [:]
            for id in ids {
                if let address = await machines.address(id) { addresses[id] = address.ipv4 }
            }
            return EC2AnswerText.rewritingAddresses(answer, addresses)
        }

        /// The OpenSSH public key line of a private key (PEM or OpenSSH), from `ssh-keygen -y`.
        static func publicKey(ofPrivateKey material: String) async throws -> String {
            let dir = try TempDir(prefix: "otto-moto-key")
            defer { dir.cleanup() }
            let path = dir.write("key", material.hasSuffix("\n") ? material : material + "\n")
            chmod(path, 0o600)
            let result = try await runProcess(["ssh-keygen", "-y", "-f", path])
            guard result.status == 0, !result.stdout.isEmpty else {
                throw FakeServerError("ssh-keygen -y could not read the key moto made: \(result.stderr.trimmingCharacters(in: .whitespacesAndNewlines))")
            }
            return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }
    }
}
