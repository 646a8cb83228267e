/// Demo data cannot be generated on this organization.
public struct DemoDataError: Error, CustomStringConvertible {
    /// What the organization lacks.
    public var needs: String

    public var description: String {
        "demo data cannot be generated here: it needs \(needs)"
    }
}
