// caseledger explorer: overview, case page, supervision dashboard, entry page.
// No framework, no build step. Every data call is a /v1 request signed with the key the user
// loaded (kept in memory only). Proofs are verified in the browser (verify.js).
"use strict";

// ---------------------------------------------------------------- labels (zh / en)
const LABELS = {
  zh: {
    "title": "案件流转账本", "nav.overview": "概览", "nav.case": "案件", "nav.dashboard": "监督", "nav.entry": "条目",
    "wall": "大屏", "wall.off": "标准", "signout": "退出",
    "signin.title": "登录", "signin.help": "选择本单位的 Ed25519 私钥文件（PKCS#8 PEM）。私钥只保存在本页内存中，不会上传；每个数据请求都用它签名。",
    "signin.org": "单位编号", "signin.key": "密钥编号", "signin.file": "私钥文件", "signin.go": "登录",
    "signin.busy": "正在验证密钥…", "signin.nokey": "请选择私钥文件",
    "footer": "页面由本节点提供；数据均经签名请求获取，证明在浏览器中验证。",
    "ov.height": "账本高度", "ov.checkpoint": "最新共签检查点", "ov.cosigners": "共签节点", "ov.members": "成员节点",
    "ov.leader": "领导者", "ov.rate": "每分钟条目数", "ov.node": "节点", "ov.role": "角色", "ov.health": "状态",
    "ov.applied": "已应用条目", "ov.ready": "就绪", "ov.down": "不可达", "ov.notready": "未就绪", "ov.none": "尚无共签检查点",
    "ov.size": "树大小", "ov.time": "时间", "ov.root": "根哈希", "ov.index": "账本序号", "ov.voter": "投票成员", "ov.learner": "学习成员",
    "ov.rate.help": "按账本时间统计最近 60 分钟（截至最新条目）",
    "case.search": "案件编号", "case.go": "查询", "case.type": "案由", "case.procedure": "程序", "case.stage": "当前阶段",
    "case.holder": "当前承办单位", "case.path": "阶段路径", "case.since": "开始", "case.until": "结束", "case.days": "天数",
    "case.handoffs": "移送记录", "case.kind": "类型", "case.sender": "移送单位", "case.receiver": "接收单位",
    "case.sent": "移送时间", "case.received": "签收时间", "case.accepted": "受理时间", "case.due": "期限",
    "case.late": "是否超期", "case.docs": "随案文书摘要", "case.status": "状态", "case.notfound": "未找到该案件",
    "case.now": "至今", "case.yes": "超期", "case.no": "按期", "case.open": "未办结", "case.alerts": "预警",
    "dash.type": "案由", "dash.city": "城市", "dash.all": "全部", "dash.asof": "截至", "dash.apply": "筛选",
    "dash.overdue": "超期", "dash.duesoon": "即将到期", "dash.rfc": "退回补正", "dash.sir": "退回补充侦查",
    "dash.late": "逾期答复", "dash.cases": "案件数", "dash.bydept": "各单位超期与即将到期",
    "dash.alerts": "超期与即将到期的移送", "dash.mean": "各阶段平均天数", "dash.rank": "单位月度排名",
    "dash.month": "月份", "dash.rankn": "名次", "dash.dept": "单位", "dash.ontime": "按期率", "dash.answered": "已答复",
    "dash.sentn": "移送", "dash.receivedn": "接收", "dash.handoff": "移送编号", "dash.kind": "预警", "dash.responsible": "责任单位",
    "dash.dueat": "到期时间", "dash.case": "案件", "dash.byday": "天", "dash.none": "无",
    "entry.index": "条目序号", "entry.go": "查看", "entry.hash": "条目哈希", "entry.signer": "签名者", "entry.key": "签名公钥",
    "entry.sig": "签名", "entry.raw": "原始条目（规范字节）", "entry.decoded": "解码内容", "entry.verify": "浏览器内验证",
    "entry.verified": "已验证", "entry.failed": "验证失败", "entry.pending": "尚无共签检查点覆盖此条目",
    "entry.against": "依据最新共签检查点", "entry.sigstep": "提交签名", "entry.time": "记账时间", "entry.kind": "类型",
    "entry.rejected": "被拒（违规尝试）",
    "verify.receipt": "回执", "verify.checkpoint": "检查点", "verify.entry": "条目", "verify.entry_hash": "条目哈希",
    "verify.inclusion_proof": "包含证明", "sep": "：",
    "err": "错误",
  },
  en: {
    "title": "Case ledger", "nav.overview": "Overview", "nav.case": "Case", "nav.dashboard": "Supervision", "nav.entry": "Entry",
    "wall": "Wall display", "wall.off": "Laptop", "signout": "Sign out",
    "signin.title": "Sign in", "signin.help": "Choose your organisation's Ed25519 private key file (PKCS#8 PEM). The key stays in this page's memory only and is never uploaded; every data request is signed with it.",
    "signin.org": "Organisation id", "signin.key": "Key id", "signin.file": "Key file", "signin.go": "Sign in",
    "signin.busy": "Checking the key…", "signin.nokey": "Choose a key file",
    "footer": "Served by this node; every data call is a signed request, and proofs are verified in the browser.",
    "ov.height": "Ledger height", "ov.checkpoint": "Latest cosigned checkpoint", "ov.cosigners": "Cosigned by", "ov.members": "Member nodes",
    "ov.leader": "Leader", "ov.rate": "Entries per minute", "ov.node": "Node", "ov.role": "Role", "ov.health": "Health",
    "ov.applied": "Applied entries", "ov.ready": "ready", "ov.down": "unreachable", "ov.notready": "not ready", "ov.none": "no cosigned checkpoint yet",
    "ov.size": "Tree size", "ov.time": "Time", "ov.root": "Root", "ov.index": "Ledger index", "ov.voter": "voter", "ov.learner": "learner",
    "ov.rate.help": "by ledger time, the 60 minutes up to the newest entry",
    "case.search": "Case id", "case.go": "Search", "case.type": "Case type", "case.procedure": "Procedure", "case.stage": "Stage",
    "case.holder": "Held by", "case.path": "Stage path", "case.since": "From", "case.until": "Until", "case.days": "Days",
    "case.handoffs": "Handoffs", "case.kind": "Kind", "case.sender": "Sender", "case.receiver": "Receiver",
    "case.sent": "Sent", "case.received": "Received", "case.accepted": "Accepted", "case.due": "Due",
    "case.late": "Late?", "case.docs": "Document digests", "case.status": "Status", "case.notfound": "No such case",
    "case.now": "now", "case.yes": "late", "case.no": "on time", "case.open": "open", "case.alerts": "Alerts",
    "dash.type": "Case type", "dash.city": "City", "dash.all": "All", "dash.asof": "As of", "dash.apply": "Filter",
    "dash.overdue": "Overdue", "dash.duesoon": "Due soon", "dash.rfc": "Returns for completion", "dash.sir": "Returns for supplementary investigation",
    "dash.late": "Late responses", "dash.cases": "Cases", "dash.bydept": "Overdue and due soon by department",
    "dash.alerts": "Overdue and due-soon handoffs", "dash.mean": "Mean days per stage", "dash.rank": "Monthly ranking of departments",
    "dash.month": "Month", "dash.rankn": "Rank", "dash.dept": "Department", "dash.ontime": "On time", "dash.answered": "Answered",
    "dash.sentn": "Sent", "dash.receivedn": "Received", "dash.handoff": "Handoff", "dash.kind": "Alert", "dash.responsible": "Responsible",
    "dash.dueat": "Due", "dash.case": "Case", "dash.byday": "days", "dash.none": "none",
    "entry.index": "Entry index", "entry.go": "Show", "entry.hash": "Entry hash", "entry.signer": "Signer", "entry.key": "Signer key",
    "entry.sig": "Signature", "entry.raw": "Raw entry (canonical bytes)", "entry.decoded": "Decoded", "entry.verify": "Verified in this browser",
    "entry.verified": "verified", "entry.failed": "verification failed", "entry.pending": "no cosigned checkpoint covers this entry yet",
    "entry.against": "against the latest cosigned checkpoint", "entry.sigstep": "submission signature", "entry.time": "Ledger time", "entry.kind": "Kind",
    "entry.rejected": "rejected (illegal attempt)",
    "verify.receipt": "receipt", "verify.checkpoint": "checkpoint", "verify.entry": "entry", "verify.entry_hash": "entry hash",
    "verify.inclusion_proof": "inclusion proof", "sep": ": ",
    "err": "Error",
  },
};
// Terms of docs/DOMAIN.md.
const TERMS = {
  zh: {
    FILING: "立案", INVESTIGATION: "侦查", ARREST_REVIEW: "审查逮捕", PROSECUTION_REVIEW: "审查起诉",
    SUPPLEMENTARY_INVESTIGATION: "补充侦查", FIRST_INSTANCE: "一审", APPEAL_WINDOW: "上诉期", SECOND_INSTANCE: "二审",
    EFFECTIVE: "判决生效", EXECUTION_CUSTODIAL: "监禁执行", EXECUTION_COMMUNITY: "社区矫正", CLOSED: "结案",
    CLOSED_WITHDRAWN: "撤案", CLOSED_NOT_PROSECUTED: "不起诉", CLOSED_ACQUITTED: "宣告无罪",
    ARREST_APPROVAL_REQUEST: "提请批准逮捕", ARREST_APPROVAL_DECISION: "批准/不批准逮捕", CUSTODY_TRANSFER: "换押",
    DETENTION_EXTENSION_REQUEST: "提请延长侦查羁押期限", PROSECUTION_TRANSFER: "移送审查起诉",
    SUPPLEMENTARY_INVESTIGATION_RETURN: "退回补充侦查", SUPPLEMENTARY_INVESTIGATION_RESUBMIT: "补侦后重新移送",
    NON_PROSECUTION_DECISION: "不起诉", CASE_WITHDRAWAL_NOTICE: "撤销案件", PUBLIC_PROSECUTION: "提起公诉",
    TRIAL_NOTICE: "开庭通知", JUDGMENT_SERVICE: "判决书送达", APPEAL: "上诉", PROTEST: "抗诉", SECOND_INSTANCE_TRIAL: "二审",
    REMAND_FOR_RETRIAL: "发回重审", PRE_SENTENCE_ASSESSMENT: "委托调查评估", LEGAL_AID_NOTICE: "通知法律援助",
    EXECUTION_DELIVERY_CUSTODIAL: "交付执行", EXECUTION_DELIVERY_COMMUNITY: "交付社区矫正", EXECUTION_RECEIPT: "收监回执",
    COMMUTATION_PAROLE_PROPOSAL: "减刑/假释建议", PROBATION_PAROLE_REVOCATION: "撤销缓刑/假释",
    DANGEROUS_DRIVING: "危险驾驶", THEFT: "盗窃", INTENTIONAL_INJURY: "故意伤害", TRAFFIC_ACCIDENT: "交通肇事",
    PICKING_QUARRELS: "寻衅滋事", FRAUD: "诈骗", ORDINARY: "普通程序", SUMMARY: "简易程序", EXPEDITED: "速裁程序",
    SENT: "已移送", RECEIVED: "已签收", ACCEPTED: "已受理", RETURNED_FOR_COMPLETION: "退回补正", RESPONDED: "已答复",
    overdue: "超期", due_soon: "即将到期", missing_custody_transfer: "未换押", illegal_attempt: "违规尝试",
    Lanzhou: "兰州", Jiuquan: "酒泉", Zhangye: "张掖", Jinchang: "金昌", Tianshui: "天水",
  },
  en: {
    overdue: "overdue", due_soon: "due soon", missing_custody_transfer: "missing custody transfer", illegal_attempt: "illegal attempt",
  },
};

