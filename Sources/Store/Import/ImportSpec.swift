import Postgres

/// What one kind of CSV import expects and how it lands: its columns with their checks, the
/// lookups its checks need, and the upsert that applies the valid rows. Every check is an SQL
/// expression over the staging row `s` (all text) that yields a reason when the value is bad.
public struct ImportSpec: Sendable {
    public enum Kind: String, Sendable, CaseIterable {
        case branches, departments, staff, brokers, clients, assets, events
    }

    public struct Column: Sendable {
        public var name: String
        public var required: Bool
        /// NULL when the (trimmed, non-empty) value `{v}` is fine, else the reason.
        var check: String?
    }

    public let kind: Kind
    public let columns: [Column]
    /// Joins after `from import_staging s`, for reference checks and the apply step.
    let joins: String
    /// Extra (column, reason-expression) checks over `s` and the joins.
    let rowChecks: [(column: String, reason: String)]
    /// Columns whose combination must be unique within the file, and the column to blame.
    let fileKey: (columns: [String], blame: String)
    /// `insert … select … from import_staging s <joins> where not s.rejected order by <the target's key> …
    /// returning (xmax = 0)`. Rows go in in key order: a file in any other order (one branch after another
    /// in turn, say) would insert into the key indexes at random pages, which cost a million-row clients
    /// file a fifth of its apply time. Events keep the file's order, in which they are judged.
    let apply: String

    public var requiredColumns: [String] { columns.filter(\.required).map(\.name) }

    /// The small tables that other imports look rows up in and check foreign keys against, analyzed
    /// once applied: a clients import right after the branches import would otherwise plan those
    /// lookups on the statistics of the table before (each client's foreign-key check scanned every
    /// branch). Autovacuum would come to it, a minute or so later.
    var referenceTable: String? {
        switch kind {
        case .branches: "huifang.branches"
        case .departments: "huifang.departments"
        case .staff: "huifang.staff"
        case .brokers: "huifang.brokers"
        case .clients, .assets, .events: nil
        }
    }

    public static func spec(for kind: Kind) -> ImportSpec {
        switch kind {
        case .branches: branches
        case .departments: departments
        case .staff: staff
        case .brokers: brokers
        case .clients: clients
        case .assets: assets
        case .events: events
        }
    }
}

/// Reusable value checks; `{v}` stands for the trimmed, non-empty value.
enum Check {
    // Unbounded patterns plus a length check: PostgreSQL's regex engine is several times slower
    // on bounded repetitions like {0,31}, and these run once per value of million-row files.
    static let code =
        "case when {v} !~ '^[A-Z0-9][A-Z0-9_-]*$' or length({v}) > 32 then 'must be 1–32 upper-case letters, digits, - or _' end"
    static let number =
        "case when {v} !~ '^[A-Za-z0-9][A-Za-z0-9_-]*$' or length({v}) > 32 then 'must be 1–32 letters, digits, - or _' end"
    static let text = "case when length({v}) > 100 then 'must be at most 100 characters' end"
    static let phone =
        "case when {v} !~ '^\\+?[0-9-]+$' or length({v}) not between 5 and 21 then 'must be a phone number: digits, -, optional leading +' end"
    static let email = "case when {v} !~ '^[^@\\s]+@[^@\\s]+$' then 'must be an email address' end"
    static let date = "case when not huifang.is_iso_date({v}) then 'must be a date like 2026-11-25' end"
    static let timestamp =
        "case when not huifang.is_iso_timestamp({v}) then 'must be a date-time like 2026-11-25 09:30 (Asia/Shanghai unless an offset is given)' end"
    static let money =
        "case when {v} !~ '^[0-9]+(\\.[0-9][0-9]?)?$' or length(split_part({v}, '.', 1)) > 18 then 'must be an amount in CNY like 10000000.00' end"

    static func oneOf(_ values: [String]) -> String {
        let list = values.map { "'\($0)'" }.joined(separator: ", ")
        return "case when {v} not in (\(list)) then 'must be one of \(values.joined(separator: ", "))' end"
    }

