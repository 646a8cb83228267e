import CLibPQ
import Foundation
import Logging
import Synchronization

/// A `NOTIFY` received on a channel this process `LISTEN`s on.
public struct PostgresNotification: Sendable, Equatable {
    public var channel: String
    public var payload: String
    public var senderPID: Int32
}

public enum ListenerEvent: Sendable, Equatable {
    case notification(PostgresNotification)
    /// The listening connection was re-established; notifications sent meanwhile were missed,
    /// so consumers should re-read whatever state they track.
    case reconnected
}

/// `LISTEN` on a dedicated connection and thread, delivering notifications as an async stream.
///
/// The thread waits on the socket with `poll` (waking every `pollInterval` to notice the stream
/// ending), reconnects with backoff when the connection breaks, and stops when the stream is dropped.
public enum NotificationListener {
    public static func listen(
        _ configuration: ConnectionConfiguration, channels: [String], pollInterval: Duration = .milliseconds(250),
        logger: Logger = Logger(label: "huifang.postgres.listen")
    ) -> AsyncStream<ListenerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: ListenerEvent.self, bufferingPolicy: .bufferingNewest(10_000))
        let stopped = StopFlag()
        continuation.onTermination = { _ in stopped.stop() }
        let timeoutMillis = Int32(pollInterval.components.seconds * 1000 + pollInterval.components.attoseconds / 1_000_000_000_000_000)
        let thread = Thread {
            var firstConnection = true
            var backoff = 0.1
            while !stopped.isStopped {
                guard let handle = try? openAndListen(configuration, channels: channels) else {
                    Thread.sleep(forTimeInterval: backoff)
                    backoff = min(backoff * 2, 5)
                    continue
                }
                backoff = 0.1
                if !firstConnection { continuation.yield(.reconnected) }
                firstConnection = false
                pump(handle, timeoutMillis: timeoutMillis, stopped: stopped, continuation: continuation)
                PQfinish(handle)
                if !stopped.isStopped {
                    logger.warning("LISTEN connection lost; reconnecting")
                }
            }
            continuation.finish()
        }
        thread.name = "huifang-listen"
        thread.start()
        return stream
    }

    private static func openAndListen(_ configuration: ConnectionConfiguration, channels: [String]) throws -> OpaquePointer {
        let handle = try Connection.openBlocking(configuration)
        for channel in channels {
            // LISTEN takes an identifier, not a parameter: libpq quotes it.
            guard let quoted = PQescapeIdentifier(handle, channel, channel.utf8.count) else {
                PQfinish(handle)
                throw PostgresError(kind: .client, message: "cannot quote channel name \(channel)")
            }
            let statement = "LISTEN " + String(cString: quoted)
            PQfreemem(quoted)
            let result = PQexec(handle, statement)
            let ok = result.map { PQresultStatus($0) == PGRES_COMMAND_OK } ?? false
            PQclear(result)
            guard ok else {
                PQfinish(handle)
                throw PostgresError(kind: .connection, message: "LISTEN \(channel) failed")
            }
        }
        return handle
    }

    private static func pump(
        _ handle: OpaquePointer, timeoutMillis: Int32, stopped: StopFlag,
        continuation: AsyncStream<ListenerEvent>.Continuation
    ) {
        let socket = PQsocket(handle)
        while !stopped.isStopped {
            var descriptor = pollfd(fd: socket, events: Int16(POLLIN), revents: 0)
            let ready = poll(&descriptor, 1, timeoutMillis)
            if ready < 0, errno != EINTR { return }
            if ready > 0 {
                guard PQconsumeInput(handle) == 1 else { return }
                while let notify = PQnotifies(handle) {
                    let event = PostgresNotification(
                        channel: String(cString: notify.pointee.relname),
                        payload: String(cString: notify.pointee.extra),
                        senderPID: notify.pointee.be_pid)
                    PQfreemem(notify)
                    continuation.yield(.notification(event))
                }
            }
            if PQstatus(handle) != CONNECTION_OK { return }
        }
    }
}

/// Set once by the stream's consumer going away, read by the listening thread.
final class StopFlag: Sendable {
    private let flag = Atomic<Bool>(false)
    var isStopped: Bool { flag.load(ordering: .relaxed) }
    func stop() { flag.store(true, ordering: .relaxed) }
}

extension Pool {
    /// `pg_notify(channel, payload)` with both bound as parameters.
    public func notify(channel: String, payload: String = "") async throws {
        try await query("select pg_notify(\(channel), \(payload))")
    }
}
