import Foundation

/// The server's own view of request durations: the `http_server_request_duration` histogram of
/// `/metrics` (Prometheus text), for one route, method and status. It starts when the request has been
/// read, so the time a connection waited to be accepted and read is not in it.
struct ServerDurationHistogram {
    /// Cumulative counts by upper bound in seconds, ascending (+Inf last).
    var buckets: [(upperBound: Double, count: Int)]

    init(metrics: String, route: String, method: String, status: Int) {
        let labels = "http_route=\"\(route)\",http_request_method=\"\(method)\",http_response_status_code=\"\(status)\""
        buckets = metrics.split(separator: "\n").compactMap { line in
            guard line.hasPrefix("http_server_request_duration_bucket{"), line.contains(labels),
                  let bound = line.range(of: "le=\""), let value = line.split(separator: " ").last.flatMap({ Int($0) })
            else { return nil }
            let text = line[bound.upperBound...].prefix { $0 != "\"" }
            return (text == "+Inf" ? .infinity : Double(text) ?? .infinity, value)
        }.sorted { $0.upperBound < $1.upperBound }
    }

    var count: Int { buckets.last?.count ?? 0 }

    /// The upper bound of the bucket that holds the `quantile` (e.g. 0.99), or nil with no requests.
    func bound(of quantile: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = Int((Double(count) * quantile).rounded(.up))
        return buckets.first { $0.count >= rank }?.upperBound
    }
}