    static func integer(_ range: ClosedRange<Int>) -> String {
        // Nested so the cast only ever sees digits (SQL does not promise to evaluate OR left to right).
        let reason = "'must be a whole number from \(range.lowerBound) to \(range.upperBound)'"
        return "case when {v} !~ '^[0-9]+$' or length({v}) > 9 then \(reason) when {v}::int not between \(range.lowerBound) and \(range.upperBound) then \(reason) end"
    }
}

extension ImportSpec {
    /// `nullif(btrim(s.col), '')`: an empty or blank field is absent.
    static func value(_ column: String) -> String { "nullif(btrim(s.\(column)), '')" }

    static let branches = ImportSpec(
        kind: .branches,
        columns: [
            .init(name: "code", required: true, check: Check.code),
            .init(name: "name", required: true, check: Check.text),
            .init(name: "region", required: true, check: Check.text),
            .init(name: "status", required: false, check: Check.oneOf(["active", "closed"])),
            .init(name: "dormant_after_days", required: false, check: Check.integer(30...3650)),
            .init(name: "core_min_assets", required: false, check: Check.money),
            .init(name: "core_top_n", required: false, check: Check.integer(1...1_000_000)),
        ],
        joins: "",
        rowChecks: [],
        fileKey: (["code"], "code"),
        apply: """
            insert into huifang.branches as t (code, name, region, status, dormant_after_days, core_min_assets, core_top_n)
            select btrim(s.code), btrim(s.name), btrim(s.region), coalesce(\(value("status")), 'active'),
                   coalesce(\(value("dormant_after_days"))::int, 180), coalesce(\(value("core_min_assets"))::numeric, 1000000),
                   \(value("core_top_n"))::int
            from import_staging s
            where not s.rejected
            order by btrim(s.code)
            on conflict (code) do update set
                name = excluded.name, region = excluded.region, status = excluded.status,
                dormant_after_days = excluded.dormant_after_days, core_min_assets = excluded.core_min_assets,
                core_top_n = excluded.core_top_n, updated_at = now()
            where (t.name, t.region, t.status, t.dormant_after_days, t.core_min_assets, t.core_top_n)
                is distinct from (excluded.name, excluded.region, excluded.status, excluded.dormant_after_days,
                                  excluded.core_min_assets, excluded.core_top_n)
            returning (xmax = 0)
            """)

    static let departments = ImportSpec(
        kind: .departments,
        columns: [
            .init(name: "code", required: true, check: Check.code),
            .init(name: "name", required: true, check: Check.text),
            .init(
                name: "kind", required: true,
                check: Check.oneOf(["sales_trading", "brokerage_ops_center", "risk_control", "call_center", "functional", "other"])),
            .init(name: "status", required: false, check: Check.oneOf(["active", "closed"])),
        ],
        joins: "",
        rowChecks: [],
        fileKey: (["code"], "code"),
        apply: """
            insert into huifang.departments as t (code, name, kind, status)
            select btrim(s.code), btrim(s.name), btrim(s.kind), coalesce(\(value("status")), 'active')
            from import_staging s
            where not s.rejected
            order by btrim(s.code)
            on conflict (code) do update set name = excluded.name, kind = excluded.kind, status = excluded.status, updated_at = now()
            where (t.name, t.kind, t.status) is distinct from (excluded.name, excluded.kind, excluded.status)
            returning (xmax = 0)
            """)

    static let staff = ImportSpec(
        kind: .staff,
        columns: [
            .init(name: "employee_no", required: true, check: Check.number),
            .init(name: "name", required: true, check: Check.text),
            .init(name: "branch_code", required: false, check: nil),
            .init(name: "department_code", required: false, check: nil),
            .init(name: "phone", required: false, check: Check.phone),
            .init(name: "email", required: false, check: Check.email),
            .init(name: "status", required: false, check: Check.oneOf(["active", "inactive"])),
        ],
        joins: """
            left join huifang.branches b on b.code = btrim(s.branch_code)
            left join huifang.departments d on d.code = btrim(s.department_code)
            """,
        rowChecks: [
            ("branch_code", "case when (\(value("branch_code")) is null) = (\(value("department_code")) is null) then 'give exactly one of branch_code and department_code' end"),
            ("branch_code", "case when \(value("branch_code")) is not null and b.id is null then 'no branch with this code' end"),
            ("department_code", "case when \(value("department_code")) is not null and d.id is null then 'no department with this code' end"),
        ],
        fileKey: (["employee_no"], "employee_no"),
        apply: """
            insert into huifang.staff as t (employee_no, name, phone, email, status, home_branch_id, home_department_id)
            select btrim(s.employee_no), btrim(s.name), \(value("phone")), \(value("email")), coalesce(\(value("status")), 'active'),
                   b.id, d.id
            from import_staging s
            left join huifang.branches b on b.code = btrim(s.branch_code)
            left join huifang.departments d on d.code = btrim(s.department_code)
            where not s.rejected
            order by btrim(s.employee_no)
            on conflict (employee_no) do update set
                name = excluded.name, phone = excluded.phone, email = excluded.email, status = excluded.status,
                home_branch_id = excluded.home_branch_id, home_department_id = excluded.home_department_id, updated_at = now()
            where (t.name, t.phone, t.email, t.status, t.home_branch_id, t.home_department_id)
                is distinct from (excluded.name, excluded.phone, excluded.email, excluded.status, excluded.home_branch_id,
                                  excluded.home_department_id)
            returning (xmax = 0)
            """)

