import Crypto
import Foundation

/// One numbered SQL file, `NNNN_name.sql`, with the data files its `-- huifang:copy` lines load.
public struct Migration: Sendable, Equatable {
    public var version: Int
    public var name: String
    public var file: URL
    public var checksum: String
    var steps: [Step]

    enum Step: Sendable, Equatable {
        case sql(String)
        /// `COPY <target> FROM STDIN (FORMAT csv, HEADER true)` fed with a data file.
        case copy(target: String, data: Data, path: String)
    }

    /// The directive that loads a CSV file (path relative to the migrations folder) at that point:
    /// `-- huifang:copy huifang.some_table(col_a, col_b) from data/file.csv`
    static let copyDirective = "-- huifang:copy "

    /// Reads every migration in `directory`, in version order.
    public static func load(from directory: URL) throws -> [Migration] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError.directoryUnreadable(directory.path, "\(error.localizedDescription)")
        }
        var migrations: [Migration] = []
        for name in names.sorted() where name.hasSuffix(".sql") {
            let stem = name.dropLast(4)
            guard let underscore = stem.firstIndex(of: "_"), let version = Int(stem[..<underscore]),
                stem[..<underscore].count == 4
            else { throw MigrationError.badFileName(name) }
            migrations.append(
                try Migration(version: version, name: String(stem[stem.index(after: underscore)...]),
                              file: directory.appendingPathComponent(name), directory: directory))
        }
        for (previous, next) in zip(migrations, migrations.dropFirst()) where previous.version == next.version {
            throw MigrationError.duplicateVersion(previous.version)
        }
        return migrations
    }

    init(version: Int, name: String, file: URL, directory: URL) throws {
        self.version = version
        self.name = name
        self.file = file
        let contents = try Data(contentsOf: file)
        var hasher = SHA256()
        hasher.update(data: contents)
        var steps: [Step] = []
        var pending = ""
        for line in String(decoding: contents, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false) {
            guard line.hasPrefix(Self.copyDirective) else {
                pending += line + "\n"
                continue
            }
            let directive = line.dropFirst(Self.copyDirective.count)
            guard let range = directive.range(of: " from ", options: .backwards) else {
                throw MigrationError.badDirective(file.lastPathComponent, String(line))
            }
            let target = directive[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let path = directive[range.upperBound...].trimmingCharacters(in: .whitespaces)
            let data: Data
            do {
                data = try Data(contentsOf: directory.appendingPathComponent(path))
            } catch {
                throw MigrationError.missingDataFile(file.lastPathComponent, path)
            }
            hasher.update(data: data)
            if !pending.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { steps.append(.sql(pending)) }
            pending = ""
            steps.append(.copy(target: target, data: data, path: path))
        }
        if !pending.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty { steps.append(.sql(pending)) }
        self.steps = steps
        self.checksum = hasher.finalize().map { String(format: "%02x", $0) }.joined()
    }

    public var label: String { String(format: "%04d_%@", version, name) }
}

public enum MigrationError: Error, CustomStringConvertible, Equatable {
    case directoryUnreadable(String, String)
    case badFileName(String)
    case duplicateVersion(Int)
    case badDirective(String, String)
    case missingDataFile(String, String)
    case changedAfterApply(String, applied: String, now: String)
    case missingFile(String)
    case badDefinitionName(String)
    case failed(String, String)
    case definitionFailed(String, String)

    public var description: String {
        switch self {
        case .directoryUnreadable(let path, let reason):
            "cannot read the migrations folder \(path): \(reason)"
        case .badFileName(let name):
            "migration file \(name) is not named NNNN_name.sql"
        case .duplicateVersion(let version):
            "two migration files share the number \(String(format: "%04d", version))"
        case .badDirective(let file, let line):
            "\(file): cannot read the directive \"\(line)\" (expected: -- huifang:copy table(columns) from path)"
        case .missingDataFile(let file, let path):
            "\(file) loads \(path), which does not exist"
        case .changedAfterApply(let label, let applied, let now):
            "migration \(label) was changed after it was applied (checksum \(applied.prefix(12))… in the database, "
                + "\(now.prefix(12))… on disk); a landed migration is never edited: add a new one"
        case .missingFile(let label):
            "migration \(label) is recorded as applied but its file is gone; restore it"
        case .badDefinitionName(let name):
            "definition file \(name) is not named NN_area.sql (two digits give the order it is applied in)"
        case .definitionFailed(let name, let reason):
            "definition file \(Definition.folderName)/\(name) failed and was rolled back (the database keeps its previous "
                + "definitions): \(reason)"
        case .failed(let label, let reason):
            "migration \(label) failed and was rolled back: \(reason)"
        }
    }
}