// What the in-browser verification found (verify.js names each finding by key, with its
// arguments), in both languages.
const FINDINGS = {
  zh: {
    "error": (a) => a.message,
    "hex.bad": () => "不是小写十六进制",
    "b64.bad": () => "不是带填充的标准 base64",
    "b64.noncanonical": () => "不是规范的 base64 编码",
    "varint.truncated": (a) => `第 ${a.at} 字节处的变长整数被截断`,
    "varint.long": (a) => `第 ${a.at} 字节处的变长整数超过 10 字节`,
    "entry.short": (a) => `条目过短（${a.n} 字节）`,
    "entry.hashenc": () => "条目哈希的编码不是 00 20 ‖ 32 字节",
    "entry.version": (a) => `未知的格式版本 ${a.v}`,
    "entry.variant": (a) => `未知的记录类型 ${a.v}`,
    "entry.prevenc": () => "前一条目哈希（prev）的编码不是 00 20 ‖ 32 字节",
    "entry.differs": () => "回执中的条目字节与页面所示条目不同",
    "entry.indexdiff": (a) => `条目序号 ${a.entry} 与回执的序号 ${a.receipt} 不同`,
    "entry.beyond": (a) => `序号 ${a.index} 不小于检查点的树大小 ${a.size}`,
    "entry.hashmismatch": (a) => `SHA-256(ENTRY ‖ leaf) 为 ${a.computed}，而条目中存的是 ${a.stored}`,
    "incl.index": (a) => `序号 ${a.index} 不小于树大小 ${a.size}`,
    "incl.length": (a) => `证明含 ${a.got} 个哈希；大小为 ${a.size} 的树中序号 ${a.index} 的证明应含 ${a.want} 个`,
    "incl.long": () => "证明比路径长",
    "incl.short": () => "证明比路径短",
    "incl.root": (a) => `由证明算出的根 ${a.computed} 与检查点的根 ${a.root} 不同`,
    "note.control": () => "检查点文本含控制字符",
    "note.newline": () => "检查点文本不以换行结尾",
    "note.blank": () => "检查点文本在签名前没有空行",
    "note.lines": (a) => `检查点正文有 ${a.n} 行，应为 5 行`,
    "note.origin": () => "来源（origin）行格式错误",
    "note.size": (a) => `树大小行格式错误：${a.line}`,
    "note.rootlen": () => "根哈希不是 32 字节",
    "note.chain": () => "链头（chain-head）行格式错误",
    "note.time": () => "时间行格式错误",
    "note.sigline": (a) => `签名行格式错误：${a.line}`,
    "note.siglen": (a) => `签名行含 ${a.n} 字节，应为 68 字节`,
    "note.sigcount": (a) => `检查点有 ${a.n} 行签名`,
    "note.badsig": (a) => `${a.name} 对检查点的签名验证失败`,
    "note.quorum": (a) => `仅 ${a.ok} 个已知节点的签名验证通过，需要 ${a.quorum} 个`,
    "receipt.magic": () => "不是 c2sp.org/tlog-proof@v1 回执",
    "receipt.extra": () => "缺少 extra 行",
    "receipt.index": () => "缺少 index 行",
    "receipt.hashb64": (a) => `第 ${a.i} 个证明哈希不是 base64：${finding(a.why)}`,
    "receipt.hashlen": (a) => `第 ${a.i} 个证明哈希为 ${a.n} 字节，应为 32 字节`,
    "receipt.blank": () => "检查点前缺少空行",
    "sig.notfound": () => "条目字节中找不到该签名",
    "sig.bad": () => "用签名者的公钥验证载荷签名失败",
    "sig.nokey": (a) => `登记册中没有密钥 ${a.signer}`,
    "ok.signature": (a) => `Ed25519，${a.signer}`,
    "ok.receipt": (a) => `c2sp.org/tlog-proof@v1，序号 ${a.index}，${a.n} 个证明哈希`,
    "ok.checkpoint": (a) => `树大小 ${a.size}，由 ${a.names} 共签（法定数 ${a.quorum}）`,
    "ok.hash": (a) => a.hash,
    "ok.inclusion": (a) => `序号 ${a.index} 的叶 ${a.leaf}… 推出大小为 ${a.size} 的树的根 ${a.root}…`,
  },
  en: {
    "error": (a) => a.message,
    "hex.bad": () => "not lowercase hex",
    "b64.bad": () => "not standard padded base64",
    "b64.noncanonical": () => "not canonical base64",
    "varint.truncated": (a) => `truncated varint at byte ${a.at}`,
    "varint.long": (a) => `varint longer than 10 bytes at byte ${a.at}`,
    "entry.short": (a) => `entry too short (${a.n} bytes)`,
    "entry.hashenc": () => "entry hash is not encoded 00 20 ‖ 32 bytes",
    "entry.version": (a) => `unknown format version ${a.v}`,
    "entry.variant": (a) => `unknown record variant ${a.v}`,
    "entry.prevenc": () => "prev is not encoded 00 20 ‖ 32 bytes",
    "entry.differs": () => "the receipt's entry bytes differ from the entry shown",
    "entry.indexdiff": (a) => `the entry's index ${a.entry} differs from the receipt's ${a.receipt}`,
    "entry.beyond": (a) => `index ${a.index} is not below the checkpoint's size ${a.size}`,
    "entry.hashmismatch": (a) => `SHA-256(ENTRY ‖ leaf) is ${a.computed} but the entry stores ${a.stored}`,
    "incl.index": (a) => `index ${a.index} is not below the tree size ${a.size}`,
    "incl.length": (a) => `the proof has ${a.got} hashes; a proof of index ${a.index} in a tree of ${a.size} has ${a.want}`,
    "incl.long": () => "the proof is longer than the path",
    "incl.short": () => "the proof is shorter than the path",
    "incl.root": (a) => `the root computed from the proof, ${a.computed}, differs from the checkpoint's root ${a.root}`,
    "note.control": () => "the note has a control character",
    "note.newline": () => "the note does not end with a newline",
    "note.blank": () => "the note has no blank line before its signatures",
    "note.lines": (a) => `the note body has ${a.n} lines, not 5`,
    "note.origin": () => "bad origin line",
    "note.size": (a) => `bad tree size line ${a.line}`,
    "note.rootlen": () => "the root is not 32 bytes",
    "note.chain": () => "bad chain-head line",
    "note.time": () => "bad time line",
    "note.sigline": (a) => `bad signature line ${a.line}`,
    "note.siglen": (a) => `a signature line carries ${a.n} bytes, not 68`,
    "note.sigcount": (a) => `the note has ${a.n} signature lines`,
    "note.badsig": (a) => `the signature of ${a.name} on the checkpoint does not verify`,
    "note.quorum": (a) => `only ${a.ok} known node signature(s) verified; ${a.quorum} needed`,
    "receipt.magic": () => "not a c2sp.org/tlog-proof@v1 receipt",
    "receipt.extra": () => "no extra line",
    "receipt.index": () => "no index line",
    "receipt.hashb64": (a) => `proof hash ${a.i} is not base64: ${finding(a.why)}`,
    "receipt.hashlen": (a) => `proof hash ${a.i} is ${a.n} bytes, not 32`,
    "receipt.blank": () => "no blank line before the checkpoint",
    "sig.notfound": () => "the signature is not in the entry's bytes",
    "sig.bad": () => "the signature does not verify over the payload with the signer's key",
    "sig.nokey": (a) => `no key ${a.signer} in the registry`,
    "ok.signature": (a) => `Ed25519 ${a.signer}`,
    "ok.receipt": (a) => `c2sp.org/tlog-proof@v1, index ${a.index}, ${a.n} proof hashes`,
    "ok.checkpoint": (a) => `tree size ${a.size}, cosigned by ${a.names} (quorum ${a.quorum})`,
    "ok.hash": (a) => a.hash,
    "ok.inclusion": (a) => `leaf ${a.leaf}… at ${a.index} leads to the root ${a.root}… of size ${a.size}`,
  },
};

