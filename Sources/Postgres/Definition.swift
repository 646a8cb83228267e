import Crypto
import Foundation

/// One repeatable SQL file, `NN_area.sql` in the migrations folder's `definitions/`: the current
/// definition of the functions, triggers, views and row-level security policies of one area.
/// Unlike a numbered migration it is edited in place; the migrator applies it again whenever its
/// checksum changes (and all of them after any numbered migration).
public struct Definition: Sendable, Equatable {
    public var name: String
    public var file: URL
    public var checksum: String
    public var script: String

    public init(name: String, file: URL? = nil, script: String) {
        self.name = name
        self.file = file ?? URL(fileURLWithPath: name)
        self.script = script
        self.checksum = SHA256.hash(data: Data(script.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    /// The folder of the definitions, inside the migrations folder.
    public static let folderName = "definitions"

    /// Reads every definition file of `migrationsDirectory`, in name order; none when the folder is absent.
    public static func load(fromMigrations migrationsDirectory: URL) throws -> [Definition] {
        let directory = migrationsDirectory.appendingPathComponent(folderName)
        guard FileManager.default.fileExists(atPath: directory.path) else { return [] }
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: directory.path)
        } catch {
            throw MigrationError.directoryUnreadable(directory.path, "\(error.localizedDescription)")
        }
        return try names.sorted().filter { $0.hasSuffix(".sql") }.map { name in
            let prefix = name.prefix { $0.isNumber }
            guard prefix.count == 2, name.dropFirst(2).first == "_" else { throw MigrationError.badDefinitionName(name) }
            let file = directory.appendingPathComponent(name)
            return Definition(name: name, file: file, script: String(decoding: try Data(contentsOf: file), as: UTF8.self))
        }
    }

    /// What this file defines, read from its `create` statements: the answer to "where is X defined?".
    public var objects: [DefinedObject] { DefinedObject.all(in: script) }
}

/// A function, trigger, view or policy, named as the catalog names it.
public struct DefinedObject: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        case function, trigger, view, policy
    }

    public var kind: Kind
    /// Schema-qualified for functions and views; the bare name for triggers and policies.
    public var name: String
    /// The table of a trigger or policy, schema-qualified.
    public var table: String?

    public init(kind: Kind, name: String, table: String? = nil) {
        self.kind = kind
        self.name = name
        self.table = table
    }

    public var description: String {
        table.map { "\(kind.rawValue) \(name) on \($0)" } ?? "\(kind.rawValue) \(name)"
    }

    /// A `create` at the start of a line begins a statement; dollar-quoted bodies in this project
    /// never start a line with one. A trigger's or policy's table is the first name after `on`.
    private static let statement = try! NSRegularExpression(
        pattern: #"^create\s+(?:or\s+replace\s+)?(?:constraint\s+)?(function|trigger|view|policy)\s+([a-z_0-9.]+)(?:[^;]*?\son\s+([a-z_0-9.]+))?"#,
        options: [.anchorsMatchLines, .caseInsensitive])

    static func all(in script: String) -> [DefinedObject] {
        let text = script as NSString
        return statement.matches(in: script, range: NSRange(location: 0, length: text.length)).compactMap { match in
            func group(_ index: Int) -> String? {
                let range = match.range(at: index)
                return range.location == NSNotFound ? nil : text.substring(with: range).lowercased()
            }
            guard let keyword = group(1), let kind = Kind(rawValue: keyword), let name = group(2) else { return nil }
            switch kind {
            case .function, .view: return DefinedObject(kind: kind, name: name)
            case .trigger, .policy: return DefinedObject(kind: kind, name: name, table: group(3))
            }
        }
    }
}
