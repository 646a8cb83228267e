import Domain
import Foundation

/// The errors handlers throw on purpose; each says what the client sees.
enum AppError: ProblemConvertible {
    case unauthenticated
    case forbidden(Action)
    /// Permitted in general, not on this object: says why.
    case forbiddenBecause(Action, String)
    /// Also for objects of branches the caller cannot see: existence is not revealed.
    case notFound(String)
    case invalid([Problem.FieldError])
    case conflict(String)
    case invalidCredentials
    case locked(retryAfterSeconds: Int?)
    /// Too many failed sign-ins from one address.
    case throttled(retryAfterSeconds: Int)
    case badCursor
    /// A step without If-Match.
    case preconditionRequired
    /// If-Match names a version that is not the current one.
    case preconditionFailed(current: String)

    var problem: Problem {
        switch self {
        case .unauthenticated:
            Problem(type: "unauthenticated", title: "Sign in first: send Authorization: Bearer <token> from POST /sessions", status: 401)
        case .forbidden(let action):
            Problem(type: "forbidden", title: "Your roles do not permit this", status: 403, detail: "needs permission \(action.rawValue)")
        case .forbiddenBecause(let action, let why):
            Problem(type: "forbidden", title: "Your roles do not permit this", status: 403, detail: "\(why) (\(action.rawValue))")
        case .notFound(let what):
            Problem(type: "not-found", title: "Not found", status: 404, detail: "no \(what) with this id that you can see")
        case .invalid(let errors):
            Problem(type: "validation", title: "The request has invalid fields", status: 422, errors: errors)
        case .conflict(let detail):
            Problem(type: "conflict", title: "Conflicts with the current state", status: 409, detail: detail)
        case .invalidCredentials:
            Problem(type: "invalid-credentials", title: "Employee number or password is wrong", status: 401)
        case .locked(let seconds):
            Problem(
                type: "account-locked", title: "Too many failed sign-ins; try again in 15 minutes", status: 423,
                detail: "5 failed attempts in a row lock the account for 15 minutes", retryAfter: seconds)
        case .throttled(let seconds):
            Problem(
                type: "too-many-sign-ins", title: "Too many failed sign-ins from your address; try again later", status: 429,
                detail: "30 failed attempts from one address within 15 minutes pause sign-in from it for 15 minutes",
                retryAfter: seconds)
        case .preconditionRequired:
            Problem(
                type: "precondition-required", title: "Send If-Match with the ETag you read", status: 428,
                detail: "every step names the version it was decided on; read the object and send its ETag in If-Match")
        case .preconditionFailed(let current):
            Problem(
                type: "stale", title: "Someone changed it since you read it", status: 412,
                detail: "the current version is \(current); read it again and decide on what it says now")
        case .badCursor:
            Problem(type: "validation", title: "The request has invalid fields", status: 422,
                    errors: [.init(field: "after", reason: "not a cursor from a previous page")])
        }
    }
}

extension Problem.FieldError {
    init(_ field: String, _ reason: String) {
        self.init(field: field, reason: reason)
    }
}
