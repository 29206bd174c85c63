import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// The state of a load run, confined to one event loop.
///
/// `@unchecked Sendable`: every method runs on `loop` (its only thread); `LoadGenerator` reaches it with
/// `execute`/`submit`, and NIO calls back on the same loop (the bootstrap and every channel use `loop`).
///
/// Requests come due at `start + i / rate` (a timer per due time, batching whatever is late). A due request goes to
/// an idle keep-alive connection, else to a closed connection slot that connects for it, else waits in `queue`.
/// Each request ends exactly once: an answer (head and end read), an error (the connection failed or closed before
/// the end of the answer, or the timeout fired), or unsent (it waited `timeout` for a connection, or the run ended).
final class LoadEngine: @unchecked Sendable {
    let options: LoadOptions
    let target: LoadTarget
    let address: SocketAddress
    let loop: any EventLoop
    /// Succeeded with the report once the run has ended.
    let done: EventLoopPromise<LoadReport>

    private let timeoutNanos: Int64
    private let intervalNanos: Double
    /// How many requests the duration holds (nil: until stopped).
    private let limit: Int?
    private let requestHead: HTTPRequestHead

    private var start = NIODeadline.now()
    private var startedUnix = 0.0
    private var end: NIODeadline?
    private var scheduled = 0
    private var sent = 0
    private var inFlight = 0
    private var nextRequestID = 0
    private var schedulingDone = false
    private var finished = false
    private var queue = CircularBuffer<NIODeadline>()
    private var maxQueued = 0
    private var slots: [Slot]
    private var pumpTask: Scheduled<Void>?
    private var progressTask: RepeatedTask?
    private var windows: [WindowCounts] = []
    private var windowsReported = 0
    private var versionsSeen: [String: LoadVersionSeen] = [:]
    /// Every answer's end and latency in nanoseconds and its version, when `options.keepAnswers`.
    private var keptAnswers: [(end: Int64, latency: Int64, version: String)] = []

