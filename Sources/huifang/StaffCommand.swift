import ArgumentParser
import Domain
import Foundation
import HummingbirdBcrypt
import Logging
import Server
import Postgres
import Store

struct StaffCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "staff",
        abstract: "Set up sign-in for staff as the database owner (e.g. the first admin of a new installation).",
        subcommands: [SetPassword.self, Grant.self])

    struct SetPassword: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "set-password",
            abstract: "Set a staff member's password (asked twice on a terminal, else read from standard input); revokes their sessions.")

        @Argument(help: "Employee number.") var employeeNo: String
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let password = try readPassword()
            let problems = Passwords.problems(with: password, field: "password")
            guard problems.isEmpty else {
                throw CLIError("the password " + problems.map(\.reason).joined(separator: "; "))
            }
            let hash = Bcrypt.hash(password, cost: AppConfiguration.defaultBcryptCost)
            let logger = Logger(label: "huifang.staff")
            try await database.withDatabase(logger: logger) { environment in
                _ = try await environment.migrate(logger: logger)
                let found = try await environment.withOwnerPool(logger: logger) {
                    try await OwnerAdministration(pool: $0).setPassword(employeeNo: employeeNo, hash: hash)
                }
                guard found else { throw CLIError("no staff member with employee number \(employeeNo)") }
                print("password set for \(employeeNo); their sessions are revoked")
            }
        }

        private func readPassword() throws -> String {
            if isatty(STDIN_FILENO) == 1 {
                guard let first = getpass("New password: ").map({ String(cString: $0) }),
                    let second = getpass("Again: ").map({ String(cString: $0) })
                else { throw CLIError("no password given") }
                guard first == second else { throw CLIError("the two passwords differ") }
                return first
            }
            guard let line = readLine(strippingNewline: true), !line.isEmpty else { throw CLIError("no password on standard input") }
            return line
        }
    }

    struct Grant: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "grant", abstract: "Grant a role to a staff member, scoped to a branch or an HQ department.")

        @Argument(help: "Employee number.") var employeeNo: String
        @Argument(help: "Role: \(Role.allCases.map(\.rawValue).joined(separator: ", ")).") var role: String
        @Option(help: "Branch code, for branch roles.") var branch: String?
        @Option(help: "Department code, for HQ roles.") var department: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            guard let role = Role(rawValue: role) else { throw CLIError("unknown role \(self.role)") }
            let logger = Logger(label: "huifang.staff")
            try await database.withDatabase(logger: logger) { environment in
                _ = try await environment.migrate(logger: logger)
                do {
                    let granted = try await environment.withOwnerPool(logger: logger) {
                        try await OwnerAdministration(pool: $0).grant(
                            employeeNo: employeeNo, role: role, branchCode: branch, departmentCode: department)
                    }
                    print(granted ? "granted \(role.rawValue) to \(employeeNo)" : "\(employeeNo) already holds that grant")
                } catch let error as OwnerAdministration.GrantError {
                    throw CLIError(error.description)
                }
            }
        }
    }
}
