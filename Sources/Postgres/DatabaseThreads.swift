import Foundation
import Synchronization

/// The dedicated threads libpq's blocking calls run on, never Swift's cooperative pool.
///
/// It is also a `TaskExecutor`: work started with `executorPreference: pool.executor` runs on these
/// threads, and its queries then call libpq inline instead of hopping to a thread and back for each
/// statement. Code running elsewhere hops once per call.
public final class DatabaseThreads: TaskExecutor, @unchecked Sendable {
    private enum Work {
        case job(UnownedJob)
        case closure(() -> Void)
    }

    // Guarded by `condition`.
    private var queue: [Work] = []
    private var head = 0
    private var stopping = false
    private let condition = NSCondition()

    /// Marks the threads that belong to any `DatabaseThreads`, so that libpq may block on them.
    private static let marker: pthread_key_t = {
        var key = pthread_key_t()
        pthread_key_create(&key, nil)
        return key
    }()

    static var isCurrentThreadDedicated: Bool {
        pthread_getspecific(marker) != nil
    }

    /// The calling thread's number among all database threads of the process (1, 2, …), or 0 when
    /// it is not one of them.
    static var currentThreadNumber: Int {
        Int(bitPattern: pthread_getspecific(marker))
    }

    private static let numbered = Atomic<Int>(0)

    init(count: Int, name: String) {
        for index in 0..<count {
            let number = Self.numbered.add(1, ordering: .relaxed).newValue
            let thread = Thread {
                pthread_setspecific(Self.marker, UnsafeRawPointer(bitPattern: number))
                self.loop()
            }
            thread.name = "\(name)-\(index)"
            thread.start()
        }
    }

    public func enqueue(_ job: consuming ExecutorJob) {
        submit(.job(UnownedJob(job)))
    }

    /// Runs a blocking `body` on one of the threads and returns its result to the caller's task.
    func run<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        if Self.isCurrentThreadDedicated { return try body() }
        return try await withUnsafeThrowingContinuation { continuation in
            submit(.closure { continuation.resume(with: Result(catching: body)) })
        }
    }

    private func submit(_ work: Work) {
        condition.lock()
        guard !stopping else {
            condition.unlock()
            // The threads are gone or going: a statement on a connection still leased when the pool
            // shut down runs on a thread of its own instead of waiting for ever in the queue.
            let unchecked = UncheckedSendable(work)
            Thread.detachNewThread { self.perform(unchecked.value) }
            return
        }
        queue.append(work)
        condition.signal()
        condition.unlock()
    }

    private func perform(_ work: Work) {
        switch work {
        case .job(let job): job.runSynchronously(on: asUnownedTaskExecutor())
        case .closure(let closure): closure()
        }
    }

    private func loop() {
        while true {
            condition.lock()
            while head == queue.count && !stopping { condition.wait() }
            if head == queue.count {
                condition.unlock()
                return
            }
            let work = queue[head]
            head += 1
            if head > 1024, head * 2 > queue.count {
                queue.removeFirst(head)
                head = 0
            }
            condition.unlock()
            perform(work)
        }
    }

    /// Lets the threads finish queued work and exit.
    func shutdown() {
        condition.lock()
        stopping = true
        condition.broadcast()
        condition.unlock()
    }
}
