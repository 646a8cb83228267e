import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listCalendarYears(_ input: Operations.ListCalendarYears.Input) async throws -> Operations.ListCalendarYears.Output {
        _ = try authorize(.readOrganization)
        let years = try await CalendarStore(pool: pool).years()
        return .ok(
            .init(
                body: .json(
                    years.map {
                        .init(
                            calendar: $0.calendar, year: Int32($0.year), status: $0.isProvisional ? .provisional : .official,
                            source: $0.source, workdays: Int32($0.workdays))
                    })))
    }

    func getCalendarYear(_ input: Operations.GetCalendarYear.Input) async throws -> Operations.GetCalendarYear.Output {
        _ = try authorize(.readOrganization)
        let store = CalendarStore(pool: pool)
        let calendar = input.path.calendar.rawValue
        let year = Int(input.path.year)
        guard let entry = try await store.years(calendar: calendar).first(where: { $0.year == year }) else {
            throw AppError.notFound("stored year \(year) of \(calendar)")
        }
        let days = try await store.days(calendar: calendar, year: year)
        return .ok(
            .init(
                body: .json(
                    .init(
                        calendar: calendar, year: Int32(year), status: entry.isProvisional ? .provisional : .official,
                        days: days.map { .init(date: $0.day.description, isWorkday: $0.isWorkday, note: $0.note) }))))
    }

    func loadCalendarYear(_ input: Operations.LoadCalendarYear.Input) async throws -> Operations.LoadCalendarYear.Output {
        let access = try authorize(.manageCalendars)
        guard case .json(let body) = input.body else { throw AppError.invalid([]) }
        let year = Int(input.path.year)
        var problems = Validate.text(body.source, field: "source", max: 300)
        var days: [CalendarLoad.Day] = []
        for (index, day) in body.days.enumerated() {
            guard let date = Dates.parse(day.date), date.year == year else {
                problems.append(.init("days[\(index)].date", "must be a date of \(year) like \(year)-01-01"))
                if problems.count >= 50 { break }
                continue
            }
            days.append(.init(day: date, isWorkday: day.isWorkday, note: day.note))
        }
        guard problems.isEmpty else { throw AppError.invalid(problems) }
        // The scope marks the request as organization admin, which the SQL function checks.
        let result = try await pool.transaction(for: Access(
            staffId: access.staffId, action: .manageCalendars, branchIds: [], allBranches: false, organization: true)
        ) { connection in
            do {
                return try await CalendarLoad.load(
                    calendar: input.path.calendar.rawValue, year: year, days: days, source: body.source, on: connection)
            } catch let error as PostgresError where error.sqlState == "22023" {
                throw AppError.invalid([.init("days", error.message)])
            }
        }
        return .ok(
            .init(
                body: .json(
                    .init(changedDays: result.changedDays, movedDeadlines: result.movedDeadlines, auditEventId: result.auditEventId))))
    }
}
