import Domain
import Foundation
import Postgres

/// Callback records in the transaction's scope. Who may take each step, the signatures, the task a
/// record completes and the profile it files are the database's (sql/0014_records.sql); this layer
/// reads and asks.
public struct RecordStore: Sendable {
    public let connection: Connection

    public init(_ connection: Connection) {
        self.connection = connection
    }

    /// What a transaction that reads or changes records adds to its settings: plan each statement
    /// once per connection. Records are partitioned by year, so every statement plans over each
    /// year's partition and its keys, and PostgreSQL kept planning afresh on every execution (the
    /// generic plan over every partition never looked cheaper than a custom one). A record by id:
    /// 6–10 ms a time, twice per step; on the national set a submit's statements cost 24–29 ms of
    /// database CPU that way and 8 ms with generic plans (scripts/statement-cpu.sh). A list on ten
    /// years (its key walk, the join back, the amendment look-up, each over 13 partitions): 23 ms to
    /// plan against 5 ms to run; its page size is written into the statement (`SQL.pageLimit`).
    public static let settings = Pool.genericPlans

    public struct Draft: Sendable {
        public var branchId: Int
        public var formCode: String
        public var formVersion: Int
        public var taskId: Int64?
        public var clientId: Int64?
        public var answers: JSONB
        public var profile: Profile?
        public init(branchId: Int, formCode: String, formVersion: Int, taskId: Int64?, clientId: Int64?, answers: JSONB, profile: Profile?) {
            self.branchId = branchId
            self.formCode = formCode
            self.formVersion = formVersion
            self.taskId = taskId
            self.clientId = clientId
            self.answers = answers
            self.profile = profile
        }
    }

    /// A client profile (Attachment 4 or 5) carried by a service record.
    public struct Profile: Sendable {
        public var formCode: String
        public var formVersion: Int
        public var answers: JSONB
        public init(formCode: String, formVersion: Int, answers: JSONB) {
            self.formCode = formCode
            self.formVersion = formVersion
            self.answers = answers
        }
    }

    /// A new draft by the transaction's staff member (the performer).
    public func create(_ draft: Draft) async throws -> Int64 {
        try await connection.query(
            """
            insert into huifang.records (branch_id, form_code, form_version, task_id, client_id, answers,
                                         profile_form_code, profile_form_version, profile_answers)
            values (\(draft.branchId), \(draft.formCode), \(draft.formVersion), \(draft.taskId), \(draft.clientId), \(draft.answers),
                    \(draft.profile?.formCode), \(draft.profile?.formVersion), \(draft.profile?.answers))
            returning id
            """
        ).single().decode(0)
    }

    /// The next revision of a countersigned record, as a draft by the transaction's staff member.
    public func amend(_ record: CallbackRecord, formVersion: Int, answers: JSONB, profile: Profile?, reason: String) async throws -> Int64 {
        try await connection.query(
            """
            insert into huifang.records (branch_id, form_code, form_version, amends_id, amendment_reason, answers,
                                         profile_form_code, profile_form_version, profile_answers)
            values (\(record.branchId), \(record.formCode), \(formVersion), \(record.id), \(reason), \(answers),
                    \(profile?.formCode), \(profile?.formVersion), \(profile?.answers))
            returning id
            """
        ).single().decode(0)
    }

    public func get(_ id: Int64, branches: [Int]?, lock: Bool = false) async throws -> CallbackRecord? {
        let query = "select " + CallbackRecord.columns + " from huifang.records r " + CallbackRecord.joins
            + " where " + .branch("r.branch_id", in: branches) + " and r.id = \(id) and " + Self.yearOf(id, branches: branches)
            + (lock ? " for update of r" : "")
        return try await connection.query(query).first.map(CallbackRecord.init(row:))
    }

