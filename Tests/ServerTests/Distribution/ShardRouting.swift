import Foundation

/// Whether a statement, as PostgreSQL planned it, would route to one shard of a Citus cluster
/// distributed by branch (docs/scaling.md): every scan of a distributed table is restricted to
/// one branch by its distribution column — equal to a constant, a bound parameter, or the
/// distribution column of another scan of the statement that is itself restricted (a co-located
/// join). Row-level security does not count: its `branch_id = any ((select …))` is an OR with the
/// HQ cases, and Citus prunes shards on the query's own conditions, not on policies.
enum ShardRouting {
    /// One node of an `EXPLAIN (FORMAT JSON)` plan, with the fields the check reads.
    struct Node: Sendable {
        var type: String
        var relation: String?
        var alias: String?
        var subplanName: String?
        /// Index Cond, Recheck Cond, Filter, TID Cond: what restricts this node's own rows.
        var scanConditions: [String]
        /// Hash Cond, Merge Cond, Join Filter: what pairs the rows of two inputs.
        var joinConditions: [String]
        var children: [Node]

        init(json: [String: Any]) {
            type = json["Node Type"] as? String ?? "?"
            relation = json["Relation Name"] as? String
            alias = json["Alias"] as? String
            subplanName = json["Subplan Name"] as? String
            scanConditions = ["Index Cond", "Recheck Cond", "Filter", "TID Cond"].compactMap { json[$0] as? String }
            joinConditions = ["Hash Cond", "Merge Cond", "Join Filter"].compactMap { json[$0] as? String }
            children = (json["Plans"] as? [[String: Any]] ?? []).map(Node.init(json:))
        }

        func walk(skipping subplans: Set<String> = [], _ visit: (Node) -> Void) {
            if let name = subplanName, subplans.contains(name) { return }
            visit(self)
            for child in children { child.walk(skipping: subplans, visit) }
        }
    }

    /// A scan of a distributed table that is not restricted to the caller's branch.
    struct Miss: Sendable, CustomStringConvertible {
        var table: String
        var alias: String
        var node: String
        var conditions: [String]
        var reason: String

        var description: String {
            "\(table) (\(node) as \(alias)): \(reason); conditions: \(conditions.isEmpty ? "none" : conditions.joined(separator: " | "))"
        }
    }