    init(options: LoadOptions, target: LoadTarget, address: SocketAddress, loop: any EventLoop) {
        self.options = options
        self.target = target
        self.address = address
        self.loop = loop
        done = loop.makePromise(of: LoadReport.self)
        timeoutNanos = nanoseconds(options.timeout)
        intervalNanos = 1e9 / options.rate
        limit = options.duration.map { Int((Double(nanoseconds($0)) / 1e9 * options.rate).rounded(.up)) }
        var headers = HTTPHeaders()
        headers.add(name: "Host", value: target.hostHeader)
        headers.add(name: "User-Agent", value: "otto-loadgen")
        requestHead = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.requestURI, headers: headers)
        slots = Array(repeating: Slot(), count: options.connections)
    }

    // MARK: Scheduling

    /// Starts the clock and the first requests.
    func begin() {
        loop.preconditionInEventLoop()
        start = .now()
        startedUnix = Date().timeIntervalSince1970
        if let onSecond = options.onSecond {
            progressTask = loop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in
                reportClosedWindows(upTo: window(at: .now()), to: onSecond)
            }
        }
        pump()
    }

    /// No more requests come due; the run ends once the ones due have an outcome.
    func finishScheduling() {
        loop.preconditionInEventLoop()
        guard !schedulingDone else { return }
        schedulingDone = true
        pump()
    }

    private func dueTime(_ index: Int) -> NIODeadline {
        start + .nanoseconds(Int64((Double(index) * intervalNanos).rounded()))
    }

    /// Queues the requests that are due, hands queued ones to free connections, gives up those that waited too
    /// long, and sets the timer for the next due request (or the next give-up).
    private func pump() {
        pumpTask?.cancel()
        pumpTask = nil
        guard !finished else { return }
        let now = NIODeadline.now()
        while !schedulingDone {
            if let limit, scheduled >= limit {
                schedulingDone = true
                break
            }
            let due = dueTime(scheduled)
            guard due <= now else { break }
            queue.append(due)
            scheduled += 1
        }
        dispatch()
        maxQueued = max(maxQueued, queue.count)
        while let head = queue.first, (now - head).nanoseconds >= timeoutNanos {
            queue.removeFirst()
            window(at: now) { $0.unsent += 1 }
        }
        let next: NIODeadline? = !schedulingDone ? dueTime(scheduled) : queue.first.map { $0 + .nanoseconds(timeoutNanos) }
        if let next {
            pumpTask = loop.scheduleTask(deadline: next) { [self] in pump() }
        }
        finishIfDone()
    }

    /// Hands queued requests to idle connections first, then to closed slots (which connect).
    private func dispatch() {
        while !queue.isEmpty {
            guard let index = slots.firstIndex(where: \.isIdle) ?? slots.firstIndex(where: \.isDisconnected) else { return }
            send(queue.removeFirst(), on: index)
        }
    }

    private func send(_ due: NIODeadline, on index: Int) {
        sent += 1
        inFlight += 1
        nextRequestID += 1
        let id = nextRequestID
        let timer = loop.scheduleTask(in: .nanoseconds(timeoutNanos)) { [self] in timedOut(index, id: id) }
        let request = Request(id: id, due: due, timer: timer)
        if slots[index].isIdle, let connection = slots[index].connection {
            slots[index].state = .busy(request)
            connection.send(requestHead)
        } else {
            slots[index].state = .connecting(request)
            connect(index)
        }
    }

    private func connect(_ index: Int) {
        slots[index].generation += 1
        let generation = slots[index].generation
        let handler = NIOLoopBound(ConnectionHandler(engine: self, slot: index, generation: generation), eventLoop: loop)
        ClientBootstrap(group: loop)
            .connectTimeout(.nanoseconds(timeoutNanos))
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(handler.value)
                }
            }
            .connect(to: address)
            .whenComplete { [self] result in connected(index, generation: generation, handler: handler.value, result: result) }
    }

    private func connected(_ index: Int, generation: Int, handler: ConnectionHandler, result: Result<any Channel, any Error>) {
        switch result {
        case .success(let channel):
            guard slots[index].generation == generation, case .connecting(let request) = slots[index].state else {
                channel.close(promise: nil)
                return
            }
            slots[index].state = .busy(request)
            slots[index].connection = handler
            handler.send(requestHead)
        case .failure(let error):
            failed(index, generation: generation, kind: LoadErrorKind(error))
        }
    }

    // MARK: Events of a connection

    /// The head of an answer arrived.
    func answerHead(_ index: Int, generation: Int, status: Int, version: String, keepAlive: Bool) {
        guard slots[index].generation == generation, case .busy(var request) = slots[index].state else { return }
        request.status = status
        request.version = version
        request.keepAlive = keepAlive
        slots[index].state = .busy(request)
    }

    /// The end of an answer arrived.
    func answerEnd(_ index: Int, generation: Int) {
        guard slots[index].generation == generation, case .busy(let request) = slots[index].state,
              let status = request.status else { return }
        request.timer.cancel()
        inFlight -= 1
        let now = NIODeadline.now()
        let version = request.version ?? "-"
        let latency = (now - request.due).nanoseconds
        window(at: now) { counts in
            counts.statuses[status, default: 0] += 1
            counts.versions[version, default: 0] += 1
            counts.latencies.append(latency)
        }
        if options.keepAnswers { keptAnswers.append(((now - start).nanoseconds, latency, version)) }
        let seconds = Double((now - start).nanoseconds) / 1e9
        versionsSeen[version, default: LoadVersionSeen(count: 0, firstSeconds: seconds, lastSeconds: seconds)].count += 1
        versionsSeen[version]?.lastSeconds = seconds
        var closing: ConnectionHandler?
        if request.keepAlive {
            slots[index].state = .idle
        } else {
            closing = slots[index].connection
            slots[index].reset()
        }
        closing?.close()
        pump()
    }

    /// The connection failed (or closed, or the request timed out): the request on it, if any, is an error.
    func failed(_ index: Int, generation: Int, kind: LoadErrorKind) {
        guard slots[index].generation == generation else { return }
        switch slots[index].state {
        case .connecting(let request), .busy(let request):
            request.timer.cancel()
            inFlight -= 1
            window(at: .now()) { $0.errors[kind, default: 0] += 1 }
        case .idle, .disconnected:
            break
        }
        let closing = slots[index].connection
        slots[index].reset()
        closing?.close()
        pump()
    }

    private func timedOut(_ index: Int, id: Int) {
        switch slots[index].state {
        case .connecting(let request), .busy(let request):
            if request.id == id { failed(index, generation: slots[index].generation, kind: .timeout) }
        case .idle, .disconnected:
            break
        }
    }

    // MARK: Results

    private func finishIfDone() {
        guard schedulingDone, queue.isEmpty, inFlight == 0, !finished else { return }
        finished = true
        end = .now()
        pumpTask?.cancel()
        pumpTask = nil
        progressTask?.cancel()
        if let onSecond = options.onSecond { reportClosedWindows(upTo: windows.count, to: onSecond) }
        var closing: [ConnectionHandler] = []
        for index in slots.indices {
            if let connection = slots[index].connection { closing.append(connection) }
            slots[index].reset()
        }
        closing.forEach { $0.close() }
        done.succeed(report())
    }

    private func window(at time: NIODeadline) -> Int { max(0, Int((time - start).nanoseconds / 1_000_000_000)) }

    private func window(at time: NIODeadline, _ update: (inout WindowCounts) -> Void) {
        let index = window(at: time)
        while windows.count <= index { windows.append(WindowCounts()) }
        update(&windows[index])
    }

    private func reportClosedWindows(upTo limit: Int, to onSecond: @Sendable (LoadWindow) -> Void) {
        while windowsReported < limit {
            onSecond(windowsReported < windows.count ? windows[windowsReported].window(second: windowsReported)
                                                     : WindowCounts().window(second: windowsReported))
            windowsReported += 1
        }
    }

    /// The report of everything that has an outcome so far.
    func report() -> LoadReport {
        loop.preconditionInEventLoop()
        let elapsed = Double(((end ?? .now()) - start).nanoseconds) / 1e9
        var statuses: [Int: Int] = [:]
        var errorKinds: [LoadErrorKind: Int] = [:]
        var latencies: [Int64] = []
        var unsent = 0
        for counts in windows {
            statuses.merge(counts.statuses, uniquingKeysWith: +)
            errorKinds.merge(counts.errors, uniquingKeysWith: +)
            latencies.append(contentsOf: counts.latencies)
            unsent += counts.unsent
        }
        let ok = statuses.filter { (200..<300).contains($0.key) }.values.reduce(0, +)
        let answers = statuses.values.reduce(0, +)
        let errors = errorKinds.values.reduce(0, +)
        return LoadReport(url: options.url, rate: options.rate, connections: options.connections,
                          timeoutSeconds: Double(timeoutNanos) / 1e9, startedUnix: startedUnix, elapsedSeconds: elapsed,
                          scheduled: scheduled, sent: sent, ok: ok, non2xx: answers - ok, errors: errors, unsent: unsent,
                          maxQueued: maxQueued, achievedRate: elapsed > 0 ? Double(answers + errors) / elapsed : 0,
                          statuses: statuses, errorKinds: errorKinds, latencyMs: LoadLatency(nanoseconds: latencies),
                          versions: versionsSeen,
                          timeline: windows.enumerated().map { $0.element.window(second: $0.offset) },
                          answers: options.keepAnswers ? keptAnswers.map { LoadAnswer(endNanoseconds: $0.end, latencyNanoseconds: $0.latency, version: $0.version) } : nil)
    }
}

