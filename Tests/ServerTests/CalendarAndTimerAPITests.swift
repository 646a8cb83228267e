import Foundation
import HTTPTypes
import Postgres
import Server
import Testing
import TestSupport

@Suite("Calendars and SLA clocks over HTTP")
struct CalendarAndTimerAPITests {
    static func year2027() -> [[String: Any]] {
        var days: [[String: Any]] = []
        var day = PostgresDate(year: 2027, month: 1, day: 1)
        while day.year == 2027 {
            let holiday = day.description == "2027-01-01"
            days.append(["date": day.description, "isWorkday": day.isoWeekday < 6 && !holiday] + (holiday ? ["note": "元旦"] : [:]))
            day = day.adding(days: 1)
        }
        return days
    }

    @Test func onlyAnAdminLoadsAYearAndEveryoneSeesItOfficialAfterwards() async throws {
        try await withFixtureApp { api, _, _ in
            let ops = try await api.token("opsA")
            let before = try await api.send(.get, "/calendars/cn_workday/years/2027", token: ops)
            #expect(try before.json()["status"] as? String == "provisional")
            let body: [String: Any] = ["source": "国务院办公厅通知", "days": Self.year2027()]
            #expect(try await api.send(.put, "/calendars/cn_workday/years/2027", token: ops, json: body).status == .forbidden)
            let admin = try await api.token("admin")
            let loaded = try await api.send(.put, "/calendars/cn_workday/years/2027", token: admin, json: body)
            #expect(loaded.status == .ok)
            #expect(try loaded.json()["changedDays"] as? Int == 1)
            let after = try await api.send(.get, "/calendars/cn_workday/years/2027", token: ops).json()
            #expect(after["status"] as? String == "official")
            #expect((after["days"] as? [[String: Any]])?.first?["isWorkday"] as? Bool == false)
            // A short year is refused, naming the problem.
            let short: [String: Any] = ["source": "x", "days": Array(Self.year2027().dropLast())]
            let refused = try await api.send(.put, "/calendars/cn_workday/years/2027", token: admin, json: short)
            #expect(refused.status.code == 422)
            #expect(try refused.problem().errors?.first?.reason.contains("every day") == true)
            // Years to 2100 are stored, provisional until their schedule is loaded.
            #expect(try await api.send(.get, "/calendars/cn_workday/years/2099", token: ops).json()["status"] as? String == "provisional")
            // Outside the years the API serves at all (openapi.yaml: 2000–2100): the contract refuses it by name.
            let outside = try await api.send(.get, "/calendars/cn_workday/years/1999", token: ops)
            #expect(outside.status == .unprocessableContent)
            #expect(try outside.fieldErrors() == ["year: must be at least 2000"])
        }
    }

    @Test func timersOfOtherBranchesStayInvisible() async throws {
        try await withFixtureApp { api, fixture, _ in
            let ops = try await api.token("opsA")
            // The fixture's own clock (its callback tasks run clocks of their own).
            let page = try await api.send(.get, "/timers?clock=new_account_callback", token: ops).json()
            let items = try #require(page["items"] as? [[String: Any]])
            #expect(items.map { $0["branchId"] as? Int } == [fixture.branchA])
            #expect((items.first?["stages"] as? [Any])?.count == 4)
            #expect(items.first?["provisional"] as? Bool == false)
            #expect(items.first?["firedStages"] as? [String] == ["warning_50"])
            let foreign = try await api.send(.get, "/timers?branchId=\(fixture.branchB)", token: ops).json()
            #expect((foreign["items"] as? [Any])?.isEmpty == true)
            let auditor = try await api.token("auditor")
            #expect((try await api.send(.get, "/timers?clock=new_account_callback", token: auditor).json()["items"] as? [Any])?.count == 2)
            // The ops director of A has one notification: the fired warning of A's clock, marked read by the fixture.
            let notes = try await api.send(.get, "/notifications", token: ops).json()
            let list = try #require(notes["items"] as? [[String: Any]]).filter { $0["subjectKind"] as? String == "client" }
            #expect(list.count == 1)
            #expect(list.first?["read"] as? Bool == true)
            #expect((try await api.send(.get, "/notifications?unread=true", token: ops).json()["items"] as? [Any])?.isEmpty == true)
            let id = try #require(list.first?["id"] as? Int)
            let opsB = try await api.token("opsB")
            #expect(try await api.send(.post, "/notifications/\(id)/read", token: opsB).status == .notFound)
        }
    }
}

private func + (lhs: [String: Any], rhs: [String: Any]) -> [String: Any] {
    lhs.merging(rhs) { $1 }
}
