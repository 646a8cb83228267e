/// Where and how to connect: a libpq URL or `key=value` conninfo, plus the session settings every
/// connection of this module needs to decode values correctly.
public struct ConnectionConfiguration: Sendable {
    /// `postgresql://user@host/db` or `host=/run/sock dbname=x`; passed to libpq as is.
    public var conninfo: String
    public var applicationName: String
    public var connectTimeoutSeconds: Int
    /// Run-time parameters set at connection start (`-c name=value`).
    public var sessionSettings: [(name: String, value: String)]

    /// Settings the decoders rely on: timestamps in UTC, ISO dates, UTF-8.
    public static let requiredSettings: [(name: String, value: String)] = [
        ("TimeZone", "UTC"), ("DateStyle", "ISO, YMD"), ("IntervalStyle", "postgres"), ("extra_float_digits", "3"),
    ]

    public init(
        conninfo: String, applicationName: String = "huifang", connectTimeoutSeconds: Int = 10,
        sessionSettings: [(name: String, value: String)] = []
    ) {
        self.conninfo = conninfo
        self.applicationName = applicationName
        self.connectTimeoutSeconds = connectTimeoutSeconds
        self.sessionSettings = sessionSettings
    }

    /// The same server and database as another user (e.g. the request role instead of the owner).
    public func connecting(as user: String, password: String? = nil) -> ConnectionConfiguration {
        var copy = self.overriding("user", user)
        if let password { copy = copy.overriding("password", password) }
        return copy
    }

    /// The same server and user, another database (e.g. a scratch database for a benchmark).
    public func connecting(toDatabase name: String) -> ConnectionConfiguration {
        overriding("dbname", name)
    }

    private func overriding(_ keyword: String, _ value: String) -> ConnectionConfiguration {
        var copy = self
        copy.overrides = copy.overrides.filter { $0.0 != keyword } + [(keyword, value)]
        return copy
    }

    /// Keyword overrides applied after `conninfo` is expanded.
    var overrides: [(String, String)] = []

    /// The libpq environment that makes a tool such as pgbench, given `conninfo`, connect as this
    /// configuration does (the user and password set on top of the conninfo), with `settings` for
    /// its session (PGOPTIONS).
    public func toolEnvironment(settings: [(name: String, value: String)] = []) -> [String] {
        var environment: [String] = []
        for (keyword, value) in overrides {
            switch keyword {
            case "user": environment.append("PGUSER=" + value)
            case "password": environment.append("PGPASSWORD=" + value)
            default: break
            }
        }
        if !settings.isEmpty {
            environment.append("PGOPTIONS=" + settings.map { "-c \(escapeOption($0.name))=\(escapeOption($0.value))" }.joined(separator: " "))
        }
        return environment
    }

    /// Keywords and values for `PQconnectdbParams` with `expand_dbname`.
    var keywordsAndValues: [(String, String)] {
        let settings = (Self.requiredSettings + sessionSettings).map { "-c \(escapeOption($0.name))=\(escapeOption($0.value))" }
        return [
            ("dbname", conninfo),
            ("application_name", applicationName),
            ("client_encoding", "UTF8"),
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("options", settings.joined(separator: " ")),
        ] + overrides
    }

    private func escapeOption(_ text: String) -> String {
        var escaped = ""
        for character in text {
            if character == " " || character == "\\" { escaped += "\\" }
            escaped.append(character)
        }
        return escaped
    }
}
