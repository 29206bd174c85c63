import OttoWalker
import Testing

/// Link extraction from HTML, without a server.
@Suite struct LinkExtractorTests {
    let page = WalkURL("http://shop.test/docs/index.html")!

    func links(_ html: String) -> [String] {
        LinkExtractor.links(in: Array(html.utf8), documentURL: page).map(\.url.description)
    }

    @Test func readsTheLinkAttributesOfTheRightElements() {
        let html = """
            <A HREF="a.html">a</A><area href=/map.html><iframe src="frame.html"></iframe>
            <img src='img/x.png' alt="<a href='no.html'>"><script src=/app.js></script><source src="v.mp4">
            <link rel="Stylesheet" href="s.css"><link rel="canonical" href="/docs/"><link rel="dns-prefetch" href="//cdn.test">
            <div href="not-a-link.html"></div><a name="anchor-only">x</a>
            """
        #expect(links(html) == ["http://shop.test/docs/a.html", "http://shop.test/map.html", "http://shop.test/docs/frame.html",
                                "http://shop.test/docs/img/x.png", "http://shop.test/app.js", "http://shop.test/docs/v.mp4",
                                "http://shop.test/docs/s.css", "http://shop.test/docs/"])
        let roles = LinkExtractor.links(in: Array(html.utf8), documentURL: page).map(\.role)
        #expect(roles == [.page, .page, .page, .resource, .resource, .resource, .resource, .page])
    }

    @Test func skipsCommentsScriptsAndNonHTTPLinksAndDeduplicates() {
        let html = """
            <!-- <a href="commented.html"> --><!DOCTYPE html><?xml version="1.0"?>
            <script>document.write('<a href="scripted.html">')</script><style>a[href="styled.html"] {}</style>
            <a href="mailto:x@shop.test">m</a><a href="javascript:go()">j</a><a href="tel:123">t</a><a href="data:,x">d</a>
            <a href="#top">self</a><a href="b.html#one">b</a><a href="b.html#two">b again</a><a href="B.html">other case</a>
            <img src="b.html"><a href = " c.html ">spaces</a><a href="">empty</a>
            """
        #expect(links(html) == ["http://shop.test/docs/index.html", "http://shop.test/docs/b.html", "http://shop.test/docs/B.html",
                                "http://shop.test/docs/c.html"])
        // a link seen as a page keeps the page role when an image points at it too
        #expect(LinkExtractor.links(in: Array(html.utf8), documentURL: page)[1].role == .page)
    }

    @Test func decodesCharacterReferencesAndHonoursBase() {
        #expect(links(#"<a href="q?a=1&amp;b=2&#38;c=&#x33;">q</a>"#) == ["http://shop.test/docs/q?a=1&b=2&c=3"])
        #expect(links(#"<base href="http://cdn.test/root/"><a href="x.html">x</a><a href="/y">y</a>"#)
                == ["http://cdn.test/root/x.html", "http://cdn.test/y"])
        #expect(links("<a href=\"unterminated") == [])
        #expect(links("<a href=x.html>") == ["http://shop.test/docs/x.html"])
        #expect(links("<a href=x.html") == [])
        #expect(links("") == [])
        #expect(links("<") == [])
    }
}