    /// `r.created_at` equal to the record's own (sql/0072), so that a statement naming a record by id
    /// starts on its year's partition alone, not on every year's.
    static func yearOf(_ id: Int64, branches: [Int]?) -> SQL {
        "r.created_at = huifang.record_created_at(\(branches)::integer[], \(id))"
    }

    public struct Filter: Sendable {
        public var branchId: Int?
        public var clientId: Int64?
        public var taskId: Int64?
        public var performerStaffId: Int64?
        public var states: [RecordState]?
        public var formCode: String?
        public var directiveId: Int64?
        /// Records waiting for this person's countersignature (submitted, naming a role they hold there).
        public var awaitingSignatureOf: Int64?
        /// A department that reads no branch: its records are those it executed, those routed to
        /// it, and those the branches' monthly uploads delivered to it (row-level security).
        public var readingDepartments: [Int]?
        public init() {}
    }

    /// Newest first, by creation time then id; `before` is the previous page's last (creation time in
    /// microseconds, id). Creation time is the partition key (sql/0060): each walk reads the newest
    /// year first and stops at a page, so ten years of records cost what one does. In id order every
    /// walk merged every year's index (13 of them for a branch, 4,550 for HQ's 350 branches).
    public func list(_ filter: Filter, branches: [Int]?, before: (micros: Int64, id: Int64)?, limit: Int) async throws -> Page<CallbackRecord> {
        var conditions: [SQL] = []
        if let client = filter.clientId { conditions.append("r.client_id = \(client)") }
        if let task = filter.taskId { conditions.append("r.task_id = \(task)") }
        if let performer = filter.performerStaffId { conditions.append("r.performer_staff_id = \(performer)") }
        // One state is an equality, so that the (branch, state, created_at, id) key gives the order.
        if let states = filter.states {
            conditions.append(states.count == 1 ? "r.state = \(states[0].rawValue)" : "r.state = any(\(states.map(\.rawValue)))")
        }
        if let form = filter.formCode { conditions.append("r.form_code = \(form)") }
        if let directive = filter.directiveId { conditions.append("r.directive_id = \(directive)") }
        if let before {
            conditions.append("(r.created_at, r.id) < (" + .timestamp(microseconds: before.micros) + ", \(before.id))")
        }
        if filter.awaitingSignatureOf != nil { conditions.append("r.state = 'submitted'") }
        let filtered = conditions.isEmpty ? SQL("true") : SQL.joined(conditions, separator: " and ")
        // A branch list names its branches on every read of the records, so that it stays on the
        // branches' shards (docs/scaling.md); a department's list reaches records by department.
        let named = filter.readingDepartments == nil ? branches : nil
        var branchConditions: [SQL] = []
        if let branch = filter.branchId { branchConditions.append("r.branch_id = \(branch)") }
        if let named { branchConditions.append(.routed("r.branch_id", to: named)) }
        let keys: SQL
        if let signer = filter.awaitingSignatureOf {
            keys = Self.awaitingKeys(of: signer, SQL.joined([filtered] + branchConditions, separator: " and "), limit: limit)
        } else if let departments = filter.readingDepartments, filter.branchId == nil {
            keys = Self.departmentKeys(departments, filtered, limit: limit)
        } else {
            // The branches the list walks: the one asked for, if the caller reaches it, else the
            // caller's; nil for every branch. Each is named once: naming a branch twice (equal to
            // it and in a list) squares its share in the planner's estimate, which then sorted a
            // branch's every archived record instead of walking the newest (124 ms against 1).
            let walked: [Int]? = filter.branchId.map { branch in named.map { $0.contains(branch) ? [branch] : [] } ?? [branch] } ?? named
            if walked == nil, let client = filter.clientId {
                // A client's records are in the client's branch, found by probing each branch's key
                // (the clients' keys lead with the branch: by id alone it read all 1 M, 29 ms).
                keys = Self.eachBranchKeys(
                    "select c.branch_id as id from huifang.clients c where " + .branch("c.branch_id", in: nil) + " and c.id = \(client)",
                    filtered, limit: limit)
            } else if walked == nil, filter.performerStaffId != nil || filter.taskId != nil || filter.directiveId != nil {
                // Few records of every branch: each branch's own key finds them, the national time key would not.
                keys = Self.eachBranchKeys("select id from huifang.branches", filtered, limit: limit)
            } else {
                keys = Self.branchKeys(walked, filtered, limit: limit)
            }
        }
        // The keys carry created_at, the records' partition column (sql/0060): each of the page's rows
        // is then read from its own year's partition, not looked for in every year's.
        let query = "select " + CallbackRecord.columns + " from (" + keys
            + ") k join huifang.records r on r.branch_id = k.branch_id and r.id = k.id and r.created_at = k.created_at "
            + "and " + .routed("r.branch_id", to: named) + " "
            + CallbackRecord.joins + Self.newest(limit)
        let records = try await connection.query(query).map(CallbackRecord.init(row:))
        return Cursor.page(records, limit: limit) { Cursor.byTime($0.createdAt, $0.id) }
    }

