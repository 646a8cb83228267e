import DemoData

/// The bearer tokens of the cast, signed in once with the demo password.
struct APITokens: Sendable {
    var responsible: [String]
    var opsDirector: [String]
    var triage: String
    var functional: String

    static func signIn(_ client: BenchHTTPClient, _ cast: APICast) async throws -> APITokens {
        func token(_ person: APICast.Person) async throws -> String {
            try await Benchmarks.signIn(client, employeeNo: person.employeeNo, password: DemoData.password)
        }
        var responsible: [String] = [], opsDirector: [String] = []
        for branch in cast.branches {
            responsible.append(try await token(branch.responsible))
            opsDirector.append(try await token(branch.opsDirector))
        }
        return APITokens(
            responsible: responsible, opsDirector: opsDirector, triage: try await token(cast.triage),
            functional: try await token(cast.functional))
    }
}
