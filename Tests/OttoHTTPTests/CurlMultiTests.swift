import Foundation
import Testing
@testable import OttoHTTP

/// `CurlMulti` against the test server (Python's threading http.server on a loopback port).
@Suite struct CurlMultiTests {
    func withServer(_ configuration: CurlMulti.Configuration = .init(),
                    _ body: (TestHTTPServer, CurlMulti) async throws -> Void) async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let multi = try CurlMulti(configuration: configuration)
        try await body(server, multi)
    }

    @Test func sequentialRequestsReuseOneConnection() async throws {
        try await withServer { server, multi in
            for i in 0..<10 {
                let response = try await multi.perform(.init(url: server.baseURL + "/echo?i=\(i)")).get()
                #expect(response.status == 200)
                #expect(response.contentType == "application/json")
                #expect(String(decoding: response.body, as: UTF8.self).contains("\"query\": \"i=\(i)\""))
            }
            #expect(multi.statistics == .init(transfers: 10, connections: 1))
        }
    }

    @Test func perHostLimitQueuesTransfers() async throws {
        try await withServer(.init(maxHostConnections: 2)) { server, multi in
            let started = ContinuousClock.now
            let url = server.baseURL + "/sleep/0.3"
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<6 { group.addTask { try await multi.perform(.init(url: url)).get().status } }
                for try await status in group { #expect(status == 200) }
            }
            let elapsed = ContinuousClock.now - started
            #expect(elapsed >= .milliseconds(850), "6 transfers of 0.3 s, 2 at a time: \(elapsed)")
            // Two at a time, never more: the server saw exactly 2 of them in flight at once.
            let atOnce = try await multi.perform(.init(url: server.baseURL + "/max-in-flight/sleep/0.3")).get()
            #expect(String(decoding: atOnce.body, as: UTF8.self) == "2")
            #expect(multi.statistics.connections == 2)
        }
    }

    @Test func manyTransfersRunConcurrently() async throws {
        try await withServer(.init(maxHostConnections: 8)) { server, multi in
            // Each request waits in the server until all 8 are there at the same moment (504 after 20 s otherwise).
            let url = server.baseURL + "/together/many/8"
            try await withThrowingTaskGroup(of: (Int, String).self) { group in
                for _ in 0..<8 {
                    group.addTask {
                        let response = try await multi.perform(.init(url: url)).get()
                        return (response.status, String(decoding: response.body, as: UTF8.self))
                    }
                }
                for try await (status, body) in group { #expect(status == 200, "\(body)") }
            }
        }
    }

    @Test func redirectsComeBackWithTheirLocationAndHeadHasNoBody() async throws {
        let nginxLike = try await TestHTTPServer.start()
        defer { nginxLike.stop() }
        let multi = try CurlMulti()
        let head = try await multi.perform(.init(method: .head, url: nginxLike.baseURL + "/echo")).get()
        #expect(head.status == 200 && head.body.isEmpty && head.size == 0)
        let missing = try await multi.perform(.init(url: nginxLike.baseURL + "/error-text/404", body: .keepIf(contentTypes: ["text/html"], max: 100))).get()
        #expect(missing.status == 404)
        #expect(missing.body.isEmpty && missing.bodyTruncated)  // text/plain is not kept: stopped at the first byte
        #expect(missing.size == 2000)                             // but its Content-Length is known
        let capped = try await multi.perform(.init(url: nginxLike.baseURL + "/error-text/500", body: .keep(max: 100))).get()
        #expect(capped.body.count == 100 && capped.bodyTruncated && capped.status == 500)
    }

    @Test func failuresAreToldApart() async throws {
        let multi = try CurlMulti(configuration: .init(connectTimeout: .seconds(2), timeout: .seconds(1)))
        // Refused: nothing listens on the port.
        let refusedPort = try freeTCPPort()
        let refused = await multi.perform(.init(url: "http://127.0.0.1:\(refusedPort)/"))
        #expect(refused.failureKind == .refused, "\(refused)")
        // DNS: a label longer than 63 bytes fails in the resolver without a query leaving the machine.
        let dns = await multi.perform(.init(url: "http://\(String(repeating: "y", count: 70)).invalid/"))
        #expect(dns.failureKind == .dns, "\(dns)")
        // Not http(s).
        #expect(await multi.perform(.init(url: "gopher://127.0.0.1/")).failureKind == .invalidURL)
    }

    @Test func resolvePinsAHostAndKeepsItsName() async throws {
        let server = try await TestHTTPServer.start()
        defer { server.stop() }
        let multi = try CurlMulti(configuration: .init(resolve: [ResolveEntry(parsing: "pinned.test:\(server.port):127.0.0.1")!]))
        let response = try await multi.perform(.init(url: "http://pinned.test:\(server.port)/echo")).get()
        #expect(String(decoding: response.body, as: UTF8.self).contains("\"host\": \"pinned.test:\(server.port)\""))
        #expect(response.remoteAddress == "127.0.0.1")
    }

    @Test func cancellingTheTaskEndsItsTransferAndShutdownEndsTheRest() async throws {
        try await withServer { server, multi in
            // The server answers after 60 s (the transfer's timeout: 90 s): cancelling does not wait for it.
            let slow = server.baseURL + "/sleep/60"
            let task = Task { await multi.perform(.init(url: slow, timeout: .seconds(90))) }
            try await Task.sleep(for: .milliseconds(100))
            let started = ContinuousClock.now
            task.cancel()
            #expect(await task.value.failureKind == .cancelled)
            #expect(ContinuousClock.now - started < .seconds(30), "far below the server's 60 s, far above load noise")

            let pending = Task { await multi.perform(.init(url: slow, timeout: .seconds(90))) }
            try await Task.sleep(for: .milliseconds(100))
            multi.shutdown()
            #expect(await pending.value.failureKind == .cancelled)
            #expect(await multi.perform(.init(url: server.baseURL + "/echo")).failureKind == .cancelled)
        }
    }

    @Test func resolveEntriesParse() {
        #expect(ResolveEntry(parsing: "Shop.Test:80:10.0.0.1,10.0.0.2")?.description == "shop.test:80:10.0.0.1,10.0.0.2")
        #expect(ResolveEntry(parsing: "shop.test:443:[2001:db8::1]")?.addresses == ["2001:db8::1"])
        #expect(ResolveEntry(parsing: "shop.test:443:[2001:db8::1]")?.description == "shop.test:443:[2001:db8::1]")
        for bad in ["shop.test:80", "shop.test:http:1.2.3.4", "shop.test:80:not-an-ip", ":80:1.2.3.4", "shop.test:0:1.2.3.4"] {
            #expect(ResolveEntry(parsing: bad) == nil, "\(bad)")
        }
    }
}

extension Result where Failure == CurlMulti.Failure {
    var failureKind: CurlMulti.Failure.Kind? {
        if case .failure(let f) = self { return f.kind }
        return nil
    }
}

/// A loopback TCP port nothing listens on (bound, read, closed).
func freeTCPPort() throws -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    let ok = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
    }
    guard ok else { throw CocoaError(.fileReadUnknown) }
    return Int(UInt16(bigEndian: address.sin_port))
}
