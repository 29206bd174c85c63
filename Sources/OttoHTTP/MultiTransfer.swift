internal import CCurl
import Foundation

/// One transfer in flight on a `CurlMultiEngine`: its options, the response as libcurl delivers it, and whom to
/// give the result. Used only by the engine's driver thread (and libcurl's callbacks on that thread).
final class MultiTransfer {
    let id: UInt64
    let request: CurlMulti.Request
    let completion: MultiCompletion
    let easy: MultiEasy
    private var headerList: UnsafeMutablePointer<curl_slist>?

    private var headers: [String: String] = [:]
    private var body: [UInt8] = []
    private var received = 0
    /// Whether body bytes are kept; decided at the first one (when the Content-Type is known).
    private var keep: Bool?
    private var limit = 0
    /// `BodyHandling.drain`: bytes are counted and dropped.
    private var draining = false
    /// The write callback stopped the transfer on purpose (body discarded or over the limit).
    private var stoppedBody = false
    /// Set from `CURLINFO_NUM_CONNECTS` when the transfer ends.
    private(set) var newConnections = 0

    init(id: UInt64, request: CurlMulti.Request, completion: @escaping MultiCompletion, easy: MultiEasy) {
        self.id = id
        self.request = request
        self.completion = completion
        self.easy = easy
    }

    deinit {
        curl_slist_free_all(headerList)
    }

