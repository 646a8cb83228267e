/// The console's one stylesheet: dense tables, a quiet palette, readable Chinese type.
enum Stylesheet {
    static let css = """
    :root{--ink:#1d2330;--mute:#5d6575;--line:#dde1e8;--bg:#f5f6f8;--panel:#fff;--brand:#9b1c1c;--link:#1f5fa8;
      --ok:#1e7b45;--warn:#a86300;--late:#b42318;font-size:14px}
    *{box-sizing:border-box}
    body{margin:0;font-family:"PingFang SC","Hiragino Sans GB","Noto Sans CJK SC","Microsoft YaHei","WenQuanYi Zen Hei",system-ui,sans-serif;
      color:var(--ink);background:var(--bg);line-height:1.45}
    a{color:var(--link);text-decoration:none}a:hover{text-decoration:underline}
    header.top{display:flex;align-items:center;gap:18px;background:#20242c;color:#e9ebef;padding:0 18px;height:46px}
    header.top a{color:#d6dae2}.brand{font-weight:700;font-size:16px;color:#fff!important;letter-spacing:1px}
    .brand small{font-weight:400;color:#9aa3b2;letter-spacing:0}
    header nav{display:flex;gap:2px;flex:1;flex-wrap:wrap}
    header nav a{padding:13px 10px;border-bottom:3px solid transparent}
    header nav a.current{border-bottom-color:#e25c5c;color:#fff}
    .count{display:inline-block;min-width:18px;padding:0 5px;border-radius:9px;background:#e25c5c;color:#fff;font-size:11px;text-align:center}
    .who{display:flex;align-items:center;gap:10px;font-size:13px}.who small{color:#9aa3b2}
    main{max-width:1280px;margin:0 auto;padding:16px 22px 40px}
    h1{font-size:20px;margin:4px 0 14px}h2{font-size:15px;margin:22px 0 8px;padding-bottom:4px;border-bottom:1px solid var(--line)}
    h3{font-size:14px;margin:14px 0 6px}
    footer{color:var(--mute);font-size:12px;text-align:center;padding:14px}
    table{border-collapse:collapse;width:100%;background:var(--panel);border:1px solid var(--line);margin-bottom:6px}
    th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
    th{background:#eef0f4;font-weight:600;font-size:12.5px;color:#3b4252;white-space:nowrap}
    tr:nth-child(even) td{background:#fafbfc}td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}
    .empty{color:var(--mute);font-style:italic;padding:8px 0}
    .badge{display:inline-block;padding:0 7px;border-radius:3px;font-size:12px;background:#e8ebf0;color:#374151;white-space:nowrap}
    .s-raised,.s-submitted,.s-received,.s-at_hq,.s-info_requested,.s-pending{background:#fff4de;color:#8a5300}
    .s-closed,.s-countersigned,.s-archived,.s-completed,.s-met,.s-on_time,.s-accepted{background:#e3f4ea;color:#17663a}
    .s-breached,.s-returned,.s-rejected,.s-missing,.s-late,.s-misrouted,.s-answer_rejected{background:#fde8e7;color:#a1251b}
    .s-forwarded,.s-in_triage,.s-acknowledged,.s-in_progress,.s-assigned,.s-running{background:#e6effa;color:#1f4f8c}
    .s-answered{background:#ede7fb;color:#5a3aa8}
    .due{white-space:nowrap}.due small{display:block;font-size:12px}
    .due.ok small{color:var(--ok)}.due.warn small{color:var(--warn);font-weight:600}.due.late small{color:var(--late);font-weight:600}
    .notice{padding:9px 12px;border-radius:4px;margin:0 0 14px;border:1px solid}
    .notice.error{background:#fdf0ef;border-color:#f0b8b3;color:#7d1d15}.notice.done{background:#edf8f1;border-color:#b4dec4}
    .notice ul{margin:4px 0 0 18px;padding:0}.detail{color:var(--mute);font-size:12.5px}
    form.inline{display:inline}button,.button{font:inherit;padding:4px 12px;border-radius:4px;border:1px solid #b9c0cc;
      background:#fff;color:var(--ink);cursor:pointer}
    button.primary{background:var(--brand);border-color:var(--brand);color:#fff}button.link{border:0;background:none;color:#d6dae2;padding:0}
    .panel{background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:12px 14px;margin-bottom:12px}
    .actions{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-start}
    .actions form{background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:8px 10px;display:flex;gap:6px;align-items:center;flex-wrap:wrap}
    td .actions{gap:4px}td .actions form{border:0;background:none;padding:0 0 4px}td textarea{min-height:34px;min-width:220px}
    label{font-size:13px;color:#3b4252}input[type=text],input[type=password],input[type=number],input[type=datetime-local],select,textarea{
      font:inherit;padding:4px 6px;border:1px solid #b9c0cc;border-radius:3px;background:#fff}
    textarea{width:100%;min-height:54px}
    .fields{display:grid;grid-template-columns:230px 1fr;gap:8px 14px;align-items:start}
    .fields .label{padding-top:5px;font-weight:600;font-size:13px}.req{color:var(--late)}
    .fields .error{color:var(--late);font-size:12.5px;display:block}
    .kv{display:grid;grid-template-columns:repeat(auto-fill,minmax(230px,1fr));gap:6px 18px;margin:0}
    .kv div{display:flex;gap:8px}.kv dt{color:var(--mute);min-width:86px}.kv dd{margin:0;font-weight:500}
    .tabs{display:flex;gap:4px;margin-bottom:10px;flex-wrap:wrap}.tabs a{padding:4px 10px;border:1px solid var(--line);border-radius:4px;background:#fff}
    .tabs a.current{background:#20242c;color:#fff;border-color:#20242c}
    .chart{background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:8px;margin-bottom:8px}
    .grid2{display:grid;grid-template-columns:1fr 1fr;gap:14px}
    .timeline{list-style:none;padding:0;margin:0}.timeline li{padding:4px 0 4px 14px;border-left:2px solid var(--line)}
    .timeline time{color:var(--mute);font-size:12.5px;margin-right:8px}
    .signin{max-width:360px;margin:70px auto;background:#fff;border:1px solid var(--line);border-radius:6px;padding:22px 26px}
    .signin label{display:block;margin:10px 0 4px}.signin input{width:100%}
    .row{display:flex;gap:6px;margin-bottom:4px}.grow{flex:1;min-width:180px}.short{width:90px}.right{float:right}
    ul.plain{margin:0;padding-left:16px}
    .mono{font-family:ui-monospace,Menlo,monospace;font-size:12.5px}.muted{color:var(--mute)}
    @media print{header.top,footer,.actions,.noprint{display:none}body{background:#fff}}
    """
}
