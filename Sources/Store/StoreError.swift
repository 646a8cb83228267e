/// Failures of the storage layer that are not plain database errors.
public enum StoreError: Error, CustomStringConvertible {
    case migrationsNotFound([String])

    public var description: String {
        switch self {
        case .migrationsNotFound(let searched):
            "cannot find the migrations folder (sql/0001_foundation.sql); looked in \(searched.joined(separator: ", ")). "
                + "Run from the project directory or set HUIFANG_SQL_DIR."
        }
    }
}