    /// Sets the easy handle's options for this transfer; returns why it cannot run, or nil.
    func configure(_ configuration: CurlMulti.Configuration, resolve: UnsafeMutablePointer<curl_slist>?) -> CurlMulti.Failure? {
        let handle = easy.handle
        curl_easy_reset(handle)  // connections stay in the multi's cache
        easy.errorBuffer[0] = 0
        var setup = CURLE_OK
        func check(_ code: CURLcode) { if setup == CURLE_OK { setup = code } }
        let me = Unmanaged.passUnretained(self).toOpaque()
        let timeout = request.timeout ?? configuration.timeout

        check(otto_curl_setopt_str(handle, CURLOPT_URL, request.url))
        check(otto_curl_setopt_str(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        check(otto_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        check(otto_curl_setopt_long(handle, CURLOPT_HTTP_VERSION, Int(CURL_HTTP_VERSION_1_1)))
        check(otto_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(configuration.connectTimeout.seconds * 1000))))
        check(otto_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, max(1, Int(timeout.seconds * 1000))))
        check(otto_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, easy.errorBuffer))
        check(otto_curl_setopt_str(handle, CURLOPT_USERAGENT, configuration.userAgent))
        if let resolve { check(otto_curl_setopt_ptr(handle, CURLOPT_RESOLVE, resolve)) }
        check(otto_curl_setopt_writefunction(handle) { data, size, count, user in
            let total = size * count
            guard let data, let user, total > 0 else { return total }
            let transfer = Unmanaged<MultiTransfer>.fromOpaque(user).takeUnretainedValue()
            return data.withMemoryRebound(to: UInt8.self, capacity: total) {
                transfer.receiveBody(UnsafeBufferPointer(start: $0, count: total))
            }
        })
        check(otto_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, me))
        check(otto_curl_setopt_headerfunction(handle) { data, size, count, user in
            let total = size * count
            guard let data, let user, total > 0 else { return total }
            let transfer = Unmanaged<MultiTransfer>.fromOpaque(user).takeUnretainedValue()
            data.withMemoryRebound(to: UInt8.self, capacity: total) {
                transfer.receiveHeader(UnsafeBufferPointer(start: $0, count: total))
            }
            return total
        })
        check(otto_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, me))
        switch request.method {
        case .get: check(otto_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
        case .head: check(otto_curl_setopt_long(handle, CURLOPT_NOBODY, 1))
        default: check(otto_curl_setopt_str(handle, CURLOPT_CUSTOMREQUEST, request.method.rawValue))
        }
        if !request.headers.isEmpty {
            for (name, value) in request.headers { headerList = curl_slist_append(headerList, "\(name): \(value)") }
            check(otto_curl_setopt_ptr(handle, CURLOPT_HTTPHEADER, headerList))
        }
        guard setup == CURLE_OK else {
            return CurlMulti.Failure(kind: setup == CURLE_URL_MALFORMAT ? .invalidURL : .transport, message: describe(setup))
        }
        return nil
    }

    /// Header callback: one header line (or a status line, which starts a new response). Parsed on the bytes
    /// (ASCII trimming and lower-casing): Foundation's string trimming went through UTF-16 and was the walker's
    /// largest CPU cost.
    private func receiveHeader(_ line: UnsafeBufferPointer<UInt8>) {
        if line.starts(with: "HTTP/".utf8) {
            headers.removeAll(keepingCapacity: true)
            return
        }
        guard let colon = line.firstIndex(of: UInt8(ascii: ":")) else { return }
        func isSpace(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D || b == 0x0A }
        var nameStart = 0
        var nameEnd = colon
        while nameStart < nameEnd, isSpace(line[nameStart]) { nameStart += 1 }
        while nameEnd > nameStart, isSpace(line[nameEnd - 1]) { nameEnd -= 1 }
        var valueStart = colon + 1
        var valueEnd = line.count
        while valueStart < valueEnd, isSpace(line[valueStart]) { valueStart += 1 }
        while valueEnd > valueStart, isSpace(line[valueEnd - 1]) { valueEnd -= 1 }
        let name = String(decoding: line[nameStart..<nameEnd].lazy.map { $0 >= 0x41 && $0 <= 0x5A ? $0 | 0x20 : $0 }, as: UTF8.self)
        let value = String(decoding: UnsafeBufferPointer(rebasing: line[valueStart..<valueEnd]), as: UTF8.self)
        if let existing = headers[name] { headers[name] = existing + ", " + value } else { headers[name] = value }
    }

    /// Write callback: keeps or drops body bytes per the request's `BodyHandling`. Returning fewer bytes than
    /// given stops the transfer (libcurl reports CURLE_WRITE_ERROR, which `result` turns back into a response).
    private func receiveBody(_ bytes: UnsafeBufferPointer<UInt8>) -> Int {
        if keep == nil {
            switch request.body {
            case .keep(let max):
                keep = true
                limit = max
            case .keepIf(let types, let max):
                let type = headers["content-type"]?.lowercased() ?? ""
                keep = types.contains { type.hasPrefix($0) }
                limit = max
            case .drain:
                keep = false
                draining = true
            case .discard:
                keep = false
            }
        }
        guard keep == true else {
            if draining {
                received += bytes.count
                return bytes.count
            }
            stoppedBody = true
            return 0
        }
        received += bytes.count
        if body.count + bytes.count > limit {
            body.append(contentsOf: bytes.prefix(max(0, limit - body.count)))
            stoppedBody = true
            return 0
        }
        body.append(contentsOf: bytes)
        return bytes.count
    }

    /// The outcome once libcurl reported `code` for this transfer.
    func result(_ code: CURLcode) -> MultiResult {
        let handle = easy.handle
        var connects = 0
        _ = otto_curl_getinfo_long(handle, CURLINFO_NUM_CONNECTS, &connects)
        newConnections = connects
        guard code == CURLE_OK || (code == CURLE_WRITE_ERROR && stoppedBody) else {
            return .failure(classify(code))
        }
        var status = 0
        _ = otto_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        var micros: curl_off_t = 0
        _ = otto_curl_getinfo_off(handle, CURLINFO_TOTAL_TIME_T, &micros)
        var length: curl_off_t = -1
        _ = otto_curl_getinfo_off(handle, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length)
        var location: UnsafeMutablePointer<CChar>? = nil
        _ = otto_curl_getinfo_str(handle, CURLINFO_REDIRECT_URL, &location)
        var ip: UnsafeMutablePointer<CChar>? = nil
        _ = otto_curl_getinfo_str(handle, CURLINFO_PRIMARY_IP, &ip)
        let complete = !stoppedBody && request.method != .head
        let size = complete ? received : (length >= 0 ? Int(length) : received)
        let address = ip.map { String(cString: $0) }
        return .success(CurlMulti.Response(
            status: status, headers: headers, body: body, size: size, bodyTruncated: stoppedBody, contentType: headers["content-type"],
            location: (300..<400).contains(status) ? location.map { String(cString: $0) } : nil,
            time: .microseconds(Int64(micros)), remoteAddress: address?.isEmpty == false ? address : nil, newConnections: connects))
    }

    private func describe(_ code: CURLcode) -> String {
        let detail = String(cString: easy.errorBuffer)
        return detail.isEmpty ? String(cString: curl_easy_strerror(code)) : detail
    }

    private func classify(_ code: CURLcode) -> CurlMulti.Failure {
        let message = describe(code)
        let kind: CurlMulti.Failure.Kind
        switch code {
        case CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            kind = .dns
        case CURLE_COULDNT_CONNECT:
            var osErrno = 0
            _ = otto_curl_getinfo_long(easy.handle, CURLINFO_OS_ERRNO, &osErrno)
            kind = osErrno == Int(ECONNREFUSED) ? .refused : .connect
        case CURLE_OPERATION_TIMEDOUT:
            kind = .timeout
        case CURLE_SSL_CONNECT_ERROR, CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CERTPROBLEM, CURLE_SSL_CIPHER,
             CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR, CURLE_SSL_PINNEDPUBKEYNOTMATCH, CURLE_SSL_INVALIDCERTSTATUS:
            kind = .tls
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL:
            kind = .invalidURL
        default:
            kind = .transport
        }
        return CurlMulti.Failure(kind: kind, message: message)
    }
}
