import Domain
import Foundation

/// The words the console shows for the API's codes, in Chinese and English.
enum Labels {
    static func role(_ code: String, _ visit: Visit) -> String {
        guard let role = Role(rawValue: code) else { return code }
        return visit.t(role.chineseTitle, code.replacingOccurrences(of: "_", with: " "))
    }

    private static let words: [String: (zh: String, en: String)] = [
        // task states
        "open": ("待分配", "open"), "assigned": ("已分配", "assigned"), "in_progress": ("进行中", "in progress"),
        "completed": ("已完成", "completed"), "unreachable": ("无法联系", "unreachable"), "cancelled": ("已取消", "cancelled"),
        // record states
        "draft": ("草稿", "draft"), "submitted": ("待会签", "awaiting countersignature"), "returned": ("已退回", "returned"),
        "countersigned": ("已会签", "countersigned"), "archived": ("已归档", "archived"),
        // problem states
        "raised": ("待审批", "awaiting approval"), "at_hq": ("待总部受理", "at HQ, unclaimed"), "in_triage": ("总部处理中", "in triage"),
        "info_requested": ("待补充信息", "information requested"), "forwarded": ("已转办", "forwarded"), "answered": ("已答复，待反馈", "answered, to relay"),
        "rejected": ("已驳回，待反馈", "rejected, to relay"), "closed": ("已办结", "closed"),
        // forwarding states
        "received": ("待签收", "received"), "acknowledged": ("已签收", "acknowledged"), "accepted": ("答复已采纳", "answer accepted"),
        "answer_rejected": ("要求重新答复", "asked again"), "misrouted": ("非本部门", "not ours"),
        // clock states
        "running": ("计时中", "running"), "met": ("按时", "met"), "breached": ("超时", "breached"),
        // categories and severities
        "client_complaint": ("客户投诉", "client complaint"), "service_need": ("服务需求", "service need"),
        "product_need": ("产品需求", "product need"), "system_issue": ("系统问题", "system issue"),
        "compliance_risk": ("合规风险", "compliance risk"), "data_error": ("资料错误", "data error"), "other": ("其他", "other"),
        "low": ("低", "low"), "medium": ("中", "medium"), "high": ("高", "high"),
        // finding kinds
        "problem": ("问题", "problem"), "opinion": ("意见", "opinion"), "need": ("需求", "need"),
        // channels and outcomes
        "phone": ("电话", "phone"), "sms": ("短信", "SMS"), "email": ("电子邮件", "e-mail"), "letter": ("信函", "letter"),
        "visit": ("拜访", "visit"), "meeting": ("面谈", "meeting"), "system": ("系统通知", "system"),
        "reached": ("已接通", "reached"), "no_answer": ("无人接听", "no answer"), "busy": ("占线", "busy"),
        "wrong_number": ("号码错误", "wrong number"), "refused": ("拒绝回访", "refused"), "unavailable": ("不方便", "unavailable"),
        // relay recipients
        "branch_leader": ("营业部负责人", "branch leader"), "responsible_person": ("回访责任人", "responsible person"), "client": ("客户", "client"),
        // upload standings
        "on_time": ("按时", "on time"), "late": ("逾期提交", "late"), "missing": ("未提交", "missing"), "pending": ("未到期", "pending"),
        "not_opened": ("未开放", "not opened"),
        // overdue kinds
        "callback_task": ("回访任务", "callback task"), "record_upload": ("月度上传", "monthly upload"),
        "directive_feedback": ("专项反馈", "directive feedback"), "problem_forwarding": ("转办答复", "forwarding answer"),
        "record_submission": ("记录会签", "record countersignature"), "record_finding": ("发现处理", "finding handling"),
        "evaluation": ("检查评价", "evaluation"), "evaluation_duty": ("年度检查", "yearly evaluation"),
        "problem_loop": ("问题办结（15 个工作日）", "problem loop (15 working days)"),
        "forwarding_answer": ("职能部门答复（2 个工作日）", "department answer (2 working days)"),
        // problem steps, as the timeline names them
        "raise": ("提出", "raised"), "approve": ("审批通过", "approved"), "return": ("退回", "returned"), "resubmit": ("重新提交", "resubmitted"),
        "claim": ("认领", "claimed"), "assign": ("指派", "assigned"), "forward": ("转办", "forwarded"), "accept": ("采纳答复", "answer accepted"),
        "resolve": ("总部答复", "resolved by HQ"), "request_info": ("要求补充信息", "information requested"), "provide_info": ("补充信息", "information given"),
        "reject": ("驳回", "rejected"), "relay": ("反馈", "relayed"), "relay_client": ("反馈客户", "relayed to the client"), "reopen": ("重新打开", "reopened"),
        "release": ("释放（人员离开）", "released (staff left)"), "forwarding.received": ("职能部门收到", "department received"),
        "forwarding.acknowledged": ("职能部门签收", "department acknowledged"), "forwarding.answered": ("职能部门答复", "department answered"),
        "forwarding.misrouted": ("职能部门：非本部门", "department: not ours"), "forwarding.accepted": ("答复被采纳", "answer accepted"),
        "forwarding.answer_rejected": ("要求重新答复", "asked again"),
        // signature steps and signers
        "submit": ("签字提交", "signed and submitted"), "countersign": ("会签", "countersigned"), "archive": ("归档", "archived"),
        "performer": ("回访人", "performer"),
        // persons reached, misc.
        "agent": ("代理人", "agent"), "family_member": ("家属", "family member"),
        "call_recording": ("通话录音", "call recording"), "file": ("文件", "file"),
        "new_account": ("新开户回访", "new account"), "existing_client": ("存量客户回访", "existing client"),
        "special": ("专项回访", "special"), "service": ("服务回访", "service"),
    ]

    /// The label of a code; the code itself when there is none.
    static func word(_ code: String?, _ visit: Visit) -> String {
        guard let code else { return "" }
        guard let word = words[code] else { return code.replacingOccurrences(of: "_", with: " ") }
        return visit.language == .zh ? word.zh : word.en
    }

    /// A code's label if it is one, else the text as written (free text in answers).
    static func known(_ text: String, _ visit: Visit) -> String {
        guard let word = words[text] else { return text }
        return visit.language == .zh ? word.zh : word.en
    }

    /// A state as a coloured badge.
    static func badge(_ code: String, _ visit: Visit) -> HTML {
        "<span class=\"badge s-\(code)\">\(word(code, visit))</span>"
    }

    /// A field's validation reason as the API gives it (English), the common ones in Chinese too.
    static func reason(_ reason: String, _ visit: Visit) -> String {
        guard visit.language == .zh else { return reason }
        let known: [(String, String)] = [
            ("is required", "必填"), ("must not be blank", "不能为空"), ("must be a whole number", "须为整数"),
            ("must be true or false", "须选择是或否"), ("must be a list", "须为列表"), ("must not repeat a choice", "选项不能重复"),
            ("is not a field of this form", "不是此表单的字段"),
        ]
        if let hit = known.first(where: { $0.0 == reason }) { return hit.1 }
        if reason.hasPrefix("must be one of") { return "须为以下之一：" + reason.dropFirst("must be one of ".count) }
        if reason.hasPrefix("must be at most") { return "不能超过 " + reason.dropFirst("must be at most ".count) }
        if reason.hasPrefix("must be at least") { return "不能少于 " + reason.dropFirst("must be at least ".count) }
        if reason.hasPrefix("must be a whole score from") { return "须为评分 " + reason.dropFirst("must be a whole score from ".count) }
        if reason.hasPrefix("must be a time like") { return "须为有效时间" }
        return reason
    }
}
