import Foundation
import OttoCore
import OttoHTTP
import OttoTestSupport
import OttoWalker
import Testing

/// A host name that fails to resolve without any DNS traffic: its first label is longer than DNS allows (63 bytes), so
/// glibc's resolver rejects it before building a query (checked with strace: no packet is sent). curl reports it as
/// it reports any unknown host ("Could not resolve host").
let unresolvableHost = String(repeating: "x", count: 70) + ".invalid"

/// The walker against a real nginx serving a generated site with known broken links.
@Suite(.serialized) struct SiteWalkerNginxTests {
    /// The generated site. Every page is reached from `/` within depth 2; `walk.test` is pinned to nginx.
    static func site(refusedPort: Int, silentPort: Int, nginxPort: Int) -> [String: String] {
        [
            "index.html": """
                <!doctype html><html><head><title>Home <a href="/not-a-link.html"></title>
                <link rel="stylesheet" href="/css/site.css"><link rel="stylesheet" href="css/missing.css">
                <link rel="preconnect" href="http://\(unresolvableHost)/">
                <script src="/js/app.js"></script>
                <script>var s = '<a href="/inside-script.html">';</script>
                </head><body>
                <!-- <a href="/commented-out.html"> -->
                <a href="a.html">A</a> <a HREF='/b.html#part'>B</a> <a href="/a.html#again">A again</a>
                <a href="/missing.html">missing</a>
                <a href="/error500">500</a>
                <a href="http://\(unresolvableHost)/page">no such host</a>
                <a href="/r1">redirect chain</a> <a href="/loop1">redirect loop</a> <a href="/r-missing">redirect to nothing</a>
                <a href="http://localhost:\(nginxPort)/outside.html">outside</a>
                <a href="http://127.0.0.1:\(refusedPort)/">refused</a>
                <a href="http://127.0.0.1:\(silentPort)/slow">never answers</a>
                <a href="mailto:sales@walk.test">mail</a> <a href="javascript:void(0)">js</a> <a href="tel:+15550100">call</a>
                <a href="#top">top</a>
                <img src="/img/logo.png" alt=""> <img src="/nohead.png">
                </body></html>
                """,
            "a.html": """
                <html><body><a href="/missing.html">missing again</a> <a href="deep/c.html">deeper</a>
                <a href="index.html">home</a></body></html>
                """,
            "b.html": #"<html><body><a href="/gone/">gone</a> <a href="a.html">A</a></body></html>"#,
            "deep/c.html": #"<html><body><a href="d-missing.html">beyond the depth</a></body></html>"#,
            "final.html": "<html><body>the end of the chain</body></html>",
            "outside.html": #"<html><body><a href="/never-follow.html">must not be followed</a></body></html>"#,
            "never-follow.html": "<html></html>",
            "css/site.css": "body { color: black }",
            "js/app.js": "console.log('hi')",
            "img/logo.png": "PNG",
        ]
    }

    static let locations = """
        location = /error500 { return 500; }
        location = /r1 { return 301 /r2; }
        location = /r2 { return 302 /final.html; }
        location = /loop1 { return 302 /loop2; }
        location = /loop2 { return 302 /loop1; }
        location = /r-missing { return 302 /nothing-here.html; }
        location = /nohead.png { if ($request_method = HEAD) { return 405; } return 200 "PNG"; }
        """

