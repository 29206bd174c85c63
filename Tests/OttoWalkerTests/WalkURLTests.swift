import OttoWalker
import Testing

/// URL normal form and RFC 3986 reference resolution.
@Suite struct WalkURLTests {
    let base = WalkURL("http://Shop.Test:80/a/b/c.html?x=1#top")!

    @Test func normalFormOfAbsoluteURLs() {
        #expect(base.description == "http://shop.test/a/b/c.html?x=1")
        #expect(WalkURL("HTTPS://user:pw@Shop.Test:443")?.description == "https://shop.test/")
        #expect(WalkURL("http://shop.test:8080/x/../y/./z")?.description == "http://shop.test:8080/y/z")
        #expect(WalkURL("http://[::1]:8080/p")?.description == "http://[::1]:8080/p")
        #expect(WalkURL("http://shop.test/a b/é")?.description == "http://shop.test/a%20b/%C3%A9")
        #expect(WalkURL("ftp://shop.test/") == nil)
        #expect(WalkURL("/relative") == nil)
        #expect(WalkURL("http://shop.test:99999/") == nil)
        #expect(WalkURL("http:///nohost") == nil)
    }

    @Test func resolvesRelativeReferencesAsRFC3986Says() {
        // RFC 3986 §5.4.1 normal examples, with base http://a/b/c/d;p?q
        let rfc = WalkURL("http://a/b/c/d;p?q")!
        let cases: [(String, String)] = [
            ("g", "http://a/b/c/g"), ("./g", "http://a/b/c/g"), ("g/", "http://a/b/c/g/"), ("/g", "http://a/g"),
            ("//g", "http://g/"), ("?y", "http://a/b/c/d;p?y"), ("g?y", "http://a/b/c/g?y"), ("#s", "http://a/b/c/d;p?q"),
            ("g#s", "http://a/b/c/g"), ("g?y#s", "http://a/b/c/g?y"), (";x", "http://a/b/c/;x"), ("g;x", "http://a/b/c/g;x"),
            ("", "http://a/b/c/d;p?q"), (".", "http://a/b/c/"), ("./", "http://a/b/c/"), ("..", "http://a/b/"),
            ("../", "http://a/b/"), ("../g", "http://a/b/g"), ("../..", "http://a/"), ("../../", "http://a/"),
            ("../../g", "http://a/g"), ("../../../g", "http://a/g"), ("/./g", "http://a/g"), ("/../g", "http://a/g"),
            ("g.", "http://a/b/c/g."), ("..g", "http://a/b/c/..g"), ("./../g", "http://a/b/g"), ("g/../h", "http://a/b/c/h"),
        ]
        for (reference, expected) in cases {
            #expect(rfc.resolve(reference)?.description == expected, "\(reference)")
        }
    }

    @Test func lenientLikeBrowsersAndIgnoresOtherSchemes() {
        #expect(base.resolve("  page.html\n")?.description == "http://shop.test/a/b/page.html")
        #expect(base.resolve("..\\up.html")?.description == "http://shop.test/a/up.html")
        #expect(base.resolve("http:same-scheme.html")?.description == "http://shop.test/a/b/same-scheme.html")
        #expect(base.resolve("HTTPS://Other.Test/x#frag")?.description == "https://other.test/x")
        for ignored in ["mailto:sales@shop.test", "javascript:void(0)", "tel:+15551234", "data:text/plain,hi", "ftp://shop.test/f"] {
            #expect(base.resolve(ignored) == nil, "\(ignored)")
        }
        #expect(base.hostAndPort == "shop.test:80")
        #expect(WalkURL("https://shop.test/")!.hostAndPort == "shop.test:443")
    }
}
