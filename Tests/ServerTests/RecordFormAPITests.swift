import Domain
import Foundation
import HTTPTypes
import Postgres
import Server
import Store
import Testing
import TestSupport

@Suite("Record forms over HTTP: versions as data, answers checked by field")
struct RecordFormAPITests {
    @Test func theSeededFormsAreValidAndAnswersAreCheckedAgainstThem() async throws {
        try await withFixtureApp { api, _, database in
            let forms = try await database.withPool { pool in try await pool.transaction { try await RecordFormStore($0).all() } }
            #expect(Set(forms.map(\.code)) == ["new_account", "existing_client", "special", "service", "core_client_profile", "client_profile"])
            for form in forms { #expect(FormValidator.checkDefinition(form.fields).isEmpty, "\(form.code)") }

            let ops = try await api.token("opsA")
            let good = try await api.send(
                .post, "/record-forms/new_account/versions/1/check", token: ops,
                json: ["answers": [
                    "method": "phone", "contactedAt": "2026-11-25T10:30:00+08:00", "personReached": "client",
                    "identityConfirmed": true, "riskDisclosureAcknowledged": true,
                    "satisfaction": ["staffAttitude": 5, "technicalSystems": 4],
                ]])
            #expect(good.status == .ok, "\(good.text)")
            #expect(try good.json()["valid"] as? Bool == true)
            let bad = try await api.send(
                .post, "/record-forms/special/versions/1/check", token: ops,
                json: ["answers": ["method": "fax", "directiveAnswers": ["q1": "是"]], "directiveQuestionIds": ["q1", "q2"]])
            let errors = try #require(try bad.json()["errors"] as? [[String: String]])
            #expect(try bad.json()["valid"] as? Bool == false)
            #expect(Set(errors.compactMap { $0["field"] }) == [
                "method", "contactedAt", "personReached", "identityConfirmed", "directiveAnswers.q2",
            ])
            #expect(try await api.send(.post, "/record-forms/service/versions/9/check", token: ops, json: ["answers": [:]]).status == .notFound)
        }
    }

    @Test func hqPublishesNewVersionsAndNobodyRewritesAnOldOne() async throws {
        try await withFixtureApp { api, _, database in
            let field: [String: Any] = ["id": "method", "label": "回访方式", "type": "choice", "required": true, "options": ["phone", "visit"]]
            let desk = try await api.token("deskA")
            #expect(try await api.send(.post, "/record-forms/service/versions", token: desk, json: ["fields": [field]]).status == .forbidden)
            let st = try await api.token("salesTrading")
            let broken = try await api.send(
                .post, "/record-forms/service/versions", token: st,
                json: ["fields": [field, ["id": "method", "label": "again", "type": "choice"]]])
            #expect(broken.status.code == 422)
            #expect(Set(try broken.problem().errors?.map(\.field) ?? []) == ["fields[1].id", "fields[1].options"])
            let published = try await api.send(
                .post, "/record-forms/service/versions", token: st, json: ["fields": [field], "note": "only the method for now"])
            #expect(published.status == .created, "\(published.text)")
            #expect(try published.json()["version"] as? Int == 2)
            // The first version is still there, unchanged, and cannot be changed even by the owner.
            let refused = await #expect(throws: PostgresError.self) {
                try await database.withPool { try await $0.query("update huifang.record_forms set title = 'x' where code = 'service' and version = 1") }
            }
            #expect(refused?.sqlState == "55000")
            let list = try await api.send(.get, "/record-forms", token: desk)
            let versions = try #require(try JSONSerialization.jsonObject(with: Data(list.text.utf8)) as? [[String: Any]])
            #expect(versions.filter { $0["code"] as? String == "service" }.compactMap { $0["version"] as? Int } == [1, 2])
        }
    }
}
