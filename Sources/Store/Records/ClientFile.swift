import Domain
import Foundation
import Postgres

/// A client's file (客户档案, Art 5): every record revision with its signatures and findings, the
/// profiles (current and past), the problems raised, and all of it as one timeline.
public struct ClientFile: Sendable {
    public struct Profile: Sendable {
        public var id: Int64
        public var formCode: String
        public var formVersion: Int
        public var answers: JSONB
        public var recordId: Int64
        public var recordedBy: Int64
        public var recordedAt: Date
        /// The latest of its form: the client's profile as it stands.
        public var isCurrent: Bool
    }

    public struct RaisedProblem: Sendable {
        public var id: Int64
        public var recordId: Int64?
        public var findingId: Int64?
        public var category: String
        public var severity: String
        public var description: String
        public var state: String
        public var raisedBy: Int64
        public var raisedAt: Date
        /// The end of its 15 working days (Art 19).
        public var dueAt: Date?
    }

    public struct Entry: Sendable {
        public var at: Date
        /// record_created, record_submitted, record_countersigned, record_returned, record_archived,
        /// amendment_created, profile_filed, problem_raised.
        public var event: String
        public var recordId: Int64?
        public var staffId: Int64?
        public var summary: String
    }

    public var records: [CallbackRecord]
    public var signatures: [RecordSignature]
    public var findings: [RecordFinding]
    public var profiles: [Profile]
    public var problems: [RaisedProblem]

    /// Oldest first.
    public var timeline: [Entry] {
        var entries: [Entry] = []
        for record in records {
            entries.append(Entry(
                at: record.createdAt, event: record.amendsId == nil ? "record_created" : "amendment_created", recordId: record.id,
                staffId: record.performerStaffId,
                summary: record.amendsId.map { "revision \(record.revision) of the \(record.formCode) record, amending record \($0)" }
                    ?? "\(record.formCode) record drafted"))
        }
        for signature in signatures {
            let event = switch signature.step {
            case .submit: "record_submitted"
            case .countersign: "record_countersigned"
            case .return: "record_returned"
            case .archive: "record_archived"
            }
            entries.append(Entry(
                at: signature.signedAt, event: event, recordId: signature.recordId, staffId: signature.signerStaffId,
                summary: "signed by \(signature.signerName) as \(signature.signerRole), sha256 \(signature.contentSHA256)"))
        }
        for profile in profiles {
            entries.append(Entry(at: profile.recordedAt, event: "profile_filed", recordId: profile.recordId, staffId: profile.recordedBy,
                                 summary: "\(profile.formCode) version \(profile.formVersion)"))
        }
        for problem in problems {
            entries.append(Entry(at: problem.raisedAt, event: "problem_raised", recordId: problem.recordId, staffId: problem.raisedBy,
                                 summary: "problem \(problem.id) (\(problem.category), \(problem.severity)): \(problem.description)"))
        }
        return entries.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }

    /// The file of a client in the transaction's scope, or nil when row-level security hides the client.
    public static func load(_ connection: Connection, clientId: Int64, branches: [Int]?) async throws -> ClientFile? {
        let client = try await connection.query(
            "select branch_id from huifang.clients c where " + .branch("c.branch_id", in: branches) + " and c.id = \(clientId)"
        ).first
        guard let client else { return nil }
        let branch: Int = try client.decode(0)
        let store = RecordStore(connection)
        let records = try await connection.query(
            "select " + CallbackRecord.columns + " from huifang.records r " + CallbackRecord.joins
                + " where r.branch_id = \(branch) and r.client_id = \(clientId) order by r.created_at, r.id"
        ).map(CallbackRecord.init(row:))
        let ids = records.map(\.id)
        let signatures = try await store.signatures(of: records)
        let findings = try await store.findings("f.branch_id = \(branch) and f.record_id = any(\(ids))")
        let profiles = try await connection.query(
            """
            select p.id, p.form_code, p.form_version, p.answers, p.record_id, p.recorded_by, p.recorded_at,
                   p.id = max(p.id) over (partition by p.form_code)
            from huifang.client_profiles p where p.branch_id = \(branch) and p.client_id = \(clientId) order by p.id
            """
        ).map { row in
            Profile(
                id: try row.decode(0), formCode: try row.decode(1), formVersion: try row.decode(2), answers: try row.decode(3),
                recordId: try row.decode(4), recordedBy: try row.decode(5), recordedAt: try row.decode(6), isCurrent: try row.decode(7))
        }
        let problems = try await raisedProblems(connection, "p.branch_id = \(branch) and p.client_id = \(clientId)")
        return ClientFile(records: records, signatures: signatures, findings: findings, profiles: profiles, problems: problems)
    }

    /// The problems matching `condition` (on `p`), with their 15-day deadline, oldest first.
    public static func raisedProblems(_ connection: Connection, _ condition: SQL) async throws -> [RaisedProblem] {
        try await connection.query(
            """
            select p.id, p.record_id, p.finding_id, p.category, p.severity, p.description, p.state, p.raised_by, p.raised_at, t.due_at
            from huifang.problems p
            left join huifang.timers t on t.branch_id = p.branch_id and t.subject_kind = 'problem' and t.subject_id = p.id
                                      and t.clock = 'problem_loop'
            where
            """ + " " + condition + " order by p.raised_at, p.id"
        ).map { row in
            RaisedProblem(
                id: try row.decode(0), recordId: try row.decode(1), findingId: try row.decode(2), category: try row.decode(3),
                severity: try row.decode(4), description: try row.decode(5), state: try row.decode(6), raisedBy: try row.decode(7),
                raisedAt: try row.decode(8), dueAt: try row.decode(9))
        }
    }
}