    static let brokers = ImportSpec(
        kind: .brokers,
        columns: [
            .init(name: "branch_code", required: true, check: nil),
            .init(name: "agent_no", required: true, check: Check.number),
            .init(name: "name", required: true, check: Check.text),
            .init(name: "phone", required: false, check: Check.phone),
            .init(name: "employee_no", required: false, check: nil),
            .init(name: "status", required: false, check: Check.oneOf(["active", "inactive"])),
            .init(name: "registered_on", required: false, check: Check.date),
        ],
        joins: """
            left join huifang.branches b on b.code = btrim(s.branch_code)
            left join huifang.staff st on st.employee_no = btrim(s.employee_no)
            """,
        rowChecks: [
            ("branch_code", "case when b.id is null then 'no branch with this code' end"),
            ("employee_no", "case when \(value("employee_no")) is not null and st.id is null then 'no staff member with this employee number' end"),
            ("employee_no",
             "case when st.id is not null and b.id is not null and not huifang.staff_serves_branch(st.id, b.id) then 'this staff member does not work for the branch' end"),
        ],
        fileKey: (["branch_code", "agent_no"], "agent_no"),
        apply: """
            insert into huifang.brokers as t (branch_id, agent_no, name, phone, staff_id, status, registered_on)
            select b.id, btrim(s.agent_no), btrim(s.name), \(value("phone")), st.id, coalesce(\(value("status")), 'active'),
                   \(value("registered_on"))::date
            from import_staging s
            join huifang.branches b on b.code = btrim(s.branch_code)
            left join huifang.staff st on st.employee_no = btrim(s.employee_no)
            where not s.rejected
            order by b.id, btrim(s.agent_no)
            on conflict (branch_id, agent_no) do update set
                name = excluded.name, phone = excluded.phone, staff_id = excluded.staff_id, status = excluded.status,
                registered_on = excluded.registered_on, updated_at = now()
            where (t.name, t.phone, t.staff_id, t.status, t.registered_on)
                is distinct from (excluded.name, excluded.phone, excluded.staff_id, excluded.status, excluded.registered_on)
            returning (xmax = 0)
            """)

