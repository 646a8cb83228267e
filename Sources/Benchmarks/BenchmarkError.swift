/// A benchmark that could not run or whose baseline failed, printed as `Error: <message>`.
public struct BenchmarkError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}
