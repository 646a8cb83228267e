import Domain
import Foundation
import Testing

@Suite("Delivery rules")
struct DeliveryDomainTests {
    @Test(arguments: [
        ([10, 1, 2, 3], "private (10.0.0.0/8)"), ([172, 31, 0, 1], "private (172.16.0.0/12)"), ([192, 168, 1, 1], "private (192.168.0.0/16)"),
        ([100, 64, 0, 1], "shared address space (100.64.0.0/10)"), ([127, 0, 0, 1], "loopback (127.0.0.0/8)"),
        ([169, 254, 169, 254], "link-local (169.254.0.0/16)"), ([0, 0, 0, 0], "this network (0.0.0.0/8)"),
    ] as [([UInt8], String)])
    func restrictedIPv4(_ bytes: [UInt8], _ reason: String) {
        #expect(NetworkAddress.restriction(bytes) == reason)
    }

    @Test func ipv6AndMappedAddressesAreJudgedByWhereTheyLead() {
        let loopback = [UInt8](repeating: 0, count: 15) + [1]
        #expect(NetworkAddress.restriction(loopback) == "loopback (::1)")
        #expect(NetworkAddress.restriction([UInt8](repeating: 0, count: 16)) == "unspecified (::)")
        let mapped = [UInt8](repeating: 0, count: 10) + [0xff, 0xff, 10, 0, 0, 1]
        #expect(NetworkAddress.restriction(mapped) == "IPv4-mapped private (10.0.0.0/8)")
        #expect(NetworkAddress.restriction([0xfd] + [UInt8](repeating: 0, count: 15)) == "unique local (fc00::/7)")
        #expect(NetworkAddress.restriction([0xfe, 0x80] + [UInt8](repeating: 0, count: 14)) == "link-local (fe80::/10)")
        #expect(NetworkAddress.restriction([0x24, 0x08] + [UInt8](repeating: 1, count: 14)) == nil)
        #expect(NetworkAddress.restriction([1, 1, 1, 1]) == nil)
        #expect(NetworkAddress.restriction([172, 32, 0, 1]) == nil)
    }

    @Test func backoffGrowsWithJitterUpToItsCapAndGivesUpAfterTheBound() {
        let schedule = RetrySchedule(base: .seconds(5), cap: .seconds(60), giveUpAfter: .seconds(3600))
        #expect(schedule.delay(afterAttempt: 1, jitter: 1) == .seconds(5))
        #expect(schedule.delay(afterAttempt: 3, jitter: 1) == .seconds(20))
        #expect(schedule.delay(afterAttempt: 10, jitter: 1) == .seconds(60))
        #expect(schedule.delay(afterAttempt: 3, jitter: 0.5) == .seconds(10))
        #expect(schedule.delay(afterAttempt: 3, jitter: 0) == .milliseconds(500))
        #expect(!schedule.isExhausted(elapsedAtNextAttempt: .seconds(3600)))
        #expect(schedule.isExhausted(elapsedAtNextAttempt: .seconds(3601)))
    }

    @Test func aMessageNamesTheSubjectByIdOnly() {
        var facts = DeliveryFacts()
        facts.branchCode = "BJ001"
        facts.subjectKind = "problem"
        facts.subjectId = 42
        facts.stage = "warning_75"
        let message = DeliveryMessage(kind: .warning, facts: facts)
        #expect(message.subject == "[回访 Huifang] SLA warning (75 % of the time used): problem 42, branch BJ001")
        #expect(message.lines.contains("API: /problems/42"))
    }
}
