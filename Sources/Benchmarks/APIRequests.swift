import Foundation
import NIOHTTP1

/// The requests `huifang bench api` sends, as the API documents them.
enum APIRequests {
    static func me(_ token: String) -> LoadRequest { LoadRequest(method: .GET, path: "/me", token: token) }

    static func client(_ id: Int64, _ token: String) -> LoadRequest {
        LoadRequest(method: .GET, path: "/clients/\(id)", token: token)
    }

    static func triageQueue(_ token: String) -> LoadRequest {
        LoadRequest(method: .GET, path: "/problems?queue=triage&limit=50", token: token)
    }

    static func myTasks(_ token: String) -> LoadRequest { LoadRequest(method: .GET, path: "/tasks?mine=true", token: token) }

    /// A system issue: the ops director approves it and it goes to the Brokerage Ops Center.
    static func raise(client: Int64, _ token: String) -> LoadRequest {
        LoadRequest(
            method: .POST, path: "/problems", token: token,
            json: json([
                "clientId": client, "category": "system_issue", "severity": "low",
                "description": "交易软件登录偶尔失败 The trading app sometimes fails to log in (bench api)",
            ]))
    }

    /// An ad-hoc existing-client callback record, drafted by its performer.
    static func draftRecord(client: Int64, _ token: String, contactedAt: String) -> LoadRequest {
        LoadRequest(
            method: .POST, path: "/records", token: token,
            json: json([
                "clientId": client, "formCode": "existing_client",
                "answers": [
                    "method": "phone", "contactedAt": contactedAt, "durationMinutes": 5, "personReached": "client",
                    "identityConfirmed": true, "fieldsVerified": [String](), "agreementsVerified": true,
                ] as [String: Any],
            ]))
    }

    static func submit(_ record: WorkItem, _ token: String) -> LoadRequest {
        LoadRequest(method: .POST, path: "/records/\(record.id)/submit", token: token)
    }

    static func countersign(_ record: WorkItem, _ token: String) -> LoadRequest {
        LoadRequest(method: .POST, path: "/records/\(record.id)/countersign", token: token)
    }

    static func claim(_ problem: WorkItem, _ token: String) -> LoadRequest {
        LoadRequest(method: .POST, path: "/problems/\(problem.id)/claim", token: token, ifMatch: problem.etag)
    }

    static func answer(_ forwarding: WorkItem, _ token: String) -> LoadRequest {
        LoadRequest(
            method: .POST, path: "/forwardings/\(forwarding.id)/answer", token: token,
            json: json(["text": "已核实并处理 Checked and handled (bench api)"]), ifMatch: forwarding.etag)
    }

    /// Now in Shanghai, as a form's `contactedAt` wants it.
    static func shanghaiNow() -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "Asia/Shanghai")
        return formatter.string(from: Date().addingTimeInterval(-60))
    }

    private static func json(_ object: [String: Any]) -> [UInt8] {
        Array((try? JSONSerialization.data(withJSONObject: object)) ?? Data())
    }
}
