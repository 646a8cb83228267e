import Testing

@testable import Benchmarks

@Suite struct StatementLogTests {
    @Test func parametersKeepQuotesArraysNullsAndBytea() {
        let values = StatementLog.parameters(#"$1 = '42', $2 = NULL, $3 = 'it''s ''quoted''', $4 = '{1,2,"a b"}', $5 = '\x00ff', $6 = '', $7 = 'a, $8 = b'"#)
        #expect(values == ["42", nil, "it's 'quoted'", #"{1,2,"a b"}"#, #"\x00ff"#, "", "a, $8 = b"])
    }

    @Test func entriesJoinContinuationLinesAndNameTheUser() {
        let log = """
            @@huifang-bench huifang_app@@ LOG:  execute huifang_3: select id
            \tfrom huifang.problems
            \twhere id = $1
            @@huifang-bench huifang_app@@ DETAIL:  parameters: $1 = 'line one
            line two'
            @@huifang-bench postgres@@ LOG:  statement: select 1 /* huifang-bench capture: GET /me */
            @@huifang-bench huifang_app@@ LOG:  statement: BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY
            """
        let statements = StatementLog.parse(log)
        #expect(statements.count == 3)
        #expect(statements[0] == LoggedStatement(
            user: "huifang_app", text: "select id\n\tfrom huifang.problems\n\twhere id = $1",
            parameters: ["line one\nline two"], isSimpleQuery: false))
        #expect(statements[1].user == "postgres" && statements[1].isSimpleQuery)
        #expect(statements[2].text == "BEGIN ISOLATION LEVEL READ COMMITTED READ ONLY")
    }

    @Test func captureGroupsTheRequestRoleBetweenMarkers() {
        let marker = { (name: String) in LoggedStatement(user: "postgres", text: "select 1 /* huifang-bench capture: \(name) */", parameters: [], isSimpleQuery: true) }
        let app = { (text: String) in LoggedStatement(user: "huifang_app", text: text, parameters: [], isSimpleQuery: true) }
        let owner = LoggedStatement(user: "postgres", text: "select 2", parameters: [], isSimpleQuery: true)
        let groups = StatementCapture.group(
            [app("before"), marker("a"), app("BEGIN"), owner, app("COMMIT"), marker("b"), marker("end"), app("after")], user: "huifang_app")
        #expect(groups["a"]?.map(\.text) == ["BEGIN", "COMMIT"])
        #expect(groups["b"]?.isEmpty == true)
        #expect(groups.count == 2)
    }
}

@Suite struct PgbenchReplayTests {
    private func execute(_ text: String, _ parameters: [String?]) -> LoggedStatement {
        LoggedStatement(user: "huifang_app", text: text, parameters: parameters, isSimpleQuery: false)
    }

    private func simple(_ text: String) -> LoggedStatement {
        LoggedStatement(user: "huifang_app", text: text, parameters: [], isSimpleQuery: true)
    }

    @Test func parametersBecomeVariablesAndNullIsWrittenIn() {
        let replay = PgbenchReplay(
            [simple("BEGIN"), execute("select $1::int, $2, $10, '$1'", ["7", nil, "it's", "", "", "", "", "", "", "ten"]), simple("COMMIT")],
            rollback: false)
        #expect(replay.script == "BEGIN;\nselect :s2p1::int, null, :s2p10, '$1';\nCOMMIT;\n")
        #expect(replay.variables == ["s2p1": "7", "s2p10": "ten"])
        #expect(replay.roundTrips == 3)
        #expect(replay.statements == 3)
        #expect(replay.unreplayable == nil)
    }

    @Test func aWriteRollsBackItsLastCommitAndRebindsItsObjectPerClient() {
        let replay = PgbenchReplay(
            [simple("BEGIN"), execute("update t set state = $1 where id = $2", ["done", "501"]), simple("COMMIT")], rollback: true,
            rebind: [.init(captured: "501", perClient: [601, 602])])
        #expect(replay.script == """
            \\if :client_id = 0
            \\set rebind1 601
            \\elif :client_id = 1
            \\set rebind1 602
            \\else
            \\set rebind1 501
            \\endif
            BEGIN;
            update t set state = :s2p1 where id = :rebind1;
            ROLLBACK;

            """)
        #expect(replay.variables == ["s2p1": "done"])
    }

    @Test func thePoolsEmptyPingIsNotPartOfTheRequest() {
        let replay = PgbenchReplay([simple(""), execute("select $1", ["1"]), simple(";")], rollback: false)
        #expect(replay.script == "select :s1p1;\n")
        #expect(replay.roundTrips == 1)
    }

    @Test func aSimpleQueryOfSeveralStatementsIsOneRoundTripSentTogether() {
        let replay = PgbenchReplay([simple("begin; select set_config('a', 'x;y', true); ")], rollback: false)
        #expect(replay.script == "begin \\;\nselect set_config('a', 'x;y', true);\n")
        #expect(replay.roundTrips == 1)
        #expect(replay.statements == 2)
    }

    @Test func textThatPgbenchWouldReadAsAVariableIsReported() {
        #expect(PgbenchReplay([execute("select to_char(now(), 'HH24:MI'), x::text", [])], rollback: false).unreplayable != nil)
        #expect(PgbenchReplay([execute("select x::text, a[1:2]", [])], rollback: false).unreplayable != nil)
        #expect(PgbenchReplay([execute("select x::text", [])], rollback: false).unreplayable == nil)
    }
}