    /// What waits for a signer, found from their grants: each branch grant walks that branch's
    /// submitted records, each HQ grant its department's (a branch grant names the record's
    /// branch, an HQ grant its department); the records of every branch were walked for them
    /// otherwise (840 ms for the call center at national scale).
    private static func awaitingKeys(of signer: Int64, _ filtered: SQL, limit: Int) -> SQL {
        func walk(_ grant: String, _ record: String) -> SQL {
            "select k.branch_id, k.id, k.created_at from huifang.role_grants g cross join lateral (select r.branch_id, r.id, r.created_at "
                + "from huifang.records r where r."
                + "\(unescaped: record) = g.\(unescaped: grant) and r.leader_role = g.role and r.performer_staff_id <> \(signer) and "
                + filtered + Self.newest(limit) + ") k where g.staff_id = \(signer) and g.revoked_at is null and g."
                + "\(unescaped: grant) is not null"
        }
        return walk("branch_id", "branch_id") + " union " + walk("department_id", "hq_department_id")
            + " order by 3 desc, 2 desc" + .pageLimit(limit)
    }

    /// A department that reads no branch, walked from what makes records its own, newest first
    /// each: those it executed and those routed to it by their own indexes, and the branches' own
    /// records only in the branches whose uploads were delivered to it. Walking every branch's
    /// records for the few a call center executed timed out at national scale.
    private static func departmentKeys(_ departments: [Int], _ filtered: SQL, limit: Int) -> SQL {
        let delivered: SQL = "select b.id from huifang.branches b where exists (select from huifang.record_upload_deliveries d "
            + "where d.branch_id = b.id and d.department_id = any(\(departments)))"
        return "(select r.branch_id, r.id, r.created_at from huifang.records r where r.executor_department_id = any(\(departments)) and "
            + filtered + newest(limit) + ") union (select r.branch_id, r.id, r.created_at from huifang.records r"
            + " where r.hq_department_id = any(\(departments)) and " + filtered + newest(limit) + ")"
            + " union (" + eachBranchKeys(delivered, filtered, limit: limit) + ") order by 3 desc, 2 desc" + .pageLimit(limit)
    }

    /// The newest keys of `branches` (nil: every branch). One branch walks its own keys; several
    /// walk each branch's newest and merge them (an order over many branches would otherwise sort
    /// every record they have); every branch walks the national time key (records_newest) across
    /// the years' partitions, HQ's list (350 branch walks of 13 partitions each took 100–160 ms).
    /// Only the keys are merged; the page's rows alone are joined to their clients and people
    /// (joining each branch's first page cost 17,850 joins for 51 rows at national scale).
    private static func branchKeys(_ branches: [Int]?, _ filtered: SQL, limit: Int) -> SQL {
        let keys: SQL = "select r.branch_id, r.id, r.created_at from huifang.records r where "
        guard let branches else { return keys + filtered + newest(limit) }
        if branches.count == 1 { return keys + "r.branch_id = \(branches[0]) and " + filtered + newest(limit) }
        return eachBranchKeys("select unnest(\(branches)::int[]) as id", .routed("r.branch_id", to: branches) + " and " + filtered, limit: limit)
    }

