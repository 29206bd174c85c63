internal import CCurl
import Foundation
import Synchronization

typealias MultiResult = Result<CurlMulti.Response, CurlMulti.Failure>
/// Receives a transfer's result, on the driver thread.
typealias MultiCompletion = @Sendable (MultiResult) -> Void

/// What callers and the driver thread share, only under `CurlMultiEngine.inbox`'s lock.
struct CurlMultiInbox {
    enum State { case registered, cancelledEarly, submitted }
    struct Submission {
        var id: UInt64
        var request: CurlMulti.Request
        var completion: MultiCompletion
    }

    var nextID: UInt64 = 0
    /// Transfers between `register` and their end.
    var states: [UInt64: State] = [:]
    /// Submitted, not yet picked up by the thread.
    var submitted: [Submission] = []
    /// Ids whose task was cancelled after they were submitted.
    var cancels: [UInt64] = []
    /// Set by `stop()`; no submission is accepted after it.
    var stopping = false
    /// The driver thread is in (or about to enter) `curl_multi_poll`: new work must wake it. While it is busy it
    /// looks at the inbox before it polls again, so submissions skip the wake-up (a syscall each).
    var polling = false
}

/// The multi handle, its easy handles and the thread that drives them (see `CurlMulti`).
///
/// `@unchecked Sendable`: other threads touch only `inbox` (a Mutex), the atomics and `multi` through
/// `curl_multi_wakeup`, which libcurl documents as callable from any thread. Everything else (`active`, `byID`,
/// `idle`, and `multi` for every other call) is used only by the driver thread while it runs, and by `deinit`, which
/// can only run after the thread ended (the thread holds a strong reference to the engine until then).
final class CurlMultiEngine: @unchecked Sendable {
    private let configuration: CurlMulti.Configuration
    private let multi: UnsafeMutableRawPointer
    private let resolveList: UnsafeMutablePointer<curl_slist>?
    private let inbox = Mutex(CurlMultiInbox())
    private let transferCount = Atomic<Int>(0)
    private let connectionCount = Atomic<Int>(0)

    // Driver thread only.
    private var active: [UnsafeMutableRawPointer: MultiTransfer] = [:]
    private var byID: [UInt64: UnsafeMutableRawPointer] = [:]
    private var idle: [MultiEasy] = []

    init(configuration: CurlMulti.Configuration) throws {
        _ = curlGlobalInit
        guard let multi = curl_multi_init() else {
            throw CurlMulti.Failure(kind: .transport, message: "libcurl could not create a multi handle")
        }
        self.configuration = configuration
        self.multi = multi
        _ = otto_curl_multi_setopt_long(multi, CURLMOPT_MAX_TOTAL_CONNECTIONS, configuration.maxTotalConnections)
        _ = otto_curl_multi_setopt_long(multi, CURLMOPT_MAX_HOST_CONNECTIONS, configuration.maxHostConnections)
        _ = otto_curl_multi_setopt_long(multi, CURLMOPT_MAXCONNECTS, configuration.maxTotalConnections)
        _ = otto_curl_multi_setopt_long(multi, CURLMOPT_PIPELINING, CURLPIPE_NOTHING)
        var list: UnsafeMutablePointer<curl_slist>? = nil
        for entry in configuration.resolve { list = curl_slist_append(list, entry.description) }
        resolveList = list
    }

    deinit {
        // The thread removed every easy handle before it ended; the idle ones are freed by their own deinit.
        curl_multi_cleanup(multi)
        curl_slist_free_all(resolveList)
    }

    var statistics: CurlMulti.Statistics {
        CurlMulti.Statistics(transfers: transferCount.load(ordering: .relaxed), connections: connectionCount.load(ordering: .relaxed))
    }

    /// Starts the driver thread.
    func start() {
        let thread = Thread { [self] in self.run() }
        thread.name = "otto-curl-multi"
        thread.stackSize = 1 << 20
        thread.start()
    }

    /// Tells the thread to stop; transfers in flight end as cancelled.
    func stop() {
        let first = inbox.withLock { box in
            defer { box.stopping = true }
            return !box.stopping
        }
        if first { curl_multi_wakeup(multi) }
    }

    /// A fresh transfer id.
    func register() -> UInt64 {
        inbox.withLock { box in
            let id = box.nextID
            box.nextID += 1
            box.states[id] = .registered
            return id
        }
    }

    /// Hands a transfer to the thread (or ends it at once when it was cancelled or the engine stopped).
    func submit(id: UInt64, request: CurlMulti.Request, completion: @escaping MultiCompletion) {
        enum Outcome { case queued, queuedQuietly, cancelled, closed }
        let outcome: Outcome = inbox.withLock { box in
            if box.stopping {
                box.states[id] = nil
                return .closed
            }
            if box.states[id] == .cancelledEarly {
                box.states[id] = nil
                return .cancelled
            }
            box.states[id] = .submitted
            box.submitted.append(.init(id: id, request: request, completion: completion))
            return box.polling ? .queued : .queuedQuietly
        }
        switch outcome {
        case .queued: curl_multi_wakeup(multi)
        case .queuedQuietly: break
        case .cancelled: completion(.failure(.init(kind: .cancelled, message: "the transfer was cancelled")))
        case .closed: completion(.failure(.init(kind: .cancelled, message: "the HTTP client was shut down")))
        }
    }

