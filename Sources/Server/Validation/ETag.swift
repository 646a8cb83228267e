import Foundation
import Store

/// Entity tags of versioned objects, and the If-Match check every step of theirs makes.
enum ETag {
    static func problem(_ problem: ProblemView) -> String { "\"problem-\(problem.id)-v\(problem.version)\"" }
    static func forwarding(_ forwarding: ForwardingView) -> String { "\"forwarding-\(forwarding.id)-v\(forwarding.version)\"" }

    /// 428 without If-Match, 412 when it names another version; `*` matches any.
    static func check(_ ifMatch: String?, current: String) throws {
        guard let ifMatch, !ifMatch.isEmpty else { throw AppError.preconditionRequired }
        // Strong comparison (RFC 9110 §13.1.1): a weak tag never matches.
        let offered = ifMatch.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard offered.contains("*") || offered.contains(current) else { throw AppError.preconditionFailed(current: current) }
    }
}
