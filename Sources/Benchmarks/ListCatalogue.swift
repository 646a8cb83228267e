import Domain

/// Every list and count of `openapi.yaml` a person opens in a day, with a page of 50 where the
/// operation pages: the collections, their queues and the filters the issue names. A role that
/// may not read one gets 403 and the benchmark says so instead of timing it.
enum ListCatalogue {
    /// `month` is YYYY-MM, `year` its year, `branchId` the branch the branch roles work in.
    static func paths(month: String, year: String, branchId: Int32) -> [String] {
        [
            "/me", "/sessions/mine", "/branches", "/departments", "/calendars", "/obligation-rules", "/record-forms",
            "/staff?limit=50", "/brokers?limit=50", "/clients?limit=50",
            "/notifications?limit=50", "/notifications?unread=true&limit=50", "/audit-events?limit=50",
            "/timers?limit=50", "/timers?state=running&limit=50",
            "/tasks?mine=true&limit=50", "/tasks?limit=50", "/tasks?overdue=true&limit=50", "/tasks?state=closed&limit=50",
            "/tasks?queue=branch&limit=50", "/tasks?queue=call_center&limit=50",
            "/coverage?period=\(month)", "/coverage?period=\(year)",
            "/directives?limit=50", "/directive-feedback?limit=50", "/directive-feedback?inbox=true&limit=50",
            "/records?limit=50", "/records?mine=true&limit=50", "/records?awaitingMySignature=true&limit=50",
            "/records?state=archived&limit=50", "/record-uploads?month=\(month)&limit=50", "/record-uploads?inbox=true&limit=50",
            "/problems?limit=50", "/problems?open=true&limit=50", "/problems?state=closed&limit=50",
            "/problems?mine=true&limit=50", "/problems?breached=true&limit=50", "/problems?unclaimed=true&limit=50",
            "/problems?queue=triage&limit=50", "/problems?queue=branch&limit=50", "/problems?queue=raised&limit=50",
            "/problems/counts", "/problems/counts?queue=triage", "/problems/counts?queue=branch",
            "/forwardings?limit=50", "/forwardings?state=received&limit=50", "/forwardings?state=accepted&limit=50",
            "/monitoring/overdue?limit=50", "/monitoring/at-risk?limit=50", "/monitoring/sla?month=\(month)",
            "/monitoring/uploads?month=\(month)", "/monitoring/people?branchId=\(branchId)&month=\(month)",
            "/monitoring/assessment?month=\(month)&by=branch", "/monitoring/assessment?month=\(month)&by=person",
            "/evaluations?year=\(year)&limit=50", "/evaluations/missing?year=\(year)",
            "/delivery-channels", "/delivery-hosts", "/deliveries?limit=50",
        ]
    }

    /// One client's pages a person opens from a list: the client, the client file (every record of
    /// the years kept), and the client's records and tasks.
    static func clientPaths(clientId: Int64) -> [String] {
        ["/clients/\(clientId)", "/clients/\(clientId)/file", "/records?clientId=\(clientId)&limit=50", "/tasks?clientId=\(clientId)&limit=50"]
    }

    /// The roles the benchmark signs in as: every role of a branch and of HQ but the admin, whose
    /// lists are the organization's and not a daily page.
    static let roles: [Role] = Role.allCases.filter { $0 != .admin }
}
