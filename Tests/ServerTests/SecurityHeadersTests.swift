import Foundation
import HTTPTypes
import Testing
import TestSupport

@Suite("Every response carries the security headers")
struct SecurityHeadersTests {
    @Test func answersErrorsAndRefusalsAllCarryThem() async throws {
        try await withFixtureApp { api, fixture, _ in
            let ops = try await api.token("opsA")
            let replies = [
                try await api.send(.get, "/clients/\(fixture.clientA)", token: ops),
                try await api.send(.get, "/clients/\(fixture.clientB)", token: ops),
                try await api.send(.get, "/me"),
                try await api.send(.get, "/no-such-page", token: ops),
                try await api.send(.put, "/clients/\(fixture.clientA)", token: ops),
                try await api.send(.get, "/clients/abc", token: ops),
            ]
            #expect(replies.map(\.status) == [.ok, .notFound, .unauthorized, .notFound, .methodNotAllowed, .unprocessableContent])
            #expect(replies[4].headers[.allow] == "GET, PATCH")
            for reply in replies {
                #expect(reply.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
                #expect(reply.headers[HTTPField.Name("Referrer-Policy")!] == "no-referrer")
                #expect(reply.headers[.cacheControl] == "no-store")
                #expect(reply.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
                #expect(reply.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("frame-ancestors 'none'") == true)
            }
        }
    }

    @Test func theAPIDescriptionMayBeCachedEverythingElseNot() async throws {
        try await withFixtureApp { api, _, _ in
            let spec = try await api.send(.get, "/openapi.yaml")
            #expect(spec.status == .ok)
            #expect(spec.headers[.cacheControl] == nil)
            #expect(spec.headers[HTTPField.Name("X-Content-Type-Options")!] == "nosniff")
        }
    }
}
