import Domain
import Foundation
import Postgres
import Store
import Testing
import TestSupport

@Suite("Problems in the database: the domain's transition table, routes, fixed facts")
struct ProblemRulesInDatabaseTests {
    @Test func theDatabaseHoldsTheDomainsTransitionsAndEveryCategoryHasARoute() async throws {
        try await TestDatabase.with { database in
            try await database.withPool { pool in
                let rows = Set(try await pool.query("select from_state, action, to_state, role from huifang.problem_transitions").map {
                    [try $0.decode(0, as: String.self), try $0.decode(1, as: String.self), try $0.decode(2, as: String.self),
                     try $0.decode(3, as: String.self)]
                })
                #expect(rows == ProblemTransitions.rows)
                let forwarding = Set(try await pool.query("select from_state, to_state from huifang.problem_forwarding_transitions").map {
                    [try $0.decode(0, as: String.self), try $0.decode(1, as: String.self)]
                })
                #expect(forwarding == Set(ForwardingState.pairs.map { [$0.from.rawValue, $0.to.rawValue] }))
                let routes: Int = try await pool.query("select count(*)::int from huifang.problem_routes").single().decode(0)
                #expect(routes == 14, "7 categories × compliance or service")
                let states = try await pool.query(
                    "select pg_get_constraintdef(oid) from pg_constraint where conname = 'problems_state'").single().decode(0, as: String.self)
                for state in ProblemState.allCases { #expect(states.contains("'\(state.rawValue)'")) }
            }
        }
    }

    @Test func whoRaisedAProblemAndAboutWhomNeverChangesAndItsHistoryIsAppendOnly() async throws {
        try await TestDatabase.with { database in
            let fixture = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { pool in
                for statement: SQL in [
                    "update huifang.problems set client_id = \(fixture.clientB), last_action = 'relay' where branch_id = \(fixture.branchA)",
                    "delete from huifang.problem_events where branch_id = \(fixture.branchA)",
                    "update huifang.problem_relays set channel = 'email' where branch_id = \(fixture.branchA)",
                    "delete from huifang.problems where branch_id = \(fixture.branchA)",
                ] {
                    let refused = await #expect(throws: PostgresError.self) { try await pool.query(statement) }
                    #expect(refused?.constraint == "problems_fixed", "\(statement.text)")
                }
            }
        }
    }

    @Test func aClockKnowsWhichDepartmentHoldsItsWork() async throws {
        try await TestDatabase.with { database in
            _ = try await database.withPool { try await OrganizationFixture.load(into: $0) }
            try await database.withPool { pool in
                // The fixture's problems were routed to S&T HQ and forwarded to IT; their evaluations are the BOC's.
                let holders = try await pool.query(
                    """
                    select t.subject_kind, d.code, count(*)::int from huifang.timers t join huifang.departments d on d.id = t.department_id
                    where t.subject_kind in ('problem', 'problem_forwarding', 'evaluation') group by 1, 2 order by 1, 2
                    """
                ).map { "\(try $0.decode(0, as: String.self)) \(try $0.decode(1, as: String.self)) \(try $0.decode(2, as: Int.self))" }
                #expect(holders == ["evaluation BOC 2", "problem ST 2", "problem_forwarding IT 2"])
            }
        }
    }
}