    /// Each branch of `scope` walked newest first, merged.
    private static func eachBranchKeys(_ scope: SQL, _ filtered: SQL, limit: Int) -> SQL {
        "select k.branch_id, k.id, k.created_at from (" + scope
            + ") bx cross join lateral (select r.branch_id, r.id, r.created_at from huifang.records r where r.branch_id = bx.id and "
            + filtered + newest(limit) + ") k order by k.created_at desc, k.id desc" + .pageLimit(limit)
    }

    /// A walk's order and page: newest first, by the partition key, then id.
    private static func newest(_ limit: Int) -> SQL {
        " order by r.created_at desc, r.id desc" + .pageLimit(limit)
    }

    /// Replaces a draft's (or returned record's) answers; the database refuses it once submitted.
    public func update(_ record: CallbackRecord, formVersion: Int, answers: JSONB, profile: Profile?) async throws {
        try await Self.wrote(
            record,
            connection.execute(
                """
                update huifang.records r set form_version = \(formVersion), answers = \(answers),
                    profile_form_code = \(profile?.formCode), profile_form_version = \(profile?.formVersion),
                    profile_answers = \(profile?.answers)
                where r.branch_id = \(record.branchId) and r.id = \(record.id) and
                """ + " " + Self.yearOf(record.id, branches: [record.branchId])))
    }

    /// A record is written by its whole key, its creation time read from its key (sql/0072), not
    /// bound from the row read before: `bench api` replays a write's statements on other records,
    /// and a time bound as a value would match none of them. A write that finds no row would be a
    /// lost step, so it is an error.
    private static func wrote(_ record: CallbackRecord, _ rows: Int) throws {
        guard rows == 1 else { throw StoreError.recordNotWritten(record.id, rows: rows) }
    }

    /// Takes a step; the database checks the signer and writes the signature.
    public func take(_ step: RecordStep, on record: CallbackRecord, reason: String? = nil) async throws {
        guard let next = RecordTransitions.next(from: record.state, step) else {
            preconditionFailure("the caller checks that \(step) is allowed from \(record.state)")
        }
        try await Self.wrote(
            record,
            connection.execute(
                """
                update huifang.records r set state = \(next.rawValue), return_reason = \(step == .return ? reason : nil)
                where r.branch_id = \(record.branchId) and r.id = \(record.id) and
                """ + " " + Self.yearOf(record.id, branches: [record.branchId])))
    }

    public func signatures(of record: CallbackRecord) async throws -> [RecordSignature] {
        try await signatures(of: [record])
    }

    /// Every signature on these records (of one branch), oldest first. Whether a signature matches
    /// the text is decided against each record's digest as it was read (`contentSHA256`), so the
    /// records are not read, nor hashed, a second time per signature.
    public func signatures(of records: [CallbackRecord]) async throws -> [RecordSignature] {
        guard let branch = records.first?.branchId else { return [] }
        let digests = Dictionary(records.map { ($0.id, $0.contentSHA256) }, uniquingKeysWith: { first, _ in first })
        return try await connection.query(
            """
            select g.id, g.record_id, g.step, g.signer_staff_id, coalesce(s.name, ''), g.signer_role, g.signed_at,
                   encode(g.content_sha256, 'hex')
            from huifang.record_signatures g
            left join huifang.staff s on s.id = g.signer_staff_id
            where g.branch_id = \(branch) and g.record_id = any(\(records.map(\.id)))
            order by g.signed_at, g.id
            """
        ).map { row in
            let recordId: Int64 = try row.decode(1), digest: String = try row.decode(7)
            return RecordSignature(
                id: try row.decode(0), recordId: recordId, step: RecordStep(rawValue: try row.decode(2)) ?? .submit,
                signerStaffId: try row.decode(3), signerName: try row.decode(4), signerRole: try row.decode(5),
                signedAt: try row.decode(6), contentSHA256: digest, matchesContent: digests[recordId] == digest)
        }
    }