let lang = localStorage.getItem("caseledger.lang") === "en" ? "en" : "zh";
const t = (k) => (LABELS[lang][k] ?? k);
const term = (k) => (k == null ? "" : TERMS[lang][k] ?? String(k).replaceAll("_", " ").toLowerCase());
// A finding {key, args} of the verification, in the page's language.
const finding = (f) => (FINDINGS[lang][f.key] ? FINDINGS[lang][f.key](f.args || {}) : f.key);

// ---------------------------------------------------------------- small DOM helpers
function h(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === "class") e.className = v; else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of kids.flat()) if (c != null) e.append(c.nodeType ? c : document.createTextNode(String(c)));
  return e;
}
const SVGNS = "http://www.w3.org/2000/svg";
function s(tag, attrs, ...kids) {
  const e = document.createElementNS(SVGNS, tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v != null) e.setAttribute(k, v);
  for (const c of kids.flat()) if (c != null) e.append(c.nodeType ? c : document.createTextNode(String(c)));
  return e;
}
function table(headers, rows, rowAttrs) {
  return h("table", {}, h("thead", {}, h("tr", {}, headers.map((x) => h("th", { class: x.num ? "num" : null }, x.label ?? x)))),
    h("tbody", {}, rows.map((r, i) => h("tr", rowAttrs ? rowAttrs(i) : {}, r.map((c, j) => h("td", { class: headers[j].num ? "num" : null }, c))))));
}
const pad = (n) => String(n).padStart(2, "0");
// Times in the law's time zone (China, UTC+8), as the ledger's policy counts days.
function when(ms) {
  if (ms == null) return "—";
  const d = new Date(Number(ms) + 8 * 3600 * 1000);
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}
const days = (ms) => (ms / 86400000).toFixed(1);

