-- Record forms as versioned data (Art 5, 7, 9, 10; Attachments 1–5 and the service record). The
-- seed does not print the attachments; their fields are designed from Articles 7, 9 and 10. A
-- version is never changed once published (so never once used); HQ publishes a new one. Answers
-- are validated against the version server-side (Domain.FormValidator), naming each field.

create table huifang.record_forms (
    code text not null check (code in (
        'new_account', 'existing_client', 'special', 'service', 'core_client_profile', 'client_profile')),
    version integer not null check (version >= 1),
    title text not null check (btrim(title) <> ''),
    attachment text not null,
    -- [{"id", "label", "type", "required", "options", "keys", "min", "max"}], see Domain.FormField.
    fields jsonb not null check (jsonb_typeof(fields) = 'array' and jsonb_array_length(fields) between 1 and 100),
    published_by bigint references huifang.staff,
    published_at timestamptz not null default now(),
    note text,
    primary key (code, version)
);

comment on table huifang.record_forms is 'The fields of each record form, one row per version; versions are never edited';

insert into huifang.record_forms (code, version, title, attachment, fields) values
    ('new_account', 1, '新开户客户回访记录表', 'Attachment 1', '[{"id": "method", "label": "回访方式 Method", "type": "choice", "required": true, "options": ["phone", "letter", "email", "sms", "visit", "meeting", "other"]}, {"id": "contactedAt", "label": "回访时间 Time", "type": "datetime", "required": true}, {"id": "durationMinutes", "label": "时长（分钟） Duration (minutes)", "type": "integer", "min": 0, "max": 600}, {"id": "personReached", "label": "受访人 Person reached", "type": "choice", "required": true, "options": ["client", "agent", "family_member", "other"]}, {"id": "identityConfirmed", "label": "身份已核实 Identity confirmed", "type": "boolean", "required": true}, {"id": "riskDisclosureAcknowledged", "label": "风险揭示已知悉 Risk disclosure acknowledged", "type": "boolean", "required": true}, {"id": "fieldsVerified", "label": "关键信息核对 Key fields verified (old → new)", "type": "field_changes", "required": false, "options": ["name", "id_type", "id_number", "phone", "address", "occupation", "referrer", "other"]}, {"id": "agreementsVerified", "label": "协议已核实 Agreements verified", "type": "boolean"}, {"id": "agentRelationshipVerified", "label": "委托代理关系及权限已核实 Agent relationship and authority verified", "type": "boolean"}, {"id": "satisfaction", "label": "满意度 Satisfaction (1–5)", "type": "ratings", "required": false, "keys": ["research", "staffAttitude", "staffCompetence", "technicalSystems"], "min": 1, "max": 5}, {"id": "findings", "label": "发现的问题、意见与需求 Findings", "type": "findings", "options": ["problem", "opinion", "need"]}, {"id": "notes", "label": "备注 Notes", "type": "text"}, {"id": "evidence", "label": "证据 Evidence (call recording, file)", "type": "evidence", "options": ["call_recording", "file"]}]'),
    ('existing_client', 1, '存量客户回访记录表', 'Attachment 2', '[{"id": "method", "label": "回访方式 Method", "type": "choice", "required": true, "options": ["phone", "letter", "email", "sms", "visit", "meeting", "other"]}, {"id": "contactedAt", "label": "回访时间 Time", "type": "datetime", "required": true}, {"id": "durationMinutes", "label": "时长（分钟） Duration (minutes)", "type": "integer", "min": 0, "max": 600}, {"id": "personReached", "label": "受访人 Person reached", "type": "choice", "required": true, "options": ["client", "agent", "family_member", "other"]}, {"id": "identityConfirmed", "label": "身份已核实 Identity confirmed", "type": "boolean", "required": true}, {"id": "fieldsVerified", "label": "关键信息核对 Key fields verified (old → new)", "type": "field_changes", "required": true, "options": ["name", "id_type", "id_number", "phone", "address", "occupation", "referrer", "other"]}, {"id": "operationsConfirmed", "label": "重要操作确认 Operations confirmed", "type": "multi_choice", "options": ["large_asset_movement", "account_closure", "password_reset", "new_business"]}, {"id": "agentRelationshipVerified", "label": "委托代理关系及权限已核实 Agent relationship and authority verified", "type": "boolean"}, {"id": "agreementsVerified", "label": "协议已核实 Agreements verified", "type": "boolean"}, {"id": "findings", "label": "发现的问题、意见与需求 Findings", "type": "findings", "options": ["problem", "opinion", "need"]}, {"id": "notes", "label": "备注 Notes", "type": "text"}, {"id": "evidence", "label": "证据 Evidence (call recording, file)", "type": "evidence", "options": ["call_recording", "file"]}]'),
    ('special', 1, '专项回访记录表', 'Attachment 3', '[{"id": "method", "label": "回访方式 Method", "type": "choice", "required": true, "options": ["phone", "letter", "email", "sms", "visit", "meeting", "other"]}, {"id": "contactedAt", "label": "回访时间 Time", "type": "datetime", "required": true}, {"id": "durationMinutes", "label": "时长（分钟） Duration (minutes)", "type": "integer", "min": 0, "max": 600}, {"id": "personReached", "label": "受访人 Person reached", "type": "choice", "required": true, "options": ["client", "agent", "family_member", "other"]}, {"id": "identityConfirmed", "label": "身份已核实 Identity confirmed", "type": "boolean", "required": true}, {"id": "directiveAnswers", "label": "指令问题的回答 Answers to the directive''s questions", "type": "directive_answers", "required": true}, {"id": "operationsConfirmed", "label": "重要操作确认 Operations confirmed", "type": "multi_choice", "options": ["large_asset_movement", "account_closure", "password_reset", "new_business"]}, {"id": "agentRelationshipVerified", "label": "委托代理关系及权限已核实 Agent relationship and authority verified", "type": "boolean"}, {"id": "agreementsVerified", "label": "协议已核实 Agreements verified", "type": "boolean"}, {"id": "findings", "label": "发现的问题、意见与需求 Findings", "type": "findings", "options": ["problem", "opinion", "need"]}, {"id": "notes", "label": "备注 Notes", "type": "text"}, {"id": "evidence", "label": "证据 Evidence (call recording, file)", "type": "evidence", "options": ["call_recording", "file"]}]'),
    ('service', 1, '客户服务回访记录', 'Service record (Art 13)', '[{"id": "method", "label": "回访方式 Method", "type": "choice", "required": true, "options": ["phone", "letter", "email", "sms", "visit", "meeting", "other"]}, {"id": "contactedAt", "label": "回访时间 Time", "type": "datetime", "required": true}, {"id": "durationMinutes", "label": "时长（分钟） Duration (minutes)", "type": "integer", "min": 0, "max": 600}, {"id": "personReached", "label": "受访人 Person reached", "type": "choice", "required": true, "options": ["client", "agent", "family_member", "other"]}, {"id": "identityConfirmed", "label": "身份已核实 Identity confirmed", "type": "boolean", "required": true}, {"id": "satisfaction", "label": "满意度 Satisfaction (1–5)", "type": "ratings", "required": true, "keys": ["research", "staffAttitude", "staffCompetence", "technicalSystems"], "min": 1, "max": 5}, {"id": "productsPromoted", "label": "推介的服务与产品 Products promoted", "type": "text_list"}, {"id": "findings", "label": "发现的问题、意见与需求 Findings", "type": "findings", "options": ["problem", "opinion", "need"]}, {"id": "notes", "label": "备注 Notes", "type": "text"}, {"id": "evidence", "label": "证据 Evidence (call recording, file)", "type": "evidence", "options": ["call_recording", "file"]}]'),
    ('core_client_profile', 1, '核心客户档案', 'Attachment 4', '[{"id": "riskPreference", "label": "风险偏好 Risk preference", "type": "choice", "required": true, "options": ["conservative", "moderate", "balanced", "growth", "aggressive"]}, {"id": "investmentYears", "label": "投资年限 Years investing", "type": "integer", "min": 0, "max": 80}, {"id": "preferredContact", "label": "偏好联系方式 Preferred contact", "type": "choice", "options": ["phone", "sms", "email", "letter", "visit"]}, {"id": "servicesOfInterest", "label": "关注的服务 Services of interest", "type": "text_list"}, {"id": "productsHeld", "label": "持有的产品 Products held", "type": "text_list"}, {"id": "notes", "label": "备注 Notes", "type": "text"}]'),
    ('client_profile', 1, '客户档案', 'Attachment 5', '[{"id": "occupation", "label": "职业 Occupation", "type": "text", "max": 100}, {"id": "preferredContact", "label": "偏好联系方式 Preferred contact", "type": "choice", "options": ["phone", "sms", "email", "letter", "visit"]}, {"id": "servicesOfInterest", "label": "关注的服务 Services of interest", "type": "text_list"}, {"id": "notes", "label": "备注 Notes", "type": "text"}]');

create function huifang.record_forms_append_only() returns trigger
    language plpgsql
    as $$
begin
    if tg_op <> 'INSERT' then
        raise exception 'record form versions are never changed; publish a new version' using errcode = '55000';
    end if;
    if new.version is distinct from (select coalesce(max(version), 0) + 1 from huifang.record_forms where code = new.code) then
        raise exception 'the next version of form % is %', new.code,
            (select coalesce(max(version), 0) + 1 from huifang.record_forms where code = new.code)
            using errcode = '23514', constraint = 'record_forms_next_version';
    end if;
    return new;
end
$$;

create trigger record_forms_append_only
    before insert or update or delete on huifang.record_forms
    for each row execute function huifang.record_forms_append_only();
create trigger record_forms_no_truncate
    before truncate on huifang.record_forms
    for each statement execute function huifang.record_forms_append_only();

grant select, insert on huifang.record_forms to huifang_app;
