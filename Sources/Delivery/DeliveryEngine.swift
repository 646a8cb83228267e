import Domain
import Foundation
import Logging
import NIOCore
import Postgres
import Store

/// Delivers claimed deliveries: each becomes a signed HTTP POST to an address that passed the safety
/// rules, or an e-mail through the relay; every attempt is recorded, a failure is retried with
/// backoff and jitter until the bound, then the delivery is dead.
public struct DeliveryEngine: Sendable {
    public struct Configuration: Sendable {
        public var batchSize: Int = 50
        /// How long a claim holds a delivery; longer than any attempt can take.
        public var lease: Duration = .seconds(120)
        public var retry = RetrySchedule()
        public var http = HTTPPoster.Timeouts()
        public var smtpTimeout: Duration = .seconds(30)
        public var relay: SMTPRelay? = nil
        public init() {}
    }

    public let queue: DeliveryQueue
    public let configuration: Configuration
    private let poster: HTTPPoster
    private let mailer: SMTPSender?
    let logger: Logger

    public init(pool: Pool, configuration: Configuration, logger: Logger) throws {
        queue = DeliveryQueue(pool: pool)
        self.configuration = configuration
        poster = try HTTPPoster(timeouts: configuration.http)
        mailer = try configuration.relay.map { try SMTPSender(relay: $0, timeout: configuration.smtpTimeout) }
        self.logger = logger
    }

    /// Claims one batch, delivers it all at once, and records the attempts together; returns how many
    /// were claimed. A batch's records wait for its slowest receiver (at most the response timeout),
    /// well inside the lease.
    @discardableResult
    public func deliverDue() async throws -> Int {
        let batch = try await queue.claim(limit: configuration.batchSize, lease: configuration.lease)
        let results = await withTaskGroup(of: (DeliveryQueue.Claim, DeliveryQueue.Attempt, DeliveryQueue.Next?).self) { group in
            for claim in batch.claims {
                group.addTask { await deliver(claim, allowances: batch.allowances) }
            }
            return await group.reduce(into: []) { $0.append($1) }
        }
        do {
            try await queue.record(results.map { (claim: $0.0, attempt: $0.1, next: $0.2) })
        } catch {
            // The leases run out and other claims deliver them again: at least once.
            logger.warning("cannot record delivery attempts", metadata: ["deliveries": "\(results.count)", "error": "\(error)"])
            throw error
        }
        return batch.claims.count
    }

    private func deliver(
        _ claim: DeliveryQueue.Claim, allowances: [String: (http: Bool, privateAddresses: Bool)]
    ) async -> (DeliveryQueue.Claim, DeliveryQueue.Attempt, DeliveryQueue.Next?) {
        let startedAt = Date()
        let clock = ContinuousClock.now
        var attempt = await attempt(claim) { host in
            allowances[host].map { WebhookTarget.Allowance(http: $0.http, privateAddresses: $0.privateAddresses) } ?? .init()
        }
        attempt.startedAt = startedAt
        attempt.latency = ContinuousClock.now - clock
        var next: DeliveryQueue.Next?
        if attempt.outcome != .delivered {
            let delay = configuration.retry.delay(afterAttempt: claim.attempt, jitter: Double.random(in: 0...1))
            let nextAt = Date().addingTimeInterval(Self.seconds(delay))
            let elapsed = Duration.seconds(nextAt.timeIntervalSince(claim.pendingSince))
            next = configuration.retry.isExhausted(elapsedAtNextAttempt: elapsed) ? .dead : .retry(at: nextAt)
            logger.info(
                "delivery attempt failed",
                metadata: ["delivery": "\(claim.id)", "attempt": "\(claim.attempt)", "error": "\(attempt.error ?? "")",
                           "dead": "\(next.map { if case .dead = $0 { true } else { false } } ?? false)"])
        }
        DeliveryMetrics.attempt(outcome: attempt.outcome.rawValue, dead: { if case .dead = next { true } else { false } }())
        return (claim, attempt, next)
    }

    private func attempt(
        _ claim: DeliveryQueue.Claim, allowance: (String) -> WebhookTarget.Allowance
    ) async -> DeliveryQueue.Attempt {
        func failed(_ outcome: DeliveryQueue.Attempt.Outcome, _ error: String, status: Int? = nil, excerpt: String? = nil) -> DeliveryQueue.Attempt {
            .init(outcome: outcome, startedAt: Date(), latency: .zero, statusCode: status, error: error, responseExcerpt: excerpt)
        }
        if claim.channelKind == .email {
            guard let mailer else { return failed(.failed, "no SMTP relay is configured (HUIFANG_SMTP_HOST)") }
            let message = DeliveryMessage(kind: claim.kind, facts: claim.facts)
            do {
                let code = try await mailer.send(
                    to: claim.addresses ?? [], subject: message.subject, text: message.text, messageId: "delivery-\(claim.id)")
                return .init(outcome: .delivered, startedAt: Date(), latency: .zero, statusCode: code)
            } catch let error as SMTPSender.Failure {
                return failed(.failed, error.description, status: error.code)
            } catch {
                return failed(.failed, "\(error)")
            }
        }
        guard let url = claim.url else { return failed(.refused, "the channel has no URL") }
        let target: WebhookTarget
        switch WebhookTarget.parse(url) {
        case .success(let parsed): target = parsed
        case .failure(let refusal): return failed(.refused, "the URL \(refusal.description)")
        }
        do {
            let addresses: [SocketAddress]
            do {
                addresses = try await target.resolve(allowance: allowance(target.host))
            } catch let refusal as WebhookTarget.Refusal {
                return failed(.refused, "the URL \(refusal.description)")
            }
            let request = try OutboundRequest.webhook(
                kind: claim.channelKind, deliveryId: claim.id, deliveryKind: claim.kind, facts: claim.facts, secret: claim.secret,
                now: Date())
            let response = try await poster.post(to: addresses, target: target, request: request)
            guard (200..<300).contains(response.status) else {
                let why = (300..<400).contains(response.status) ? "redirects are not followed" : "the receiver answered \(response.status)"
                return failed(.failed, why, status: response.status, excerpt: response.excerpt)
            }
            if claim.channelKind != .webhook, let refusal = Self.robotRefusal(response.excerpt) {
                return failed(.failed, refusal, status: response.status, excerpt: response.excerpt)
            }
            return .init(outcome: .delivered, startedAt: Date(), latency: .zero, statusCode: response.status,
                         responseExcerpt: response.excerpt)
        } catch {
            return failed(.failed, "\(error)")
        }
    }

    /// WeCom and DingTalk answer 200 with `{"errcode": n, "errmsg": "…"}`; anything but 0 is a refusal.
    static func robotRefusal(_ excerpt: String) -> String? {
        guard let object = try? JSONSerialization.jsonObject(with: Data(excerpt.utf8)) as? [String: Any],
            let code = object["errcode"] as? Int
        else { return nil }
        return code == 0 ? nil : "the robot refused: errcode \(code) \(object["errmsg"] as? String ?? "")"
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}