// ---------------------------------------------------------------- signed API requests
// The request signature (docs/FORMAT.md §API request): Ed25519 over
// "caseledger/v1/api-request\0" ‖ METHOD \n path_and_query \n org \n key_id \n node \n time \n
// nonce \n hex(sha256(body)), where node is the id of the node addressed (the one serving this
// page, which names itself in the x-caseledger-node header of every answer).
const session = { org: null, keyId: null, key: null, publicHex: null };
const EMPTY_SHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

let nodeId = null;
async function servingNode() {
  if (nodeId == null) {
    const r = await fetch("/healthz", { cache: "no-store" });
    nodeId = r.headers.get("x-caseledger-node");
    if (nodeId == null) throw new Error("the node does not name itself (x-caseledger-node)");
  }
  return nodeId;
}
async function signedFetch(pathAndQuery) {
  if (!session.key) throw new Error("not signed in");
  const node = await servingNode();
  const time = String(Date.now());
  const nonce = CL.hex(crypto.getRandomValues(new Uint8Array(16)));
  const text = ["GET", pathAndQuery, session.org, session.keyId, node, time, nonce, EMPTY_SHA256].join("\n");
  const msg = CL.concat(new TextEncoder().encode("caseledger/v1/api-request\0"), new TextEncoder().encode(text));
  const sig = new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, session.key, msg));
  return fetch(pathAndQuery, {
    headers: {
      "x-caseledger-org": session.org, "x-caseledger-key": session.keyId, "x-caseledger-node": node, "x-caseledger-time": time,
      "x-caseledger-nonce": nonce, "x-caseledger-signature": CL.b64(sig),
    },
    cache: "no-store",
  });
}
class ApiError extends Error { constructor(status, code, message) { super(`${status} ${code}: ${message}`); this.status = status; this.code = code; } }
async function api(pathAndQuery, asText) {
  const r = await signedFetch(pathAndQuery);
  if (!r.ok) {
    let code = "HTTP_" + r.status, message = r.statusText;
    try { const b = await r.json(); code = b.code || code; message = b.message || message; } catch (_) { /* not JSON */ }
    throw new ApiError(r.status, code, message);
  }
  return asText ? r.text() : r.json();
}
const q = (params) => {
  const kv = Object.entries(params).filter(([, v]) => v != null && v !== "");
  return kv.length ? "?" + kv.map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("&") : "";
};

function pemToDer(text) {
  const m = /-----BEGIN PRIVATE KEY-----([\s\S]+?)-----END PRIVATE KEY-----/.exec(text);
  if (!m) throw new Error("not a PKCS#8 PEM private key (BEGIN PRIVATE KEY)");
  const der = CL.unb64(m[1].replace(/\s+/g, ""));
  // RFC 8410 Ed25519 PKCS#8: v1, version 0 (the seed only, as caseledger, `openssl genpkey` and
  // Python's cryptography write it) or v2, version 1 (OneAsymmetricKey, the seed and the public key,
  // as caseledger wrote it before). WebCrypto takes version 0: keep the seed.
  const head = CL.unhex("020100300506032b657004220420"), head1 = CL.unhex("020101300506032b657004220420");
  const at = (h, o) => h.every((x, i) => der[o + i] === x);
  if (der[0] !== 0x30 || der[1] >= 0x80 || der[1] + 2 !== der.length || !(at(head, 2) || at(head1, 2)) || der.length < 48) {
    throw new Error("not an Ed25519 PKCS#8 private key");
  }
  return CL.concat(CL.unhex("302e"), head, der.subarray(16, 48));
}

async function signIn(org, keyId, pemText) {
  const der = pemToDer(pemText);
  // Import once extractable to learn the public key, then keep a non-extractable copy only.
  const tmp = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, true, ["sign"]);
  const jwk = await crypto.subtle.exportKey("jwk", tmp);
  const pub = CL.unb64(jwk.x.replace(/-/g, "+").replace(/_/g, "/").padEnd(44, "="));
  const key = await crypto.subtle.importKey("pkcs8", der, { name: "Ed25519" }, false, ["sign"]);
  Object.assign(session, { org, keyId, key, publicHex: CL.hex(pub) });
  // The registry must know this key as org/key_id (a signed request: it also proves access).
  const reg = await registry(true);
  const o = reg.organisations.find((x) => x.id === org);
  if (!o) throw new Error(`${org}: no such organisation in the registry`);
  const k = (o.keys || []).find((x) => x.key_id === keyId);
  if (!k) throw new Error(`${org} has no key ${keyId}`);
  if (k.public_key.bytes !== session.publicHex) throw new Error(`this file is not ${org}'s key ${keyId} (public key ${session.publicHex.slice(0, 16)}…)`);
  return o;
}

let registryCache = null;
/** A node's key valid at `at` (Unix ms): the latest whose window holds it (docs/FORMAT.md §Membership). */
function nodeKeyAt(node, at) {
  for (let i = node.keys.length - 1; i >= 0; i--) {
    const k = node.keys[i];
    if (k.valid_from <= at && (k.valid_until == null || at < k.valid_until) && (k.revoked_at == null || at < k.revoked_at)) return k;
  }
  return null;
}

async function registry(fresh) {
  if (!registryCache || fresh) registryCache = await api("/v1/organisations");
  return registryCache;
}
const orgName = (id) => {
  const o = registryCache && registryCache.organisations.find((x) => x.id === id);
  return o ? (lang === "zh" ? o.name : id) : id;
};
const orgCell = (id) => h("span", { title: id }, orgName(id));

