import ArgumentParser
import Delivery
import Domain
import Server

/// How the delivery workers run, for `serve`, `demo` and `worker`; the SMTP relay comes from the
/// environment (`HUIFANG_SMTP_*`, see docs/delivery.md).
struct DeliveryOptions: ParsableArguments {
    @Option(help: "Delivery worker loops (webhooks, e-mail, the daily digest); 0: none.") var deliveryWorkers = 1
    @Option(help: "Hours after which a delivery that keeps failing is given up as dead.") var deliveryGiveUpHours: Double = 24
    @Option(help: "Seconds a webhook receiver has to answer.") var deliveryTimeout: Double = 10

    func validate() throws {
        guard deliveryWorkers >= 0, deliveryGiveUpHours > 0, deliveryTimeout > 0 else {
            throw ValidationError("--delivery-workers must be 0 or more, --delivery-give-up-hours and --delivery-timeout positive")
        }
    }

    /// nil when no delivery worker should run.
    func configuration() throws -> DeliveryWorkerService.Configuration? {
        guard deliveryWorkers > 0 else { return nil }
        var engine = DeliveryEngine.Configuration()
        do {
            engine.relay = try SMTPRelay.fromEnvironment()
        } catch let error as SMTPRelay.ConfigurationError {
            throw CLIError(error.description)
        }
        engine.retry.giveUpAfter = .seconds(deliveryGiveUpHours * 3600)
        engine.http.response = .seconds(deliveryTimeout)
        return DeliveryWorkerService.Configuration(workers: deliveryWorkers, engine: engine)
    }
}
