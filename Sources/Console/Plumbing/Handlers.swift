import Domain
import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import Postgres
import Store

extension Console {
    /// The signed-in person of the request (the session `AuthenticationMiddleware` read from the cookie).
    func visit(_ request: Request) -> Visit? {
        guard let session = RequestSession.current, let token = Console.sessionToken(request) else { return nil }
        return Visit(
            principal: session.principal, language: .of(request), location: request.uri.description,
            formToken: CSRF.token(session: token), console: self)
    }

    static func signInFirst(_ request: Request) -> Response {
        var response = redirect(to: root + "/sign-in?next=" + (request.uri.description.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""))
        if sessionToken(request) != nil { response.setCookie(expiredSessionCookie(request)) }
        return response
    }

    /// A page that needs a signed-in person.
    func page<R: RouterMethods>(
        _ group: R, _ path: RouterPath, _ render: @escaping @Sendable (Request, R.Context, Visit) async throws -> Page
    ) {
        group.get(path) { request, context -> Response in
            guard let visit = self.visit(request) else { return Self.signInFirst(request) }
            return try await self.respond(visit) { try await render(request, context, visit) }
        }
    }

    /// A download or a document of its own (CSV, the printable record) for a signed-in person.
    func download<R: RouterMethods>(
        _ group: R, _ path: RouterPath, _ make: @escaping @Sendable (Request, R.Context, Visit) async throws -> Response
    ) {
        group.get(path) { request, context -> Response in
            guard let visit = self.visit(request) else { return Self.signInFirst(request) }
            return try await self.respond(visit) { try await make(request, context, visit) }
        }
    }

    /// A form's POST: refused (403) unless it carries the session's form token; then the action,
    /// which answers with a redirect (done) or a page (why not).
    func action<R: RouterMethods>(
        _ group: R, _ path: RouterPath,
        _ act: @escaping @Sendable (Request, R.Context, Visit, FormData) async throws -> Response
    ) {
        group.post(path) { request, context -> Response in
            guard let visit = self.visit(request) else { return Self.signInFirst(request) }
            let body = try await request.body.collect(upTo: 1 << 20)
            let form = FormData(String(buffer: body))
            guard CSRF.matches(form["_csrf"], expected: visit.formToken) else {
                return try await self.layout(self.forbiddenForm(visit), visit)
            }
            return try await self.respond(visit) { try await act(request, context, visit, form) }
        }
    }

    func respond(_ visit: Visit, _ make: () async throws -> Page) async throws -> Response {
        do {
            return try await layout(try await make(), visit)
        } catch let error as PostgresError where error.isSessionEnded || error.isSessionGrantsChanged {
            throw error  // the authentication middleware answers these
        } catch {
            return try await layout(failurePage(explain(error), visit), visit)
        }
    }

    func respond(_ visit: Visit, _ make: () async throws -> Response) async throws -> Response {
        do {
            return try await make()
        } catch let error as PostgresError where error.isSessionEnded || error.isSessionGrantsChanged {
            throw error
        } catch {
            return try await layout(failurePage(explain(error), visit), visit)
        }
    }

    /// Runs a step; done → to the page the step names (303, so a reload does not repeat it);
    /// refused → the page `otherwise` renders for the refusal, with the reason on top and its status.
    func perform(
        _ visit: Visit, _ step: () async throws -> String, otherwise: (ConsoleFailure) async throws -> Page
    ) async throws -> Response {
        let location: String
        do {
            location = try await step()
        } catch let error as PostgresError where error.isSessionEnded || error.isSessionGrantsChanged {
            throw error
        } catch {
            let failure = explain(error)
            var page = try await otherwise(failure)
            page.notice = Notice(kind: .error, text: failureText(failure, visit))
            page.status = HTTPResponse.Status(code: failure.status)
            return try await layout(page, visit)
        }
        return Self.redirect(to: location)
    }

    /// `perform` for a step that goes back to one page when done.
    func perform(
        _ visit: Visit, then location: String, _ step: () async throws -> Void, otherwise: (ConsoleFailure) async throws -> Page
    ) async throws -> Response {
        try await perform(visit, { try await step(); return location }, otherwise: otherwise)
    }

    /// A form body held to the schema of the operation it is for, as the API holds a request's.
    func checked<Body: Encodable>(_ operationId: String, _ body: Body) throws -> Body {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        let problems = checkBody(operationId, try encoder.encode(body))
        guard problems.isEmpty else {
            throw ConsoleFailure(status: 422, title: "The request is invalid", fields: problems)
        }
        return body
    }
}