// ---------------------------------------------------------------- charts (inline SVG)
function barChart(items, opts = {}) {
  // items: [{label, values: [n...]}], series colours in opts.colors.
  const colors = opts.colors || ["#1f5fa8"];
  const rowH = 22, labelW = opts.labelW || 170, W = 640, valW = 60;
  const max = Math.max(1e-9, ...items.map((i) => i.values.reduce((a, b) => a + b, 0)));
  const svg = s("svg", { class: "bars", viewBox: `0 0 ${W} ${Math.max(1, items.length) * rowH + 6}`, role: "img", "aria-label": opts.title || "" });
  items.forEach((it, r) => {
    const y = r * rowH + 3;
    svg.append(s("text", { x: labelW - 6, y: y + 14, "text-anchor": "end" }, it.label));
    let x = labelW;
    it.values.forEach((v, k) => {
      const w = (v / max) * (W - labelW - valW);
      if (w > 0) svg.append(s("rect", { x, y: y + 2, width: w, height: rowH - 6, fill: colors[k % colors.length], rx: 2 }, s("title", {}, String(v))));
      x += w;
    });
    const total = it.values.reduce((a, b) => a + b, 0);
    svg.append(s("text", { x: x + 5, y: y + 14 }, opts.fmt ? opts.fmt(total) : String(total)));
  });
  return svg;
}
function columnChart(points, opts = {}) {
  const W = 640, H = 160, pb = 20, pl = 36;
  const max = Math.max(1, ...points.map((p) => p.v));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": opts.title || "" });
  svg.append(s("line", { x1: pl, y1: H - pb, x2: W, y2: H - pb, class: "axis", stroke: "#ccd" }));
  svg.append(s("text", { x: pl - 4, y: 12, "text-anchor": "end" }, String(Math.round(max))));
  const bw = (W - pl) / Math.max(points.length, 1);
  points.forEach((p, i) => {
    const bh = (p.v / max) * (H - pb - 8);
    svg.append(s("rect", { x: pl + i * bw + 1, y: H - pb - bh, width: Math.max(bw - 2, 1), height: bh, fill: "#1f5fa8" }, s("title", {}, `${p.label}: ${p.v.toFixed(1)}`)));
  });
  if (points.length) {
    svg.append(s("text", { x: pl, y: H - 4 }, points[0].label));
    svg.append(s("text", { x: W, y: H - 4, "text-anchor": "end" }, points[points.length - 1].label));
  }
  return svg;
}
const STAGE_COLORS = ["#1f5fa8", "#3a8f5c", "#b86e00", "#7a4ea3", "#b3261e", "#1d8a99", "#8a6d1d", "#50606f"];
// The stage path: stage names in a left column, the bars on a time axis between, and each
// stage's holder and days in a right column of their own, so that no label lands on a bar
// however long the bar is.
function timelineChart(spans, t0, t1) {
  const W = 900, rowH = 30, labelW = 150, infoW = 240, gap = 8;
  const axis0 = labelW, axis1 = W - infoW - gap;
  const svg = s("svg", { id: "case-timeline", viewBox: `0 0 ${W} ${spans.length * rowH + 24}`, role: "img", "aria-label": "stage path" });
  const x = (ms) => axis0 + ((ms - t0) / Math.max(1, t1 - t0)) * (axis1 - axis0);
  spans.forEach((sp, i) => {
    const y = i * rowH + 4;
    svg.append(s("text", { x: labelW - 6, y: y + 17, "text-anchor": "end", class: "stage-label" }, term(sp.stage)));
    const x0 = Math.min(x(sp.since), axis1 - 2), w = Math.max(2, Math.min(x(sp.until), axis1) - x0);
    svg.append(s("rect", { x: x0, y: y + 3, width: w, height: rowH - 10, rx: 3, fill: STAGE_COLORS[i % STAGE_COLORS.length], class: "stage-bar" },
      s("title", {}, `${term(sp.stage)} · ${orgName(sp.holder)} · ${when(sp.since)} → ${sp.open ? t("case.now") : when(sp.until)} · ${days(sp.until - sp.since)} d`)));
    svg.append(s("text", { x: axis1 + gap, y: y + 17, class: "stage-info" }, `${orgName(sp.holder)} · ${days(sp.until - sp.since)} d`));
  });
  const yb = spans.length * rowH + 18;
  svg.append(s("text", { x: axis0, y: yb }, when(t0).slice(0, 10)));
  svg.append(s("text", { x: axis1, y: yb, "text-anchor": "end" }, when(t1).slice(0, 10)));
  return svg;
}

// ---------------------------------------------------------------- pages
const page = () => document.getElementById("page");
let timer = null;

function showError(where, e) {
  where.append(h("p", { class: "error", "data-testid": "error" }, `${t("err")}: ${e.message}`));
}

async function overview() {
  const root = h("div", {});
  page().replaceChildren(root);
  async function draw() {
    const [head, members, cp, act] = await Promise.all([
      api("/v1/head"),
      api("/v1/cluster/members"),
      api("/v1/checkpoints/latest").catch((e) => (e.status === 404 ? null : Promise.reject(e))),
      api("/v1/stats/activity?minutes=60"),
    ]);
    const rate = act.per_minute.map((v, i) => ({ label: when(act.until_ms - (act.minutes - i - 1) * 60000).slice(11), v }));
    const leader = members.members.find((m) => m.leader);
    root.replaceChildren(
      h("div", { class: "kpis" },
        h("div", { class: "kpi" }, h("div", { class: "v", id: "ov-height", "data-testid": "height" }, String(head.size)), h("div", { class: "l" }, t("ov.height"))),
        h("div", { class: "kpi" }, h("div", { class: "v", id: "ov-leader" }, leader ? `node-${leader.node_id}` : "—"), h("div", { class: "l" }, t("ov.leader"))),
        h("div", { class: "kpi" }, h("div", { class: "v", id: "ov-checkpoint-size" }, cp ? String(cp.tree_size) : "—"), h("div", { class: "l" }, t("ov.checkpoint"))),
        h("div", { class: "kpi" }, h("div", { class: "v", id: "ov-rate" }, rate.length ? String(rate[rate.length - 1].v) : "—"), h("div", { class: "l" }, t("ov.rate")))),
      h("div", { class: "grid" },
        h("div", { class: "card" }, h("h2", {}, t("ov.checkpoint")),
          cp ? table([t("ov.index"), t("ov.size"), t("ov.time"), t("ov.cosigners")], [[
            h("a", { href: `#/entry/${cp.index}` }, String(cp.index)), String(cp.tree_size), when(cp.time_ms),
            h("span", { id: "ov-cosigners" }, cp.signers.join(", "))]])
            : h("p", { class: "muted", id: "ov-no-checkpoint" }, t("ov.none")),
          cp ? h("p", { class: "mono muted" }, `${t("ov.root")}: ${cp.root}`) : null),
        h("div", { class: "card" }, h("h2", {}, t("ov.rate")), columnChart(rate, { title: t("ov.rate") }), h("p", { class: "muted" }, t("ov.rate.help")))),
      h("div", { class: "card" }, h("h2", {}, t("ov.members")),
        table([t("ov.node"), t("ov.role"), "API", t("ov.health"), { label: t("ov.applied"), num: true }, t("ov.leader")],
          members.members.map((m) => [
            `node-${m.node_id}`, t(m.role === "voter" ? "ov.voter" : "ov.learner"), h("span", { class: "mono" }, m.api_addr),
            h("span", { class: "badge " + (m.ready ? "ok" : m.reachable ? "warn" : "bad"), title: m.detail || "" }, t(m.ready ? "ov.ready" : m.reachable ? "ov.notready" : "ov.down")),
            m.ledger_size == null ? "—" : String(m.ledger_size), m.leader ? "★" : ""]),
          (i) => ({ class: "member-row", "data-node": members.members[i].node_id }))));
  }
  try { await draw(); } catch (e) { showError(root, e); }
  timer = setInterval(() => draw().catch((e) => showError(root, e)), 5000);
}