    @Test func reportsExactlyTheBrokenLinksAndWhereTheyAre() async throws {
        let silent = try SilentListener()
        let refusedPort = freeLoopbackPort()
        let nginx = try await NginxServer.start(files: [:], locations: Self.locations)
        defer { nginx.stop() }
        for (path, content) in Self.site(refusedPort: refusedPort, silentPort: silent.port, nginxPort: nginx.port) {
            let full = nginx.root + "/" + path
            try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try content.write(toFile: full, atomically: true, encoding: .utf8)
        }
        let base = "http://walk.test:\(nginx.port)"
        let configuration = WalkConfiguration(start: base + "/", depth: 2, maxPages: 100,
                                              resolve: [ResolveEntry(host: "walk.test", port: nginx.port, addresses: ["127.0.0.1"])],
                                              timeout: .seconds(1))
        let report = try await SiteWalker().walk(site: "walk", configuration: configuration)

        let broken = Dictionary(uniqueKeysWithValues: report.broken.map { ($0.url, $0) })
        let expected: [String: (String, [String])] = [
            base + "/missing.html": ("404", [base + "/", base + "/a.html"]),
            base + "/error500": ("500", [base + "/"]),
            base + "/gone/": ("404", [base + "/b.html"]),
            base + "/css/missing.css": ("404", [base + "/"]),
            base + "/r-missing": ("404", [base + "/"]),
            base + "/loop1": ("redirects", [base + "/"]),
            "http://\(unresolvableHost)/page": ("dns", [base + "/"]),
            "http://127.0.0.1:\(refusedPort)/": ("refused", [base + "/"]),
            "http://127.0.0.1:\(silent.port)/slow": ("timeout", [base + "/"]),
        ]
        #expect(Set(broken.keys) == Set(expected.keys), "\(report.broken.map(\.url))")
        for (url, (reason, pages)) in expected {
            guard let link = broken[url] else { continue }
            #expect((link.status.map(String.init) ?? link.error?.code) == reason, "\(url): \(link.reason)")
            #expect(link.foundOn == pages, "\(url)")
        }

        let pages = Dictionary(uniqueKeysWithValues: report.pages.map { ($0.url, $0) })
        // The redirect chain is followed hop by hop and recorded.
        let chain = try #require(pages[base + "/r1"])
        #expect(chain.status == 200)
        #expect(chain.redirects.map(\.status) == [301, 302])
        #expect(chain.finalURL == base + "/final.html")
        // The page outside the site is checked with HEAD and never read or followed.
        let outside = try #require(pages["http://localhost:\(nginx.port)/outside.html"])
        #expect(outside.kind == .external && outside.method == "HEAD" && outside.status == 200)
        // A resource whose server refuses HEAD is judged by a GET.
        #expect(pages[base + "/nohead.png"]?.status == 200)
        #expect(pages[base + "/nohead.png"]?.method == "GET")
        // Pages record their links: resolved, without fragments, de-duplicated, in document order; no mailto/js/tel.
        let home = try #require(pages[base + "/"])
        #expect(home.links.prefix(5) == [base + "/css/site.css", base + "/css/missing.css", base + "/js/app.js", base + "/a.html", base + "/b.html"])
        #expect(!home.links.contains { $0.contains("mailto") || $0.contains("javascript") || $0.contains("tel:") })
        #expect(!home.links.contains { $0.contains("commented-out") || $0.contains("inside-script") || $0.contains("not-a-link") })
        #expect(home.status == 200 && home.size > 500 && home.contentType == "text/html" && home.depth == 0)
        #expect(pages[base + "/deep/c.html"]?.depth == 2)
        #expect(pages[base + "/deep/c.html"]?.links == [])  // at the depth limit: fetched, its links not read
        #expect(pages[base + "/deep/c.html"]?.method == "GET" && (pages[base + "/deep/c.html"]?.size ?? 0) > 20)
        #expect(!report.truncated && !report.interrupted)

        // What nginx saw: nothing beyond the depth, nothing behind the outside page, each URL once.
        let requests = nginx.requests()
        #expect(!requests.contains { $0.contains("never-follow") || $0.contains("d-missing") || $0.contains("commented-out") })
        #expect(requests.filter { $0.hasPrefix("GET / ") }.count == 1)
        #expect(requests.contains("HEAD /outside.html 200"))
        #expect(requests.filter { $0.contains(" /missing.html ") } == ["GET /missing.html 404"])  // linked twice, requested once
        #expect(requests.filter { $0.contains(" /gone/ ") } == ["GET /gone/ 404"])  // pages are fetched at every depth
        #expect(requests.filter { $0.contains(" /css/missing.css ") } == ["HEAD /css/missing.css 404", "GET /css/missing.css 404"])  // confirmed by GET
        // Keep-alive: far fewer connections than requests.
        #expect(report.connections < report.requests / 2, "\(report.connections) connections for \(report.requests) requests")
    }

    @Test func stopsAtMaxPagesAndSaysSo() async throws {
        var files: [String: String] = [:]
        files["index.html"] = (0..<20).map { "<a href=\"p\($0).html\">\($0)</a>" }.joined()
        for i in 0..<20 { files["p\(i).html"] = "<html>\(i)</html>" }
        let nginx = try await NginxServer.start(files: files)
        defer { nginx.stop() }
        let report = try await SiteWalker().walk(site: "s", configuration: WalkConfiguration(start: nginx.baseURL + "/", depth: 3, maxPages: 5))
        #expect(report.pages.count == 5)
        #expect(report.pages.map(\.url) == [nginx.baseURL + "/"] + (0..<4).map { nginx.baseURL + "/p\($0).html" })
        #expect(report.truncated)
        #expect(report.broken.isEmpty)
    }

    @Test func allowedHostsAreFollowedAndCancellationInterrupts() async throws {
        let nginx = try await NginxServer.start(files: [
            "index.html": #"<a href="http://cdn.walk.test:PORT/x.html">x</a>"#,
            "x.html": #"<a href="/y.html">y</a>"#,
            "y.html": "<html></html>",
        ])
        defer { nginx.stop() }
        let text = try String(contentsOfFile: nginx.root + "/index.html", encoding: .utf8).replacingOccurrences(of: "PORT", with: "\(nginx.port)")
        try text.write(toFile: nginx.root + "/index.html", atomically: true, encoding: .utf8)
        let pins = ["walk.test", "cdn.walk.test"].map { ResolveEntry(host: $0, port: nginx.port, addresses: ["127.0.0.1"]) }
        let allowed = try await SiteWalker().walk(site: "s", configuration: WalkConfiguration(
            start: "http://walk.test:\(nginx.port)/", depth: 3, allow: ["cdn.walk.test"], resolve: pins))
        #expect(allowed.pages.map(\.url) == ["http://walk.test:\(nginx.port)/", "http://cdn.walk.test:\(nginx.port)/x.html",
                                             "http://cdn.walk.test:\(nginx.port)/y.html"])
        #expect(allowed.pages.allSatisfy { $0.kind == .page })
        let notAllowed = try await SiteWalker().walk(site: "s", configuration: WalkConfiguration(
            start: "http://walk.test:\(nginx.port)/", depth: 3, resolve: pins))
        #expect(notAllowed.pages.map(\.kind) == [.page, .external])

        // A walk whose task is cancelled ends at once, marked interrupted.
        let silent = try SilentListener()
        let task = Task {
            try await SiteWalker().walk(site: "s", configuration: WalkConfiguration(start: "http://127.0.0.1:\(silent.port)/", timeout: .seconds(30)))
        }
        try await Task.sleep(for: .milliseconds(200))
        task.cancel()
        let started = ContinuousClock.now
        let interrupted = try await task.value
        #expect(ContinuousClock.now - started < .seconds(20), "far below the walk's 30 s timeout, far above load noise")
        #expect(interrupted.interrupted)
        #expect(interrupted.pages.isEmpty)
    }

    @Test func refusesAStartThatIsNotHTTP() async throws {
        await #expect(throws: OttoError.self) {
            try await SiteWalker().walk(site: "s", configuration: WalkConfiguration(start: "ftp://walk.test/"))
        }
    }
}