    /// Cancels a transfer whose task was cancelled.
    func cancel(id: UInt64) {
        let wake: Bool = inbox.withLock { box in
            switch box.states[id] {
            case .registered?:
                box.states[id] = .cancelledEarly
                return false
            case .submitted?:
                box.cancels.append(id)
                return box.polling
            default:
                return false
            }
        }
        if wake { curl_multi_wakeup(multi) }
    }

    // MARK: Driver thread

    private func run() {
        while true {
            let (submissions, cancels, stopping) = inbox.withLock { box in
                defer {
                    box.submitted.removeAll(keepingCapacity: true)
                    box.cancels.removeAll(keepingCapacity: true)
                }
                return (box.submitted, box.cancels, box.stopping)
            }
            if stopping {
                for s in submissions { s.completion(.failure(.init(kind: .cancelled, message: "the HTTP client was shut down"))) }
                break
            }
            for s in submissions { start(s) }
            for id in cancels { cancelActive(id) }
            var running: Int32 = 0
            _ = curl_multi_perform(multi, &running)
            collectFinished()
            // Poll only when nothing arrived meanwhile; from here on, new work wakes the thread (see `polling`).
            let idle = inbox.withLock { box in
                box.polling = box.submitted.isEmpty && box.cancels.isEmpty && !box.stopping
                return box.polling
            }
            if idle {
                // Returns at once when a transfer has work, libcurl's own timers are due, or another thread woke us.
                _ = curl_multi_poll(multi, nil, 0, 1000, nil)
                inbox.withLock { $0.polling = false }
            }
        }
        for (handle, transfer) in active {
            curl_multi_remove_handle(multi, handle)
            end(transfer, .failure(.init(kind: .cancelled, message: "the HTTP client was shut down")))
        }
        active.removeAll()
        byID.removeAll()
        idle.removeAll()
    }

    private func start(_ submission: CurlMultiInbox.Submission) {
        guard let easy = idle.popLast() ?? MultiEasy() else {
            inbox.withLock { _ = $0.states.removeValue(forKey: submission.id) }
            submission.completion(.failure(.init(kind: .transport, message: "libcurl could not create an easy handle")))
            return
        }
        let transfer = MultiTransfer(id: submission.id, request: submission.request, completion: submission.completion, easy: easy)
        if let problem = transfer.configure(configuration, resolve: resolveList) {
            recycle(easy)
            end(transfer, .failure(problem))
            return
        }
        guard curl_multi_add_handle(multi, easy.handle) == CURLM_OK else {
            recycle(easy)
            end(transfer, .failure(.init(kind: .transport, message: "libcurl refused the transfer")))
            return
        }
        active[easy.handle] = transfer
        byID[submission.id] = easy.handle
    }

    private func cancelActive(_ id: UInt64) {
        guard let handle = byID.removeValue(forKey: id), let transfer = active.removeValue(forKey: handle) else { return }
        curl_multi_remove_handle(multi, handle)
        recycle(transfer.easy)
        end(transfer, .failure(.init(kind: .cancelled, message: "the transfer was cancelled")))
    }

    private func collectFinished() {
        var queued: Int32 = 0
        while let message = curl_multi_info_read(multi, &queued) {
            guard otto_curl_msg_is_done(message) != 0, let handle = message.pointee.easy_handle else { continue }
            let code = otto_curl_msg_result(message)  // read before remove_handle invalidates the message
            guard let transfer = active.removeValue(forKey: handle) else { continue }
            byID.removeValue(forKey: transfer.id)
            let result = transfer.result(code)
            curl_multi_remove_handle(multi, handle)
            transferCount.add(1, ordering: .relaxed)
            connectionCount.add(transfer.newConnections, ordering: .relaxed)
            recycle(transfer.easy)
            end(transfer, result)
        }
    }

    private func recycle(_ easy: MultiEasy) {
        if idle.count < configuration.maxTotalConnections + 16 { idle.append(easy) }
    }

    private func end(_ transfer: MultiTransfer, _ result: MultiResult) {
        inbox.withLock { _ = $0.states.removeValue(forKey: transfer.id) }
        transfer.completion(result)
    }
}

/// One easy handle with its error buffer, reused for many transfers (its connections live in the multi's cache).
final class MultiEasy {
    let handle: UnsafeMutableRawPointer
    let errorBuffer: UnsafeMutablePointer<CChar>

    init?() {
        guard let handle = curl_easy_init() else { return nil }
        self.handle = handle
        errorBuffer = .allocate(capacity: Int(CURL_ERROR_SIZE) + 1)
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE) + 1)
    }

    deinit {
        curl_easy_cleanup(handle)
        errorBuffer.deallocate()
    }
}
