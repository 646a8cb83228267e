import API
import Domain
import Foundation
import Postgres
import Store

extension APIService {
    func listNotifications(_ input: Operations.ListNotifications.Input) async throws -> Operations.ListNotifications.Output {
        let access = try authorize(.readNotifications)
        let principal = try signedIn()
        let before = try Cursors.id(input.query.after)
        let limit = try Cursors.limit(input.query.limit)
        let page = try await pool.transaction(for: access, readOnly: true) {
            try await NotificationStore($0).list(
                for: principal.grants, unreadOnly: input.query.unread ?? false, before: before, limit: limit)
        }
        return .ok(.init(body: .json(.init(items: page.items.map(Components.Schemas.Notification.init), next: page.next))))
    }

    func markNotificationRead(_ input: Operations.MarkNotificationRead.Input) async throws -> Operations.MarkNotificationRead.Output {
        let access = try authorize(.readNotifications)
        let found = try await pool.transaction(for: access) { try await NotificationStore($0).markRead(input.path.notificationId) }
        guard found else { throw AppError.notFound("notification") }
        return .noContent(.init())
    }
}

extension Components.Schemas.Notification {
    init(_ notification: Store.Notification) {
        self.init(
            id: notification.id, branchId: Int32(notification.branchId), createdAt: notification.createdAt,
            recipientRole: .init(rawValue: notification.recipientRole) ?? .auditor,
            recipientBranchId: notification.recipientBranchId.map(Int32.init),
            recipientDepartmentId: notification.recipientDepartmentId.map(Int32.init), kind: .init(rawValue: notification.kind) ?? .sla,
            title: notification.title,
            stage: notification.stage, subjectKind: notification.subjectKind, subjectId: notification.subjectId,
            scheduledAt: notification.scheduledAt, read: notification.readAt != nil)
    }
}
