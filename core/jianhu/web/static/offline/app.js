/* The offline app (jianhu.web.offline; handbook 离线采集).

   A record saved here gets its id at once (crypto.randomUUID) and waits in IndexedDB ("outbox")
   until it is sent with that id as its Idempotency-Key: sent twice, it is one record. It leaves
   the outbox only when the server has answered for it (recorded, or held as a conflict for a
   supervisor); a refused record stays, marked, with the server's reasons, to be corrected. The
   copy of the worker's cases ("cache") is encrypted with a key the browser will not export,
   where the browser can, and is cleared on sign-out; the outbox is kept across sign-out. */
(function () {
  "use strict";
  const app = document.getElementById("offline-app");
  if (!app || !window.idb) return;
  const ME = app.dataset.user;
  const DAYS = Number(app.dataset.offlineDays || 7);
  const TODAY_FIELDS = JSON.parse(app.dataset.todayFields || "{}");
  const $ = (id) => document.getElementById(id);
  const LEVELS = { red: "红色", orange: "橙色", yellow: "黄色", green: "绿色" };
  const STATES = { waiting: "待上传", refused: "被退回，请修改后再上传", sending: "正在上传" };
  let db, bundle = null, csrf = null, online = false, syncing = false, again = false;

  // ------------------------------------------------------------------ storage
  async function openDb() {
    return idb.openDB("jianhu-offline", 1, { upgrade(d) {
      d.createObjectStore("outbox", { keyPath: "id" });
      d.createObjectStore("cache");
      d.createObjectStore("meta");
    } });
  }
  const subtle = window.crypto && window.crypto.subtle;

  async function key(name) {
    if (!subtle) return null;
    let k = await db.get("meta", name);
    if (!k) {
      k = await subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
      await db.put("meta", k, name);
    }
    return k;
  }
  async function seal(value, keyName) {
    const k = await key(keyName);
    const text = new TextEncoder().encode(JSON.stringify(value));
    if (!k) return { plain: JSON.stringify(value) };
    const iv = crypto.getRandomValues(new Uint8Array(12));
    return { iv, data: await subtle.encrypt({ name: "AES-GCM", iv }, k, text) };
  }
  async function open_(box, keyName) {
    if (box.plain !== undefined) return JSON.parse(box.plain);
    const k = await key(keyName);
    const text = await subtle.decrypt({ name: "AES-GCM", iv: box.iv }, k, box.data);
    return JSON.parse(new TextDecoder().decode(text));
  }
  const newId = () => (crypto.randomUUID ? crypto.randomUUID() :
    "10000000-1000-4000-8000-100000000000".replace(/[018]/g, (c) =>
      (c ^ (crypto.getRandomValues(new Uint8Array(1))[0] & (15 >> (c / 4)))).toString(16)));

  // ------------------------------------------------------------------ messages
  function say(text) {
    const m = $("message");
    m.textContent = text;
    m.hidden = !text;
  }
  const when = (iso) => new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", hour12: false });

  // ------------------------------------------------------------------ session and cases
  async function connect() {
    try {
      const r = await fetch("/api/session", { credentials: "same-origin", cache: "no-store" });
      if (r.status === 401) {
        online = true;
        await signedOut();
        return;
      }
      if (!r.ok) throw new Error(String(r.status));
      const info = await r.json();
      online = true;
      csrf = info.csrf_token;
      const until = new Date(Date.now() + DAYS * 86400000).toISOString();
      await db.put("meta", { code: info.user.code, name: info.user.name, until }, "session");
      const b = await fetch("/api/offline/bundle", { credentials: "same-origin", cache: "no-store" });
      if (b.ok) {
        bundle = await b.json();
        await db.put("cache", await seal(bundle, "cacheKey"), "bundle");
      }
    } catch (err) {
      online = false;
      const box = await db.get("cache", "bundle");
      if (box) {
        try { bundle = await open_(box, "cacheKey"); } catch (e) { bundle = null; }
      }
    }
  }

  async function signedOut() {
    bundle = null;
    csrf = null;
    await db.clear("cache");
    await db.delete("meta", "cacheKey");
    await db.delete("meta", "session");
  }

  async function session() {
    return db.get("meta", "session");
  }

  async function locked() {
    const s = await session();
    return !s || s.code !== ME || new Date(s.until) < new Date();
  }

  async function showStatus() {
    const s = await session();
    $("net").textContent = online ? "已联网" : "没有网络：记录保存在本机，联网后上传";
    $("net").className = "net " + (online ? "on" : "off");
    $("offline-until").textContent = s && s.code === ME
      ? `离线可用至 ${when(s.until)}（之后须联网登录）` : "请联网登录后使用离线采集";
    const all = await db.getAll("outbox");
    const mine = all.filter((r) => r.by === ME);
    $("waiting-count").textContent = String(mine.length);
    const others = all.length - mine.length;
    $("waiting-others").textContent = others ? `另有 ${others} 条由其他人员采集，待其本人登录后上传` : "";
    const last = await db.get("meta", "lastSync");
    $("last-sync").textContent = last ? `上次上传：${when(last)}` : "";
    renderOutbox(all);
    renderCases();
  }

  function renderCases() {
    const list = $("cases");
    list.textContent = "";
    if (!bundle) {
      $("cases-note").textContent = online ? "没有可查看的个案。" : "本机没有个案副本：请联网后打开本页。";
      return;
    }
    $("cases-note").textContent = `共 ${bundle.cases.length} 个，取得于 ${when(bundle.issued_at)}。`;
    const due = {};
    for (const d of bundle.due) (due[d.case_no] = due[d.case_no] || []).push(d);
    for (const c of bundle.cases) {
      const li = document.createElement("li");
      li.className = "task" + ((due[c.case_no] || []).some((d) => d.overdue) ? " overdue" : "");
      li.dataset.case = c.case_no;
      const head = document.createElement("div");
      head.className = "task-head";
      head.textContent = `${c.case_no} · ${c.village} · ${LEVELS[c.level] || "未评估"}`;
      li.append(head);
      if (c.name) {
        const who = document.createElement("div");
        who.className = "task-who task-child";
        who.textContent = c.name;
        li.append(who);
      }
      for (const d of due[c.case_no] || []) {
        const p = document.createElement("p");
        p.className = "task-due";
        p.textContent = `${d.overdue ? "已逾期" : "到期"}：${d.label}（${d.due_on}）`;
        li.append(p);
      }
      const foot = document.createElement("div");
      foot.className = "task-foot";
      for (const f of c.forms) {
        if (!document.getElementById("form-" + f)) continue;
        foot.append(button(titleOf(f), () => edit({ form_id: f, case_no: c.case_no })));
      }
      if (c.child_version && document.getElementById("form-screening")) {
        foot.append(button("重新调查", () => edit({ form_id: "screening", based_on: c.child_version,
          prefill: { "child.name": c.name, "residence.village": c.village } })));
      }
      li.append(foot);
      list.append(li);
    }
  }

  function button(text, action, cls) {
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = text;
    if (cls) b.className = cls;
    b.addEventListener("click", action);
    return b;
  }
  const titleOf = (formId) => {
    const t = document.getElementById("form-" + formId);
    return t ? t.dataset.title : formId;
  };

  function renderOutbox(all) {
    const list = $("outbox");
    list.textContent = "";
    $("outbox-empty").hidden = all.length > 0;
    for (const r of all.sort((a, b) => a.saved_at.localeCompare(b.saved_at))) {
      const li = document.createElement("li");
      li.className = "task" + (r.state === "refused" ? " overdue" : "");
      li.dataset.record = r.id;
      li.dataset.state = r.state;
      const head = document.createElement("div");
      head.className = "task-head";
      head.textContent = `${titleOf(r.form_id)}${r.case_no ? " · " + r.case_no : ""} · 保存于 ${when(r.saved_at)}`;
      li.append(head);
      const st = document.createElement("p");
      st.className = "task-due";
      st.textContent = r.by === ME ? (STATES[r.state] || r.state) + (r.note ? `（${r.note}）` : "")
        : `由 ${r.by} 采集，待其本人登录后上传`;
      li.append(st);
      for (const p of r.problems || []) {
        const e = document.createElement("p");
        e.className = "error";
        e.textContent = p.field ? `「${p.field}」${p.message}` : p.message;
        li.append(e);
      }
      if (r.by === ME) {
        const foot = document.createElement("div");
        foot.className = "task-foot";
        foot.append(button("修改", () => reopen(r.id)));
        foot.append(button("删除", () => discard(r.id), "secondary"));
        li.append(foot);
      }
      list.append(li);
    }
  }

  // ------------------------------------------------------------------ forms
  let editing = null;

  async function edit(target, doc) {
    if (await locked()) {
      say("离线期限已过或尚未登录：请联网登录后再登记（已保存的记录不会丢失）。");
      return;
    }
    const tpl = document.getElementById("form-" + target.form_id);
    editing = target;
    const form = $("editor-form");
    form.textContent = "";
    form.append(tpl.content.cloneNode(true));
    form.dataset.requiredGroups = tpl.dataset.requiredGroups;
    $("editor-title").textContent = tpl.dataset.title + (target.case_no ? ` · 个案 ${target.case_no}` : "");
    $("editor-errors").hidden = true;
    if (doc) fill(form, doc);
    else {
      const today = new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
      const f = TODAY_FIELDS[target.form_id];
      if (f && form.elements[f]) form.elements[f].value = today;
      for (const [name, value] of Object.entries(target.prefill || {})) {
        if (form.elements[name] && value) form.elements[name].value = value;
      }
    }
    $("editor").hidden = false;
    $("editor").scrollIntoView();
  }

  function fill(form, doc) {
    for (const el of form.querySelectorAll("[data-field]")) {
      const [group, name] = el.dataset.field.split(".");
      const value = (doc[group] || {})[name];
      if (value === undefined || value === null) continue;
      const control = el.dataset.control;
      if (control === "checkboxes") {
        for (const box of el.querySelectorAll("input[type=checkbox]")) box.checked = value.map(String).includes(box.value);
        continue;
      }
      const input = el.querySelector("input, select, textarea");
      if (control === "lines") input.value = value.join("\n");
      else if (control === "datetime") input.value = String(value).slice(0, 16);
      else input.value = String(value);
    }
  }

  /* The inputs as a form document: the same reading as the server's (jianhu.web.forms):
     empty inputs are left out, an optional group with nothing filled in is left out. */
  function read(form) {
    const doc = {}, problems = [];
    const required = JSON.parse(form.dataset.requiredGroups || "[]");
    const filled = {};
    for (const el of form.querySelectorAll("[data-field]")) {
      const [group, name] = el.dataset.field.split(".");
      const control = el.dataset.control, type = el.dataset.type;
      let value = null;
      if (control === "checkboxes") {
        const chosen = [...el.querySelectorAll("input:checked")].map((i) => cast(i.value, type));
        value = chosen.length ? chosen : null;
      } else {
        const input = el.querySelector("input, select, textarea");
        let text = input.value.trim();
        if (text) {
          if (control === "lines") value = text.split("\n").map((s) => s.trim()).filter(Boolean);
          else if (control === "datetime") value = (text.length === 16 ? text + ":00" : text) + "+08:00";
          else if (input.hasAttribute("pattern")) value = text.normalize("NFKC");
          else value = cast(text, type);
          if (typeof value === "number" && Number.isNaN(value)) {
            problems.push([el, type === "integer" ? "应为整数" : "应为数字"]);
            value = null;
          } else if (!input.validity.valid) {
            const v = input.validity;
            problems.push([el, v.patternMismatch ? "格式不对" : v.rangeOverflow ? `不能大于 ${input.max}`
              : v.rangeUnderflow ? `不能小于 ${input.min}` : v.tooLong ? `最多 ${input.maxLength} 个字` : "填写有误"]);
          }
        }
      }
      doc[group] = doc[group] || {};
      if (value !== null) {
        doc[group][name] = value;
        filled[group] = true;
      }
    }
    for (const group of Object.keys(doc)) {
      if (!filled[group] && !required.includes(group)) delete doc[group];
    }
    for (const el of form.querySelectorAll("[data-field][data-required]")) {
      const [group, name] = el.dataset.field.split(".");
      if (doc[group] && doc[group][name] === undefined) problems.push([el, "必填"]);
    }
    return { doc, problems };
  }

  function cast(text, type) {
    if (type === "integer") return /^-?\d+$/.test(text) ? parseInt(text, 10) : NaN;
    if (type === "number") return text === "" || isNaN(Number(text)) ? NaN : Number(text);
    if (type === "boolean") return text === "true";
    return text;
  }

  function showProblems(form, problems) {
    for (const el of form.querySelectorAll(".field-error")) el.remove();
    for (const el of form.querySelectorAll(".has-error")) el.classList.remove("has-error");
    const box = $("editor-errors");
    box.textContent = "";
    if (!problems.length) {
      box.hidden = true;
      return;
    }
    const p = document.createElement("p");
    p.textContent = "未保存：请改正下列问题。";
    const ul = document.createElement("ul");
    for (const [el, message] of problems) {
      const label = el ? el.dataset.column : ""; // 父亲状况, not 状况 twice
      const li = document.createElement("li");
      li.textContent = label ? `${label}：${message}` : message;
      ul.append(li);
      if (el) {
        el.classList.add("has-error");
        const e = document.createElement("p");
        e.className = "error field-error";
        e.textContent = message;
        el.append(e);
      }
    }
    box.append(p, ul);
    box.hidden = false;
    box.scrollIntoView();
  }

  async function save(event) {
    event.preventDefault();
    const form = $("editor-form");
    const { doc, problems } = read(form);
    if (problems.length) {
      showProblems(form, problems);
      return;
    }
    const id = editing.id || newId();
    const prior = editing.id ? await db.get("outbox", id) : null;
    await db.put("outbox", {
      id, form_id: editing.form_id, case_no: editing.case_no || null,
      based_on: editing.based_on || null, by: ME,
      saved_at: prior ? prior.saved_at : new Date().toISOString(), state: "waiting", problems: [],
      box: await seal(doc, "outboxKey"),
    });
    $("editor").hidden = true;
    editing = null;
    say("已保存在本机。");
    await askPersistence();
    await showStatus();
    sync();
  }

  async function reopen(id) {
    const r = await db.get("outbox", id);
    if (!r) return;
    const doc = await open_(r.box, "outboxKey");
    await edit({ id: r.id, form_id: r.form_id, case_no: r.case_no, based_on: r.based_on }, doc);
    const form = $("editor-form");
    const byColumn = {};
    for (const el of form.querySelectorAll("[data-field]")) byColumn[el.dataset.column] = el;
    showProblems(form, (r.problems || []).map((p) => [byColumn[p.field] || null, p.message]));
  }

  async function discard(id) {
    if (!window.confirm("删除后这条记录不会上传，也无法找回。确定删除？")) return;
    await db.delete("outbox", id);
    await showStatus();
  }

  // ------------------------------------------------------------------ upload
  function post(r, doc) {
    const url = r.form_id === "screening"
      ? "/api/surveys" + (r.based_on ? `?based_on=${r.based_on}` : "")
      : `/api/cases/${encodeURIComponent(r.case_no)}/records/${encodeURIComponent(r.form_id)}`;
    return fetch(url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Idempotency-Key": r.id, "X-CSRF-Token": csrf || "" },
      body: JSON.stringify(doc) });
  }

  /* Send the signed-in worker's waiting records, one at a time, each with its id as the key.
     A record leaves the outbox only on the server's answer for it; with no connection, an
     expired sign-in or a server error it waits for the next try. */
  async function sync() {
    if (syncing) {
      again = true;
      return;
    }
    syncing = true;
    try {
      if (!csrf) await connect();
      if (!csrf) return;
      const mine = (await db.getAll("outbox")).filter((r) => r.by === ME && r.state === "waiting");
      let reached = true, serverTrouble = 0;
      for (const r of mine) {
        const doc = await open_(r.box, "outboxKey");
        let answer;
        try {
          answer = await post(r, doc);
          if (answer.status === 403 && (await answer.clone().json().catch(() => ({}))).problems === undefined) {
            await connect(); // an anti-forgery token gone stale: fetch a new one, try once more
            answer = await post(r, doc);
          }
        } catch (err) {
          online = false;
          reached = false;
          break; // no connection: the records wait
        }
        online = true; // the server answered
        if (answer.status === 401) {
          csrf = null;
          reached = false;
          say("登录已过期：请联网登录后再上传（记录仍在本机）。");
          break;
        }
        const body = await answer.json().catch(() => ({}));
        if (answer.status >= 500 || (answer.status === 403 && body.problems === undefined)) {
          // the server's trouble, not the record's: it waits, and the others are still sent
          serverTrouble += 1;
          r.note = "服务器暂时出错，稍后自动重试";
          await db.put("outbox", r);
          continue;
        }
        if (answer.status < 300) {
          await db.delete("outbox", r.id);
          await log(r, answer.status === 202 ? "已交督导员处理（修改冲突）" : "已上传");
        } else {
          r.state = "refused";
          r.note = "";
          r.problems = (body.problems && body.problems.length) ? body.problems
            : [{ field: "", message: String(body.detail || answer.status) }];
          await db.put("outbox", r);
        }
      }
      if (reached) await db.put("meta", new Date().toISOString(), "lastSync");
      if (serverTrouble) say(`${serverTrouble} 条记录因服务器暂时出错未能上传，稍后自动重试；如一直这样，请告诉乡镇督导员。`);
    } finally {
      syncing = false;
      await showStatus();
      if (again) {
        again = false;
        sync();
      }
    }
  }

  async function log(record, result) {
    const entries = (await db.get("meta", "log")) || [];
    entries.unshift({ id: record.id, form_id: record.form_id, case_no: record.case_no, result, at: new Date().toISOString() });
    await db.put("meta", entries.slice(0, 50), "log");
    say(`${titleOf(record.form_id)}${record.case_no ? " · " + record.case_no : ""}：${result}`);
  }

  async function askPersistence() {
    if (!navigator.storage || !navigator.storage.persist) return;
    const kept = await navigator.storage.persisted() || await navigator.storage.persist();
    $("storage").textContent = kept ? "本机已允许长期保存这些记录。"
      : "浏览器可能在存储空间不足时清除本机记录：请尽快上传，或把本页添加到主屏幕。";
  }

  async function exportFile() {
    const all = (await db.getAll("outbox")).filter((r) => r.by === ME);
    const records = [];
    for (const r of all) {
      records.push({ id: r.id, form_id: r.form_id, case_no: r.case_no, based_on: r.based_on,
        by: r.by, saved_at: r.saved_at, doc: await open_(r.box, "outboxKey") });
    }
    const file = new Blob([JSON.stringify({ format: "jianhu-outbox", version: 1,
      exported_at: new Date().toISOString(), records }, null, 1)], { type: "application/json" });
    const a = document.createElement("a");
    a.href = URL.createObjectURL(file);
    const day = new Date().toLocaleDateString("sv-SE", { timeZone: "Asia/Shanghai" });
    a.download = `待上传记录-${ME}-${day}.json`;
    document.body.append(a);
    a.click();
    a.remove();
    say(`已导出 ${records.length} 条待上传记录：文件含儿童个人信息，请交乡镇督导员导入后删除。`);
  }

  // ------------------------------------------------------------------ start
  async function start() {
    db = await openDb();
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/offline/sw.js", { scope: "/offline/" }).catch(() => {});
    }
    $("editor-form").addEventListener("submit", save);
    $("editor-form").addEventListener("click", (e) => {
      if (e.target.matches("[data-close]")) { $("editor").hidden = true; editing = null; }
    });
    for (const b of document.querySelectorAll("[data-open]")) {
      b.addEventListener("click", () => edit({ form_id: b.dataset.open }));
    }
    $("sync-now").addEventListener("click", () => sync());
    $("export").addEventListener("click", exportFile);
    window.addEventListener("online", () => sync());
    window.addEventListener("offline", () => { online = false; showStatus(); });
    setInterval(() => { if (navigator.onLine) sync(); }, 60000); // records the server could not take
    await connect();
    await askPersistence();
    await showStatus();
    app.dataset.ready = "1";
    if (online) sync();
  }
  start();
})();
