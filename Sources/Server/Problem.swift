import Console
import Foundation
import Hummingbird
import OpenAPIRuntime
import Postgres

/// An error a handler throws on purpose, with what the client should see.
public protocol ProblemConvertible: Error {
    var problem: Problem { get }
}

extension Problem: ProblemConvertible {
    public var problem: Problem { self }
}

/// RFC 9457 problem details.
public struct Problem: Error, Codable, Sendable, Equatable {
    public struct FieldError: Codable, Sendable, Equatable {
        public var field: String
        public var reason: String
    }

    public var type: String
    public var title: String
    public var status: Int
    public var detail: String?
    public var instance: String?
    public var requestId: String?
    public var errors: [FieldError]?
    /// Seconds for the `Retry-After` header (not part of the JSON document).
    public var retryAfter: Int?

    private enum CodingKeys: String, CodingKey {
        case type, title, status, detail, instance, requestId, errors
    }

    public static let typeBase = "https://huifang.dev/problems/"

    public init(type: String, title: String, status: Int, detail: String? = nil, errors: [FieldError]? = nil, retryAfter: Int? = nil) {
        self.type = Self.typeBase + type
        self.title = title
        self.status = status
        self.detail = detail
        self.errors = errors
        self.retryAfter = retryAfter
    }

    /// The problem to show for any error; unknown errors become a bare 500.
    init(_ error: any Error) {
        switch error {
        case let problem as Problem:
            self = problem
        case let convertible as any ProblemConvertible:
            self = convertible.problem
        case let serverError as ServerError:
            if let convertible = serverError.underlyingError as? any ProblemConvertible {
                self = convertible.problem
            } else if serverError.httpStatus.code < 500 || serverError.operationInput == nil {
                // The runtime's own description names Swift types and coding keys: say it in the API's terms.
                // No operation input: the request could not be read (a malformed query string, say), which
                // the runtime reports as its own failure; it is the request's.
                let field = (serverError.underlyingError as? DecodingError).map(Problem.FieldError.init(decoding:))
                self = Problem(
                    type: "bad-request", title: "The request does not match the API description",
                    status: serverError.httpStatus.code < 500 ? serverError.httpStatus.code : 400,
                    detail: field == nil ? "see the operation \(serverError.operationID) in /openapi.yaml" : nil,
                    errors: field.map { [$0] })
            } else if let database = serverError.underlyingError as? PostgresError {
                self = Problem(database: database)
            } else if let pool = serverError.underlyingError as? PoolError {
                self = Problem(pool: pool)
            } else {
                self = Problem(type: "internal", title: "Internal server error", status: 500)
            }
        case let http as HTTPError:
            self = Problem(
                type: http.status == .notFound ? "not-found" : "http-\(http.status.code)",
                title: http.status.reasonPhrase, status: http.status.code, detail: http.body)
        case let database as PostgresError:
            self = Problem(database: database)
        case let pool as PoolError:
            self = Problem(pool: pool)
        default:
            self = Problem(type: "internal", title: "Internal server error", status: 500)
        }
    }

    /// Database trouble the client can act on (retry later) is 503; the rest is a plain 500.
    /// Constraint violations are the client's to fix (named by constraint, never with SQL); a row-level
    /// security refusal is a 403.
    init(database error: PostgresError) {
        let constraint = error.constraint.map { " (\($0))" } ?? ""
        if let rule = error.constraint.flatMap({ Self.businessRules[$0] }) {
            self.init(type: rule.type, title: rule.title, status: rule.status,
                      detail: rule.detail ?? (error.message + (error.hint.map { "; \($0)" } ?? "")))
            return
        }
        switch error.sqlState {
        case "23505":
            self.init(type: "conflict", title: "Already exists", status: 409, detail: "a unique value is taken\(constraint)")
        case "23503":
            self.init(
                type: "validation", title: "The request has invalid fields", status: 422,
                detail: "refers to something that does not exist here\(constraint)")
        case "23514", "23502", "22P02", "22P05", "22021", "22003", "22007", "22008", "22023", "22001":
            self.init(
                type: "validation", title: "The request has invalid fields", status: 422,
                detail: "a value is out of range or malformed\(constraint)")
        case "42501":
            self.init(type: "forbidden", title: "Your roles do not permit this", status: 403)
        case _ where error.isOutcomeUnknown:
            // Not 503: "try again" could do the change twice.
            self.init(
                type: "outcome-unknown", title: "The database connection was lost while saving; the change may or may not have been made",
                status: 500, detail: "read the object again to see whether it was changed before you repeat the request")
        case _ where error.isTimeout || error.sqlState == "25P03":
            // 25P03: the server ended a transaction left idle past idle_in_transaction_session_timeout
            // (rolled back for sure, the connection with it).
            self.init(type: "database-timeout", title: "The database did not answer in time; try again shortly", status: 503)
        case _ where error.isConnectionLoss:
            self.init(type: "database-unavailable", title: "The database is unavailable; try again shortly", status: 503)
        default:
            self.init(type: "internal", title: "Internal server error", status: 500)
        }
    }

