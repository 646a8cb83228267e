import Metrics

/// What this process's delivery workers did, for `/metrics` (the counts of pending and dead
/// deliveries are read from the database at scrape time, for every process at once).
enum DeliveryMetrics {
    static func attempt(outcome: String, dead: Bool) {
        Counter(label: "huifang_delivery_attempts_total", dimensions: [("outcome", outcome)]).increment()
        if dead { Counter(label: "huifang_deliveries_dead_total").increment() }
    }
}