    public func findings(of record: CallbackRecord) async throws -> [RecordFinding] {
        try await findings("f.branch_id = \(record.branchId) and f.record_id = \(record.id)")
    }

    func findings(_ condition: SQL) async throws -> [RecordFinding] {
        try await connection.query(
            "select " + Self.findingColumns + " from huifang.record_findings f where " + condition + " order by f.record_id, f.position"
        ).map(Self.finding)
    }

    static let findingColumns: SQL = """
        f.id, f.record_id, f.position, f.kind, f.text, f.raised_at, f.raised_by, f.problem_id, f.dismissed_at, f.dismissed_by,
        f.dismissal_reason
        """

    static func finding(_ row: Row) throws -> RecordFinding {
        RecordFinding(
            id: try row.decode(0), recordId: try row.decode(1), position: try row.decode(2), kind: try row.decode(3),
            text: try row.decode(4), raisedAt: try row.decode(5), raisedBy: try row.decode(6), problemId: try row.decode(7),
            dismissedAt: try row.decode(8), dismissedBy: try row.decode(9), dismissalReason: try row.decode(10))
    }

    /// Raises a finding as a problem for HQ (the database checks that the raiser performed the record).
    public func raise(_ finding: RecordFinding, of record: CallbackRecord, category: String, severity: String, description: String?)
        async throws -> Int64
    {
        try await connection.query(
            """
            insert into huifang.problems (branch_id, client_id, finding_id, category, severity, description)
            values (\(record.branchId), \(record.clientId), \(finding.id), \(category), \(severity), \(description ?? finding.text))
            returning id
            """
        ).single().decode(0)
    }

    /// Dismisses a finding with the performer's reason instead of raising it (the database checks
    /// the performer, the record's state and that the finding was not handled yet); stops its clock.
    public func dismiss(_ finding: RecordFinding, of record: CallbackRecord, reason: String) async throws -> RecordFinding {
        try Self.finding(
            try await connection.query(
                "select " + Self.findingColumns + " from huifang.dismiss_finding(\(record.branchId), \(finding.id), \(reason)) f"
            ).single())
    }

    /// Amendments of a record, newest first: (id, state, performer).
    public func amendments(of record: CallbackRecord) async throws -> [(id: Int64, state: RecordState, performer: Int64)] {
        try await connection.query(
            "select id, state, performer_staff_id from huifang.records where branch_id = \(record.branchId) and amends_id = \(record.id) order by id desc"
        ).map { (try $0.decode(0), RecordState(rawValue: try $0.decode(1)) ?? .draft, try $0.decode(2)) }
    }

    /// The questions (ids) of the directive a record answers; none for a record of no directive.
    public func directiveQuestionIds(of record: CallbackRecord) async throws -> [String] {
        guard let directive = record.directiveId else { return [] }
        return try await directiveQuestionIds(directive)
    }

    /// The branch of a client visible in the scope, nil when there is none.
    public func branch(ofClient clientId: Int64, branches: [Int]?) async throws -> Int? {
        try await connection.query(
            "select branch_id from huifang.clients c where " + .branch("c.branch_id", in: branches) + " and c.id = \(clientId)"
        ).first?.decode(0)
    }

    /// The questions (ids) of the directive a special record answers.
    public func directiveQuestionIds(_ directiveId: Int64) async throws -> [String] {
        try await connection.query(
            "select coalesce(array_agg(q ->> 'id' order by n), '{}') from huifang.directives d, jsonb_array_elements(d.questions) with ordinality x(q, n) where d.id = \(directiveId)"
        ).single().decode(0)
    }
}
