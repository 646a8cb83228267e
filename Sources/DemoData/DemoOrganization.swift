import Domain
import Foundation
import Postgres

/// The generated rows, before they are copied.
extension DemoData {
    struct Organization: Sendable {
        struct Branch: Sendable {
            var id: Int
            var code: String
            var name: String
            var region: String
            var idRegion: String
        }

        struct Person: Sendable {
            var id: Int
            var employeeNo: String
            var name: String
            var phone: String
            var role: Role
            var branch: Int?
            var department: Int?
        }

        struct Broker: Sendable {
            var id: Int
            var branch: Int
            var agentNo: String
            var name: String
            var phone: String
            var status: String
            var registeredOn: String
        }

        var branches: [Branch] = []
        var staff: [Person] = []
        var brokers: [Broker] = []
        /// Per branch id: the staff who may have introduced a client (responsible persons, front desk).
        var introducers: [Int: [Int]] = [:]
        var brokersByBranch: [Int: [Int]] = [:]
    }

    func organization() -> Organization {
        var random = DemoRandom(seed: seed &+ 1)
        var organization = Organization()
        for index in 0..<branches {
            let city = Self.cities[index % Self.cities.count]
            let number = index / Self.cities.count + 1
            let street = city.streets[(number - 1) % city.streets.count]
            let suffix = number > city.streets.count ? "第\(number)" : ""
            organization.branches.append(
                .init(
                    id: index + 1, code: city.code + String(format: "%03d", number), name: "\(city.name)\(street)\(suffix)营业部",
                    region: city.region, idRegion: city.idRegion))
        }
        var nextStaff = 1
        for (index, department) in Self.departments.enumerated() {
            for number in 1...department.people {
                organization.staff.append(
                    .init(
                        id: nextStaff, employeeNo: "HQ-\(department.code)-\(String(format: "%02d", number))",
                        name: DemoPeople.name(&random), phone: DemoPeople.mobile(&random), role: department.role, branch: nil,
                        department: index + 1))
                nextStaff += 1
            }
        }
        var nextBroker = 1
        for branch in organization.branches {
            for (role, count, tag) in Self.branchStaff {
                for number in 1...count {
                    organization.staff.append(
                        .init(
                            id: nextStaff, employeeNo: "\(branch.code)-\(tag)\(count > 1 ? String(number) : "")",
                            name: DemoPeople.name(&random), phone: DemoPeople.mobile(&random), role: role, branch: branch.id,
                            department: nil))
                    if role == .responsiblePerson || role == .frontDesk {
                        organization.introducers[branch.id, default: []].append(nextStaff)
                    }
                    nextStaff += 1
                }
            }
            for number in 1...Self.brokersPerBranch {
                organization.brokers.append(
                    .init(
                        id: nextBroker, branch: branch.id, agentNo: "\(branch.code)-AG\(String(format: "%02d", number))",
                        name: DemoPeople.name(&random), phone: DemoPeople.mobile(&random),
                        status: number == Self.brokersPerBranch ? "inactive" : "active",
                        registeredOn: String(format: "20%02d-%02d-%02d", 15 + random.below(10), 1 + random.below(12), 1 + random.below(28))))
                organization.brokersByBranch[branch.id, default: []].append(nextBroker)
                nextBroker += 1
            }
        }
        return organization
    }

    struct Client: Sendable {
        var id: Int
        var branch: Int
        var openedDay: PostgresDate
        var closed: Bool
        var row: [String?]
    }

    /// Client `n`: spread evenly over the branches; a third introduced by a broker, a sixth by staff;
    /// opened over the last ten years with a share in the last weeks; a few closed.
    func client(_ n: Int, _ organization: Organization, _ random: inout DemoRandom) -> Client {
        let branch = organization.branches[(n - 1) % organization.branches.count]
        let birthYear = 1950 + random.below(55)
        let idNumber = DemoPeople.residentID(
            region: branch.idRegion, year: birthYear, month: 1 + random.below(12), day: 1 + random.below(28), &random)
        let name = DemoPeople.name(&random)
        let phone = DemoPeople.mobile(&random)
        // 3 % opened in the last 30 days (new-account callbacks), the rest over ten years.
        let daysAgo = random.chance(0.03) ? random.below(30) : 30 + random.below(3650)
        let opened = today.adding(days: -daysAgo)
        let openedAt = "\(opened) \(String(format: "%02d:%02d", 9 + random.below(7), random.below(60))):00+08"
        var referrerStaff: String?
        var referrerBroker: String?
        let referral = random.below(6)
        if referral < 2, let brokers = organization.brokersByBranch[branch.id] {
            referrerBroker = String(random.pick(brokers))
        } else if referral == 2, let staff = organization.introducers[branch.id] {
            referrerStaff = String(random.pick(staff))
        }
        let closed = daysAgo > 400 && random.chance(0.05)
        let closedAt = closed ? "\(opened.adding(days: 30 + random.below(daysAgo - 30))) 15:00:00+08" : nil
        let row: [String?] = [
            String(n), String(branch.id), "\(branch.code)\(String(format: "%07d", n))", name, "resident_id", idNumber, phone,
            openedAt, closed ? "closed" : "open", closedAt, referrerStaff, referrerBroker,
        ]
        return Client(id: n, branch: branch.id, openedDay: opened, closed: closed, row: row)
    }

    /// Month-end snapshots from the month the client opened: 1 % at ≥ 10M CNY, 7 % core (≥ 1M),
    /// the rest small; a quarter dormant (last trade more than 180 days before).
    func snapshots(of client: Client, _ random: inout DemoRandom) -> [[String?]] {
        let tier = random.below(100)
        let base: Double =
            tier == 0 ? 10_000_000 + Double(random.below(70_000_000))
            : tier < 8 ? 1_000_000 + Double(random.below(9_000_000))
            : 1_000 + Double(random.below(999_000))
        let dormant = random.below(4) == 0
        var rows: [[String?]] = []
        for date in snapshotDates where date >= client.openedDay && !client.closed {
            // Balances drift a little from month to month, but a ≥ 10M client stays ≥ 10M.
            let drift = 1 + Double(random.below(9) - 4) / 100
            let assets = max(tier == 0 ? 10_000_000 : 0, (base * drift * 100).rounded() / 100)
            let lastTrade =
                dormant
                ? max(client.openedDay, snapshotDates[0].adding(days: -(200 + random.below(800))))
                : min(date, max(client.openedDay, date.adding(days: -random.below(40))))
            rows.append([String(client.branch), String(client.id), date.description, String(format: "%.2f", assets), lastTrade.description])
        }
        return rows
    }
}
