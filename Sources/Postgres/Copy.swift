import CLibPQ
import Foundation

/// Rows for `COPY … FROM STDIN` in text format, buffered and sent in large chunks.
public final class CopyWriter {
    private let connection: OpaquePointer
    private var buffer: [UInt8] = []
    private let chunkSize = 256 * 1024
    public private(set) var rowsWritten = 0

    init(connection: OpaquePointer) {
        self.connection = connection
        buffer.reserveCapacity(chunkSize + 4096)
    }

    /// One row; `nil` is NULL. Tabs, newlines and backslashes are escaped.
    public func write(row: [String?]) throws {
        for (index, value) in row.enumerated() {
            if index > 0 { buffer.append(UInt8(ascii: "\t")) }
            guard let value else {
                buffer.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "N")])
                continue
            }
            for byte in value.utf8 {
                switch byte {
                case UInt8(ascii: "\\"): buffer.append(contentsOf: [92, 92])
                case UInt8(ascii: "\n"): buffer.append(contentsOf: [92, UInt8(ascii: "n")])
                case UInt8(ascii: "\r"): buffer.append(contentsOf: [92, UInt8(ascii: "r")])
                case UInt8(ascii: "\t"): buffer.append(contentsOf: [92, UInt8(ascii: "t")])
                default: buffer.append(byte)
                }
            }
        }
        buffer.append(UInt8(ascii: "\n"))
        rowsWritten += 1
        if buffer.count >= chunkSize { try flush() }
    }

    /// Raw bytes in whatever format the COPY statement named (CSV passed through as it is, say).
    public func write(bytes: some Collection<UInt8>) throws {
        buffer.append(contentsOf: bytes)
        if buffer.count >= chunkSize { try flush() }
    }

    func flush() throws {
        guard !buffer.isEmpty else { return }
        let status = buffer.withUnsafeBufferPointer { pointer in
            pointer.withMemoryRebound(to: CChar.self) { PQputCopyData(connection, $0.baseAddress, Int32($0.count)) }
        }
        guard status == 1 else {
            throw PostgresError(kind: .connection, message: String(cString: PQerrorMessage(connection)))
        }
        buffer.removeAll(keepingCapacity: true)
    }
}

extension Connection {
    /// Runs `COPY … FROM STDIN` and feeds it the rows `produce` writes, on the connection's thread.
    /// If `produce` throws, the COPY is aborted and nothing it wrote is kept. Returns the rows copied.
    @discardableResult
    public func copyIn(_ statement: String, _ produce: @escaping @Sendable (CopyWriter) throws -> Void) async throws -> Int {
        try await onConnectionThread { connection in
            try connection.sendPrologueBlocking()
            let handle = connection.rawHandle
            _ = try connection.check(PQexec(handle, statement), expecting: PGRES_COPY_IN)
            let writer = CopyWriter(connection: handle)
            var failure: (any Error)?
            do {
                try produce(writer)
                try writer.flush()
            } catch {
                failure = error
            }
            let abortMessage = failure.map { "aborted by client: \($0)" }
            guard PQputCopyEnd(handle, abortMessage) == 1 else { throw connection.connectionError() }
            var copied = 0
            var serverError: (any Error)?
            while let result = PQgetResult(handle) {
                do {
                    copied = try connection.check(result).affectedRows
                } catch {
                    serverError = serverError ?? error
                }
            }
            if let failure { throw failure }
            if let serverError { throw serverError }
            return copied
        }
    }
}
