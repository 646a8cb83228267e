import Postgres

/// The steps between two timed writes that the benchmark does not time, done as the owner the
/// way the demo data walks problems: the acting person set for the transaction, the state changed,
/// the workflow's triggers doing the rest (routing, clocks, audit).
struct APIPreparation: Sendable {
    let owner: Pool
    let cast: APICast

    /// The branch's ops director approves the raised problems; they go to the Brokerage Ops Center.
    /// Returns those now waiting there, with their ETags.
    func approve(_ problems: [WorkItem]) async throws -> [WorkItem] {
        for (branch, items) in Dictionary(grouping: problems, by: \.branch) {
            let place = cast.branches[branch]
            try await owner.transaction { db in
                try await db.query("select set_config('huifang.staff_id', \(String(place.opsDirector.staffId)), true)")
                try await db.query(
                    """
                    update huifang.problems set state = 'at_hq', last_action = 'approve'
                    where branch_id = \(place.id) and id = any(\(items.map(\.id))) and state = 'raised'
                    """)
            }
        }
        return try await owner.query(
            """
            select id, version, branch_id from huifang.problems
            where id = any(\(problems.map(\.id))) and state = 'at_hq' and department_id = \(cast.triage.departmentId)
            order by id
            """
        ).map { row in
            let id = try row.decode(0, as: Int64.self)
            return WorkItem(
                branch: try branchIndex(try row.decode(2, as: Int32.self)), id: id, etag: "\"problem-\(id)-v\(try row.decode(1, as: Int.self))\"")
        }
    }

    /// The Brokerage Ops Center forwards the claimed problems to the functional department. Returns
    /// the forwardings waiting for its answer, with their ETags.
    func forward(_ problems: [WorkItem]) async throws -> [WorkItem] {
        guard !problems.isEmpty else { return [] }
        try await owner.transaction { db in
            try await db.query("select set_config('huifang.staff_id', \(String(cast.triage.staffId)), true)")
            try await db.query(
                """
                insert into huifang.problem_forwardings (branch_id, problem_id, department_id, note)
                select branch_id, id, \(cast.functional.departmentId), '请2个工作日内答复 Please answer within 2 working days'
                from huifang.problems where id = any(\(problems.map(\.id))) and state = 'in_triage'
                """)
            try await db.query(
                "update huifang.problems set state = 'forwarded', last_action = 'forward' where id = any(\(problems.map(\.id))) and state = 'in_triage'")
        }
        return try await owner.query(
            """
            select id, version, branch_id, problem_id from huifang.problem_forwardings
            where problem_id = any(\(problems.map(\.id))) and state = 'received' and department_id = \(cast.functional.departmentId)
            order by id
            """
        ).map { row in
            let id = try row.decode(0, as: Int64.self)
            return WorkItem(
                branch: try branchIndex(try row.decode(2, as: Int32.self)), id: id,
                etag: "\"forwarding-\(id)-v\(try row.decode(1, as: Int.self))\"", problemId: try row.decode(3, as: Int64.self))
        }
    }

    private func branchIndex(_ id: Int32) throws -> Int {
        guard let index = cast.branches.firstIndex(where: { $0.id == id }) else { throw BenchmarkError("branch \(id) is not in the cast") }
        return index
    }
}
