import CLibPQ

/// Where and how to connect: a libpq URL or `key=value` conninfo, plus the session settings every
/// connection of this module needs to decode values correctly.
public struct ConnectionConfiguration: Sendable {
    /// `postgresql://user@host/db` or `host=/run/sock dbname=x`; passed to libpq as is.
    public var conninfo: String
    public var applicationName: String
    public var connectTimeoutSeconds: Int
    /// Run-time parameters set at connection start (`-c name=value`).
    public var sessionSettings: [(name: String, value: String)]
    /// Whether a hot standby will do (a pool that only reads, on a replica). When false, a conninfo
    /// naming several hosts without `target_session_attrs` gets `read-write`: libpq then skips a
    /// standby, and after a failover finds whichever host was promoted.
    public var readsFromStandby = false

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
    ///
    /// libpq keeps the last value of a repeated keyword, so the keepalive and `target_session_attrs`
    /// defaults come before the conninfo (which may override them) and `options` after it, merged: `sessionSettings` first,
    /// then the conninfo's own `options` (`?options=-c%20statement_timeout%3D1s`), which win over
    /// them, then the settings the decoders need, which nothing may change.
    var keywordsAndValues: [(String, String)] {
        let parsed = Self.parse(conninfo)
        func switches(_ settings: [(name: String, value: String)]) -> [String] {
            settings.map { "-c \(escapeOption($0.name))=\(escapeOption($0.value))" }
        }
        let own = parsed["options"].map { [$0] } ?? []
        let options = (switches(sessionSettings) + own.filter { !$0.isEmpty } + switches(Self.requiredSettings)).joined(separator: " ")
        let keepalives = Self.isTCP(host: parsed["host"], hostaddr: parsed["hostaddr"]) ? Self.tcpDefaults : []
        let severalHosts = (parsed["host"] ?? "").contains(",") || (parsed["hostaddr"] ?? "").contains(",")
        let primaryOnly: [(String, String)] = severalHosts && !readsFromStandby ? [("target_session_attrs", "read-write")] : []
        return keepalives + primaryOnly + [
            ("dbname", conninfo),
            ("application_name", applicationName),
            ("client_encoding", "UTF8"),
            ("connect_timeout", String(connectTimeoutSeconds)),
            ("options", options),
        ] + overrides
    }

    /// Find a dead peer within about a minute instead of the kernel's two hours: keepalive probes
    /// after 30 s idle, and `tcp_user_timeout` for data sent but never acknowledged. Unix sockets
    /// have neither.
    static let tcpDefaults: [(String, String)] = [
        ("keepalives", "1"), ("keepalives_idle", "30"), ("keepalives_interval", "10"), ("keepalives_count", "3"),
        ("tcp_user_timeout", "60000"),
    ]

    /// Whether libpq connects over TCP: a host name or address, not a socket directory (`/…`, `@…`).
    /// No host at all means the default socket.
    static func isTCP(host: String?, hostaddr: String?) -> Bool {
        if let hostaddr, !hostaddr.isEmpty { return true }
        guard let host, !host.isEmpty else { return false }
        return host.split(separator: ",").contains { !$0.hasPrefix("/") && !$0.hasPrefix("@") }
    }

    /// The keywords a conninfo (URL or `key=value`) sets, as libpq reads them; empty when it cannot.
    static func parse(_ conninfo: String) -> [String: String] {
        var error: UnsafeMutablePointer<CChar>?
        guard let options = PQconninfoParse(conninfo, &error) else {
            if let error { PQfreemem(error) }
            return [:]
        }
        defer { PQconninfoFree(options) }
        var values: [String: String] = [:]
        var option = options
        while let keyword = option.pointee.keyword {
            if let value = option.pointee.val { values[String(cString: keyword)] = String(cString: value) }
            option += 1
        }
        return values
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
