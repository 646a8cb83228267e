import Foundation
import Postgres
import Testing
import TestSupport

@Suite("Values survive a round trip through PostgreSQL")
struct TypeRoundTripTests {
    func roundTrip<T: PostgresEncodable & PostgresDecodable & Equatable>(_ value: T, as type: String) async throws -> T {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                try await pool.query("select \(value)::\(unescaped: type)").single().decode(0, as: T.self)
            }
        }
    }

    @Test func integers() async throws {
        #expect(try await roundTrip(Int16.min, as: "int2") == Int16.min)
        #expect(try await roundTrip(Int32.max, as: "int4") == Int32.max)
        #expect(try await roundTrip(Int64.min, as: "int8") == Int64.min)
        #expect(try await roundTrip(-42, as: "int8") == -42)
    }

    @Test func textIncludingChineseAndControlCharacters() async throws {
        let text = "回访记录 — 营运总监签字\n\t\"quoted\" \\ 'single' 🎉"
        #expect(try await roundTrip(text, as: "text") == text)
    }

    @Test func booleans() async throws {
        #expect(try await roundTrip(true, as: "bool") == true)
        #expect(try await roundTrip(false, as: "bool") == false)
    }

    @Test func numericKeepsEveryDigit() async throws {
        let exact = Decimal(string: "12345678901234567890.123456")!
        #expect(try await roundTrip(exact, as: "numeric") == exact)
        let threshold = Decimal(string: "10000000.00")!
        #expect(try await roundTrip(threshold, as: "numeric(18,2)") == Decimal(10_000_000))
        #expect(try await roundTrip(Decimal(string: "-0.000001")!, as: "numeric") == Decimal(string: "-0.000001")!)
    }

    /// The short path reads what PostgreSQL prints as Foundation's parse reads it: the same value
    /// and the same text, for amounts, percentages, signs, zeros and the 19-digit edge.
    @Test func shortNumericsDecodeAsFoundationParsesThem() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                let texts: [String] = try await pool.query(
                    """
                    select v::text from (
                        select round((random() * 10 ^ (n % 14) - 10 ^ (n % 14) / 3)::numeric, n % 7) as v from generate_series(1, 3000) n
                        union all select unnest('{0, -0.00, 100.00, 0.05, -0.000001, 10000000.00, 1234567890123456789,
                                                  -9999999999999999999, 0.1234567890123456789, 12345678901234567890}'::numeric[])
                    ) x
                    """
                ).map { try $0.decode(0) }
                #expect(texts.count == 3010)
                for text in texts {
                    let parsed = try #require(Decimal(string: text, locale: Locale(identifier: "en_US_POSIX")))
                    let decoded = try Decimal(postgresText: text)
                    #expect(decoded == parsed && decoded.description == parsed.description, "\(text)")
                }
                for text in ["NaN", "1.2.3", "-", "", "1e5", " 1"] {
                    #expect(throws: PostgresError.self, "\(text)") { try Decimal(postgresText: text) }
                }
            }
        }
    }

    @Test func numericTooPreciseForDecimalIsRefusedNotRounded() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                let row = try await pool.query("select 1234567890123456789012345678901234567890.5::numeric").single()
                #expect(throws: PostgresError.self) { try row.decode(0, as: Decimal.self) }
            }
        }
    }

    @Test func datesAreCalendarDays() async throws {
        let day = PostgresDate(year: 2026, month: 10, day: 10)
        #expect(try await roundTrip(day, as: "date") == day)
        #expect(day.isoWeekday == 6)
        #expect(PostgresDate("2026-02-30") == nil)
    }

    @Test func timestamptzIsAnInstantWhateverTheZone() async throws {
        // 16:00 in Shanghai (UTC+8, no daylight saving) is 08:00 UTC.
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                let shanghai = try await pool.query("select '2026-09-30 16:00:00+08'::timestamptz").single().decode(0, as: Date.self)
                #expect(shanghai == Date(timeIntervalSince1970: 1_790_755_200))
                let local = try await pool.query(
                    "select (\(shanghai)::timestamptz at time zone 'Asia/Shanghai')::text").single().decode(0, as: String.self)
                #expect(local == "2026-09-30 16:00:00")
            }
        }
        let precise = Date(timeIntervalSince1970: 1_790_755_200.123456)
        let back = try await roundTrip(precise, as: "timestamptz")
        #expect(abs(back.timeIntervalSince1970 - precise.timeIntervalSince1970) < 0.000001)
        let beforeEpoch = Date(timeIntervalSince1970: -86_400 * 365.25 * 30 + 0.5)
        #expect(abs(try await roundTrip(beforeEpoch, as: "timestamptz").timeIntervalSince(beforeEpoch)) < 0.000001)
    }

    @Test func uuids() async throws {
        let id = UUID()
        #expect(try await roundTrip(id, as: "uuid") == id)
    }

    @Test func jsonb() async throws {
        struct Answer: Codable, Equatable { var question: String; var score: Int }
        let value = try JSONB(encoding: Answer(question: "满意度", score: 5))
        let back = try await roundTrip(value, as: "jsonb")
        #expect(try back.decode(Answer.self) == Answer(question: "满意度", score: 5))
    }

    @Test func bytea() async throws {
        let bytes = Data([0, 1, 2, 0xfe, 0xff, 0x5c, 0x27])
        #expect(try await roundTrip(bytes, as: "bytea") == bytes)
    }

    @Test func arrays() async throws {
        let words = ["a", "b c", "引号\"和\\反斜杠", "", "NULL", "{}"]
        #expect(try await roundTrip(words, as: "text[]") == words)
        let numbers: [Int64] = [1, -2, Int64.max]
        #expect(try await roundTrip(numbers, as: "int8[]") == numbers)
        #expect(try await roundTrip([String](), as: "text[]") == [])
    }

    @Test func nullsDecodeAsNilAndOnlyAsNil() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                let none: Int? = nil
                let row = try await pool.query(
                    "select \(none)::int8, null::text, null::numeric, null::timestamptz, null::uuid, null::date, null::text[]"
                ).single()
                #expect(try row.decode(0, as: Int?.self) == nil)
                #expect(try row.decode(1, as: String?.self) == nil)
                #expect(try row.decode(2, as: Decimal?.self) == nil)
                #expect(try row.decode(3, as: Date?.self) == nil)
                #expect(try row.decode(4, as: UUID?.self) == nil)
                #expect(try row.decode(5, as: PostgresDate?.self) == nil)
                #expect(try row.decode(6, as: [String]?.self) == nil)
                #expect(throws: PostgresError.self) { try row.decode(0, as: Int.self) }
                let some: Int? = 7
                #expect(try await pool.query("select \(some)::int8").single().decode(0, as: Int?.self) == 7)
            }
        }
    }

    @Test func columnsByName() async throws {
        try await TestDatabase.with { database in
            try await database.withPool(size: 1) { pool in
                let row = try await pool.query("select 1 as one, 'two' as two").single()
                #expect(try row.decode("two", as: String.self) == "two")
                #expect(throws: PostgresError.self) { try row.decode("three", as: String.self) }
            }
        }
    }
}
