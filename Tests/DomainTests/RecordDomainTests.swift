import Domain
import Testing

@Suite("Records in the domain: steps, who signs off, masked answers")
struct RecordDomainTests {
    @Test func aCountersignedRecordTakesNoStepButArchivingAndNothingLeavesTheArchive() {
        for step in RecordStep.allCases where step != .archive {
            #expect(RecordTransitions.next(from: .countersigned, step) == nil)
        }
        for step in RecordStep.allCases { #expect(RecordTransitions.next(from: .archived, step) == nil) }
        #expect(RecordTransitions.next(from: .draft, .countersign) == nil)
        #expect(RecordTransitions.next(from: .returned, .submit) == .submitted)
        #expect(RecordStep.countersign.signer == .leader && RecordStep.return.signer == .leader && RecordStep.submit.signer == .performer)
    }

    @Test func theArticleNamesTheLeaderAndAdminsNeverSign() {
        #expect(RecordSignOff.leader(formCode: "new_account", ownedByHQ: false) == .opsDirector)
        #expect(RecordSignOff.leader(formCode: "special", ownedByHQ: false) == .opsDirector)
        #expect(RecordSignOff.leader(formCode: "service", ownedByHQ: false) == .marketingDirector)
        #expect(RecordSignOff.archiver(ownedByHQ: false) == .opsDirector)
        #expect(RecordSignOff.leader(formCode: "existing_client", ownedByHQ: true) == .salesTradingHQ)
        let signers = Role.allCases.filter { PermissionMatrix.reach($0, .signRecords) != .none }
        #expect(Set(signers) == [.opsDirector, .marketingDirector, .salesTradingHQ])
        #expect(PermissionMatrix.reach(.admin, .readRecords) == .none && PermissionMatrix.reach(.functionalDept, .readRecords) == .none)
    }

    @Test func idAndPhoneNumbersInVerifiedFieldChangesAreMasked() {
        let answers: [String: JSONValue] = [
            "fieldsVerified": .array([
                .object(["field": .string("phone"), "old": .string("13812345678"), "new": .string("13987654321")]),
                .object(["field": .string("id_number"), "old": .string("110101199003074578")]),
                .object(["field": .string("address"), "old": .string("北京市朝阳区")]),
            ]),
            "notes": .string("13812345678 is kept as typed in free text"),
        ]
        let masked = RecordAnswers.masked(answers)
        guard case .array(let changes) = masked["fieldsVerified"] else { Issue.record("not a list"); return }
        #expect(changes[0] == .object(["field": .string("phone"), "old": .string("138****5678"), "new": .string("139****4321")]))
        #expect(changes[1] == .object(["field": .string("id_number"), "old": .string("110***********4578")]))
        #expect(changes[2] == answers["fieldsVerified"].flatMap { if case .array(let a) = $0 { a[2] } else { nil } })
        #expect(masked["notes"] == answers["notes"])
    }
}
