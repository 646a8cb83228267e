import Foundation
import Testing

/// The plan check itself, on plans as PostgreSQL 15 prints them: what it lets through and what it names.
@Suite("Routing a plan to one branch's shard")
struct ShardRoutingTests {
    static let distributed = ["records": "branch_id", "record_signatures": "branch_id", "audit_events": "chain"]

    static func misses(_ json: String, branch: Int = 5) throws -> [String] {
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        return ShardRouting.misses(in: ShardRouting.Node(json: object), distributed: distributed, branch: branch).map(\.alias)
    }

    static func scan(_ relation: String, alias: String? = nil, _ conditions: [String: String], type: String = "Index Scan", children: String = "") -> String {
        let fields = conditions.map { "\"\($0.key)\": \"\($0.value)\"" }.joined(separator: ", ")
        return """
            {"Node Type": "\(type)", "Relation Name": "\(relation)", "Alias": "\(alias ?? relation)"\(fields.isEmpty ? "" : ", " + fields)\(children)}
            """
    }

    @Test func aScanRestrictedToTheBranchPasses() throws {
        #expect(try Self.misses(Self.scan("records", ["Index Cond": "((branch_id = 5) AND (id = 7))"])).isEmpty)
        #expect(try Self.misses(Self.scan("records", ["Index Cond": "(branch_id = ANY ('{5}'::integer[]))"])).isEmpty)
        #expect(try Self.misses(Self.scan("records", alias: "r", ["Filter": "((r.branch_id)::bigint = '5'::bigint)"], type: "Seq Scan")).isEmpty)
        // A generic plan's bound parameter: routed by its value at execution.
        #expect(try Self.misses(Self.scan("records", ["Index Cond": "(branch_id = $1)"])).isEmpty)
        // A table nobody distributes is not looked at.
        #expect(try Self.misses(Self.scan("staff", [:], type: "Seq Scan")).isEmpty)
    }

    @Test func aScanWithoutTheBranchOrWithAnotherIsNamed() throws {
        #expect(try Self.misses(Self.scan("records", ["Index Cond": "(id = 7)"])) == ["records"])
        #expect(try Self.misses(Self.scan("records", ["Index Cond": "(branch_id = 6)"])) == ["records"])
        #expect(try Self.misses(Self.scan("records", ["Index Cond": "(branch_id = ANY ('{5,6}'::integer[]))"])) == ["records"])
        // Row-level security's condition is an OR with HQ's cases and reads a subquery's result.
        let policy = "((branch_id = ANY ($0)) OR $1)"
        let guarded = """
            {"Node Type": "Seq Scan", "Relation Name": "records", "Alias": "records", "Filter": "\(policy)",
             "Plans": [{"Node Type": "Result", "Subplan Name": "InitPlan 1 (returns $0)"}]}
            """
        #expect(try Self.misses(guarded) == ["records"])
        let initPlan = """
            {"Node Type": "Index Scan", "Relation Name": "records", "Alias": "records", "Index Cond": "(branch_id = $0)",
             "Plans": [{"Node Type": "Result", "Subplan Name": "InitPlan 1 (returns $0)"}]}
            """
        #expect(try Self.misses(initPlan) == ["records"])
        #expect(try Self.misses(Self.scan("audit_events", ["Filter": "(branch_id = 5)"], type: "Seq Scan")) == ["audit_events"], "distributed by chain")
    }

