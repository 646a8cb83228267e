import Foundation
import Postgres
import Store
import Testing
import TestSupport

@Suite("CSV import: all or nothing, every bad value named, idempotent")
struct ImportTests {
    static func csv(_ text: String) throws -> CSVFile { try CSVFile(data: Data(text.utf8)) }

    static func importing(_ kind: ImportSpec.Kind, _ text: String, into pool: Pool, skipInvalid: Bool = false) async throws -> Importer.Outcome {
        try await Importer(pool: pool).run(kind, file: try csv(text), source: "test.csv", skipInvalid: skipInvalid)
    }

    static let branches = "code,name,region\nBJ001,北京建国门营业部,华北\nSH001,上海浦东营业部,华东\n"

    static func clients(_ count: Int, badLine: Int? = nil) -> String {
        var text = "branch_code,client_no,name,id_type,id_number,phone,opened_at\n"
        for n in 1...count {
            let line = n + 1
            let type = line == badLine ? "pasport" : "passport"
            text += "\(n % 2 == 0 ? "BJ001" : "SH001"),C\(n),客户\(n),\(type),E\(String(format: "%08d", n)),1380000\(String(format: "%04d", n % 10000)),2026-06-30 10:00\n"
        }
        return text
    }

    @Test func oneBadRowAmongTenThousandChangesNothingAndIsNamed() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                _ = try await Self.importing(.branches, Self.branches, into: pool)
                let outcome = try await Self.importing(.clients, Self.clients(10_000, badLine: 7_321), into: pool)
                #expect(!outcome.applied)
                #expect(outcome.rejects == [.init(line: 7_321, column: "id_type", reason: outcome.rejects.first?.reason ?? "")])
                #expect(outcome.rejects.first?.reason.contains("must be one of") == true)
                let clients: Int = try await pool.query("select count(*) from huifang.clients").single().decode(0)
                #expect(clients == 0)
            }
        }
    }

    @Test func reimportingTheSameFileChangesNothing() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                _ = try await Self.importing(.branches, Self.branches, into: pool)
                let file = Self.clients(1_000)
                let first = try await Self.importing(.clients, file, into: pool)
                #expect(first.applied && first.inserted == 1_000)
                let before: [String] = try await pool.query("select updated_at::text from huifang.clients order by id").map { try $0.decode(0) }
                let second = try await Self.importing(.clients, file, into: pool)
                #expect(second.inserted == 0 && second.updated == 0 && second.unchanged == 1_000)
                let after: [String] = try await pool.query("select updated_at::text from huifang.clients order by id").map { try $0.decode(0) }
                #expect(before == after)
                // A changed row is updated, and only it.
                let changed = file.replacingOccurrences(of: "客户17,", with: "客户十七,")
                let third = try await Self.importing(.clients, changed, into: pool)
                #expect(third.updated == 1 && third.unchanged == 999)
            }
        }
    }

    @Test func skipInvalidAppliesTheGoodRowsAndReportsTheBadOnes() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                _ = try await Self.importing(.branches, Self.branches, into: pool)
                let text = """
                    branch_code,client_no,name,id_type,id_number,opened_at,phone
                    BJ001,C1,甲,passport,E0000001,2026-06-30,13800000001
                    XX999,C2,乙,passport,E0000002,2026-06-30,13800000002
                    BJ001,C3,,passport,E0000003,2026-02-30,call me
                    BJ001,C1,丁,passport,E0000004,2026-06-30,
                    BJ001,C5,戊,passport,E0000005
                    SH001,C6,己,passport,E0000006,2026-06-30 08:00:00+08:00,

                    """
                let outcome = try await Self.importing(.clients, text, into: pool, skipInvalid: true)
                #expect(outcome.applied)
                #expect(outcome.inserted == 2)
                let problems = outcome.rejects.map { "\($0.line) \($0.column)" }
                #expect(problems == ["3 branch_code", "4 name", "4 opened_at", "4 phone", "5 client_no", "6 "])
                #expect(outcome.rejects.first { $0.line == 5 }?.reason == "repeats line 2")
                #expect(outcome.rejects.first { $0.line == 6 }?.reason == "has 5 fields; the header has 7")
                let opened: String = try await pool.query(
                    "select to_char(opened_at at time zone 'Asia/Shanghai', 'YYYY-MM-DD HH24:MI') from huifang.clients where client_no = 'C1'"
                ).single().decode(0)
                #expect(opened == "2026-06-30 00:00")
            }
        }
    }

    @Test func everyKindImportsAndLinksByNaturalKeys() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                #expect(try await Self.importing(.branches, Self.branches, into: pool).inserted == 2)
                #expect(
                    try await Self.importing(
                        .departments, "code,name,kind\nBOC,经纪业务运营中心,brokerage_ops_center\nIT,信息技术部,functional\n", into: pool
                    ).inserted == 2)
                #expect(
                    try await Self.importing(
                        .staff,
                        "employee_no,name,branch_code,department_code,email\nE1,王一,BJ001,,w1@example.com\nE2,王二,,IT,\n", into: pool
                    ).inserted == 2)
                #expect(
                    try await Self.importing(
                        .brokers, "branch_code,agent_no,name,employee_no,registered_on\nBJ001,AG1,李经纪,E1,2025-01-02\n", into: pool
                    ).inserted == 1)
                let clients = """
                    branch_code,client_no,name,id_type,id_number,opened_at,referrer_employee_no,referrer_agent_no,status,closed_at
                    BJ001,C1,张三,resident_id,11010519491231002X,2026-01-05 09:30,E1,AG1,,
                    BJ001,C2,李四,passport,E1234567,2025-01-05,,,closed,2026-03-01
                    SH001,C3,王五,passport,E7654321,2025-01-05,,AG1,,
                    """
                let outcome = try await Self.importing(.clients, clients + "\n", into: pool)
                // AG1 is a broker of BJ001, not of SH001.
                #expect(outcome.rejects.map(\.line) == [4])
                #expect(outcome.rejects.first?.column == "referrer_agent_no")
                let fixed = try await Self.importing(.clients, clients.replacingOccurrences(of: "2025-01-05,,AG1,,", with: "2025-01-05,,,,") + "\n", into: pool)
                #expect(fixed.inserted == 3)
                // The broker-introduced account got its callback task in the import's transaction; the
                // refused first attempt left none behind.
                let tasks = try await pool.query(
                    """
                    select c.client_no, t.rule_code, (t.due_at at time zone 'Asia/Shanghai')::text
                    from huifang.callback_tasks t join huifang.clients c on c.branch_id = t.branch_id and c.id = t.client_id
                    """
                ).map { [try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self)] }
                #expect(tasks == [["C1", "new_account_broker", "2026-01-13 00:00:00"]])
                let assets = "branch_code,client_no,as_of,total_assets,last_trade_date\nBJ001,C1,2026-10-31,12000000.50,2026-10-30\nSH001,C3,2026-10-31,100,\n"
                #expect(try await Self.importing(.assets, assets, into: pool).inserted == 2)
                let row = try await pool.query(
                    """
                    select c.referrer_staff_id is not null, c.referrer_broker_id is not null, s.total_assets::text, seg.high_net_worth
                    from huifang.clients c
                    join huifang.client_asset_snapshots s on s.branch_id = c.branch_id and s.client_id = c.id
                    join huifang.client_segments('2026-11-25') seg on seg.client_id = c.id
                    where c.client_no = 'C1'
                    """
                ).single()
                #expect(try row.decode(0, as: Bool.self))
                #expect(try row.decode(1, as: Bool.self))
                #expect(try row.decode(2, as: String.self) == "12000000.50")
                #expect(try row.decode(3, as: Bool.self))
            }
        }
    }

    @Test func quotedFieldsKeepCommasNewlinesAndChineseAndLinesStayTrue() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let text = "\u{FEFF}code,name,region\r\nBJ001,\"北京, 建国门\r\n第二行\",华北\r\nSH001,\"上海 \"\"浦东\"\"\",\r\n"
                let outcome = try await Self.importing(.branches, text, into: pool)
                // The second record starts on line 4, after the two-line field.
                #expect(outcome.rejects == [.init(line: 4, column: "region", reason: "is required")])
                let fixed = text.replacingOccurrences(of: "\"\"\",\r\n", with: "\"\"\",华东\r\n")
                #expect(try await Self.importing(.branches, fixed, into: pool).inserted == 2)
                let names: [String] = try await pool.query("select name from huifang.branches order by code").map { try $0.decode(0) }
                #expect(names == ["北京, 建国门\r\n第二行", "上海 \"浦东\""])
            }
        }
    }

    @Test func headersAreCheckedBeforeAnythingLoads() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                await #expect(throws: Importer.ImportError.missingColumns(["region"])) {
                    try await Self.importing(.branches, "code,name\nBJ001,北京\n", into: pool)
                }
                await #expect(throws: Importer.ImportError.self) {
                    try await Self.importing(.branches, "code,name,region,branch_id\nBJ001,北京,华北,7\n", into: pool)
                }
                await #expect(throws: Importer.ImportError.emptyFile) {
                    try await Self.importing(.branches, "", into: pool)
                }
            }
        }
    }
}

@Suite("CSV the project writes never carries a live formula")
struct CSVInjectionTests {
    @Test(arguments: ["=1+1", "+1+1", "-1+cmd|' /C calc'!A0", "@SUM(A1)", "\tX", "\rX", "\nX", "  =1+1", "＝1+1", "＠SUM(A1)"])
    func aCellThatAFormulaWouldStartWithGetsAnApostrophe(cell: String) {
        let line = CSVLine.render(["BJ001", cell])
        #expect(line.hasPrefix("BJ001,'") || line.hasPrefix("BJ001,\"'"), "\(line)")
    }

    @Test func numbersAndOrdinaryTextStayAsTheyAre() {
        #expect(CSVLine.render(["-12.50", "+3", "李四", "a,b"]) == "-12.50,+3,李四,\"a,b\"")
    }
}