    static let clients = ImportSpec(
        kind: .clients,
        columns: [
            .init(name: "branch_code", required: true, check: nil),
            .init(name: "client_no", required: true, check: Check.number),
            .init(name: "name", required: true, check: Check.text),
            .init(
                name: "id_type", required: true,
                check: Check.oneOf([
                    "resident_id", "passport", "hk_macao_permit", "taiwan_permit", "foreign_permanent_id", "business_license", "other",
                ])),
            .init(name: "id_number", required: true, check: "case when {v} !~ '^[A-Za-z0-9()-]+$' or length({v}) not between 4 and 40 then 'must be 4–40 letters, digits, (, ) or -' end"),
            .init(name: "opened_at", required: true, check: Check.timestamp),
            .init(name: "phone", required: false, check: Check.phone),
            .init(name: "status", required: false, check: Check.oneOf(["open", "closed"])),
            .init(name: "closed_at", required: false, check: Check.timestamp),
            .init(name: "referrer_employee_no", required: false, check: nil),
            .init(name: "referrer_agent_no", required: false, check: nil),
        ],
        joins: """
            left join huifang.branches b on b.code = btrim(s.branch_code)
            left join huifang.staff st on st.employee_no = btrim(s.referrer_employee_no)
            left join huifang.brokers br on br.branch_id = b.id and br.agent_no = btrim(s.referrer_agent_no)
            """,
        rowChecks: [
            ("branch_code", "case when b.id is null then 'no branch with this code' end"),
            ("referrer_employee_no",
             "case when \(value("referrer_employee_no")) is not null and st.id is null then 'no staff member with this employee number' end"),
            ("referrer_employee_no",
             "case when st.id is not null and b.id is not null and not huifang.staff_serves_branch(st.id, b.id) then 'this staff member does not work for the branch' end"),
            ("referrer_agent_no",
             "case when \(value("referrer_agent_no")) is not null and b.id is not null and br.id is null then 'no broker with this number in the branch' end"),
            ("closed_at",
             "case when (coalesce(\(value("status")), 'open') = 'closed') <> (\(value("closed_at")) is not null) then 'give closed_at exactly when status is closed' end"),
            ("closed_at",
             """
             case when \(value("closed_at")) is null then null
                  when huifang.is_iso_timestamp(\(value("closed_at"))) and huifang.is_iso_timestamp(\(value("opened_at"))) then
                 case when \(value("closed_at"))::timestamptz < \(value("opened_at"))::timestamptz then 'is before opened_at' end end
             """),
        ],
        fileKey: (["branch_code", "client_no"], "client_no"),
        apply: """
            insert into huifang.clients as t (branch_id, client_no, name, id_type, id_number, phone, opened_at, status, closed_at,
                                              referrer_staff_id, referrer_broker_id)
            select b.id, btrim(s.client_no), btrim(s.name), btrim(s.id_type), btrim(s.id_number), \(value("phone")),
                   btrim(s.opened_at)::timestamptz, coalesce(\(value("status")), 'open'), \(value("closed_at"))::timestamptz,
                   st.id, br.id
            from import_staging s
            join huifang.branches b on b.code = btrim(s.branch_code)
            left join huifang.staff st on st.employee_no = btrim(s.referrer_employee_no)
            left join huifang.brokers br on br.branch_id = b.id and br.agent_no = btrim(s.referrer_agent_no)
            where not s.rejected
            order by b.id, btrim(s.client_no)
            on conflict (branch_id, client_no) do update set
                name = excluded.name, id_type = excluded.id_type, id_number = excluded.id_number, phone = excluded.phone,
                opened_at = excluded.opened_at, status = excluded.status, closed_at = excluded.closed_at,
                referrer_staff_id = excluded.referrer_staff_id, referrer_broker_id = excluded.referrer_broker_id, updated_at = now()
            where (t.name, t.id_type, t.id_number, t.phone, t.opened_at, t.status, t.closed_at, t.referrer_staff_id, t.referrer_broker_id)
                is distinct from (excluded.name, excluded.id_type, excluded.id_number, excluded.phone, excluded.opened_at,
                                  excluded.status, excluded.closed_at, excluded.referrer_staff_id, excluded.referrer_broker_id)
            returning (xmax = 0)
            """)

    /// Rows naming a client by branch code and client number: the lookups, and the reasons when either is unknown.
    static let clientLookup = (
        joins: """
            left join huifang.branches b on b.code = btrim(s.branch_code)
            left join huifang.clients c on c.branch_id = b.id and c.client_no = btrim(s.client_no)
            """,
        checks: [
            (column: "branch_code", reason: "case when b.id is null then 'no branch with this code' end"),
            (column: "client_no", reason: "case when b.id is not null and c.id is null then 'no client with this number in the branch' end"),
        ]
    )