/// A Duration in nanoseconds.
private func nanoseconds(_ duration: Duration) -> Int64 {
    duration.components.seconds * 1_000_000_000 + duration.components.attoseconds / 1_000_000_000
}

/// A request that has been sent (or is being connected for).
private struct Request {
    var id: Int
    var due: NIODeadline
    var timer: Scheduled<Void>
    var status: Int?
    var version: String?
    var keepAlive = true
}

/// One of the run's connections.
private struct Slot {
    enum State {
        case disconnected
        case connecting(Request)
        case idle
        case busy(Request)
    }

    /// Bumped whenever the slot's connection is replaced or dropped, so late events of an old one are ignored.
    var generation = 0
    var state = State.disconnected
    /// The open connection's handler (idle or busy).
    var connection: ConnectionHandler?

    var isIdle: Bool { if case .idle = state { true } else { false } }
    var isDisconnected: Bool { if case .disconnected = state { true } else { false } }

    /// Forgets the connection (the caller closes it after updating the state).
    mutating func reset() {
        generation += 1
        state = .disconnected
        connection = nil
    }
}

/// The counts of one second.
private struct WindowCounts {
    var statuses: [Int: Int] = [:]
    var errors: [LoadErrorKind: Int] = [:]
    var versions: [String: Int] = [:]
    var latencies: [Int64] = []
    var unsent = 0

