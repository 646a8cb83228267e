import Foundation
import HTTPTypes
import Server
import Testing
import TestSupport

@Suite("Every request is held to openapi.yaml before a handler sees it")
struct RequestContractTests {
    @Test func queryParametersOutsideTheirConstraintsAreRefusedNamingTheField() async throws {
        try await withFixtureApp { api, fixture, _ in
            let auditor = try await api.token("auditor")
            let region = try await api.send(.get, "/monitoring/overdue?region=\(String(repeating: "华", count: 60))", token: auditor)
            #expect(region.status == .unprocessableContent)
            #expect(try region.fieldErrors() == ["region" + ": " + "must be at most 50 characters"])

            let month = try await api.send(.get, "/monitoring/sla?month=2026-1", token: auditor)
            #expect(month.status == .unprocessableContent)
            #expect(try month.problem().errors?.first?.field == "month")

            let year = try await api.send(.get, "/calendars/cn_workday/years/99999", token: auditor)
            #expect(year.status == .unprocessableContent)
            #expect(try year.fieldErrors() == ["year" + ": " + "must be at most 2100"])

            let ops = try await api.token("opsA")
            let longTag = try await api.send(
                .post, "/problems/1/provide-info", token: ops, json: ["text": "补充说明"], ifMatch: String(repeating: "0", count: 300))
            #expect(longTag.status == .unprocessableContent)
            #expect(try longTag.fieldErrors().first?.hasPrefix("If-Match: must be at most") == true)

            // However the name is spelled, the handler sees `region`: so does the check.
            let encoded = try await api.send(.get, "/monitoring/overdue?regi%6Fn=\(String(repeating: "x", count: 60))", token: auditor)
            #expect(try encoded.fieldErrors() == ["region: must be at most 50 characters"])

            let notANumber = try await api.send(.get, "/clients/abc", token: auditor)
            #expect(notANumber.status == .unprocessableContent)
            #expect(try notANumber.fieldErrors() == ["clientId" + ": " + "must be a whole number"])
        }
    }

    @Test func bodiesOutsideTheirConstraintsAreRefusedInTheUsersTerms() async throws {
        try await withFixtureApp { api, fixture, _ in
            let ops = try await api.token("opsA")
            let tooMany = try await api.send(
                .post, "/tasks/bulk-assign", token: ops,
                json: ["branchId": fixture.branchA, "taskIds": Array(1...6001), "staffIds": [fixture.staff["rpA"]!]])
            #expect(tooMany.status == .unprocessableContent)
            #expect(try tooMany.fieldErrors() == ["taskIds" + ": " + "must have at most 5000 items"])

            let wrongType = try await api.send(.patch, "/clients/\(fixture.clientA)", token: ops, json: ["referrerStaffId": "seven"])
            #expect(wrongType.status == .unprocessableContent)
            #expect(try wrongType.fieldErrors() == ["referrerStaffId: must be a whole number"])
            #expect(!wrongType.text.contains("DecodingError"))
            #expect(!wrongType.text.contains("Swift"))

            let broken = try await api.send(.patch, "/clients/\(fixture.clientA)", token: ops, rawBody: "{\"name\": ")
            #expect(broken.status == .unprocessableContent)
            #expect(try broken.fieldErrors() == ["body" + ": " + "is not valid JSON"])
        }
    }

    @Test func controlCharactersAreRefusedInEveryStringIncludingFreeFormAnswers() async throws {
        try await withFixtureApp { api, fixture, _ in
            let ops = try await api.token("opsA")
            let name = try await api.send(.patch, "/clients/\(fixture.clientA)", token: ops, json: ["name": "李\u{0}四"])
            #expect(name.status == .unprocessableContent)
            #expect(try name.fieldErrors() == ["name" + ": " + "must not contain control characters (found U+0000)"])

            // Free-form JSON (a record's answers) is stored as jsonb, which refuses U+0000: refused up front, not a 500.
            let answers = try await api.send(
                .post, "/record-forms/new_account/versions/1/check", token: ops, json: ["answers": ["note": "a\u{0}b"]])
            #expect(answers.status == .unprocessableContent)
            #expect(try answers.problem().errors?.first?.field == "answers.note")

            // Line breaks and tabs are text's own layout.
            let layout = try await api.send(
                .post, "/record-forms/new_account/versions/1/check", token: ops, json: ["answers": ["note": "第一行\n第二行\t完"]])
            #expect(layout.status == .ok)
        }
    }

    @Test func aBodyOverTheLimitIsRefusedWith413BeforeItIsRead() async throws {
        try await withFixtureApp { api, fixture, _ in
            let ops = try await api.token("opsA")
            let huge = "{\"name\": \"" + String(repeating: "x", count: 2 << 20) + "\"}"
            let reply = try await api.send(.patch, "/clients/\(fixture.clientA)", token: ops, rawBody: huge)
            #expect(reply.status == .contentTooLarge)
            #expect(reply.headers[.contentType] == "application/problem+json")
            #expect(try reply.problem().type.hasSuffix("/payload-too-large"))
        }
    }
}
