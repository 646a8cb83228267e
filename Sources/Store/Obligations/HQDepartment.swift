import Postgres

/// The department that takes HQ's share of callback work of a kind (S&T HQ owns, the call center
/// executes): the lowest-numbered active one of that kind, as an SQL expression to embed.
enum HQDepartment {
    static func first(_ kind: String) -> SQL {
        "(select min(id) from huifang.departments where kind = \(kind) and status = 'active')"
    }
}
