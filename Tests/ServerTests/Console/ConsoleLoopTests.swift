import Foundation
import HTTPTypes
import Server
import Testing
import TestSupport

/// A problem's whole loop taken through the console's forms alone, each person on their own pages.
@Suite("The console: a problem's loop through the pages")
struct ConsoleLoopTests {
    static func first(_ pattern: String, in html: String) -> String? {
        guard let regex = try? NSRegularExpression(pattern: pattern),
              let match = regex.firstMatch(in: html, range: NSRange(html.startIndex..., in: html)), match.numberOfRanges > 1,
              let range = Range(match.range(at: 1), in: html)
        else { return nil }
        return String(html[range])
    }

    @Test func raiseApproveClaimForwardAnswerAcceptRelayAndClose() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, _ in
            let rp = try await ConsoleBrowser.signedIn(api.client, as: "rpA")
            _ = try await rp.get("/console/problems")
            let raised = try await rp.post("/console/problems", [
                "clientId": String(fixture.clientA), "category": "system_issue", "severity": "high", "description": "行情延迟 Quotes lag",
            ])
            #expect(raised.status == .seeOther, "\(raised.html.prefix(1500))")
            let problem = try #require(raised.location)
            #expect(problem.hasPrefix("/console/problems/"))

            func step(_ browser: ConsoleBrowser, _ action: String, _ fields: [String: String] = [:]) async throws -> ConsoleBrowser.Page {
                let page = try await browser.get(problem)
                var fields = fields
                guard let etag = hiddenETag(page.html) else { throw TestFailure("\(action): no step form on \(page.html.prefix(400))") }
                fields["etag"] = etag
                let done = try await browser.post("\(problem)/\(action)", fields)
                #expect(done.status == .seeOther, "\(action): \(done.status) \(done.html.prefix(1500))")
                return try await browser.get(problem)
            }

            let ops = try await ConsoleBrowser.signedIn(api.client, as: "opsA")
            #expect(try await ops.get("/console").html.contains(problem), "waiting in the ops director's work")
            #expect(try await step(ops, "approve").html.contains("待总部受理"))

            let center = try await ConsoleBrowser.signedIn(api.client, as: "opsCenter")
            let queue = try await center.get("/console/problems")
            #expect(queue.html.contains(problem), "in the triage queue")
            let claimed = try await step(center, "claim")
            let it = try #require(Self.first(#"name="departmentIds" value="(\d+)"> 信息技术部"#, in: claimed.html), "IT among the departments")
            #expect(try await step(center, "forward", ["departmentIds": it, "note": "请核查行情服务器"]).html.contains("已转办"))

            let department = try await ConsoleBrowser.signedIn(api.client, as: "functional")
            let inbox = try await department.get("/console/forwardings")
            #expect(inbox.html.contains("剩余") || inbox.html.contains("最后一个工作日"), "the 2-day countdown")
            let forwarding = try #require(Self.first(#"action="/console/forwardings/(\d+)/answer""#, in: inbox.html))
            let etag = try #require(Self.first(#"action="/console/forwardings/\#(forwarding)/answer" id="answer-\d+"><input type="hidden" name="_csrf" value="[^"]+"><input type="hidden" name="etag" value="([^"]+)""#, in: inbox.html))
            let answered = try await department.post("/console/forwardings/\(forwarding)/answer", ["etag": etag.replacingOccurrences(of: "&quot;", with: "\""), "text": "已扩容行情服务器"])
            #expect(answered.status == .seeOther, "\(answered.html.prefix(1500))")

            #expect(try await step(center, "accept", ["forwardingId": forwarding]).html.contains("已答复，待反馈"))
            _ = try await step(center, "relay", ["recipient": "branch_leader", "channel": "phone"])
            _ = try await step(center, "relay", ["recipient": "responsible_person", "channel": "system"])
            let closed = try await step(center, "relay", ["recipient": "client", "channel": "phone"])
            #expect(closed.html.contains("已办结"))
            #expect(closed.html.contains("按时"), "the 15-day clock met")

            let auditor = try await ConsoleBrowser.signedIn(api.client, as: "auditor")
            let sla = try await auditor.get("/console/monitoring/sla")
            #expect(sla.status == .ok)
            #expect(sla.html.contains("<svg"), "charts drawn on the server")
            #expect(sla.html.contains("<td>BOC</td>"), "the Ops Center's closed problem counts in the month")
            let csv = try await auditor.get("/console/monitoring/csv/sla-problems-by-department")
            #expect(csv.headers[.contentType]?.hasPrefix("text/csv") == true)
            #expect(csv.html.contains("BOC,1,1"))
            // The auditor checks every chain the loop appended to, as `huifang audit verify` does.
            let verified = try await auditor.get("/console/audit?verify=1")
            #expect(verified.status == .ok, "\(verified.html)")
            #expect(verified.html.contains("全部完整"), "every chain intact")
        }
    }
}
