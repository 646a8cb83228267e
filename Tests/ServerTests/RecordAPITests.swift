import Foundation
import HTTPTypes
import Domain
import Postgres
import Server
import Store
import Testing
import TestSupport

@Suite("Callback records over HTTP: sign-off, immutability, amendments, the client file, uploads and feedback")
struct RecordAPITests {
    nonisolated(unsafe) static let newAccountAnswers: [String: Any] = [
        "method": "phone", "contactedAt": "2026-07-01T10:00:00+08:00", "durationMinutes": 6, "personReached": "client",
        "identityConfirmed": true, "riskDisclosureAcknowledged": true,
        "fieldsVerified": [["field": "phone", "old": OrganizationFixture.clearPhone, "new": "13987654321"]],
        "agreementsVerified": true,
        "satisfaction": ["research": 4, "staffAttitude": 5, "staffCompetence": 5, "technicalSystems": 3],
        "findings": [["kind": "problem", "text": "The app's login fails on Android 14"], ["kind": "need", "text": "Wants bond research"]],
        "evidence": [["kind": "call_recording", "ref": "REC-2026-0701-001"]],
    ]

    nonisolated(unsafe) static let serviceAnswers: [String: Any] = [
        "method": "visit", "contactedAt": "2026-07-01T15:00:00+08:00", "personReached": "client", "identityConfirmed": true,
        "satisfaction": ["research": 3, "staffAttitude": 5, "staffCompetence": 4, "technicalSystems": 4],
        "productsPromoted": ["国债逆回购"],
    ]

    /// The fixture's branch-A new-account task, assigned to `performer` by the ops director.
    static func assignedTask(_ api: APIClient, _ database: TestDatabase, _ fixture: OrganizationFixture, to performer: String) async throws -> Int64 {
        let task = try await TaskAPITests.taskA(database, fixture)
        let assigned = try await api.send(
            .post, "/tasks/\(task)/assign", token: try await api.token("opsA"), json: ["staffId": fixture.staff[performer]!])
        #expect(assigned.status == .ok, "\(assigned.text)")
        return task
    }

