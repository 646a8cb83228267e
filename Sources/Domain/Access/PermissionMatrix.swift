/// Role × action → reach, the function-level half of authorization (row-level security is the other).
///
/// Branch roles reach only the branch of their grant; HQ roles that need the national view read every
/// branch but write none (directives and flags aside, which HQ issues into branches); the call center
/// works the tasks its department executes; `functional_dept` sees only what is forwarded to it (a later issue);
/// `admin` manages the organization and reaches no branch's records.
public enum PermissionMatrix {
    private static let n = Reach.none, b = Reach.grantBranch, a = Reach.allBranches, o = Reach.organization, m = Reach.own, d = Reach.grantDepartment

    /// Columns in `columns` order. Read one row to see who may do one thing.
    static let columns: [Role] = [
        .responsiblePerson, .opsDirector, .marketingDirector, .frontDesk, .branchManager,
        .salesTradingHQ, .callCenter, .brokerageOpsCenter, .riskControlHQ, .functionalDept, .auditor, .admin,
    ]
    static let rows: [(Action, [Reach])] = [
        //                      resp ops  mkt  desk mgr  S&T  call BOC  risk func aud  admin
        (.readOrganization,    [o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o,   o]),
        (.manageOrganization,  [n,   n,   n,   n,   n,   n,   n,   n,   n,   n,   n,   o]),
        (.manageCalendars,     [n,   n,   n,   n,   n,   n,   n,   n,   n,   n,   n,   o]),
        (.readStaff,           [b,   b,   b,   b,   b,   a,   a,   a,   a,   n,   a,   o]),
        (.readClients,         [b,   b,   b,   b,   b,   a,   a,   a,   a,   n,   a,   n]),
        (.writeClients,        [n,   b,   n,   b,   n,   n,   n,   n,   n,   n,   n,   n]),
        (.changeReferrer,      [n,   b,   n,   n,   n,   n,   n,   n,   n,   n,   n,   n]),
        (.revealPersonalData,  [b,   b,   b,   b,   b,   a,   a,   n,   n,   n,   a,   n]),
        (.readBrokers,         [b,   b,   b,   b,   b,   a,   a,   a,   a,   n,   a,   n]),
        (.writeBrokers,        [n,   b,   b,   n,   n,   n,   n,   n,   n,   n,   n,   n]),
        (.writeAssetSnapshots, [n,   b,   n,   n,   n,   n,   n,   n,   n,   n,   n,   n]),
        (.readAudit,           [n,   n,   n,   n,   b,   n,   n,   n,   n,   n,   a,   n]),
        (.readDeadlines,       [b,   b,   b,   b,   b,   a,   a,   a,   a,   n,   a,   n]),
        (.readNotifications,   [m,   m,   m,   m,   m,   m,   m,   m,   m,   m,   m,   m]),
        (.readTasks,           [b,   b,   b,   b,   b,   a,   d,   a,   a,   n,   a,   n]),
        (.manageTasks,         [n,   b,   b,   n,   n,   d,   d,   n,   n,   n,   n,   n]),
        (.workTasks,           [b,   b,   b,   b,   n,   n,   d,   n,   n,   n,   n,   n]),
        (.flagClients,         [n,   b,   n,   n,   n,   n,   n,   a,   a,   n,   n,   n]),
        (.manageDirectives,    [n,   n,   n,   n,   n,   a,   n,   a,   a,   n,   n,   n]),
        (.readDirectives,      [n,   b,   b,   n,   b,   a,   d,   a,   a,   n,   a,   n]),
        (.manageRules,         [n,   n,   n,   n,   n,   n,   n,   d,   n,   n,   n,   n]),
        (.manageEventRules,    [n,   n,   n,   n,   n,   n,   n,   d,   d,   n,   n,   n]),
        (.submitClientEvents,  [n,   n,   n,   n,   n,   n,   n,   a,   n,   n,   n,   n]),
        (.manageForms,         [n,   n,   n,   n,   n,   o,   n,   o,   o,   n,   n,   n]),
        (.readRecords,         [b,   b,   b,   b,   b,   a,   d,   a,   a,   n,   a,   n]),
        (.writeRecords,        [b,   b,   b,   b,   n,   n,   d,   n,   n,   n,   n,   n]),
        (.signRecords,         [n,   b,   b,   n,   n,   d,   n,   n,   n,   n,   n,   n]),
        (.submitUploads,       [n,   b,   n,   n,   n,   n,   n,   n,   n,   n,   n,   n]),
        (.receiveRecords,      [n,   n,   n,   n,   n,   d,   n,   d,   d,   n,   n,   n]),
        (.readProblems,        [b,   b,   b,   b,   b,   d,   n,   d,   d,   d,   a,   n]),
        (.raiseProblems,       [b,   b,   b,   b,   n,   n,   n,   n,   n,   n,   n,   n]),
        (.approveProblems,     [n,   b,   b,   n,   n,   n,   n,   n,   n,   n,   n,   n]),
        (.triageProblems,      [n,   n,   n,   n,   n,   d,   n,   d,   d,   n,   n,   n]),
        (.answerForwardings,   [n,   n,   n,   n,   n,   n,   n,   n,   n,   d,   n,   n]),
        (.readMonitoring,      [n,   b,   b,   n,   b,   a,   n,   a,   a,   n,   a,   n]),
        (.readEvaluations,     [n,   b,   b,   n,   b,   d,   n,   d,   d,   n,   a,   n]),
        (.manageEvaluations,   [n,   n,   n,   n,   n,   d,   n,   d,   d,   n,   n,   n]),
        (.readDeliveryChannels,   [n,   b,   b,   n,   b,   d,   d,   d,   d,   d,   a,   o]),
        (.manageDeliveryChannels, [n,   b,   n,   n,   b,   d,   d,   d,   d,   d,   n,   o]),
        (.manageDeliveryHosts,    [n,   n,   n,   n,   n,   n,   n,   n,   n,   n,   n,   o]),
    ]

    private static let table: [Action: [Role: Reach]] = {
        var table: [Action: [Role: Reach]] = [:]
        for (action, reaches) in rows {
            precondition(reaches.count == columns.count, "permission row \(action) has \(reaches.count) columns")
            precondition(table[action] == nil, "permission row \(action) appears twice")
            table[action] = Dictionary(uniqueKeysWithValues: zip(columns, reaches))
        }
        return table
    }()

    public static func reach(_ role: Role, _ action: Action) -> Reach {
        table[action]?[role] ?? .none
    }
}
