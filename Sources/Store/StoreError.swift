/// Failures of the storage layer that are not plain database errors.
public enum StoreError: Error, CustomStringConvertible {
    case migrationsNotFound([String])
    /// The database returned a value this build does not know (a newer migration's state or role).
    case unexpected(String)
    /// `huifang archive` could not write its file.
    case archiveFailed(String)

    public var description: String {
        switch self {
        case .migrationsNotFound(let searched):
            "cannot find the migrations folder (sql/0001_foundation.sql); looked in \(searched.joined(separator: ", ")). "
                + "Run from the project directory or set HUIFANG_SQL_DIR."
        case .unexpected(let what):
            "the database holds an unexpected \(what); is this build older than the database?"
        case .archiveFailed(let why):
            why
        }
    }
}
