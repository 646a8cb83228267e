import Foundation
import HTTPTypes
import Postgres
import Server
import Testing
import TestSupport

@Suite("Evaluations of branches (Art 16) over HTTP")
struct EvaluationAPITests {
    @Test func anEvaluationNotPublishedWithinTenWorkingDaysIsBreachedAndTheBranchSeesOnlyPublishedResults() async throws {
        try await withFixtureApp(now: Date()) { api, fixture, database in
            let center = try await api.token("opsCenter")
            let opsA = try await api.token("opsA")
            #expect(try await api.send(.post, "/evaluations", token: opsA, json: ["branchId": fixture.branchA, "year": 2026]).status == .forbidden)
            let opened = try await api.send(.post, "/evaluations", token: center, json: ["branchId": fixture.branchA, "year": 2026])
            #expect(opened.status == .created, "\(opened.text)")
            let id = try #require(try opened.json()["id"] as? Int)
            // The monitor: branch B has no 2026 evaluation by the Brokerage Ops Center yet.
            let missing = try await api.send(.get, "/evaluations/missing?year=2026", token: center)
            #expect((try JSONSerialization.jsonObject(with: Data(missing.text.utf8)) as? [[String: Any]])?.compactMap { $0["branchCode"] as? String } == ["SH001"])
            // Not published: the branch does not see it.
            #expect(try await api.send(.get, "/evaluations/\(id)", token: opsA).status == .notFound)

            let badScores = try await api.send(.put, "/evaluations/\(id)/scores", token: center, json: ["scores": [
                ["criterion": "charm", "score": "90"], ["criterion": "coverage", "score": "lots"],
            ]])
            #expect(try badScores.problem().errors?.map(\.field) == ["scores[1].score"])
            let unknown = try await api.send(.put, "/evaluations/\(id)/scores", token: center, json: ["scores": [["criterion": "charm", "score": "90"]]])
            #expect(try unknown.problem().errors?.map(\.field) == ["scores[0].criterion"])
            #expect(try await api.send(.put, "/evaluations/\(id)/scores", token: center,
                                       json: ["scores": [["criterion": "coverage", "score": "150"]]]).status.code == 422)
            let scored = try await api.send(.put, "/evaluations/\(id)/scores", token: center, json: ["scores": [
                ["criterion": "coverage", "score": "90"], ["criterion": "timeliness", "score": "80", "note": "two uploads late"],
            ]])
            #expect(scored.status == .ok, "\(scored.text)")
            // (90/100 × 30 + 80/100 × 25) / 55 × 100
            #expect(try scored.json()["weightedScore"] as? String == "85.45")
            #expect(try await api.send(.post, "/evaluations/\(id)/findings", token: center,
                                       json: ["text": "九月上传迟交", "severity": "medium"]).status == .created)
            #expect(try await api.send(.post, "/evaluations/\(id)/publish", token: center, json: ["summary": "x"]).status == .conflict)
            // Art 16: every criterion is scored before the check closes.
            let unscored = try await api.send(.post, "/evaluations/\(id)/close", token: center)
            #expect(unscored.status == .conflict)
            #expect(try unscored.problem().detail?.contains("problem_handling, record_quality") == true, "\(unscored.text)")
            let complete = try await api.send(.put, "/evaluations/\(id)/scores", token: center, json: ["scores": [
                ["criterion": "coverage", "score": "90"], ["criterion": "timeliness", "score": "80", "note": "two uploads late"],
                ["criterion": "record_quality", "score": "70"], ["criterion": "problem_handling", "score": "60"],
            ]])
            // (90 × 30 + 80 × 25 + 70 × 25 + 60 × 20) ÷ 100
            #expect(try complete.json()["weightedScore"] as? String == "76.50")
            let closed = try await api.send(.post, "/evaluations/\(id)/close", token: center)
            #expect(try closed.json()["publishClock"] as? String == "running", "\(closed.text)")
            #expect(try await api.send(.put, "/evaluations/\(id)/scores", token: center,
                                       json: ["scores": [["criterion": "coverage", "score": "99"]]]).status == .conflict)

            // Closed on Tue 29 Sep: the result was due by the end of Mon 19 Oct (National Day off, Sat 10 Oct worked).
            _ = try await database.withPool {
                try await $0.query("update huifang.timers set started_at = '2026-09-29 10:00+08' where subject_kind = 'evaluation' and subject_id = \(id)")
            }
            let late = try await api.send(.get, "/evaluations/\(id)", token: center)
            #expect(try late.json()["publishDueAt"] as? String == "2026-10-19T16:00:00Z")
            #expect(try late.json()["publishClock"] as? String == "breached")
            let published = try await api.send(.post, "/evaluations/\(id)/publish", token: center, json: ["summary": "基本合格，上传需及时"])
            #expect(try published.json()["state"] as? String == "published")
            #expect(try published.json()["publishClock"] as? String == "breached")
            // Now the branch reads its result; the other branch does not.
            let seen = try await api.send(.get, "/evaluations/\(id)", token: opsA)
            #expect(seen.status == .ok)
            #expect((try seen.json()["findings"] as? [Any])?.count == 1)
            #expect(try await api.send(.get, "/evaluations/\(id)", token: try await api.token("opsB")).status == .notFound)
            #expect(try await api.send(.get, "/evaluations/\(id)", token: try await api.token("risk")).status == .notFound)
        }
    }
}