    static let assets = ImportSpec(
        kind: .assets,
        columns: [
            .init(name: "branch_code", required: true, check: nil),
            .init(name: "client_no", required: true, check: nil),
            .init(name: "as_of", required: true, check: Check.date),
            .init(name: "total_assets", required: true, check: Check.money),
            .init(name: "last_trade_date", required: false, check: Check.date),
        ],
        joins: clientLookup.joins,
        rowChecks: clientLookup.checks + [
            ("last_trade_date",
             """
             case when \(value("last_trade_date")) is null then null
                  when huifang.is_iso_date(\(value("last_trade_date"))) and huifang.is_iso_date(\(value("as_of"))) then
                 case when \(value("last_trade_date"))::date > \(value("as_of"))::date then 'is after as_of' end end
             """),
        ],
        fileKey: (["branch_code", "client_no", "as_of"], "as_of"),
        apply: """
            insert into huifang.client_asset_snapshots (branch_id, client_id, as_of, total_assets, last_trade_date, correction_reason)
            select b.id, c.id, btrim(s.as_of)::date, btrim(s.total_assets)::numeric, \(value("last_trade_date"))::date,
                   'corrected by an assets import'
            from import_staging s
            join huifang.branches b on b.code = btrim(s.branch_code)
            join huifang.clients c on c.branch_id = b.id and c.client_no = btrim(s.client_no)
            where not s.rejected
            order by b.id, c.id, btrim(s.as_of)::date
            returning (revision = 1)
            """)

    /// Client events from the core system (Art 10): each new one (by branch and external id) is
    /// judged and, when its event rule requires it, opens its special callback; re-sent ones change nothing.
    static let events = ImportSpec(
        kind: .events,
        columns: [
            .init(name: "external_id", required: true,
                  check: "case when {v} !~ '^[A-Za-z0-9][A-Za-z0-9._:/-]*$' or length({v}) > 128 then 'must be 1–128 letters, digits or . _ : / -' end"),
            .init(name: "branch_code", required: true, check: nil),
            .init(name: "client_no", required: true, check: nil),
            .init(name: "kind", required: true,
                  check: Check.oneOf(["large_asset_movement", "account_closure", "password_reset", "new_business", "agent_change"])),
            .init(name: "occurred_at", required: true, check: Check.timestamp),
            .init(name: "amount", required: false,
                  check: "case when {v} !~ '^[0-9]+(\\.[0-9][0-9]?)?$' or length(split_part({v}, '.', 1)) > 16 then 'must be an amount in CNY like 1200000.00, below 10^16' end"),
            .init(name: "detail", required: false, check: "case when length({v}) > 2000 then 'must be at most 2,000 characters' end"),
        ],
        joins: clientLookup.joins + """
            left join huifang.client_events prev on prev.branch_id = b.id and prev.external_id = btrim(s.external_id)
            """,
        rowChecks: clientLookup.checks + [
            ("external_id",
             """
             case when prev.id is null or c.id is null or not huifang.is_iso_timestamp(\(value("occurred_at")))
                       or coalesce(\(value("amount")), '0') !~ '^[0-9]{1,16}(\\.[0-9][0-9]?)?$' then null
                  when (prev.client_id, prev.kind, prev.occurred_at, prev.amount)
                       is distinct from (c.id, btrim(s.kind), \(value("occurred_at"))::timestamptz, \(value("amount"))::numeric)
                  then 'was received before with another client, kind, time or amount' end
             """),
            ("amount",
             """
             case when (btrim(s.kind) = 'large_asset_movement') <> (\(value("amount")) is not null)
                  then 'give an amount exactly for a large_asset_movement' end
             """),
            ("amount", "case when \(value("amount")) ~ '^0+(\\.0+)?$' then 'must be above 0' end"),
            ("occurred_at",
             """
             case when huifang.is_iso_timestamp(\(value("occurred_at")))
                       and \(value("occurred_at"))::timestamptz > now() + interval '5 minutes' then 'is in the future' end
             """),
        ],
        fileKey: (["branch_code", "external_id"], "external_id"),
        apply: """
            insert into huifang.client_events (branch_id, client_id, external_id, kind, occurred_at, amount, detail, source)
            select b.id, c.id, btrim(s.external_id), btrim(s.kind), btrim(s.occurred_at)::timestamptz, \(value("amount"))::numeric,
                   case when \(value("detail")) is null then '{}'::jsonb else jsonb_build_object('note', \(value("detail"))) end, 'import'
            from import_staging s
            join huifang.branches b on b.code = btrim(s.branch_code)
            join huifang.clients c on c.branch_id = b.id and c.client_no = btrim(s.client_no)
            where not s.rejected
            order by s.line
            on conflict (branch_id, external_id) do nothing
            returning true
            """)
}