    @Test func performerSignsOpsDirectorCountersignsTheRecordIsImmutableAndAnAmendmentIsSignedAgain() async throws {
        try await withFixtureApp { api, fixture, database in
            let task = try await Self.assignedTask(api, database, fixture, to: "rpA")
            let rp = try await api.token("rpA")
            let ops = try await api.token("opsA")

            // Every invalid answer is named.
            let invalid = try await api.send(
                .post, "/records", token: rp,
                json: ["taskId": task, "answers": ["method": "telepathy", "satisfaction": ["research": 9], "colour": "blue"]])
            #expect(invalid.status.code == 422)
            let fields = Set(try invalid.problem().errors?.map(\.field) ?? [])
            #expect(fields.isSuperset(of: [
                "answers.method", "answers.colour", "answers.contactedAt", "answers.identityConfirmed", "answers.satisfaction.research",
            ]), "\(fields)")
            // Only the assignee records the task's callback.
            #expect(try await api.send(.post, "/records", token: try await api.token("deskA"),
                                       json: ["taskId": task, "answers": Self.newAccountAnswers]).status == .forbidden)

            let created = try await api.send(.post, "/records", token: rp, json: ["taskId": task, "answers": Self.newAccountAnswers])
            #expect(created.status == .created, "\(created.text)")
            let draft = try created.json()
            let record = try #require(draft["id"] as? Int)
            #expect(draft["state"] as? String == "draft" && draft["formCode"] as? String == "new_account")
            #expect(draft["leaderRole"] as? String == "ops_director")
            #expect(!created.text.contains(OrganizationFixture.clearPhone), "a phone number in the answers is masked")
            #expect(created.text.contains("138****5678"))

            // The performer signs; the task is completed by it.
            #expect(try await api.send(.post, "/records/\(record)/countersign", token: ops).status == .conflict, "a draft is not countersigned")
            let submitted = try await api.send(.post, "/records/\(record)/submit", token: rp)
            #expect(submitted.status == .ok, "\(submitted.text)")
            let performerSignature = try #require((try submitted.json()["signatures"] as? [[String: Any]])?.first)
            #expect(performerSignature["step"] as? String == "submit" && performerSignature["matchesContent"] as? Bool == true)
            #expect(performerSignature["contentSha256"] as? String == (try submitted.json()["contentSha256"] as? String))
            let taskNow = try await api.send(.get, "/tasks/\(task)", token: ops)
            #expect(try taskNow.json()["state"] as? String == "completed")
            #expect(try await api.send(.put, "/records/\(record)", token: rp, json: ["answers": Self.newAccountAnswers]).status == .conflict)

            // It waits for the ops director of its branch, and for nobody else: not its performer,
            // not the marketing director, not branch B's ops director.
            func waiting(_ token: String) async throws -> [Int] {
                let page = try await api.send(.get, "/records?awaitingMySignature=true&limit=50", token: token)
                #expect(page.status == .ok, "\(page.text)")
                return (try page.json()["items"] as? [[String: Any]] ?? []).compactMap { $0["id"] as? Int }
            }
            #expect(try await waiting(ops).contains(record))
            for other in [rp, try await api.token("mktA"), try await api.token("opsB")] {
                #expect(try await !waiting(other).contains(record))
            }
            // Only the leader the record names countersigns.
            #expect(try await api.send(.post, "/records/\(record)/countersign", token: rp).status == .forbidden)
            #expect(try await api.send(.post, "/records/\(record)/countersign", token: try await api.token("mktA")).status == .forbidden)
            let countersigned = try await api.send(.post, "/records/\(record)/countersign", token: ops)
            #expect(countersigned.status == .ok, "\(countersigned.text)")
            let signatures = try #require(try countersigned.json()["signatures"] as? [[String: Any]])
            #expect(signatures.map { $0["step"] as? String } == ["submit", "countersign"])
            #expect(try await !waiting(ops).contains(record), "a countersigned record waits for nobody")
            #expect(Set(signatures.compactMap { $0["contentSha256"] as? String }).count == 1, "both signed the same content")
            #expect(signatures.last?["signerStaffId"] as? Int == Int(fixture.staff["opsA"]!))

            // Immutable from here: over HTTP (409) and in the database, whoever asks.
            let update = try await api.send(.put, "/records/\(record)", token: rp, json: ["answers": Self.newAccountAnswers])
            #expect(update.status == .conflict)
            #expect(try update.problem().detail?.contains("amendment") == true)
            let direct = await #expect(throws: PostgresError.self) {
                try await database.withPool {
                    try await $0.query("update huifang.records set answers = '{}' where id = \(record)")
                }
            }
            #expect(direct?.constraint == "records_immutable")
            let archived = try await api.send(.post, "/records/\(record)/archive", token: ops)
            #expect(try archived.json()["state"] as? String == "archived")

            // A correction is an amendment: a new revision, signed again; the old one stays as it was.
            var corrected = Self.newAccountAnswers
            corrected["durationMinutes"] = 8
            let amendment = try await api.send(
                .post, "/records/\(record)/amendments", token: rp, json: ["answers": corrected, "reason": "the call lasted 8 minutes"])
            #expect(amendment.status == .created, "\(amendment.text)")
            let amended = try #require(try amendment.json()["id"] as? Int)
            #expect(try amendment.json()["revision"] as? Int == 2 && (try amendment.json()["amendsId"] as? Int) == record)
            #expect(try await api.send(.post, "/records/\(record)/amendments", token: rp,
                                       json: ["answers": corrected, "reason": "again"]).status == .conflict)
            // Only the performer (or the ops director who keeps the archive) corrects a record.
            #expect(try await api.send(.post, "/records/\(record)/amendments", token: try await api.token("deskA"),
                                       json: ["answers": corrected, "reason": "mine now"]).status == .forbidden)
            #expect(try await api.send(.post, "/records/\(amended)/submit", token: rp).status == .ok)
            let resigned = try await api.send(.post, "/records/\(amended)/countersign", token: ops)
            #expect(try resigned.json()["state"] as? String == "countersigned")
            let old = try await api.send(.get, "/records/\(record)", token: ops)
            #expect(try old.json()["amendedById"] as? Int == amended)
            #expect(try (old.json()["answers"] as? [String: Any])?["durationMinutes"] as? Int == 6)
            #expect((try old.json()["signatures"] as? [[String: Any]])?.allSatisfy { $0["matchesContent"] as? Bool == true } == true)

            // Another branch's user sees none of it.
            let opsB = try await api.token("opsB")
            #expect(try await api.send(.get, "/records/\(record)", token: opsB).status == .notFound)
            #expect(try await api.send(.get, "/records/\(record)", token: opsB, accept: "text/html").status == .notFound)
            #expect(try await api.send(.post, "/records/\(amended)/archive", token: opsB).status == .notFound)
            #expect(try await api.send(.get, "/clients/\(fixture.clientA)/file", token: opsB).status == .notFound)
            #expect((try await api.send(.get, "/records?clientId=\(fixture.clientA)", token: opsB).json()["items"] as? [Any])?.isEmpty == true)

            // The performer raises a finding for HQ; its 15-working-day clock starts.
            let findings = try #require(try old.json()["findings"] as? [[String: Any]])
            #expect(findings.map { $0["kind"] as? String } == ["problem", "need"])
            let finding = try #require(findings.first?["id"] as? Int)
            #expect(try await api.send(.post, "/records/\(record)/findings/\(finding)/raise", token: ops,
                                       json: ["category": "system_issue", "severity": "medium"]).status == .forbidden)
            let raised = try await api.send(
                .post, "/records/\(record)/findings/\(finding)/raise", token: rp, json: ["category": "system_issue", "severity": "medium"])
            #expect(raised.status == .created, "\(raised.text)")
            #expect(try raised.json()["dueAt"] as? String != nil)
            #expect(try await api.send(.post, "/records/\(record)/findings/\(finding)/raise", token: rp,
                                       json: ["category": "system_issue", "severity": "medium"]).status == .conflict)

            // The other finding is not worth a problem: the performer dismisses it, saying why (Art 5).
            let need = try #require(findings.last?["id"] as? Int)
            let dismissal = ["reason": "the client found the research on the website"]
            #expect(try await api.send(.post, "/records/\(record)/findings/\(need)/dismiss", token: ops, json: dismissal).status == .forbidden)
            #expect(try await api.send(.post, "/records/\(record)/findings/\(need)/dismiss", token: try await api.token("opsB"),
                                       json: dismissal).status == .notFound)
            #expect(try await api.send(.post, "/records/\(record)/findings/\(need)/dismiss", token: rp, json: ["reason": " "]).status.code == 422)
            let dismissed = try await api.send(.post, "/records/\(record)/findings/\(need)/dismiss", token: rp, json: dismissal)
            #expect(dismissed.status == .ok, "\(dismissed.text)")
            #expect(try dismissed.json()["dismissalReason"] as? String == dismissal["reason"])
            #expect(try dismissed.json()["dismissedBy"] as? Int64 == fixture.staff["rpA"])
            #expect(try await api.send(.post, "/records/\(record)/findings/\(need)/dismiss", token: rp, json: dismissal).status == .conflict)
            #expect(try await api.send(.post, "/records/\(record)/findings/\(need)/raise", token: rp,
                                       json: ["category": "service_need", "severity": "low"]).status == .conflict)

            // Each submission ran a 2-working-day countersignature clock, stopped by the countersignature;
            // each finding of the countersigned record a 2-working-day clock, stopped by its raise or dismissal.
            let clocks: [String] = try await database.withPool { pool in
                try await pool.query(
                    """
                    select t.clock || ' ' || t.workdays || ' ' || t.state || ' ' || t.stop_reason
                    from huifang.timers t
                    where (t.subject_kind = 'record_submission'
                           and t.subject_id in (select id from huifang.record_signatures where record_id in (\(record), \(amended))))
                       or (t.subject_kind = 'record_finding' and t.subject_id in (\(finding), \(need)))
                    order by t.subject_kind, t.subject_id
                    """
                ).map { try $0.decode(0) }
            }
            #expect(clocks == [
                "finding_handling 2 stopped raised", "finding_handling 2 stopped dismissed",
                "record_countersignature 2 stopped countersign", "record_countersignature 2 stopped countersign",
            ])

            // The client file: both revisions, every signature, the raised problem, in time order.
            let file = try await api.send(.get, "/clients/\(fixture.clientA)/file", token: ops)
            #expect(file.status == .ok, "\(file.text)")
            // (The fixture's own service record of the client comes first.)
            #expect((try file.json()["records"] as? [[String: Any]])?.compactMap { $0["id"] as? Int }.suffix(2) == [record, amended])
            let events = try #require(try file.json()["timeline"] as? [[String: Any]])
                .filter { [record, amended].contains($0["recordId"] as? Int ?? 0) }.compactMap { $0["event"] as? String }
            #expect(events == [
                "record_created", "record_submitted", "record_countersigned", "record_archived", "amendment_created",
                "record_submitted", "record_countersigned", "problem_raised",
            ])

            // The paper form for the archive.
            let printed = try await api.send(.get, "/records/\(record)", token: ops, accept: "text/html")
            #expect(printed.status == .ok)
            #expect(printed.headers[.contentType]?.hasPrefix("text/html") == true)
            let countersignDigest = try #require(signatures.last?["contentSha256"] as? String)
            #expect(printed.text.contains("新开户客户回访记录表") && printed.text.contains(countersignDigest))
            #expect(printed.text.contains("BJ001") && printed.text.contains("李*"))
            #expect(!printed.text.contains(OrganizationFixture.clearPhone) && !printed.text.contains("李四"))

            // Every step left its audit event.
            let actions: [String] = try await database.withPool {
                try await $0.query(
                    "select action from huifang.audit_events where object_type = 'record' and object_id = \(String(record)) order by seq"
                ).map { try $0.decode(0) }
            }
            #expect(actions == ["record.created", "record.submitted", "record.countersigned", "record.archived"])
        }
    }

    @Test func aLeaderCannotCountersignTheirOwnCallbackAndAReturnedRecordIsCorrectedAndSignedAgain() async throws {
        try await withFixtureApp { api, fixture, database in
            let task = try await Self.assignedTask(api, database, fixture, to: "opsA")
            let ops = try await api.token("opsA")
            let created = try await api.send(.post, "/records", token: ops, json: ["taskId": task, "answers": Self.newAccountAnswers])
            let record = try #require(try created.json()["id"] as? Int, "\(created.text)")
            #expect(try await api.send(.post, "/records/\(record)/submit", token: ops).status == .ok)
            let own = try await api.send(.post, "/records/\(record)/countersign", token: ops)
            #expect(own.status == .forbidden)
            #expect(try own.problem().detail?.contains("performer") == true)
            // Nor in the database, whatever the service layer did.
            let direct = await #expect(throws: PostgresError.self) {
                try await database.withPool(database.application) { pool in
                    let access = Access(staffId: fixture.staff["opsA"]!, action: .signRecords, branchIds: [fixture.branchA],
                                        allBranches: false, organization: false)
                    try await pool.transaction(for: access) {
                        try await $0.execute("update huifang.records set state = 'countersigned' where id = \(record)")
                    }
                }
            }
            #expect(direct?.constraint == "records_leader_not_performer")
        }
        try await withFixtureApp { api, fixture, database in
            let task = try await Self.assignedTask(api, database, fixture, to: "rpA")
            let rp = try await api.token("rpA")
            let ops = try await api.token("opsA")
            let record = try #require(
                try await api.send(.post, "/records", token: rp, json: ["taskId": task, "answers": Self.newAccountAnswers]).json()["id"] as? Int)
            #expect(try await api.send(.post, "/records/\(record)/submit", token: rp).status == .ok)
            #expect(try await api.send(.post, "/records/\(record)/return", token: ops, json: ["reason": ""]).status.code == 422)
            let returned = try await api.send(.post, "/records/\(record)/return", token: ops, json: ["reason": "no evidence reference for the call"])
            #expect(try returned.json()["state"] as? String == "returned")
            #expect(try returned.json()["returnReason"] as? String == "no evidence reference for the call")
            var fixed = Self.newAccountAnswers
            fixed["notes"] = "recording attached"
            #expect(try await api.send(.put, "/records/\(record)", token: rp, json: ["answers": fixed]).status == .ok)
            let resubmitted = try await api.send(.post, "/records/\(record)/submit", token: rp)
            let signatures = try #require(try resubmitted.json()["signatures"] as? [[String: Any]])
            // The first signature and the return covered the text before the correction; the new signature covers it now.
            #expect(signatures.map { $0["step"] as? String } == ["submit", "return", "submit"])
            #expect(signatures.map { $0["matchesContent"] as? Bool } == [false, false, true])
            #expect(try await api.send(.post, "/records/\(record)/countersign", token: ops).status == .ok)
        }
    }

    @Test func aServiceRecordIsCountersignedByTheMarketingDirectorArchivedByTheOpsDirectorAndKeepsTheProfileCurrent() async throws {
        try await withFixtureApp { api, fixture, _ in
            let rp = try await api.token("rpA")
            let mkt = try await api.token("mktA")
            let ops = try await api.token("opsA")
            var ids: [Int] = []
            for (preference, years) in [("balanced", 12), ("growth", 13)] {
                let created = try await api.send(
                    .post, "/records", token: rp,
                    json: [
                        "clientId": fixture.clientA, "formCode": "service", "answers": Self.serviceAnswers,
                        "profile": ["formCode": "core_client_profile", "answers": ["riskPreference": preference, "investmentYears": years]],
                    ])
                #expect(created.status == .created, "\(created.text)")
                let record = try #require(try created.json()["id"] as? Int)
                ids.append(record)
                #expect(try created.json()["leaderRole"] as? String == "marketing_director")
                #expect(try await api.send(.post, "/records/\(record)/submit", token: rp).status == .ok)
                #expect(try await api.send(.post, "/records/\(record)/countersign", token: ops).status == .forbidden)
                #expect(try await api.send(.post, "/records/\(record)/countersign", token: mkt).status == .ok)
                #expect(try await api.send(.post, "/records/\(record)/archive", token: mkt).status == .forbidden)
                let archived = try await api.send(.post, "/records/\(record)/archive", token: ops)
                #expect(try archived.json()["state"] as? String == "archived", "\(archived.text)")
                #expect((try archived.json()["signatures"] as? [[String: Any]])?.map { $0["signerRole"] as? String }
                        == ["performer", "marketing_director", "ops_director"])
            }
            let file = try await api.send(.get, "/clients/\(fixture.clientA)/file", token: mkt)
            let profiles = try #require(try file.json()["profiles"] as? [[String: Any]]).filter { $0["formCode"] as? String == "core_client_profile" }
            #expect(profiles.map { $0["current"] as? Bool } == [false, true])
            #expect((profiles.last?["answers"] as? [String: Any])?["riskPreference"] as? String == "growth")
            #expect(profiles.map { $0["recordId"] as? Int } == ids)

            // A profile is for service records only; answers are checked against the profile form too.
            let wrong = try await api.send(
                .post, "/records", token: rp,
                json: [
                    "clientId": fixture.clientA, "formCode": "existing_client", "answers": [:],
                    "profile": ["formCode": "client_profile", "answers": [:]],
                ])
            #expect(wrong.status.code == 422)
            let badProfile = try await api.send(
                .post, "/records", token: rp,
                json: [
                    "clientId": fixture.clientA, "formCode": "service", "answers": Self.serviceAnswers,
                    "profile": ["formCode": "core_client_profile", "answers": ["riskPreference": "reckless"]],
                ])
            #expect(try badProfile.problem().errors?.map(\.field) == ["profile.answers.riskPreference"])
            // Another branch's client cannot be recorded.
            #expect(try await api.send(.post, "/records", token: rp, json: [
                "clientId": fixture.clientB, "formCode": "service", "answers": Self.serviceAnswers,
            ]).status == .notFound)
        }
    }

    @Test func uploadsAreDueAtTheEndOfTheTenthWorkingDayAndRouteRecordsToHQ() async throws {
        let now = ISO8601DateFormatter().date(from: "2026-11-25T08:00:00Z")!
        try await withFixtureApp(now: now) { api, fixture, database in
            // A record countersigned in October (its sign-off times set back as the owner, triggers off).
            let task = try await Self.assignedTask(api, database, fixture, to: "rpA")
            let rp = try await api.token("rpA")
            let ops = try await api.token("opsA")
            let october = try #require(
                try await api.send(.post, "/records", token: rp, json: ["taskId": task, "answers": Self.newAccountAnswers]).json()["id"] as? Int)
            #expect(try await api.send(.post, "/records/\(october)/submit", token: rp).status == .ok)
            #expect(try await api.send(.post, "/records/\(october)/countersign", token: ops).status == .ok)
            try await database.withPool {
                try await $0.transaction { db in
                    try await db.execute("set local session_replication_role = replica")
                    try await db.execute("update huifang.records set countersigned_at = '2026-10-20 10:00+08' where id = \(october)")
                }
            }
            // One countersigned now, in November: it waits for the next upload.
            let november = try #require(try await api.send(
                .post, "/records", token: rp,
                json: ["clientId": fixture.clientA, "formCode": "service", "answers": Self.serviceAnswers]).json()["id"] as? Int)
            #expect(try await api.send(.post, "/records/\(november)/submit", token: rp).status == .ok)
            #expect(try await api.send(.post, "/records/\(november)/countersign", token: try await api.token("mktA")).status == .ok)

            let opened = try await database.withPool { pool -> Int in
                let october = try await RecordDeadlines.open(pool: pool, today: PostgresDate(year: 2026, month: 11, day: 25))
                let september: Int = try await pool.query("select huifang.open_record_uploads('2026-09')").single().decode(0)
                let again = try await RecordDeadlines.open(pool: pool, today: PostgresDate(year: 2026, month: 11, day: 25))
                #expect(again.uploadsOpened == 0, "opening is idempotent")
                return october.uploadsOpened + september
            }
            #expect(opened == 4, "two months × two branches")

            let uploads = try await api.send(.get, "/record-uploads", token: ops)
            let all = try #require(try JSONSerialization.jsonObject(with: Data(uploads.text.utf8)) as? [[String: Any]], Comment(rawValue: uploads.text))
            // Only the branch's own, newest first (May's is the fixture's).
            #expect(all.map { $0["month"] as? String } == ["2026-10", "2026-09", "2026-05"])
            let items = Array(all.prefix(2))
            // September: National Day off, Sat 10 Oct worked: the 10th working day is Tue 20 Oct, due 00:00 on the 21st (+08).
            #expect(items.last?["dueAt"] as? String == "2026-10-20T16:00:00Z")
            #expect(items.last?["standing"] as? String == "missing")
            // October: the 10th working day of November is Fri 13 Nov.
            #expect(items.first?["dueAt"] as? String == "2026-11-13T16:00:00Z")
            let octoberUpload = try #require(items.first?["id"] as? Int)

            #expect(try await api.send(.post, "/record-uploads/\(octoberUpload)/submit", token: rp).status == .forbidden)
            #expect(try await api.send(.post, "/record-uploads/\(octoberUpload)/submit", token: try await api.token("opsB")).status == .notFound)
            let submitted = try await api.send(.post, "/record-uploads/\(octoberUpload)/submit", token: ops)
            #expect(submitted.status == .ok, "\(submitted.text)")
            let upload = try submitted.json()
            #expect(upload["recordCount"] as? Int == 1 && upload["standing"] as? String == "late")
            let deliveries = try #require(upload["deliveries"] as? [[String: Any]])
            let routed = Dictionary(uniqueKeysWithValues: deliveries.map { ($0["departmentCode"] as? String ?? "", $0["recordIds"] as? [Int] ?? []) })
            #expect(routed == ["ST": [], "BOC": [october], "RISK": [october]])
            #expect(try await api.send(.post, "/record-uploads/\(octoberUpload)/submit", token: ops).status == .conflict)
            #expect(try await api.send(.get, "/records/\(november)", token: ops).json()["uploadId"] == nil)

            // HQ sees late and missing uploads; the receiving departments acknowledge theirs.
            let hq = try await api.send(.get, "/record-uploads?month=2026-09", token: try await api.token("opsCenter"))
            let september = try #require(try JSONSerialization.jsonObject(with: Data(hq.text.utf8)) as? [[String: Any]])
            #expect(september.count == 2 && september.allSatisfy { $0["standing"] as? String == "missing" })
            let center = try await api.token("opsCenter")
            let inbox = try await api.send(.get, "/record-uploads?inbox=true&unacknowledged=true&month=2026-10", token: center)
            let inboxItems = try JSONSerialization.jsonObject(with: Data(inbox.text.utf8)) as? [[String: Any]]
            #expect(inboxItems?.compactMap { $0["id"] as? Int } == [octoberUpload])
            // The receiving department sees the deadline, so it sees the upload was late.
            #expect(inboxItems?.first?["dueAt"] as? String == "2026-11-13T16:00:00Z" && inboxItems?.first?["standing"] as? String == "late")
            let acknowledged = try await api.send(.post, "/record-uploads/\(octoberUpload)/acknowledge", token: center)
            #expect(acknowledged.status == .ok, "\(acknowledged.text)")
            #expect(try await api.send(.post, "/record-uploads/\(octoberUpload)/acknowledge", token: center).status == .conflict)
            #expect(try await api.send(.post, "/record-uploads/\(octoberUpload)/acknowledge", token: try await api.token("auditor")).status == .forbidden)
            #expect(try await api.send(.get, "/records/\(october)", token: center).status == .ok)
        }
    }

    @Test func aDirectivesRecordsGoBackToTheOrderingDepartmentWithinFiveWorkingDays() async throws {
        try await withFixtureApp { api, fixture, database in
            let st = try await api.token("salesTrading")
            let issued = try await api.send(
                .post, "/directives", token: st,
                json: [
                    "title": "账户清密确认", "purpose": "Confirm password resets (Art 10)",
                    "questions": [["id": "q1", "text": "您是否本人申请了清密？"]], "executor": "branch", "dueOn": "2026-07-31",
                    "clients": [["branchCode": "BJ001", "clientNo": "C0001"]],
                ])
            #expect(issued.status == .created, "\(issued.text)")
            let directive = try #require(try issued.json()["id"] as? Int)
            let task: Int64 = try await database.withPool {
                try await $0.query("select id from huifang.callback_tasks where directive_id = \(directive)").single().decode(0)
            }
            let ops = try await api.token("opsA")
            #expect(try await api.send(.post, "/tasks/\(task)/assign", token: ops, json: ["staffId": fixture.staff["rpA"]!]).status == .ok)
            let rp = try await api.token("rpA")
            let answers: [String: Any] = [
                "method": "phone", "contactedAt": "2026-07-01T11:00:00+08:00", "personReached": "client", "identityConfirmed": true,
                "operationsConfirmed": ["password_reset"],
            ]
            let unanswered = try await api.send(.post, "/records", token: rp, json: ["taskId": task, "answers": answers])
            #expect(try unanswered.problem().errors?.map(\.field) == ["answers.directiveAnswers"])
            var complete = answers
            complete["directiveAnswers"] = ["q1": "是，本人于6月28日申请"]
            let created = try await api.send(.post, "/records", token: rp, json: ["taskId": task, "answers": complete])
            let record = try #require(try created.json()["id"] as? Int, "\(created.text)")
            #expect(try created.json()["formCode"] as? String == "special")
            #expect(try await api.send(.post, "/records/\(record)/submit", token: rp).status == .ok)

            // The branch's last task of the directive closed: its package is due 5 working days later.
            let packages = try await api.send(.get, "/directive-feedback?directiveId=\(directive)", token: ops)
            let package = try #require((try JSONSerialization.jsonObject(with: Data(packages.text.utf8)) as? [[String: Any]])?.first, Comment(rawValue: packages.text))
            #expect(package["endedBecause"] as? String == "tasks_closed" && package["state"] as? String == "pending")
            let id = try #require(package["id"] as? Int)
            let (ended, due): (Date, Date) = try await database.withPool {
                let row = try await $0.query(
                    "select ended_at, huifang.workday_deadline('cn_workday', ended_at, 5) from huifang.directive_feedback where id = \(id)"
                ).single()
                return (try row.decode(0), try row.decode(1))
            }
            #expect(ended <= Date())
            #expect(package["dueAt"] as? String == ISO8601DateFormatter().string(from: due))

            let early = try await api.send(.post, "/directive-feedback/\(id)/send", token: ops)
            #expect(early.status == .conflict, "the record is not countersigned yet")
            #expect(try early.problem().detail?.contains(String(record)) == true)
            #expect(try await api.send(.post, "/records/\(record)/countersign", token: ops).status == .ok)
            #expect(try await api.send(.post, "/directive-feedback/\(id)/acknowledge", token: st).status == .conflict, "not sent yet")
            let sent = try await api.send(.post, "/directive-feedback/\(id)/send", token: ops)
            #expect(sent.status == .ok, "\(sent.text)")
            #expect(try sent.json()["recordIds"] as? [Int] == [record])
            #expect(try await api.send(.post, "/directive-feedback/\(id)/acknowledge", token: try await api.token("opsCenter")).status == .notFound)
            let acknowledged = try await api.send(.post, "/directive-feedback/\(id)/acknowledge", token: st)
            #expect(try acknowledged.json()["state"] as? String == "acknowledged", "\(acknowledged.text)")
            let inbox = try await api.send(.get, "/directive-feedback?inbox=true&directiveId=\(directive)", token: st)
            #expect((try JSONSerialization.jsonObject(with: Data(inbox.text.utf8)) as? [[String: Any]])?.count == 1)
            // The clock stopped when the package was sent.
            let clock: String = try await database.withPool {
                try await $0.query("select state from huifang.timers where subject_kind = 'directive_feedback' and subject_id = \(id)").single().decode(0)
            }
            #expect(clock == "stopped")
        }
    }
}
