extension [Double] {
    /// The value at `q` (0…1, nearest rank) of samples sorted ascending; nan when there are none.
    func quantile(_ q: Double) -> Double {
        guard !isEmpty else { return .nan }
        return self[Swift.min(count - 1, Swift.max(0, Int((Double(count) * q).rounded(.up)) - 1))]
    }
}
