/// Failures of the storage layer that are not plain database errors.
public enum StoreError: Error, CustomStringConvertible {
    case migrationsNotFound([String])
    /// The database returned a value this build does not know (a newer migration's state or role).
    case unexpected(String)
    /// `huifang archive` could not write its file.
    case archiveFailed(String)
    /// A step on a record read in the same transaction changed no row (or more than one).
    case recordNotWritten(Int64, rows: Int)

    public var description: String {
        switch self {
        case .migrationsNotFound(let searched):
            "cannot find the migrations folder (sql/0001_foundation.sql); looked in \(searched.joined(separator: ", ")). "
                + "Run from the project directory or set HUIFANG_SQL_DIR."
        case .unexpected(let what):
            "the database holds an unexpected \(what); is this build older than the database?"
        case .archiveFailed(let why):
            why
        case .recordNotWritten(let id, let rows):
            "record \(id) was read but writing it changed \(rows) rows; the step was not taken"
        }
    }
}