function documentsOf(entry) {
  const found = [];
  (function walk(v) {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      if (Array.isArray(v.documents)) found.push(...v.documents);
      if (v.efile_manifest && v.efile_manifest.bytes) found.push({ doc_type: "EFILE_MANIFEST", digest: v.efile_manifest });
      for (const [k, x] of Object.entries(v)) if (k !== "documents") walk(x);
    }
  })(entry && entry.body && entry.body.record);
  return found;
}

async function casePage(id) {
  const input = h("input", { id: "case-id", value: id || "", placeholder: "LZ-1-000001", size: 22 });
  const out = h("div", { id: "case-out" });
  const form = h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); location.hash = `#/case/${encodeURIComponent(input.value.trim())}`; } },
    h("label", {}, t("case.search"), " ", input), h("button", { type: "submit", id: "case-go" }, t("case.go")));
  page().replaceChildren(h("div", { class: "card" }, form), out);
  if (!id) return;
  let v;
  try { v = await api(`/v1/cases/${encodeURIComponent(id)}`); } catch (e) {
    out.append(h("p", { class: "error", "data-testid": "error" }, e.status === 404 ? `${t("case.notfound")}: ${id}` : `${t("err")}: ${e.message}`));
    return;
  }
  await registry();
  const c = v.case;
  const now = Date.now();
  const hist = c.history || [];
  const spans = hist.map((x, i) => {
    const next = hist[i + 1];
    const until = next ? next.since : c.closed_at != null ? c.closed_at : Math.max(now, x.since);
    return { stage: x.stage, holder: x.holder, since: x.since, until, open: !next && c.closed_at == null, index: x.index };
  });
  const t0 = spans.length ? spans[0].since : now, t1 = spans.length ? spans[spans.length - 1].until : now;
  // The documents travel in the handoff entries: read each handoff's entry for its digests.
  const docs = await Promise.all(v.handoffs.slice(0, 100).map((x) => api(`/v1/entries/${x.index}`).then((e) => documentsOf(e.entry)).catch(() => [])));
  const lateCell = (x) => x.late === true ? h("span", { class: "badge bad" }, t("case.yes"))
    : x.late === false ? h("span", { class: "badge ok" }, t("case.no"))
      : x.open && x.due_at != null && x.due_at < now ? h("span", { class: "badge bad" }, t("case.yes") + " · " + t("case.open"))
        : x.open ? h("span", { class: "badge warn" }, t("case.open")) : "—";
  out.append(
    h("div", { class: "card" }, h("h1", { id: "case-title" }, c.case_id),
      table([t("case.type"), t("case.procedure"), t("case.stage"), t("case.holder")],
        [[term(c.case_type), term(c.procedure || (v.handoffs[0] && v.handoffs[0].procedure)), h("span", { id: "case-stage", "data-stage": String(v.stage) }, term(v.stage)), orgCell(v.holder)]])),
    h("div", { class: "card" }, h("h2", {}, t("case.path")), timelineChart(spans, t0, t1),
      table([t("case.stage"), t("case.holder"), t("case.since"), t("case.until"), { label: t("case.days"), num: true }],
        spans.map((sp) => [term(sp.stage), orgCell(sp.holder), when(sp.since), sp.open ? t("case.now") : when(sp.until), days(sp.until - sp.since)]),
        (i) => ({ class: "stage-row", "data-stage": spans[i].stage, "data-holder": spans[i].holder }))),
    h("div", { class: "card" }, h("h2", {}, t("case.handoffs")),
      table([t("case.kind"), t("case.sender"), t("case.receiver"), t("case.sent"), t("case.received"), t("case.accepted"), t("case.due"), t("case.late"), t("case.docs")],
        v.handoffs.map((x, i) => [
          h("a", { href: `#/entry/${x.index}`, title: x.id }, term(x.kind)), orgCell(x.sender), orgCell(x.receiver), when(x.sent_at),
          when(x.received_at), x.returned_at != null ? h("span", { class: "badge warn" }, term("RETURNED_FOR_COMPLETION") + " " + when(x.returned_at)) : when(x.accepted_at),
          when(x.due_at), lateCell(x),
          h("div", {}, (docs[i] || []).map((d) => h("div", { class: "mono", title: d.number || "" }, `${d.doc_type}: ${d.digest ? d.digest.bytes : "—"}`)))]),
        (i) => ({ class: "handoff-row", "data-handoff": v.handoffs[i].id }))),
    ...(v.alerts.length ? [h("div", { class: "card" }, h("h2", {}, t("case.alerts")), h("ul", {}, v.alerts.map((a) => h("li", {}, alertText(a)))))] : []));
}

function alertKind(a) { return Object.keys(a.kind || {})[0] || "?"; }
function alertText(a) {
  const k = alertKind(a), d = a.kind[k] || {};
  return `${term(k)} · ${d.clock && d.clock.handoff ? d.clock.handoff : ""} · ${orgName(a.responsible)} · ${t("dash.dueat")} ${when(d.due_at)}`;
}