    func window(second: Int) -> LoadWindow {
        let ok = statuses.filter { (200..<300).contains($0.key) }.values.reduce(0, +)
        return LoadWindow(second: second, ok: ok, non2xx: statuses.values.reduce(0, +) - ok, errors: errors.values.reduce(0, +),
                          unsent: unsent, statuses: statuses, errorKinds: errors, versions: versions,
                          latencyMs: LoadLatency(nanoseconds: latencies))
    }
}

/// The pipeline's last handler: sends a request, passes the answer's head and end to the engine, and reports
/// errors and the end of the connection.
private final class ConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let engine: LoadEngine
    private let slot: Int
    private let generation: Int
    private var context: ChannelHandlerContext?

    init(engine: LoadEngine, slot: Int, generation: Int) {
        self.engine = engine
        self.slot = slot
        self.generation = generation
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func send(_ head: HTTPRequestHead) {
        guard let context else {
            engine.failed(slot, generation: generation, kind: .closed)
            return
        }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenFailure { [engine, slot, generation] error in
            engine.failed(slot, generation: generation, kind: LoadErrorKind(error))
        }
    }

    func close() { context?.close(promise: nil) }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            engine.answerHead(slot, generation: generation, status: Int(head.status.code),
                              version: head.headers.first(name: "X-App-Version") ?? "-", keepAlive: head.isKeepAlive)
        case .body:
            break
        case .end:
            engine.answerEnd(slot, generation: generation)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        engine.failed(slot, generation: generation, kind: LoadErrorKind(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        engine.failed(slot, generation: generation, kind: .closed)
        context.fireChannelInactive()
    }
}

extension LoadErrorKind {
    /// The kind of a NIO connect, read or write error.
    init(_ error: any Error) {
        switch error {
        case let error as IOError:
            self.init(errno: error.errnoCode)
        case let error as NIOConnectionError:
            if let first = error.connectionErrors.first { self.init(first.error) } else { self = .other }
        case let error as ChannelError:
            switch error {
            case .connectTimeout: self = .timeout
            case .eof, .ioOnClosedChannel, .alreadyClosed, .outputClosed, .inputClosed: self = .closed
            default: self = .other
            }
        case is HTTPParserError:
            self = .protocol
        default:
            self = .other
        }
    }

    private init(errno: Int32) {
        switch errno {
        case ECONNREFUSED: self = .refused
        case ECONNRESET, EPIPE: self = .reset
        case ETIMEDOUT: self = .timeout
        default: self = .other
        }
    }
}