    /// The pool lent no connection: all of it is "try again shortly".
    init(pool error: PoolError) {
        switch error {
        case .overloaded:
            self.init(type: "overloaded", title: "Too many requests are waiting for the database; try again shortly", status: 503)
        case .timedOut, .shutDown:
            self.init(type: "database-unavailable", title: "The database is unavailable; try again shortly", status: 503)
        }
    }

    /// Rules the database enforces with messages written for people (they name the rule and never
    /// show SQL), by constraint name, whatever the SQLSTATE: their message is the problem's detail.
    static let businessRules: [String: (type: String, title: String, status: Int, detail: String?)] = [
        "session_ended": ("unauthenticated", "Sign in first: send Authorization: Bearer <token> from POST /sessions", 401, "the session has ended"),
        "session_grants_changed": (
            "database-unavailable", "Your roles changed while this request ran; try again shortly", 503, "nothing of it was saved"
        ),
        "callback_tasks_recusal": ("recusal", "Refused by the recusal rule (Art 4): anyone who ever referred a client never calls them back", 409, nil),
        "client_referrers_reason": ("validation", "Changing who referred a client needs a reason", 422, nil),
        "callback_tasks_performer": ("validation", "This person cannot perform the callback", 422, nil),
        "callback_tasks_transition": ("invalid-transition", "The task cannot make this step from its current state", 409, nil),
        "callback_tasks_unreachable": ("invalid-transition", "Not enough failed attempts to close as unreachable", 409, nil),
        "callback_attempts_time": ("validation", "An attempt is dated between its task's start and the moment it is logged", 422, nil),
        "callback_tasks_fixed": ("validation", "What a task is about cannot change", 422, nil),
        "obligation_rules_next_version": ("conflict", "Another version was published meanwhile", 409, nil),
        "obligation_rules_effective_from": ("validation", "The new version's effective date is not allowed", 422, nil),
        "obligation_rules_same_kind": ("validation", "A rule version cannot change what the rule is", 422, nil),
        "records_recusal": ("recusal", "Refused by the recusal rule (Art 4): anyone who ever referred a client never performs or records their callback", 409, nil),
        "records_task": ("validation", "This record cannot be written against this task", 422, nil),
        "records_transition": ("invalid-transition", "The record cannot make this step from its current state", 409, nil),
        "records_immutable": ("record-immutable", "A countersigned record never changes; correct it with an amendment", 409, nil),
        "records_signer": ("forbidden", "Your roles do not permit this", 403, nil),
        "records_leader_not_performer": ("forbidden", "The leader's signature cannot be the performer's", 403, nil),
        "records_amendment": ("invalid-transition", "Only a countersigned record is amended", 409, nil),
        "records_one_amendment": ("conflict", "This revision was amended already; amend the latest one", 409, nil),
        "records_once_per_task": ("conflict", "The task has a record already", 409, nil),
        "problems_raiser": ("forbidden", "The performer of the record raises its findings", 403, nil),
        "problems_raise": ("invalid-transition", "A finding is raised once its record is signed", 409, nil),
        "problems_once_per_finding": ("conflict", "This finding was raised already", 409, nil),
        "record_uploads_submitted": ("conflict", "The upload was submitted already", 409, nil),
        "record_uploads_submitter": ("forbidden", "The ops director submits the branch's upload", 403, nil),
        "record_uploads_acknowledged": ("conflict", "This delivery was acknowledged already", 409, nil),
        "directive_feedback_sender": ("forbidden", "The ops director sends the branch's special records back", 403, nil),
        "directive_feedback_receiver": ("forbidden", "The ordering department acknowledges its feedback", 403, nil),
        "problems_transition": ("invalid-transition", "The problem cannot make this step from its current state", 409, nil),
        "problems_actor": ("forbidden", "Your roles do not permit this step on this problem", 403, nil),
        "problems_assignee": ("validation", "This person is not in the department handling the problem", 422, nil),
        "problems_route": ("conflict", "No active HQ department receives problems of this category", 409, nil),
        "problems_reopen": ("conflict", "This problem cannot be reopened", 409, nil),
        "problems_one_follow_up": ("conflict", "This problem was reopened already", 409, nil),
        "problems_fixed": ("conflict", "That part of the problem's history never changes", 409, nil),
        "problems_relay_order": ("conflict", "Relay to the branch leader and the responsible person before the client", 409, nil),
        "problems_relay_time": ("validation", "A relay happens between the raising and now", 422, nil),
        "problem_forwardings_department": ("conflict", "That department is already working on this problem", 409, nil),
        "problem_forwardings_one_open": ("conflict", "That department is already working on this problem", 409, nil),
        "problem_forwardings_target": ("validation", "Not an active functional department", 422, nil),
        "problem_forwardings_transition": ("invalid-transition", "The forwarding cannot make this step from its current state", 409, nil),
        "evaluations_actor": ("forbidden", "An evaluation is made by its HQ department", 403, nil),
        "evaluations_fixed": ("conflict", "The evaluation no longer changes", 409, nil),
        "evaluations_transition": ("invalid-transition", "The evaluation cannot make this step from its current state", 409, nil),
        "evaluation_scores_range": ("validation", "Above the criterion's maximum score", 422, nil),
        "obligation_rules_floor": (
            "validation", "Below the regulation's floor for this rule", 422,
            "ordinary new accounts need ≥ 30 % within at most 5 working days, broker-introduced ones 100 % within at most 5, "
                + "the half-yearly service sample ≥ 20 %, every other rule 100 %"),
    ]

