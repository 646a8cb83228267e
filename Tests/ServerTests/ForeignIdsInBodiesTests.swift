import Foundation
import HTTPTypes
import Postgres
import Server
import Testing
import TestSupport

/// An attacker of branch A names another branch's objects in request bodies: every id a body names
/// is resolved under the caller's scope, so another branch's id gets exactly the answer a
/// non-existent id gets, and nothing changes.
@Suite("Ids in request bodies are resolved under the caller's scope")
struct ForeignIdsInBodiesTests {
    static let missing: Int64 = 987_654_321

    struct Attack {
        var operation: String
        var who: String
        var method: HTTPRequest.Method
        var path: String
        /// The body naming `id` where the attacker puts another branch's id, or a missing one.
        var body: (Int64) -> [String: Any]
        var foreign: Int64
        /// A batch that reports ids it cannot use as skipped (and audits the batch) instead of failing.
        var skipsUnknownIds = false
    }

    @Test func everyOperationWhoseBodyNamesAnIdIsCovered() throws {
        let covered = Set(try Self.attacks(OrganizationFixtureIds.placeholder).map(\.operation))
        let exempt: [String: String] = [
            "checkRecordAnswers": "directiveQuestionIds are a form's question keys, not objects of a branch",
            "publishRecordForm": "fields[].id are the new form's own field keys",
            "submitClientEvents": "externalId is the core system's key; clients are named by branch code and number, "
                + "and another branch's reads as a missing one (ClientEventAPITests)",
        ]
        let named = Set(APIContract.shared.operationsNamingIdsInTheirBody())
        #expect(named.subtracting(covered).subtracting(exempt.keys).sorted() == [])
    }

    @Test func anotherBranchsIdGetsTheAnswerOfAMissingOneAndChangesNothing() async throws {
        try await withFixtureApp { api, fixture, database in
            let ids = try await database.withPool { try await OrganizationFixtureIds.load(fixture, $0) }
            for attack in try Self.attacks(ids) {
                let token = try await api.token(attack.who)
                let before = try await database.withPool { try await Self.changes($0) }
                let foreign = try await api.send(attack.method, attack.path, token: token, json: attack.body(attack.foreign))
                let missing = try await api.send(attack.method, attack.path, token: token, json: attack.body(Self.missing))
                let after = try await database.withPool { try await Self.changes($0) }
                #expect(
                    (400..<500).contains(foreign.status.code) || attack.skipsUnknownIds,
                    "\(attack.operation): \(foreign.status) \(foreign.text)")
                if attack.skipsUnknownIds {
                    #expect(
                        foreign.text.replacingOccurrences(of: String(attack.foreign), with: "ID")
                            == missing.text.replacingOccurrences(of: String(Self.missing), with: "ID"),
                        "\(attack.operation): \(foreign.text) vs \(missing.text)")
                    #expect(before.split(separator: "/").dropFirst() == after.split(separator: "/").dropFirst())
                    continue
                }
                #expect(foreign.status == missing.status, "\(attack.operation): \(foreign.text) vs \(missing.text)")
                let (a, b) = (try? foreign.problem(), try? missing.problem())
                #expect(
                    a?.type == b?.type && a?.title == b?.title && a?.detail?.replacingOccurrences(of: String(attack.foreign), with: "ID")
                        == b?.detail?.replacingOccurrences(of: String(Self.missing), with: "ID")
                        && a?.errors?.map(\.field) == b?.errors?.map(\.field),
                    "\(attack.operation): \(foreign.text) vs \(missing.text)")
                #expect(before == after, "\(attack.operation) changed something")
            }
        }
    }

    /// Every change writes its audit event; the referrer columns are checked directly too.
    static func changes(_ pool: Pool) async throws -> String {
        try await pool.query(
            """
            select (select count(*) from huifang.audit_events)::text || '/' ||
                   (select count(*) from huifang.clients where referrer_staff_id is not null)::text || '/' ||
                   (select count(*) from huifang.brokers where staff_id is not null)::text || '/' ||
                   (select count(*) from huifang.callback_tasks where assignee_staff_id is not null)::text
            """
        ).single().decode(0)
    }

    static func attacks(_ ids: OrganizationFixtureIds) throws -> [Attack] {
        let openedAt = "2026-06-30T02:00:00Z"
        return [
            Attack(operation: "createStaff", who: "opsA", method: .post, path: "/staff",
                   body: { ["employeeNo": "X1", "name": "X", "password": "long enough pass", "homeBranchId": $0] }, foreign: Int64(ids.branchB)),
            Attack(operation: "createGrant", who: "opsA", method: .post, path: "/staff/\(ids.deskA)/grants",
                   body: { ["role": "front_desk", "branchId": $0] }, foreign: Int64(ids.branchB)),
            Attack(operation: "createDeliveryChannel", who: "opsA", method: .post, path: "/delivery-channels",
                   body: { ["branchId": $0, "role": "ops_director", "kind": "webhook", "name": "x", "url": "https://hooks.example.com/x",
                            "notificationKinds": ["breach"]] }, foreign: Int64(ids.branchB)),
            Attack(operation: "createBroker", who: "opsA", method: .post, path: "/brokers",
                   body: { ["branchId": ids.branchA, "agentNo": "AG9", "name": "赵经纪", "staffId": $0] }, foreign: ids.deskB),
            Attack(operation: "updateBroker", who: "opsA", method: .patch, path: "/brokers/\(ids.brokerA)",
                   body: { ["staffId": $0] }, foreign: ids.deskB),
            Attack(operation: "createClient", who: "opsA", method: .post, path: "/clients",
                   body: { ["branchId": ids.branchA, "clientNo": "C9", "name": "王五", "idType": "passport", "idNumber": "E7654321",
                            "openedAt": openedAt, "referrerStaffId": $0] }, foreign: ids.deskB),
            Attack(operation: "updateClient", who: "opsA", method: .patch, path: "/clients/\(ids.clientA)",
                   body: { ["referrerStaffId": $0, "referrerReason": "介绍人录入有误"] }, foreign: ids.deskB),
            Attack(operation: "updateClient", who: "opsA", method: .patch, path: "/clients/\(ids.clientA)",
                   body: { ["referrerBrokerId": $0, "referrerReason": "介绍人录入有误"] }, foreign: ids.brokerB),
            Attack(operation: "uploadAssetSnapshots", who: "opsA", method: .post, path: "/asset-snapshots",
                   body: { ["snapshots": [["clientId": $0, "asOf": "2026-06-30", "totalAssets": "100.00"]]] }, foreign: ids.clientB),
            Attack(operation: "bulkAssignTasks", who: "opsA", method: .post, path: "/tasks/bulk-assign",
                   body: { ["branchId": ids.branchA, "taskIds": [$0], "staffIds": [ids.rpA]] }, foreign: ids.taskB, skipsUnknownIds: true),
            Attack(operation: "bulkAssignTasks", who: "opsA", method: .post, path: "/tasks/bulk-assign",
                   body: { ["branchId": ids.branchA, "taskIds": [ids.taskA], "staffIds": [$0]] }, foreign: ids.deskB),
            Attack(operation: "assignTask", who: "opsA", method: .post, path: "/tasks/\(ids.taskA)/assign",
                   body: { ["staffId": $0] }, foreign: ids.deskB),
            Attack(operation: "issueDirective", who: "salesTrading", method: .post, path: "/directives",
                   body: { ["departmentId": $0, "title": "核实", "purpose": "核实", "questions": [["id": "q1", "text": "确认?"]],
                            "executor": "branch", "dueOn": "2026-07-30", "clients": [["branchCode": "BJ001", "clientNo": "C0001"]]] },
                   foreign: Int64(ids.opsCenterDepartment)),
            Attack(operation: "createRecord", who: "opsA", method: .post, path: "/records",
                   body: { ["clientId": $0, "formCode": "existing_client", "answers": [:]] }, foreign: ids.clientB),
            Attack(operation: "createRecord", who: "opsA", method: .post, path: "/records",
                   body: { ["taskId": $0, "answers": [:]] }, foreign: ids.taskB),
            Attack(operation: "raiseProblem", who: "rpA", method: .post, path: "/problems",
                   body: { ["clientId": $0, "category": "service", "severity": "medium", "description": "前台态度不好"] }, foreign: ids.clientB),
            Attack(operation: "assignProblem", who: "opsCenter", method: .post, path: "/problems/\(ids.problemA)/assign",
                   body: { ["staffId": $0] }, foreign: ids.deskB),
            Attack(operation: "forwardProblem", who: "opsCenter", method: .post, path: "/problems/\(ids.problemA)/forward",
                   body: { ["departmentIds": [$0]] }, foreign: Int64(ids.opsCenterDepartment)),
            Attack(operation: "openEvaluation", who: "opsCenter", method: .post, path: "/evaluations",
                   body: { ["branchId": ids.branchA, "year": 2026, "departmentId": $0] }, foreign: Int64(ids.riskDepartment)),
        ]
    }
}

