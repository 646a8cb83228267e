import Domain
import Postgres

/// Who the API benchmark signs in as, found in the demo data: per branch a responsible person
/// (raises problems, drafts and submits records) and an ops director (reads a client, countersigns,
/// approves), with clients neither of them referred; at HQ the Brokerage Ops Center (triage queue,
/// claims) and a functional department (answers forwardings).
struct APICast: Sendable {
    struct Person: Sendable {
        var staffId: Int64
        var employeeNo: String
        var departmentId: Int64?
    }

    struct Branch: Sendable {
        var id: Int32
        var code: String
        var responsible: Person
        var opsDirector: Person
        var clients: [Int64]
    }

    var branches: [Branch]
    var triage: Person
    var functional: Person

    static func find(_ owner: Pool, branches count: Int) async throws -> APICast {
        let rows = try await owner.query(
            """
            select b.id, b.code, rp.id, rp.employee_no, od.id, od.employee_no
            from huifang.branches b
            cross join lateral (\(unescaped: person("g.branch_id = b.id", role: .responsiblePerson))) rp
            cross join lateral (\(unescaped: person("g.branch_id = b.id and s.id <> rp.id", role: .opsDirector))) od
            order by b.code limit \(count)
            """)
        var branches: [Branch] = []
        for row in rows {
            let id = try row.decode(0, as: Int32.self)
            let responsible = Person(staffId: try row.decode(2), employeeNo: try row.decode(3))
            let opsDirector = Person(staffId: try row.decode(4), employeeNo: try row.decode(5))
            // Art 4: a client either of them ever referred is not theirs to call back.
            let clients = try await owner.query(
                """
                select c.id from huifang.clients c
                where c.branch_id = \(id) and c.status = 'open'
                  and not exists (select from huifang.client_referrers r
                                  where r.branch_id = c.branch_id and r.client_id = c.id
                                    and (r.referrer_staff_id = any(\([responsible.staffId, opsDirector.staffId]))
                                         or r.broker_staff_id = any(\([responsible.staffId, opsDirector.staffId]))))
                order by c.id limit 200
                """
            ).map { try $0.decode(0, as: Int64.self) }
            guard !clients.isEmpty else { throw BenchmarkError("branch \(id) has no open client to call back") }
            branches.append(Branch(id: id, code: try row.decode(1), responsible: responsible, opsDirector: opsDirector, clients: clients))
        }
        guard branches.count == count else {
            throw BenchmarkError("--branches \(count): the data has \(branches.count) branches with a responsible person and an ops director")
        }
        return APICast(branches: branches, triage: try await hq(owner, .brokerageOpsCenter), functional: try await hq(owner, .functionalDept))
    }

    private static func person(_ condition: String, role: Role) -> String {
        """
        select s.id, s.employee_no, g.department_id from huifang.role_grants g
        join huifang.staff s on s.id = g.staff_id and s.status = 'active'
        join huifang.staff_credentials c on c.staff_id = s.id
        where \(condition) and g.role = '\(role.rawValue)' and g.revoked_at is null
        order by s.id limit 1
        """
    }

    private static func hq(_ owner: Pool, _ role: Role) async throws -> Person {
        guard let row = try await owner.query(SQL(person("true", role: role))).first else {
            throw BenchmarkError("the data has nobody signing in as \(role.rawValue)")
        }
        return Person(staffId: try row.decode(0), employeeNo: try row.decode(1), departmentId: try row.decode(2))
    }
}
