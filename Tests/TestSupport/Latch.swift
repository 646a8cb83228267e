/// A gate tasks wait at until another task opens it: "the service has started", "the query runs".
public actor Latch {
    private var isOpen = false
    private var waiting: [CheckedContinuation<Void, Never>] = []

    public init() {}

    public func open() {
        isOpen = true
        waiting.forEach { $0.resume() }
        waiting.removeAll()
    }

    public func wait() async {
        if isOpen { return }
        await withCheckedContinuation { waiting.append($0) }
    }
}

/// What a task running in the background ended with, read by the test afterwards.
public actor Outcome {
    public private(set) var value = ""

    public init() {}

    public func set(_ value: String) { self.value = value }
}
