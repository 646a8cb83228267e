import Foundation

/// A CSV file (RFC 4180, UTF-8, first line a header), scanned once for record boundaries so its
/// records can be streamed to `COPY … (format csv)` as they are, each prefixed with its line number.
public struct CSVFile: Sendable {
    public struct Record: Sendable {
        /// Byte range of the record without its line break.
        var start: Int
        var end: Int
        /// Physical line the record starts on (1 is the header).
        public var line: Int
        var fields: Int
    }

    public struct StructureError: Sendable, Equatable {
        public var line: Int
        public var reason: String
    }

    public let bytes: Data
    public let header: [String]
    public private(set) var records: [Record] = []
    /// Records whose shape is wrong (field count, quotes); they never reach the database.
    public private(set) var structureErrors: [StructureError] = []

    public init(contentsOf url: URL) throws {
        let data = try Data(contentsOf: url, options: .alwaysMapped)
        try self.init(data: data)
    }

    public init(data: Data) throws {
        self.bytes = data
        var records: [Record] = []
        var errors: [StructureError] = []
        var header: [String] = []
        data.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            let count = raw.count
            var position = 0
            // A UTF-8 byte-order mark is not part of the first column's name.
            if count >= 3, raw[0] == 0xEF, raw[1] == 0xBB, raw[2] == 0xBF { position = 3 }
            var line = 1
            while position < count {
                let start = position
                let startLine = line
                var fields = 1
                var inQuotes = false
                var end = count
                var terminated = false
                while position < count {
                    let byte = raw[position]
                    if inQuotes {
                        if byte == 0x22 {  // "
                            if position + 1 < count, raw[position + 1] == 0x22 { position += 2; continue }
                            inQuotes = false
                        } else if byte == 0x0A {
                            line += 1
                        }
                        position += 1
                        continue
                    }
                    if byte == 0x22 {
                        inQuotes = true
                    } else if byte == 0x2C {  // ,
                        fields += 1
                    } else if byte == 0x0A {
                        end = position > start && raw[position - 1] == 0x0D ? position - 1 : position
                        position += 1
                        line += 1
                        terminated = true
                        break
                    }
                    position += 1
                }
                if !terminated { end = count > start && raw[count - 1] == 0x0D ? count - 1 : count }
                if inQuotes {
                    errors.append(.init(line: startLine, reason: "a quoted field is never closed"))
                    break
                }
                if end == start { continue }  // blank line
                let record = Record(start: start, end: end, line: startLine, fields: fields)
                if header.isEmpty {
                    header = Self.fields(raw, record)
                } else {
                    records.append(record)
                }
            }
        }
        self.header = header
        self.records = []
        let expected = header.count
        for record in records where record.fields != expected {
            errors.append(.init(line: record.line, reason: "has \(record.fields) fields; the header has \(expected)"))
        }
        self.records = records.filter { $0.fields == expected }
        self.structureErrors = errors
    }

    /// The fields of one record, unquoted (for the header and for rejects files).
    public func fields(of record: Record) -> [String] {
        bytes.withUnsafeBytes { Self.fields($0, record) }
    }

    static func fields(_ raw: UnsafeRawBufferPointer, _ record: Record) -> [String] {
        var fields: [String] = []
        var current: [UInt8] = []
        var inQuotes = false
        var position = record.start
        while position < record.end {
            let byte = raw[position]
            if inQuotes {
                if byte == 0x22 {
                    if position + 1 < record.end, raw[position + 1] == 0x22 {
                        current.append(0x22)
                        position += 2
                        continue
                    }
                    inQuotes = false
                } else {
                    current.append(byte)
                }
            } else if byte == 0x22 {
                inQuotes = true
            } else if byte == 0x2C {
                fields.append(String(decoding: current, as: UTF8.self))
                current.removeAll(keepingCapacity: true)
            } else {
                current.append(byte)
            }
            position += 1
        }
        fields.append(String(decoding: current, as: UTF8.self))
        return fields
    }

    /// Streams the records (except those in `skipping`, by line) as CSV with the line number as a
    /// first column, in chunks to `write`; `progress` gets the bytes sent so far.
    public func stream(
        skipping: Set<Int> = [], write: (UnsafeRawBufferPointer) throws -> Void, progress: (Int) -> Void = { _ in }
    ) throws {
        var chunk: [UInt8] = []
        chunk.reserveCapacity(1 << 20)
        try bytes.withUnsafeBytes { (raw: UnsafeRawBufferPointer) in
            var sent = 0
            for record in records where !skipping.contains(record.line) {
                var number = record.line
                var digits: [UInt8] = []
                repeat {
                    digits.append(UInt8(48 + number % 10))
                    number /= 10
                } while number > 0
                chunk.append(contentsOf: digits.reversed())
                chunk.append(0x2C)
                chunk.append(contentsOf: UnsafeRawBufferPointer(rebasing: raw[record.start..<record.end]))
                chunk.append(0x0A)
                sent += record.end - record.start + 1
                if chunk.count >= 1 << 20 {
                    try chunk.withUnsafeBytes { try write($0) }
                    chunk.removeAll(keepingCapacity: true)
                    progress(sent)
                }
            }
            if !chunk.isEmpty { try chunk.withUnsafeBytes { try write($0) } }
            progress(sent)
        }
    }
}
