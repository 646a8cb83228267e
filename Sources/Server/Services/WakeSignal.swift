import NIOConcurrencyHelpers

/// Lets tasks sleep until a deadline or until someone signals, whichever comes first.
final class WakeSignal: Sendable {
    private struct State {
        var waiters: [UInt64: CheckedContinuation<Void, Never>] = [:]
        var nextID: UInt64 = 0
        var closed = false
    }

    private let state = NIOLockedValueBox(State())

    /// Wakes every task waiting now.
    func signal() {
        let waiters = state.withLockedValue { state in
            defer { state.waiters.removeAll() }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Wakes everyone and makes later waits return at once (shutdown).
    func close() {
        state.withLockedValue { $0.closed = true }
        signal()
    }

    var isClosed: Bool { state.withLockedValue { $0.closed } }

    /// Returns after `timeout`, on `signal()`, or at once when closed.
    func wait(timeout: Duration) async {
        let id = state.withLockedValue { state -> UInt64 in
            state.nextID += 1
            return state.nextID
        }
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.resume(id)
        }
        await withCheckedContinuation { continuation in
            let resumeNow = state.withLockedValue { state -> Bool in
                if state.closed { return true }
                state.waiters[id] = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
        timer.cancel()
    }

    private func resume(_ id: UInt64) {
        state.withLockedValue { $0.waiters.removeValue(forKey: id) }?.resume()
    }
}
