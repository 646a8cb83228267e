import ArgumentParser

@main
struct Huifang: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "huifang",
        abstract: "Client-callback (回访) compliance backend for a securities brokerage.",
        discussion: """
            Without DATABASE_URL every command runs a private PostgreSQL under .huifang/pgdata \
            (or --data-dir), started and stopped with the command.
            """,
        subcommands: [
            ServeCommand.self, MigrateCommand.self, DemoCommand.self, WorkerCommand.self, ImportCommand.self, StaffCommand.self, ChannelsCommand.self, SinkCommand.self, CalendarCommand.self, ObligationsCommand.self, ReportCommand.self, AuditCommand.self, ArchiveCommand.self,
            BenchCommand.self,
        ]
    )
}
