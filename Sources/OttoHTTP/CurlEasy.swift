internal import CCurl
import Foundation

/// libcurl's process-wide initialisation, run once on first use.
let curlGlobalInit: Void = { _ = curl_global_init(Int(CURL_GLOBAL_ALL)) }()

/// Why an exchange produced no response.
struct TransportFailure: Error, Sendable {
    /// `http.timeout`, `http.connect`, `http.transport` or `http.request`.
    var code: String
    /// libcurl's description.
    var message: String
    /// Whether trying again may help (for idempotent requests).
    var retryable: Bool
}

/// Collects one response while libcurl writes it (used only by the thread running the transfer).
private final class ResponseSink {
    var body: [UInt8] = []
    var headers: [String: String] = [:]
}

/// One libcurl easy handle. A reused handle keeps its connection(s) alive between transfers.
///
/// Not thread-safe: the owning pool hands it to one thread at a time.
final class CurlEasy {
    private let handle: UnsafeMutableRawPointer
    private let errorBuffer: UnsafeMutablePointer<CChar>

    /// Creates a handle; nil when libcurl cannot allocate one.
    init?() {
        _ = curlGlobalInit
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
        self.errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }

    /// Runs one exchange, blocking the calling thread until it finishes.
    func perform(_ request: HTTPRequest, connectTimeout: Duration, timeout: Duration) -> Result<HTTPResponse, TransportFailure> {
        curl_easy_reset(handle)  // keeps live connections
        errorBuffer[0] = 0
        let sink = ResponseSink()
        let sinkPointer = Unmanaged.passUnretained(sink).toOpaque()
        var headerList: UnsafeMutablePointer<curl_slist>? = nil
        defer { curl_slist_free_all(headerList) }

        var setup = CURLE_OK
        func check(_ code: CURLcode) { if setup == CURLE_OK { setup = code } }

        check(otto_curl_setopt_str(handle, CURLOPT_URL, request.url))
        check(otto_curl_setopt_str(handle, CURLOPT_PROTOCOLS_STR, "http,https"))
        check(otto_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1))
        // libcurl silently sends a request again when a reused keep-alive connection turns out dead before any byte of
        // the answer arrived. The server may have acted on the first one (a create whose answer was lost), so a request
        // that must not be repeated always goes out on a fresh connection, where libcurl never does that.
        if !request.idempotent { check(otto_curl_setopt_long(handle, CURLOPT_FRESH_CONNECT, 1)) }
        check(otto_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, max(1, Int(connectTimeout.seconds * 1000))))
        check(otto_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, max(1, Int(timeout.seconds * 1000))))
        check(otto_curl_setopt_ptr(handle, CURLOPT_ERRORBUFFER, errorBuffer))
        check(otto_curl_setopt_str(handle, CURLOPT_ACCEPT_ENCODING, ""))
        check(otto_curl_setopt_writefunction(handle) { data, size, count, user in
            let total = size * count
            guard let data, let user, total > 0 else { return total }
            let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
            data.withMemoryRebound(to: UInt8.self, capacity: total) {
                sink.body.append(contentsOf: UnsafeBufferPointer(start: $0, count: total))
            }
            return total
        })
        check(otto_curl_setopt_ptr(handle, CURLOPT_WRITEDATA, sinkPointer))
        check(otto_curl_setopt_headerfunction(handle) { data, size, count, user in
            let total = size * count
            guard let data, let user, total > 0 else { return total }
            let sink = Unmanaged<ResponseSink>.fromOpaque(user).takeUnretainedValue()
            let line = data.withMemoryRebound(to: UInt8.self, capacity: total) {
                String(decoding: UnsafeBufferPointer(start: $0, count: total), as: UTF8.self)
            }.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.hasPrefix("HTTP/") {
                sink.headers = [:]  // a new response (after 100 Continue or a redirect)
            } else if let colon = line.firstIndex(of: ":") {
                let name = line[..<colon].trimmingCharacters(in: .whitespaces).lowercased()
                let value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if let existing = sink.headers[name] { sink.headers[name] = existing + ", " + value } else { sink.headers[name] = value }
            }
            return total
        })
        check(otto_curl_setopt_ptr(handle, CURLOPT_HEADERDATA, sinkPointer))

        switch request.method {
        case .get where request.body.isEmpty:
            check(otto_curl_setopt_long(handle, CURLOPT_HTTPGET, 1))
        case .head:
            check(otto_curl_setopt_long(handle, CURLOPT_NOBODY, 1))
        default:
            if !request.body.isEmpty || [.post, .put, .patch].contains(request.method) {
                check(otto_curl_setopt_off(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(request.body.count)))
                if request.body.isEmpty {
                    check(otto_curl_setopt_str(handle, CURLOPT_COPYPOSTFIELDS, ""))
                } else {
                    check(request.body.withUnsafeBytes { otto_curl_setopt_ptr(handle, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0.baseAddress)) })
                }
            }
            check(otto_curl_setopt_str(handle, CURLOPT_CUSTOMREQUEST, request.method.rawValue))
        }

        for (name, value) in request.headers {
            headerList = curl_slist_append(headerList, "\(name): \(value)")
        }
        headerList = curl_slist_append(headerList, "Expect:")  // no 100-continue round trip for large bodies
        check(otto_curl_setopt_ptr(handle, CURLOPT_HTTPHEADER, headerList))

        guard setup == CURLE_OK else {
            return .failure(TransportFailure(code: "http.request", message: describe(setup), retryable: false))
        }
        let code = curl_easy_perform(handle)
        guard code == CURLE_OK else {
            return .failure(classify(code))
        }
        var status = 0
        _ = otto_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return .success(HTTPResponse(status: status, headers: sink.headers, body: sink.body))
    }

    private func describe(_ code: CURLcode) -> String {
        let detail = String(cString: errorBuffer)
        if !detail.isEmpty { return detail }
        return String(cString: curl_easy_strerror(code))
    }

    private func classify(_ code: CURLcode) -> TransportFailure {
        let message = describe(code)
        switch code {
        case CURLE_OPERATION_TIMEDOUT:
            return TransportFailure(code: "http.timeout", message: message, retryable: true)
        case CURLE_COULDNT_CONNECT, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY:
            return TransportFailure(code: "http.connect", message: message, retryable: true)
        case CURLE_SEND_ERROR, CURLE_RECV_ERROR, CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE:
            return TransportFailure(code: "http.transport", message: message, retryable: true)
        case CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL, CURLE_BAD_FUNCTION_ARGUMENT:
            return TransportFailure(code: "http.request", message: message, retryable: false)
        default:
            return TransportFailure(code: "http.transport", message: message, retryable: false)
        }
    }
}

/// Idle easy handles, most recently used first, so sequential requests reuse the warm connection.
///
/// `@unchecked Sendable`: `idle` is only touched under `lock`, and a handle is used by one thread at a time
/// (checked out, used, checked back in).
final class CurlEasyPool: @unchecked Sendable {
    private let lock = NSLock()
    private var idle: [CurlEasy] = []

    /// The most recently returned handle, or a new one.
    func checkOut() -> CurlEasy? {
        lock.lock()
        let handle = idle.popLast()
        lock.unlock()
        return handle ?? CurlEasy()
    }

    /// Returns a handle for reuse.
    func checkIn(_ handle: CurlEasy) {
        lock.lock()
        idle.append(handle)
        lock.unlock()
    }
}