/// The ids the attacks need, read from the fixture's database.
struct OrganizationFixtureIds: Sendable {
    var branchA = 0, branchB = 0
    var clientA: Int64 = 0, clientB: Int64 = 0, brokerA: Int64 = 0, brokerB: Int64 = 0
    var deskA: Int64 = 0, deskB: Int64 = 0, rpA: Int64 = 0
    var taskA: Int64 = 0, taskB: Int64 = 0, problemA: Int64 = 0
    var opsCenterDepartment = 0, riskDepartment = 0

    static let placeholder = OrganizationFixtureIds()

    static func load(_ fixture: OrganizationFixture, _ pool: Pool) async throws -> OrganizationFixtureIds {
        func id(_ sql: SQL) async throws -> Int64 { try await pool.query(sql).single().decode(0) }
        var ids = OrganizationFixtureIds(
            branchA: fixture.branchA, branchB: fixture.branchB, clientA: fixture.clientA, clientB: fixture.clientB,
            brokerA: fixture.brokerA, brokerB: fixture.brokerB, deskA: fixture.staff["deskA"]!, deskB: fixture.staff["deskB"]!,
            rpA: fixture.staff["rpA"]!)
        ids.taskA = try await id("select min(id) from huifang.callback_tasks where branch_id = \(fixture.branchA) and state = 'open'")
        ids.taskB = try await id("select min(id) from huifang.callback_tasks where branch_id = \(fixture.branchB) and state = 'open'")
        ids.problemA = try await id("select min(id) from huifang.problems where branch_id = \(fixture.branchA)")
        ids.opsCenterDepartment = Int(try await id("select id::bigint from huifang.departments where code = 'BOC'"))
        ids.riskDepartment = Int(try await id("select id::bigint from huifang.departments where code = 'RISK'"))
        return ids
    }
}
