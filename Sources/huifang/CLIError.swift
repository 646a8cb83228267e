/// A failure the user can act on, printed as `Error: <message>` without the usage text.
struct CLIError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