    /// The scans of `plan` on tables of `distributed` (relation name → distribution column) that a
    /// coordinator could not route to `branch`'s shard alone.
    static func misses(in plan: Node, distributed: [String: String], branch: Int) -> [Miss] {
        struct Scan {
            var table: String
            var alias: String
            var column: String
            var node: String
            var conditions: [String]
        }
        var scans: [Scan] = []
        var joins: [String] = []
        var initPlanOutputs = Set<String>()
        // Subplans a disjunction calls are row-level security's "or the department's own work"
        // cases (`… or id in (select client_id from callback_tasks where executor_department_id = …)`):
        // policies, which Citus applies on the shard, not conditions it routes by.
        var guards = Set<String>()
        plan.walk { node in
            for condition in node.scanConditions + node.joinConditions where !topLevel(unwrap(condition), separator: " OR ").isEmpty {
                var rest = Substring(condition)
                while let found = rest.range(of: "SubPlan ") {
                    let number = rest[found.upperBound...].prefix { $0.isNumber }
                    guards.insert("SubPlan \(number)")
                    rest = rest[found.upperBound...]
                }
            }
        }
        plan.walk(skipping: guards) { node in
            joins += node.joinConditions
            if let name = node.subplanName, let returns = name.range(of: "(returns ") {
                let list = name[returns.upperBound...].prefix { $0 != ")" }
                initPlanOutputs.formUnion(list.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) })
            }
            // An INSERT, UPDATE or DELETE names its table; the rows it reads come from the scan below it.
            guard node.type != "ModifyTable", let relation = node.relation, let column = distributed[relation] else { return }
            var conditions = node.scanConditions
            // A bitmap heap scan's index conditions are on the bitmap index scans below it.
            if node.type == "Bitmap Heap Scan" {
                for child in node.children { child.walk { conditions += $0.type.hasPrefix("Bitmap") ? $0.scanConditions : [] } }
            }
            scans.append(Scan(table: relation, alias: node.alias ?? relation, column: column, node: node.type, conditions: conditions))
        }
        var columnOf = Dictionary(scans.map { ($0.alias, $0.column) }, uniquingKeysWith: { first, _ in first })
        // A partitioned table's scans are its partitions', aliased `r_1`, `r_2`, …, while the
        // statement's other conditions name the table's own alias `r`: `r` is restricted when every
        // one of its partitions is.
        var partitionsOf: [String: [String]] = [:]
        for scan in scans {
            guard let underscore = scan.alias.lastIndex(of: "_"), Int(scan.alias[scan.alias.index(after: underscore)...]) != nil
            else { continue }
            let base = String(scan.alias[..<underscore])
            guard columnOf[base] == nil || partitionsOf[base] != nil else { continue }
            partitionsOf[base, default: []].append(scan.alias)
            columnOf[base] = scan.column
        }

        var restricted = Set<String>()
        var wrongBranch: [String: [Int]] = [:]
        var edges: [(String, String)] = []
        for scan in scans {
            for condition in scan.conditions {
                for (left, right) in equalities(in: condition) {
                    for (mine, other) in [(left, right), (right, left)] {
                        guard let reference = columnReference(mine), reference.column == scan.column,
                              reference.alias == nil || reference.alias == scan.alias
                        else { continue }
                        switch operand(other, initPlanOutputs: initPlanOutputs) {
                        case .values(let values):
                            if values == [branch] { restricted.insert(scan.alias) } else { wrongBranch[scan.alias] = values }
                        case .boundParameter:
                            restricted.insert(scan.alias)
                        case .column(let alias, let column):
                            if let alias, alias != scan.alias, columnOf[alias] == column { edges.append((scan.alias, alias)) }
                        case .other:
                            break
                        }
                    }
                }
            }
        }
        for condition in joins {
            for (left, right) in equalities(in: condition) {
                guard let l = columnReference(left), let r = columnReference(right), let la = l.alias, let ra = r.alias,
                      columnOf[la] == l.column, columnOf[ra] == r.column
                else { continue }
                edges.append((la, ra))
            }
        }
        // A scan joined on the distribution column to a restricted one is on the same shard.
        var changed = true
        while changed {
            changed = false
            for (base, partitions) in partitionsOf where !restricted.contains(base) && partitions.allSatisfy(restricted.contains) {
                restricted.insert(base)
                changed = true
            }
            for (a, b) in edges where restricted.contains(a) != restricted.contains(b) {
                restricted.formUnion([a, b])
                changed = true
            }
        }
        return scans.filter { !restricted.contains($0.alias) }.map { scan in
            let reason = wrongBranch[scan.alias].map { "restricted to branch \($0.map(String.init).joined(separator: ", ")), not only \(branch)" }
                ?? "no condition on \(scan.column) that names one branch"
            return Miss(table: scan.table, alias: scan.alias, node: scan.node, conditions: scan.conditions, reason: reason)
        }
    }

    enum Operand: Equatable {
        case values([Int])
        case boundParameter
        case column(alias: String?, column: String)
        case other
    }

    /// What one side of an equality is: a constant (or a constant array under `= ANY`), a parameter
    /// bound by the client (`$n` of a generic plan; `$n` an InitPlan returns is a subquery's result,
    /// such as the row-level security's `(select huifang.scope_branch_ids())`), or a column.
    static func operand(_ text: String, initPlanOutputs: Set<String>) -> Operand {
        var text = stripCast(unwrap(text))
        if text.hasPrefix("ANY ("), text.hasSuffix(")") {
            text = stripCast(unwrap(String(text.dropFirst(4))))
            if text.hasPrefix("'{"), text.hasSuffix("}'") {
                let values = text.dropFirst(2).dropLast(2).split(separator: ",").map { Int($0.trimmingCharacters(in: .init(charactersIn: "\" "))) }
                return values.contains(nil) || values.isEmpty ? .other : .values(values.map { $0! })
            }
        }
        if text.hasPrefix("'"), text.hasSuffix("'"), let value = Int(text.dropFirst().dropLast()) { return .values([value]) }
        if let value = Int(text) { return .values([value]) }
        if text.hasPrefix("$"), Int(text.dropFirst()) != nil { return initPlanOutputs.contains(text) ? .other : .boundParameter }
        if let reference = columnReference(text) { return .column(alias: reference.alias, column: reference.column) }
        return .other
    }

    /// `alias.column` or `column`, perhaps in parentheses or cast.
    static func columnReference(_ text: String) -> (alias: String?, column: String)? {
        let text = stripCast(unwrap(text))
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        let identifier = { (part: Substring) in !part.isEmpty && part.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" } && !part.first!.isNumber }
        switch parts.count {
        case 1 where identifier(parts[0]): return (nil, String(parts[0]))
        case 2 where identifier(parts[0]) && identifier(parts[1]): return (String(parts[0]), String(parts[1]))
        default: return nil
        }
    }

    /// The `left = right` conjuncts of a condition as EXPLAIN prints it, fully parenthesized. A
    /// disjunction restricts nothing (RLS's "this branch, or HQ"), so it gives none.
    static func equalities(in condition: String) -> [(String, String)] {
        conjuncts(unwrap(condition)).compactMap { conjunct in
            let term = unwrap(conjunct)
            guard let equals = topLevel(term, separator: " = ").first else { return nil }
            return (String(term[..<equals.lowerBound]), String(term[equals.upperBound...]))
        }
    }

    static func conjuncts(_ text: String) -> [String] {
        if !topLevel(text, separator: " OR ").isEmpty { return [] }
        var parts: [String] = []
        var start = text.startIndex
        for range in topLevel(text, separator: " AND ") {
            parts.append(String(text[start..<range.lowerBound]))
            start = range.upperBound
        }
        parts.append(String(text[start...]))
        return parts
    }

    /// Where `separator` occurs outside parentheses, brackets and quotes.
    static func topLevel(_ text: String, separator: String) -> [Range<String.Index>] {
        var ranges: [Range<String.Index>] = []
        var depth = 0
        var quoted = false
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            if character == "'" { quoted.toggle() }
            if !quoted {
                if character == "(" || character == "[" { depth += 1 }
                if character == ")" || character == "]" { depth -= 1 }
                if depth == 0, text[index...].hasPrefix(separator) {
                    let end = text.index(index, offsetBy: separator.count)
                    ranges.append(index..<end)
                    index = end
                    continue
                }
            }
            index = text.index(after: index)
        }
        return ranges
    }

    /// Without the parentheses that wrap the whole text.
    static func unwrap(_ text: String) -> String {
        var text = text.trimmingCharacters(in: .whitespaces)
        while text.hasPrefix("("), text.hasSuffix(")"), closesAtEnd(text) {
            text = String(text.dropFirst().dropLast()).trimmingCharacters(in: .whitespaces)
        }
        return text
    }

    private static func closesAtEnd(_ text: String) -> Bool {
        var depth = 0
        var quoted = false
        for (offset, character) in text.enumerated() {
            if character == "'" { quoted.toggle() }
            if quoted { continue }
            if character == "(" { depth += 1 }
            if character == ")" {
                depth -= 1
                if depth == 0 { return offset == text.count - 1 }
            }
        }
        return false
    }

    /// Without trailing casts: `'5'::bigint` → `'5'`, `(branch_id)::bigint` → `branch_id`.
    static func stripCast(_ text: String) -> String {
        var text = text
        while let cast = topLevel(text, separator: "::").last {
            text = unwrap(String(text[..<cast.lowerBound]))
        }
        return text
    }
}