    /// The response to `request`, naming it and its request id.
    func response(to request: Request, requestId: String) -> Response {
        var problem = self
        problem.instance = request.uri.path
        problem.requestId = requestId
        return problem.response()
    }

    func response() -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let body = (try? encoder.encode(self)) ?? Data(#"{"type":"about:blank","title":"error","status":500}"#.utf8)
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) } else if status == 503 { headers[.retryAfter] = "5" }
        return Response(
            status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension Problem.FieldError {
    /// A decoding failure as the field it concerns and the rule it broke, without type names.
    init(decoding error: DecodingError) {
        func name(_ path: [any CodingKey]) -> String {
            let joined = path.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
            let trimmed = joined.hasPrefix(".") ? String(joined.dropFirst()) : joined
            return trimmed.isEmpty ? "request" : trimmed
        }
        switch error {
        case .keyNotFound(let key, let context):
            self.init(field: name(context.codingPath + [key]), reason: "is required")
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            self.init(field: name(context.codingPath), reason: "has the wrong type for this field")
        case .dataCorrupted(let context):
            self.init(field: name(context.codingPath), reason: "is not a valid value for this field")
        @unknown default:
            self.init(field: "body", reason: "does not match the API description")
        }
    }
}

extension ConsoleFailure {
    /// The problem an error is to the API, as the console shows it to a person.
    init(_ problem: Problem) {
        self.init(
            status: problem.status, title: problem.title, detail: problem.detail,
            fields: (problem.errors ?? []).map { .init(field: $0.field, reason: $0.reason) }, retryAfter: problem.retryAfter)
    }
}
