import OttoCore

extension Executor {
    /// Runs handlers, at most `parallelism` at once; a handler that succeeds leaves the pending list.
    func runHandlers(_ handlers: [Handler], writer: StateWriteQueue) async -> [(Handler, String?)] {
        await withTaskGroup(of: (Handler, String?).self) { group in
            var results: [(Handler, String?)] = []
            var next = 0
            func launch() {
                let h = handlers[next]
                next += 1
                onEvent(.handlerStarted(h))
                group.addTask {
                    guard let provider = providers[h.provider] else {
                        return (h, "no provider named `\(h.provider)` is configured")
                    }
                    do {
                        try await provider.run(h)
                        try await writer.handlerRan(h.id)
                        return (h, nil)
                    } catch {
                        return (h, String(describing: error))
                    }
                }
            }
            while next < handlers.count && next < parallelism { launch() }
            while let r = await group.next() {
                results.append(r)
                onEvent(.handlerFinished(r.0, failure: r.1))
                if next < handlers.count { launch() }
            }
            return results
        }
    }
}