async function dashboard(params) {
  await registry();
  const out = h("div", {});
  page().replaceChildren(out);
  let d;
  try { d = await api("/v1/supervision/dashboard" + q({ case_type: params.type, city: params.city, now: params.now })); } catch (e) { showError(out, e); return; }
  const sel = (id, values, cur, label) => h("select", { id }, h("option", { value: "" }, t("dash.all")),
    values.map((v) => h("option", { value: v, selected: v === cur ? "selected" : null }, label(v))));
  const typeSel = sel("dash-type", d.case_types, params.type, term), citySel = sel("dash-city", d.cities, params.city, term);
  const asOf = h("input", { id: "dash-now", type: "date", value: params.now ? when(Number(params.now)).slice(0, 10) : "" });
  const form = h("form", { class: "row", onsubmit: (e) => {
    e.preventDefault();
    const nowMs = asOf.value ? String(Date.parse(asOf.value + "T23:59:59+08:00")) : "";
    location.hash = "#/dashboard" + q({ type: typeSel.value, city: citySel.value, now: nowMs });
  } }, h("label", {}, t("dash.type"), " ", typeSel), h("label", {}, t("dash.city"), " ", citySel), h("label", {}, t("dash.asof"), " ", asOf),
    h("button", { type: "submit", id: "dash-go" }, t("dash.apply")));
  const sm = d.summary;
  const kpi = (v, l, cls, id) => h("div", { class: "kpi " + (cls || "") }, h("div", { class: "v", id }, String(v)), h("div", { class: "l" }, l));
  // Overdue and due soon by responsible department.
  const byDept = {};
  for (const a of d.alerts) {
    const k = alertKind(a);
    if (k !== "overdue" && k !== "due_soon") continue;
    const r = (byDept[a.responsible] ||= { overdue: 0, due_soon: 0 });
    r[k] += 1;
  }
  const deptItems = Object.entries(byDept).sort((a, b) => b[1].overdue - a[1].overdue || b[1].due_soon - a[1].due_soon)
    .map(([org, c]) => ({ label: orgName(org), values: [c.overdue, c.due_soon] }));
  const alerts = d.alerts.filter((a) => ["overdue", "due_soon", "missing_custody_transfer"].includes(alertKind(a)))
    .sort((a, b) => (alertKind(a) === "overdue" ? 0 : 1) - (alertKind(b) === "overdue" ? 0 : 1) || (a.kind[alertKind(a)].due_at || 0) - (b.kind[alertKind(b)].due_at || 0));
  const stages = Object.entries(sm.mean_days_per_stage || {}).map(([st, v]) => ({ label: term(st), values: [v] }));
  const months = d.monthly.map((m) => m.month);
  const month = params.month && months.includes(params.month) ? params.month : months[months.length - 1];
  const ranking = (d.monthly.find((m) => m.month === month) || { departments: [] }).departments;
  const monthSel = h("select", { id: "dash-month", onchange: (e) => { location.hash = "#/dashboard" + q({ ...params, month: e.target.value }); } },
    months.map((m) => h("option", { value: m, selected: m === month ? "selected" : null }, m)));
  out.append(
    h("div", { class: "card" }, form, h("p", { class: "muted" }, `${t("dash.asof")} ${when(d.now)}`)),
    h("div", { class: "kpis" },
      kpi(sm.overdue, t("dash.overdue"), "bad", "dash-overdue"), kpi(sm.due_soon, t("dash.duesoon"), "warn", "dash-duesoon"),
      kpi(sm.returns_for_completion, t("dash.rfc"), "", "dash-rfc"), kpi(sm.supplementary_returns, t("dash.sir"), "", "dash-sir"),
      kpi(sm.late_responses, t("dash.late"), "", "dash-late"), kpi(sm.cases, t("dash.cases"), "", "dash-cases")),
    h("div", { class: "grid" },
      h("div", { class: "card" }, h("h2", {}, t("dash.bydept")),
        deptItems.length ? barChart(deptItems, { colors: ["#b3261e", "#e0a030"], title: t("dash.bydept") }) : h("p", { class: "muted" }, t("dash.none")),
        h("p", { class: "muted" }, h("span", { class: "badge bad" }, t("dash.overdue")), " ", h("span", { class: "badge warn" }, t("dash.duesoon")))),
      h("div", { class: "card" }, h("h2", {}, t("dash.mean")),
        stages.length ? barChart(stages, { fmt: (v) => v.toFixed(1) + " " + t("dash.byday"), title: t("dash.mean") }) : h("p", { class: "muted" }, t("dash.none")))),
    h("div", { class: "card" }, h("h2", {}, t("dash.alerts")),
      alerts.length ? table([t("dash.kind"), t("dash.handoff"), t("dash.case"), t("dash.responsible"), t("dash.dueat")],
        alerts.map((a) => {
          const k = alertKind(a), x = a.kind[k] || {};
          return [h("span", { class: "badge " + (k === "overdue" ? "bad" : "warn") }, term(k)), h("span", { class: "mono" }, (x.clock && x.clock.handoff) || x.handoff || "—"),
            h("a", { href: `#/case/${encodeURIComponent(a.case_id)}` }, a.case_id), orgCell(a.responsible), when(x.due_at)];
        }),
        (i) => {
          const k = alertKind(alerts[i]), x = alerts[i].kind[k] || {};
          return { class: k === "overdue" ? "overdue-row" : k === "due_soon" ? "duesoon-row" : "alert-row", "data-handoff": (x.clock && x.clock.handoff) || "", "data-case": alerts[i].case_id };
        }) : h("p", { class: "muted" }, t("dash.none"))),
    h("div", { class: "card" }, h("div", { class: "row" }, h("h2", {}, t("dash.rank")), h("label", {}, t("dash.month"), " ", monthSel)),
      ranking.length ? barChart(ranking.map((r) => ({ label: `${r.rank}. ${orgName(r.org)}`, values: [r.on_time_rate * 100] })), { fmt: (v) => v.toFixed(0) + "%", title: t("dash.rank"), labelW: 220 }) : null,
      table([{ label: t("dash.rankn"), num: true }, t("dash.dept"), { label: t("dash.ontime"), num: true }, { label: t("dash.answered"), num: true }, { label: t("dash.late"), num: true },
        { label: t("dash.rfc"), num: true }, { label: t("dash.sir"), num: true }, { label: t("dash.sentn"), num: true }, { label: t("dash.receivedn"), num: true }],
        ranking.map((r) => [String(r.rank), orgCell(r.org), (r.on_time_rate * 100).toFixed(0) + "%", String(r.answered), String(r.late), String(r.returned_for_completion), String(r.supplementary_returns), String(r.sent), String(r.received)]),
        (i) => ({ class: "rank-row", "data-org": ranking[i].org }))));
}