    @Test func aScanJoinedOnTheBranchOfARestrictedOneIsCoLocated() throws {
        let joined = """
            {"Node Type": "Nested Loop", "Plans": [
              \(Self.scan("records", alias: "r", ["Index Cond": "((branch_id = 5) AND (id = 7))"])),
              \(Self.scan("record_signatures", alias: "s", ["Recheck Cond": "(branch_id = r.branch_id)"], type: "Bitmap Heap Scan"))]}
            """
        #expect(try Self.misses(joined).isEmpty)
        let hashed = """
            {"Node Type": "Hash Join", "Hash Cond": "((s.branch_id = r.branch_id) AND (s.record_id = r.id))", "Plans": [
              \(Self.scan("record_signatures", alias: "s", [:], type: "Seq Scan")),
              {"Node Type": "Hash", "Plans": [\(Self.scan("records", alias: "r", ["Index Cond": "(branch_id = 5)"]))]}]}
            """
        #expect(try Self.misses(hashed).isEmpty)
        // Joined to a scan that is itself unrestricted: both are named.
        let loose = """
            {"Node Type": "Hash Join", "Hash Cond": "((s.branch_id = r.branch_id) AND (s.record_id = r.id))", "Plans": [
              \(Self.scan("record_signatures", alias: "s", [:], type: "Seq Scan")),
              {"Node Type": "Hash", "Plans": [\(Self.scan("records", alias: "r", ["Index Cond": "(id = 7)"]))]}]}
            """
        #expect(try Self.misses(loose).sorted() == ["r", "s"])
        // Joined on another column: not co-located.
        let other = """
            {"Node Type": "Nested Loop", "Plans": [
              \(Self.scan("records", alias: "r", ["Index Cond": "(branch_id = 5)"])),
              \(Self.scan("record_signatures", alias: "s", ["Index Cond": "(record_id = r.id)"]))]}
            """
        #expect(try Self.misses(other) == ["s"])
    }

    @Test func aPartitionedTableIsRestrictedWhenEachOfItsPartitionsIs() throws {
        func plan(_ second: String) -> String {
            """
            {"Node Type": "Nested Loop", "Plans": [
              {"Node Type": "Append", "Plans": [
                \(Self.scan("records", alias: "r_1", ["Index Cond": "(branch_id = ANY ('{5}'::integer[]))"])),
                \(Self.scan("records", alias: "r_2", ["Index Cond": second]))]},
              \(Self.scan("record_signatures", alias: "s", ["Index Cond": "((branch_id = r.branch_id) AND (record_id = r.id))"]))]}
            """
        }
        #expect(try Self.misses(plan("(branch_id = ANY ('{5}'::integer[]))")).isEmpty)
        #expect(try Self.misses(plan("(id = 7)")).sorted() == ["r_2", "s"])
    }

    @Test func aBitmapHeapScanReadsItsIndexConditionsBelowIt() throws {
        let bitmap = Self.scan(
            "records", ["Filter": "(state = 'draft'::text)"], type: "Bitmap Heap Scan",
            children: #", "Plans": [{"Node Type": "Bitmap Index Scan", "Index Name": "records_pkey", "Index Cond": "(branch_id = 5)"}]"#)
        #expect(try Self.misses(bitmap).isEmpty)
    }

    @Test func theLogsPlansAreReadWithTheFunctionThatRanThem() {
        let log = """
            2026-07-01 02:00:00.001 UTC [42] LOG:  duration: 0.010 ms  plan:
            \t{
            \t  "Query Text": "select 1 /* huifang-bench capture: 001 opsA GET /me */",
            \t  "Plan": {"Node Type": "Result"}
            \t}
            2026-07-01 02:00:00.002 UTC [43] LOG:  duration: 0.039 ms  plan:
            \t{
            \t  "Query Text": "update huifang.records set state = 'x' where branch_id = new.branch_id",
            \t  "Plan": {"Node Type": "Seq Scan", "Relation Name": "records", "Alias": "records", "Filter": "(branch_id = 5)"}
            \t}
            2026-07-01 02:00:00.002 UTC [44] ERROR:  something else
            2026-07-01 02:00:00.003 UTC [43] CONTEXT:  SQL statement "update huifang.records set state = 'x' where branch_id = new.branch_id"
            \tPL/pgSQL function huifang.f() line 3 at SQL statement
            """
        let plans = PlanLog.parse(log)
        #expect(plans.map(\.query) == ["select 1 /* huifang-bench capture: 001 opsA GET /me */",
                                       "update huifang.records set state = 'x' where branch_id = new.branch_id"])
        #expect(plans.last?.context?.contains("PL/pgSQL function huifang.f() line 3") == true)
        #expect(plans.last?.root.scanConditions == ["(branch_id = 5)"])
    }
}
