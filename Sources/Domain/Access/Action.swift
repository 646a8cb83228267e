/// What a request wants to do; the permission matrix says which roles may, and how far.
public enum Action: String, Sendable, CaseIterable {
    /// Branches and departments: the organization chart.
    case readOrganization
    /// Create and change branches, departments, staff, role grants; reset passwords.
    case manageOrganization
    /// Load an official working-day schedule, which moves running deadlines.
    case manageCalendars
    case readStaff
    case readClients
    /// Open (the account-opening event), update and close clients.
    case writeClients
    /// Change who introduced a client — recusal (Art 4) depends on it.
    case changeReferrer
    /// See an ID or phone number in the clear, with a stated reason; always audited.
    case revealPersonalData
    case readBrokers
    case writeBrokers
    case writeAssetSnapshots
    case readAudit
    /// SLA clocks and their deadlines.
    case readDeadlines
    /// Notifications addressed to a role the person holds, where they hold it.
    case readNotifications
    /// Callback tasks, their samples and coverage.
    case readTasks
    /// Assign, reassign and cancel callback tasks (the owning director; the call center's lead).
    case manageTasks
    /// Perform a task assigned to oneself: start it, log attempts, complete it or close it as unreachable.
    case workTasks
    /// Flag a client's key data for an existing-client verification callback (Art 12.2).
    case flagClients
    /// Issue and cancel HQ directives for special or call-center callbacks.
    case manageDirectives
    case readDirectives
    /// Publish a new version of an obligation rule.
    case manageRules
    /// Publish a new version of an event rule: which client events require a special callback (Art 10).
    case manageEventRules
    /// Report client events from the core system (Art 10): large movements, closures, password resets …
    case submitClientEvents
    /// Publish a new version of a record form.
    case manageForms
    /// Callback records, their signatures and findings, the client file, uploads and feedback packages.
    case readRecords
    /// Write, sign (as performer), amend a record of one's own callback, and raise its findings.
    case writeRecords
    /// Countersign or return a record as the leader it names; archive it.
    case signRecords
    /// Submit the branch's monthly upload and send special records back to HQ (the ops director).
    case submitUploads
    /// Acknowledge an upload or a feedback package addressed to one's HQ department.
    case receiveRecords
    /// Problems: the branch's own, those routed to one's HQ department, those forwarded to one's functional department.
    case readProblems
    /// Raise a problem, resubmit it, answer HQ's question, reopen it (the responsible person; the branch's leaders).
    case raiseProblems
    /// Approve or return a raised problem (the branch leader it names).
    case approveProblems
    /// Claim, assign, forward, resolve, ask, reject, review answers and relay them (the receiving HQ department).
    case triageProblems
    /// Acknowledge, answer or send back a forwarded problem (the functional department).
    case answerForwardings
    /// Monitoring: what is overdue or at risk, SLA, upload and per-person figures.
    case readMonitoring
    /// Evaluations of branches (Art 16): the evaluating department's, the branch's published results.
    case readEvaluations
    /// Open, score, close and publish an evaluation of a branch (the evaluating HQ department).
    case manageEvaluations
    /// The external channels (webhooks, robots, e-mail) of a branch's roles or an HQ department, and their deliveries.
    case readDeliveryChannels
    /// Add, change and remove those channels; retry their dead deliveries.
    case manageDeliveryChannels
    /// Let webhooks reach a host over http or at a private address (an exception to the safety rules).
    case manageDeliveryHosts
}

/// How far a role's permission reaches.
public enum Reach: Sendable, Equatable {
    /// Not permitted.
    case none
    /// Only in the branch the grant is scoped to.
    case grantBranch
    /// Only the work of the HQ department the grant is scoped to (what it owns or executes).
    case grantDepartment
    /// In every branch (an HQ function that needs the national view, BRIEF §1).
    case allBranches
    /// The organization chart itself, not any branch's records.
    case organization
    /// Only what is addressed to the person (row-level security matches their own grants).
    case own
}
