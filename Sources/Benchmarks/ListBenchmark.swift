import DemoData
import Domain
import Foundation
import Logging
import Postgres

/// Every daily list and count (`ListCatalogue`) as every role, over HTTP, one request at a time on
/// one keep-alive connection: p50, p95 and the largest of `runs` timed requests after one warm-up,
/// each against the goal of p95 < 50 ms.
public struct ListBenchmark: Sendable {
    var runs: Int
    var branchCode: String?
    var roles: [Role]
    var goalMilliseconds = 50.0

    /// `roles`: whom to sign in as (empty: every role of `ListCatalogue.roles`).
    public init(runs: Int, branch: String?, roles: [Role] = []) {
        self.runs = runs
        self.roles = roles.isEmpty ? ListCatalogue.roles : roles
        self.branchCode = branch
    }

    /// One person who signs in as `role`: in the branch for a branch role; for a functional
    /// department, one of the department holding the most forwardings, whose inbox is the longest.
    struct Person: Sendable {
        var role: Role
        var employeeNo: String
    }

    /// Times every list against `server`, finding the people on the database `owner` reaches;
    /// false when any list misses the goal or answers with an error other than 403.
    public func run(server: BenchServer, owner ownerConfiguration: ConnectionConfiguration, logger: Logger) async throws -> Bool {
        let (people, branch, fileClient, month) = try await Pool.withPool(ownerConfiguration, size: 1, logger: logger) { owner in
            try await find(owner)
        }
        return try await server.with(name: "lists", poolSize: 8) { url, _ in
            let client = BenchHTTPClient(base: url, connections: 1)
            defer { client.invalidate() }
            print("bench lists: \(runs) sequential requests per list and role after one warm-up, one keep-alive connection; "
                  + "branch roles in \(branch.code); month \(month); client \(fileClient), the branch's longest file")
            print("role                  request                                                 p50 ms   p95 ms   max ms")
            var passed = true, timed = 0, failedLists = 0, missed = 0, worst: (p95: Double, line: String) = (0, "")
            let paths = ListCatalogue.paths(month: month, year: String(month.prefix(4)), branchId: branch.id)
                + ListCatalogue.clientPaths(clientId: fileClient)
            for person in people {
                let token = try await signIn(client, employeeNo: person.employeeNo, password: DemoData.password)
                for path in paths {
                    let warmUp = await client.send("GET", path, token: token, timeout: .seconds(60))
                    if warmUp.status == 403 { continue }
                    guard warmUp.succeeded else {
                        print("\(person.role.rawValue.padding(21)) \(path.padding(55)) ✗ \(warmUp.status.map(String.init) ?? warmUp.failure ?? "no answer") "
                              + String(decoding: warmUp.body.prefix(160), as: UTF8.self))
                        passed = false
                        failedLists += 1
                        continue
                    }
                    var samples: [Double] = [], failed = 0
                    for _ in 0..<runs {
                        let answer = await client.send("GET", path, token: token, timeout: .seconds(60))
                        if answer.succeeded { samples.append(answer.elapsed.milliseconds) } else { failed += 1 }
                    }
                    samples.sort()
                    let p50 = samples.quantile(0.5), p95 = samples.quantile(0.95)
                    let mark = (p95 >= goalMilliseconds ? "  ✗" : "") + (failed > 0 ? "  \(failed) failed" : "")
                    let line = "\(person.role.rawValue.padding(21)) \(path.padding(55)) "
                        + String(format: "%7.1f  %7.1f  %7.1f", p50, p95, samples.last ?? 0) + mark
                    print(line)
                    fflush(nil)
                    timed += 1
                    if p95 >= goalMilliseconds || failed > 0 {
                        passed = false
                        missed += 1
                    }
                    if p95 > worst.p95 { worst = (p95, line) }
                }
            }
            print("\(timed) lists timed, \(missed) of them missing the goal of p95 < \(Int(goalMilliseconds)) ms; \(failedLists) answered an error")
            print("worst p95: \(worst.line.isEmpty ? "—" : worst.line)")
            return passed
        }
    }

    private func find(_ owner: Pool) async throws -> (people: [Person], branch: (id: Int32, code: String), client: Int64, month: String) {
        guard let branchRow = try await owner.query(
            "select id, code from huifang.branches where (\(branchCode)::text is null or code = \(branchCode)) order by code limit 1"
        ).first else { throw BenchmarkError("no branch \(branchCode ?? "at all"); load data first (huifang demo --load-only)") }
        let branch: (id: Int32, code: String) = (try branchRow.decode(0), try branchRow.decode(1))
        guard let client = try await owner.query(
            """
            select client_id from huifang.records where branch_id = \(branch.id) and client_id is not null
            group by client_id order by count(*) desc, client_id limit 1
            """
        ).first?.decode(0, as: Int64.self) else { throw BenchmarkError("branch \(branch.code) has no client with a record; load data first") }
        let month = try await owner.query("select to_char(now() at time zone 'Asia/Shanghai', 'YYYY-MM')").single().decode(0, as: String.self)
        var people: [Person] = []
        for role in roles {
            let row = try await owner.query(
                """
                select s.employee_no from huifang.role_grants g
                join huifang.staff s on s.id = g.staff_id and s.status = 'active'
                join huifang.staff_credentials c on c.staff_id = s.id
                where g.role = \(role.rawValue) and g.revoked_at is null
                  and (\(role.scope == .department) or g.branch_id = \(branch.id))
                order by (select count(*) from huifang.problem_forwardings f where f.department_id = g.department_id) desc, s.id
                limit 1
                """
            ).first
            if let row { people.append(Person(role: role, employeeNo: try row.decode(0))) }
        }
        return (people, branch, client, month)
    }
}

private extension String {
    func padding(_ length: Int) -> String { count >= length ? self : padding(toLength: length, withPad: " ", startingAt: 0) }
}