async function entryPage(index) {
  const input = h("input", { id: "entry-index", value: index ?? "", size: 10, inputmode: "numeric" });
  const out = h("div", { id: "entry-out" });
  page().replaceChildren(h("div", { class: "card" }, h("form", { class: "row", onsubmit: (e) => { e.preventDefault(); location.hash = `#/entry/${input.value.trim()}`; } },
    h("label", {}, t("entry.index"), " ", input), h("button", { type: "submit", id: "entry-go" }, t("entry.go")))), out);
  if (index == null || index === "") return;
  let v, reg;
  try { [v, reg] = await Promise.all([api(`/v1/entries/${encodeURIComponent(index)}`), registry()]); } catch (e) { showError(out, e); return; }
  const rec = v.entry.body.record;
  const sub = rec.accepted || (rec.rejected && rec.rejected.submission);
  const signer = sub.payload.signer;
  let signerText, pubHex;
  if (signer.org) {
    signerText = `${signer.org.org} / ${signer.org.key_id}`;
    const o = reg.organisations.find((x) => x.id === signer.org.org);
    const k = o && o.keys.find((x) => x.key_id === signer.org.key_id);
    pubHex = k && k.public_key.bytes;
  } else if (signer.node != null) {
    signerText = `node-${signer.node}`;
    const n = reg.nodes.find((x) => x.node_id === signer.node);
    const k = n && nodeKeyAt(n, v.entry.body.accepted_at);
    pubHex = k && k.signing_key.bytes;
  } else {
    signerText = JSON.stringify(signer);
  }
  const kind = Object.keys(sub.payload.action || {})[0];
  const verdict = h("div", { class: "verdict pending", id: "verify-result", "data-status": "running" }, "…");
  const steps = h("ol", { class: "steps", id: "verify-steps" });
  out.append(
    h("div", { class: "card" }, h("h1", {}, `#${v.index}`),
      table(["", ""], [
        [t("entry.kind"), kind + (rec.rejected ? ` — ${t("entry.rejected")}: ${rec.rejected.rule}` : "")],
        [t("entry.time"), when(v.entry.body.accepted_at)],
        [t("entry.hash"), h("span", { class: "mono", id: "entry-hash" }, v.hash)],
        [t("entry.signer"), signerText],
        [t("entry.key"), h("span", { class: "mono", id: "entry-key" }, pubHex ? `ed25519:${pubHex}` : "—")],
        [t("entry.sig"), h("span", { class: "mono" }, sub.signature.bytes)],
      ])),
    h("div", { class: "card" }, h("h2", {}, `${t("entry.verify")} (${t("entry.against")})`), verdict, steps),
    h("div", { class: "card" }, h("h2", {}, t("entry.raw")), h("pre", { class: "mono", id: "entry-raw" }, v.canonical_hex)),
    h("div", { class: "card" }, h("h2", {}, t("entry.decoded")), h("pre", {}, JSON.stringify(v.entry, null, 2))));
  const shown = CL.unhex(v.canonical_hex);
  // Each step: {step, ok, finding: {key, args}} (verify.js), worded in the page's language.
  const stepName = (x) => (x.step === "signature" ? t("entry.sigstep") : t("verify." + x.step));
  const show = (list) => steps.replaceChildren(...list.map((x) => h("li", { class: x.ok ? "ok" : "fail", "data-step": x.step }, `${x.ok ? "✓" : "✗"} ${stepName(x)}${t("sep")}${finding(x.finding)}`)));
  const fail = (list) => {
    const bad = list.find((x) => !x.ok);
    verdict.className = "verdict failed"; verdict.dataset.status = "failed";
    verdict.textContent = `✗ ${t("entry.failed")}${t("sep")}${stepName(bad)}${t("sep")}${finding(bad.finding)}`;
  };
  const list = [];
  // The submission's signature, over the payload bytes as they appear in the entry.
  if (pubHex) {
    let why;
    try { why = await CL.verifySubmission(shown, CL.unhex(sub.signature.bytes), CL.unhex(pubHex)); } catch (e) { why = CL.finding(e); }
    list.push({ step: "signature", ok: !why, finding: why || { key: "ok.signature", args: { signer: signerText } } });
  } else {
    list.push({ step: "signature", ok: false, finding: { key: "sig.nokey", args: { signer: signerText } } });
  }
  let receipt;
  try { receipt = await api(`/v1/proofs/cosigned?index=${encodeURIComponent(index)}`, true); } catch (e) {
    show(list);
    if (e.status === 404) { verdict.className = "verdict pending"; verdict.dataset.status = "pending"; verdict.textContent = t("entry.pending"); } else { list.push({ step: "receipt", ok: false, finding: CL.finding(e) }); show(list); fail(list); }
    return;
  }
  // The cosigners: every node with a key in force (docs/FORMAT.md §Membership), with that key.
  const nodes = reg.nodes
    .map((n) => ({ n, k: n.keys[n.keys.length - 1] }))
    .filter(({ k }) => k && k.valid_until == null && k.revoked_at == null)
    .map(({ n, k }) => ({ name: `node-${n.node_id}`, pub: CL.unhex(k.signing_key.bytes) }));
  const quorum = Math.floor(nodes.length / 2) + 1;
  list.push(...await CL.verifyReceipt(receipt, shown, nodes, quorum));
  show(list);
  if (list.every((x) => x.ok)) {
    verdict.className = "verdict verified"; verdict.dataset.status = "verified";
    verdict.textContent = `✓ ${t("entry.verified")}`;
  } else fail(list);
}

// ---------------------------------------------------------------- shell: sign-in, routing, language
function applyLabels() {
  document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
  for (const e of document.querySelectorAll("[data-t]")) e.textContent = t(e.dataset.t);
  document.getElementById("lang").textContent = lang === "zh" ? "English" : "中文";
  document.getElementById("wall").textContent = document.body.classList.contains("wall") ? t("wall.off") : t("wall");
}

async function route() {
  if (timer) { clearInterval(timer); timer = null; }
  if (!session.key) return;
  const [path, query] = (location.hash.replace(/^#/, "") || "/overview").split("?");
  const parts = path.split("/").filter(Boolean);
  const params = Object.fromEntries(new URLSearchParams(query || ""));
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", a.dataset.page === (parts[0] || "overview"));
  document.body.dataset.page = parts[0] || "overview";
  document.body.dataset.ready = "loading";
  try {
    if (parts[0] === "case") await casePage(parts[1] ? decodeURIComponent(parts[1]) : "");
    else if (parts[0] === "dashboard") await dashboard(params);
    else if (parts[0] === "entry") await entryPage(parts[1]);
    else await overview();
  } catch (e) { showError(page(), e); }
  document.body.dataset.ready = "done";
}

function signedInUi(o) {
  document.getElementById("signin-panel").hidden = true;
  document.getElementById("page").hidden = false;
  document.getElementById("signout").hidden = false;
  document.getElementById("who").textContent = `${o.name} (${session.org}/${session.keyId})`;
}

document.addEventListener("DOMContentLoaded", () => {
  if (localStorage.getItem("caseledger.wall") === "1") document.body.classList.add("wall");
  applyLabels();
  document.getElementById("lang").addEventListener("click", () => {
    lang = lang === "zh" ? "en" : "zh";
    localStorage.setItem("caseledger.lang", lang);
    applyLabels();
    route();
  });
  document.getElementById("wall").addEventListener("click", () => {
    document.body.classList.toggle("wall");
    localStorage.setItem("caseledger.wall", document.body.classList.contains("wall") ? "1" : "0");
    applyLabels();
  });
  document.getElementById("signout").addEventListener("click", () => location.reload());
  const last = JSON.parse(localStorage.getItem("caseledger.who") || "{}");
  if (last.org) document.getElementById("org").value = last.org;
  if (last.keyId) document.getElementById("keyid").value = last.keyId;
  document.getElementById("signin-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const status = document.getElementById("signin-status");
    const file = document.getElementById("keyfile").files[0];
    if (!file) { status.textContent = t("signin.nokey"); return; }
    status.className = ""; status.textContent = t("signin.busy");
    const org = document.getElementById("org").value.trim(), keyId = document.getElementById("keyid").value.trim();
    try {
      const o = await signIn(org, keyId, await file.text());
      localStorage.setItem("caseledger.who", JSON.stringify({ org, keyId }));
      status.textContent = "";
      signedInUi(o);
      route();
    } catch (err) {
      Object.assign(session, { org: null, keyId: null, key: null, publicHex: null });
      status.className = "error"; status.textContent = `${t("err")}: ${err instanceof CL.Failure ? finding(err) : err.message || err.name || err}`;
    }
  });
  window.addEventListener("hashchange", route);
});
