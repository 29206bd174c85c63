import Foundation

/// fleet's paging token (`api/paging.go`): two little-endian `UInt16`s, the page size and the page number (from 1),
/// encoded as base64url with padding. A list without `nextPageToken` starts at page 1 of 100.
public struct FakeFleetPageToken: Sendable, Hashable {
    /// Items per page (1...100).
    public var limit: UInt16
    /// The page, from 1.
    public var page: UInt16

    /// The most items fleet put on one page.
    public static let maxLimit: UInt16 = 100
    /// The first page, 100 items.
    public static let first = FakeFleetPageToken(limit: maxLimit, page: 1)

    /// Creates a token.
    public init(limit: UInt16, page: UInt16) {
        self.limit = limit
        self.page = page
    }

    /// Decodes a token; nil when it is not base64url of four bytes, or names page 0 or a size outside 1...100.
    public init?(encoded: String) {
        var text = encoded.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while text.count % 4 != 0 { text += "=" }
        guard let data = Data(base64Encoded: text), data.count == 4 else { return nil }
        let bytes = [UInt8](data)
        let limit = UInt16(bytes[0]) | UInt16(bytes[1]) << 8
        let page = UInt16(bytes[2]) | UInt16(bytes[3]) << 8
        guard (1...Self.maxLimit).contains(limit), page >= 1 else { return nil }
        self.init(limit: limit, page: page)
    }

    /// The token as fleet sent it (base64url, padded).
    public var encoded: String {
        let bytes: [UInt8] = [UInt8(limit & 0xff), UInt8(limit >> 8), UInt8(page & 0xff), UInt8(page >> 8)]
        return Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
    }

    /// The token of the next page.
    public var next: FakeFleetPageToken { FakeFleetPageToken(limit: limit, page: page &+ 1) }

    /// This page's slice of `items`, and whether fleet announced another page. Like fleet's `extract*PageData`, a page
    /// that ends exactly at the last item still announces a next (empty) page.
    public func slice<T>(_ items: [T]) -> (items: [T], more: Bool) {
        let start = (Int(page) - 1) * Int(limit)
        let stop = Int(page) * Int(limit)
        guard start < items.count else { return ([], false) }
        if stop > items.count { return (Array(items[start...]), false) }
        return (Array(items[start..<stop]), true)
    }
}
