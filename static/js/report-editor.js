// The clerk's report editor: autosave, conflicts, spreadsheet habits, live checks.
// The server is the authority: it parses every value, derives totals and runs
// the rules; this script only makes typing pleasant and shows what it says.
(function () {
  "use strict";
  const form = document.getElementById("step-form");
  if (!form) return;
  const editable = form.dataset.editable === "1";
  const saveUrl = form.dataset.autosaveUrl;
  const step = form.dataset.step;
  const storageKey = "reportsite:unsaved:" + form.dataset.reportKey;
  const versionInput = document.getElementById("report-version");
  const saveState = document.getElementById("save-state");
  const conflictBox = document.getElementById("conflict-live");
  const config = JSON.parse(document.getElementById("grid-config").textContent);
  const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;

  const othersBox = document.getElementById("others-live");
  const presenceBox = document.getElementById("presence");
  // What the server holds, as shown: the base of every edit.
  const base = JSON.parse((document.getElementById("server-values") || { textContent: "{}" }).textContent);

  let dirty = {};      // ref -> {value, base}: typed, not yet confirmed by the server
  let held = {};       // ref -> {mine, base, theirs, by, at, label}: clashes, sent only on the clerk's choice
  const seen = {};     // ref -> the version of the value shown, so an older answer never overwrites a newer one
  const foreign = { pending: {}, held: {} }; // stored edits of other steps, kept as they are
  let inflight = null; // the running save, a Promise
  let timer = null;
  let failures = 0;    // network or server errors in a row (back-off)
  let notice = "";     // a message that outranks the computed status until the next edit
  let savedAt = "";
  let leaving = false;

  // -- values ---------------------------------------------------------------
  const FULL = "０１２３４５６７８９－";
  const HALF = "0123456789-";
  function toNumber(text) {
    let t = String(text || "").trim();
    t = t.replace(/[０-９－]/g, (ch) => HALF[FULL.indexOf(ch)]).replace(/[,，\s]/g, "");
    if (!/^-?\d+$/.test(t)) return null;
    return parseInt(t, 10);
  }
  function field(ref) {
    return form.querySelector('[data-ref="' + CSS.escape(ref) + '"]:is(input, textarea, select)');
  }
  function output(ref) {
    return document.querySelector('output[data-ref="' + CSS.escape(ref) + '"]');
  }
  function valueOf(ref) {
    const el = field(ref);
    if (el) return toNumber(el.value);
    const out = output(ref);
    return out ? toNumber(out.textContent) : null;
  }
  function sum(values) {
    return values.every((v) => v !== null) ? values.reduce((a, b) => a + b, 0) : null;
  }
  function setOutput(ref, value) {
    const out = output(ref);
    if (out) out.textContent = value === null || value === undefined ? "" : String(value);
  }

  // -- live computed cells and the 勾稽 identity (the server re-derives them) --
  function recompute() {
    const apps = document.querySelector('[data-grid="applications"]');
    if (apps) {
      const rows = Array.from(new Set(Array.from(apps.querySelectorAll("[data-ref]")).map((el) => el.dataset.ref.split(".")[1])));
      rows.forEach((row) => {
        if (row === "outcome_total") return;
        setOutput("applications." + row + ".total", sum(config.applicant.map((c) => valueOf("applications." + row + "." + c))));
      });
      config.columns.forEach((c) => {
        const outcomes = sum(config.outcomeRows.map((r) => valueOf("applications." + r + "." + c)));
        setOutput("applications.outcome_total." + c, outcomes);
        const badge = document.querySelector('.balance-col[data-column="' + c + '"]');
        if (!badge) return;
        const lhs = sum([valueOf("applications.new_received." + c), valueOf("applications.carried_over." + c)]);
        const rhs = sum([outcomes, valueOf("applications.carried_forward." + c)]);
        badge.querySelector(".lhs").textContent = lhs === null ? "?" : lhs;
        badge.querySelector(".rhs").textContent = rhs === null ? "?" : rhs;
        badge.classList.toggle("text-bg-success", lhs !== null && rhs !== null && lhs === rhs);
        badge.classList.toggle("text-bg-danger", lhs !== null && rhs !== null && lhs !== rhs);
        badge.classList.toggle("text-bg-light", lhs === null || rhs === null);
      });
    }
    config.reviewBlocks.forEach((b) => {
      if (output("reviews." + b + ".total")) {
        setOutput("reviews." + b + ".total", sum(config.reviewParts.map((p) => valueOf("reviews." + b + "." + p))));
      }
    });
    document.querySelectorAll(".in-force-hint").forEach((hint) => {
      const base = hint.dataset.ref.replace(/\.in_force$/, "");
      const issued = valueOf(base + ".issued");
      const repealed = valueOf(base + ".repealed");
      const last = toNumber(hint.dataset.last);
      const suggested = issued === null || repealed === null ? null : last + issued - repealed;
      hint.querySelector(".suggested").textContent = suggested === null ? "—" : suggested;
      hint.dataset.suggested = suggested === null ? "" : suggested;
    });
  }

  // -- findings -----------------------------------------------------------------
  function highlight() {
    document.querySelectorAll("td.finding-error, td.finding-warning").forEach((td) => {
      td.classList.remove("finding-error", "finding-warning");
      td.removeAttribute("title");
    });
    document.querySelectorAll("#findings .finding").forEach((li) => {
      const severity = li.classList.contains("finding-error") ? "finding-error" : li.classList.contains("finding-warning") ? "finding-warning" : null;
      if (!severity) return;
      const message = li.querySelector(".small.mt-1").textContent.trim();
      li.dataset.cells.split(" ").forEach((ref) => {
        const td = document.querySelector('td[data-ref="' + CSS.escape(ref) + '"]');
        if (td && !td.classList.contains("finding-error")) {
          td.classList.add(severity);
          td.title = message;
        }
      });
    });
  }
  function showCellError(ref, message) {
    const el = field(ref);
    if (!el) return;
    const td = el.closest("td") || el.parentElement;
    let box = td.querySelector(".cell-error");
    if (message) {
      if (!box) {
        box = document.createElement("div");
        box.className = "cell-error small text-danger px-1";
        td.appendChild(box);
      }
      box.id = "err-" + ref;
      box.textContent = message;
      el.setAttribute("aria-invalid", "true");
      el.setAttribute("aria-describedby", box.id);
      td.classList.add("table-danger");
    } else {
      if (box) box.remove();
      el.removeAttribute("aria-invalid");
      el.removeAttribute("aria-describedby");
      td.classList.remove("table-danger");
    }
    showRefused();
  }
  function nameOf(el) {
    if (el.getAttribute("aria-label")) return el.getAttribute("aria-label");
    const label = el.labels && el.labels[0];
    return label ? label.textContent.trim() : "";
  }
  // A value the server refused stays typed in its cell, marked; the findings
  // describe that cell as it is now (refused, unsaved), not the stored value
  // the server checked. Findings on the cell are set aside until it is fixed.
  let serverCounts = null;
  function showRefused() {
    const panel = document.getElementById("findings");
    if (!panel) return;
    panel.querySelectorAll(".local-refused").forEach((li) => li.remove());
    panel.querySelectorAll(".superseded").forEach((li) => li.classList.remove("superseded", "d-none"));
    const refused = [];
    form.querySelectorAll(".cell-error").forEach((box) => {
      const el = box.parentElement.querySelector("[data-ref]:is(input, textarea, select)");
      if (el && box.textContent.trim()) refused.push({ ref: el.dataset.ref, el: el, message: box.textContent.trim() });
    });
    let setAside = 0;
    const plain = (ref) => ref.replace(/^header\./, "");
    const refs = new Set(refused.map((r) => plain(r.ref)));
    // And the totals they feed, which the server summed from the stored value.
    let grown = true;
    while (grown) {
      grown = false;
      Object.entries(config.totals || {}).forEach(([total, parts]) => {
        if (!refs.has(total) && parts.some((p) => refs.has(p))) { refs.add(total); grown = true; }
      });
    }
    panel.querySelectorAll(".finding").forEach((li) => {
      if ((li.dataset.cells || "").split(" ").some((ref) => refs.has(plain(ref)))) {
        li.classList.add("superseded", "d-none");
        if (li.classList.contains("finding-error")) setAside += 1;
      }
    });
    let list = panel.querySelector("ul.findings");
    if (refused.length && !list) {
      panel.innerHTML = "";
      list = document.createElement("ul");
      list.className = "list-unstyled findings mb-0";
      panel.appendChild(list);
    }
    refused.slice().reverse().forEach((r) => {
      const li = document.createElement("li");
      li.className = "finding finding-error local-refused mb-2 p-2 rounded";
      li.dataset.cells = r.ref;
      li.innerHTML = "<span class='badge text-bg-danger'>错误</span> <a href='#' class='small go-cell'>定位到该格</a>" +
        "<div class='small mt-1'></div>";
      li.querySelector(".small.mt-1").textContent = (nameOf(r.el) || "此处") + "：" + r.message + "（未保存，仍为原值）";
      li.querySelector(".go-cell").addEventListener("click", (event) => { event.preventDefault(); focusField(r.el); });
      list.prepend(li);
    });
    if (!refused.length && list && !list.querySelector(".finding:not(.superseded)")) {
      panel.innerHTML = "<p class='text-success small mb-0'>本步骤没有发现问题。</p>";
    }
    const stepAlert = document.getElementById("step-alert");
    if (stepAlert && !refused.length) { stepAlert.textContent = ""; stepAlert.classList.add("d-none"); }
    const errorCount = document.getElementById("count-error");
    if (errorCount) {
      if (serverCounts === null) serverCounts = { error: Number(errorCount.textContent) || 0 };
      errorCount.textContent = serverCounts.error - setAside + refused.length;
    }
  }
  function focusField(el) {
    el.scrollIntoView({ block: "center", inline: "center" });
    el.focus({ preventScroll: true });
  }

  // -- saving -------------------------------------------------------------------
  // Every edit is sent with its base, the value the server held when the clerk
  // started typing; the server writes a cell only if it still holds that base
  // (ADR 0010). A refused cell becomes a *held* edit: kept on the page and in
  // localStorage with its base, never sent until the clerk chooses.
  function same(a, b) {
    const x = String(a === null || a === undefined ? "" : a).trim();
    const y = String(b === null || b === undefined ? "" : b).trim();
    if (x === y) return true;
    const nx = toNumber(x);
    return nx !== null && nx === toNumber(y);
  }
  function count(map) { return Object.keys(map).length; }
  // NUL and lone surrogates: what disclosure.text refuses.
  const BAD_TEXT = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
  function knownVersion() { return Number(versionInput.value); }
  function setVersion(v) {
    if (!(Number(v) > knownVersion())) return;
    document.querySelectorAll("#report-version, .report-version").forEach((input) => { input.value = v; });
  }
  function setField(ref, value) {
    const el = field(ref);
    if (el) el.value = value === null || value === undefined ? "" : value;
    else setOutput(ref, value);
    return el;
  }

  function remember() {
    try {
      const pending = {};
      Object.entries(dirty).forEach(([ref, d]) => { pending[ref] = { value: d.value, base: d.base }; });
      const state = {
        pending: Object.assign({}, foreign.pending, pending),
        held: Object.assign({}, foreign.held, held),
      };
      if (count(state.pending) || count(state.held)) localStorage.setItem(storageKey, JSON.stringify(state));
      else localStorage.removeItem(storageKey);
    } catch (e) { /* private mode: the server save still runs */ }
  }
  function updateStatus() {
    const errors = Object.values(dirty).filter((d) => d.error).length;
    let text;
    if (!editable) text = "只读";
    else if (notice) text = notice;
    else if (failures) text = "保存失败，将重试";
    else if (count(held)) text = (savedAt ? "其他修改已保存 " + savedAt + "；" : "") + count(held) + " 处修改与他人的修改冲突，尚未保存";
    else if (inflight) text = "正在保存…";
    else if (errors) text = errors + " 处填写有误，未保存这些单元格";
    else if (count(dirty)) text = "有未保存的修改…";
    else text = savedAt ? "已保存 " + savedAt : "已保存";
    saveState.textContent = text;
  }
  function markDirty(el) {
    if (!editable || !el.dataset.ref) return;
    const ref = el.dataset.ref;
    notice = "";
    if (held[ref]) {
      // Still in conflict: keep the edit, but do not send it until the user says so.
      held[ref].mine = el.value;
      remember();
      return;
    }
    dirty[ref] = { value: el.value, base: dirty[ref] ? dirty[ref].base : baseOf(ref) };
    remember();
    updateStatus();
    recompute();
    clearTimeout(timer);
    timer = setTimeout(save, 800);
  }
  function baseOf(ref) { return base[ref] === undefined ? "" : base[ref]; }

  function post(body, keepalive) {
    return fetch(saveUrl, {
      method: "POST",
      credentials: "same-origin",
      keepalive: Boolean(keepalive),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "X-Requested-With": "fetch" },
      body: JSON.stringify(body),
    }).then((response) => {
      const type = response.headers.get("Content-Type") || "";
      if (response.status >= 500) throw new Error("server");
      if (!type.includes("application/json")) throw new Error("login");
      return response.json().then((data) => ({ status: response.status, data: data }));
    });
  }
  function save(options) {
    clearTimeout(timer);
    if (inflight) return inflight.then(() => (count(dirty) ? save(options) : null));
    const values = {};
    const bases = {};
    Object.entries(dirty).forEach(([ref, d]) => {
      if (BAD_TEXT.test(d.value)) {
        // The server would refuse the whole request; keep it here, marked, and save the rest.
        d.error = true;
        showCellError(ref, "内容含有无法保存的控制字符或无效字符，请删除后重试。");
        return;
      }
      values[ref] = d.value;
      bases[ref] = d.base;
    });
    if (!count(values)) { updateStatus(); return Promise.resolve(null); }
    const sentVersion = knownVersion();
    inflight = post({ version: sentVersion, step: step, values: values, bases: bases }, options && options.keepalive)
      .then(({ status, data }) => {
        failures = 0;
        if (!data.ok) {
          // Refused whole (read-only report, bad text…): nothing written, the edits stay typed.
          notice = data.message || "保存失败";
          return;
        }
        onSaved(values, data);
      })
      .catch((error) => {
        if (error.message === "login") {
          notice = "登录已过期：请在新窗口重新登录后点“保存”，本页修改已暂存在浏览器中";
          return;
        }
        // Network or server error: nothing is reported saved; retry with back-off.
        failures += 1;
        timer = setTimeout(save, Math.min(30000, 2000 * Math.pow(2, failures - 1)));
      })
      .finally(() => {
        inflight = null;
        updateStatus();
      });
    updateStatus();
    return inflight;
  }
  function onSaved(sent, data) {
    setVersion(data.version);
    Object.entries(sent).forEach(([ref, text]) => {
      const d = dirty[ref];
      if (data.conflicts[ref]) {
        const c = data.conflicts[ref];
        held[ref] = { mine: d ? d.value : text, base: d ? d.base : "", theirs: c.value, by: c.by, at: c.at, label: c.label };
        delete dirty[ref];
        base[ref] = c.value;
        if (c.version) seen[ref] = Math.max(seen[ref] || 0, c.version);
        return;
      }
      if (data.errors[ref]) {
        // Keep what was typed: it stays on the page, marked, until corrected.
        showCellError(ref, data.errors[ref]);
        if (d && d.value === text) d.error = true;
        return;
      }
      showCellError(ref, "");
      if (!(ref in data.values)) return;
      if ((seen[ref] || 0) <= data.version) base[ref] = data.values[ref]; // unless a newer save is known
      seen[ref] = Math.max(seen[ref] || 0, data.version);
      if (d && d.value === text) {
        delete dirty[ref];
        const el = field(ref);
        if (el && el.value !== data.values[ref] && document.activeElement !== el) el.value = data.values[ref];
      } else if (d) {
        d.base = data.values[ref]; // typed on since: based on what just landed
      }
    });
    Object.entries(data.computed).forEach(([ref, value]) => setOutput(ref, value));
    applyChanges(data.changes || []);
    showFindings(data);
    if (count(data.values)) savedAt = data.saved_at; // only what the server answered with counts as saved
    remember();
    showConflicts();
  }
  function showFindings(data) {
    if (!data.findings_html) return;
    document.getElementById("findings").innerHTML = data.findings_html;
    serverCounts = { error: data.counts.error };
    document.getElementById("count-error").textContent = data.counts.error;
    document.getElementById("count-warning").textContent = data.counts.warning;
    showRefused();
    highlight();
    recompute();
  }

  // -- other people's saves ----------------------------------------------------------
  function applyChanges(changes) {
    const told = [];
    changes.forEach((c) => {
      if (seen[c.ref] && c.version <= seen[c.ref]) return; // older than what this page has
      seen[c.ref] = c.version;
      if (!c.mine) told.push(c);
      const el = field(c.ref);
      if (held[c.ref]) {
        Object.assign(held[c.ref], { theirs: c.value, by: c.by, at: c.at, label: c.label });
        if (same(held[c.ref].mine, c.value)) { delete held[c.ref]; if (el) el.classList.remove("is-invalid"); }
      } else if (dirty[c.ref]) {
        if (same(dirty[c.ref].value, c.value)) {
          delete dirty[c.ref];
        } else {
          // Both typed in this cell: hold ours, ask the clerk.
          held[c.ref] = { mine: dirty[c.ref].value, base: dirty[c.ref].base, theirs: c.value, by: c.by, at: c.at, label: c.label };
          delete dirty[c.ref];
        }
      } else {
        setField(c.ref, c.value);
        if (el) flash(el);
      }
      base[c.ref] = c.value;
    });
    if (told.length) tell(told);
    recompute();
    remember();
    showConflicts();
  }
  function flash(el) {
    const target = el.closest("td") || el;
    target.classList.add("changed-by-other");
    setTimeout(() => target.classList.remove("changed-by-other"), 4000);
  }
  function tell(changes) {
    const byWho = {};
    changes.forEach((c) => { (byWho[c.by] = byWho[c.by] || []).push(c.label); });
    othersBox.innerHTML = Object.entries(byWho).map(([who, labels]) =>
      "<div>" + escapeHtml(who) + " 刚刚修改了：" + escapeHtml(labels.slice(0, 6).join("、")) +
      (labels.length > 6 ? " 等" + labels.length + "处" : "") + "</div>").join("");
    othersBox.classList.remove("d-none");
  }
  function showPresence(editors) {
    if (!presenceBox) return;
    presenceBox.textContent = editors.length
      ? "同时打开本报告的还有：" + editors.map((e) => e.name + (e.step ? "（" + e.step + "）" : "")).join("、")
      : "";
    presenceBox.classList.toggle("d-none", !editors.length);
  }
  function poll() {
    if (inflight || document.visibilityState === "hidden") return;
    const url = saveUrl + "?since=" + encodeURIComponent(knownVersion()) + "&step=" + encodeURIComponent(step);
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "fetch" } })
      .then((response) => ((response.headers.get("Content-Type") || "").includes("application/json") ? response.json() : null))
      .then((data) => {
        // A save that started meanwhile answers with these changes too, and decides its own cells.
        if (!data || !data.ok || inflight) return;
        showPresence(data.editors || []);
        if (data.computed) Object.entries(data.computed).forEach(([ref, value]) => setOutput(ref, value));
        applyChanges(data.changes || []);
        showFindings(data);
        setVersion(data.version);
        if (!data.editable && editable) notice = "报告当前状态为“" + data.status + "”，不能修改。";
        updateStatus();
      })
      .catch(() => { /* the next poll tries again */ });
  }

  // -- conflicts ---------------------------------------------------------------------
  function showConflicts() {
    document.querySelectorAll(".is-invalid[data-ref]").forEach((el) => { if (!held[el.dataset.ref]) el.classList.remove("is-invalid"); });
    if (!count(held)) {
      const elsewhere = Object.values(foreign.held).map((h) => h.label).filter(Boolean);
      // Held on another step: said here too, so it is never forgotten.
      conflictBox.innerHTML = elsewhere.length
        ? "其他步骤中有 " + elsewhere.length + " 处与他人冲突的修改尚未处理：" + escapeHtml(elsewhere.join("、")) + "。请回到该步骤选择保留哪一方。"
        : "";
      conflictBox.classList.toggle("d-none", !elsewhere.length);
      updateStatus();
      return;
    }
    const items = Object.entries(held).map(([ref, h]) => {
      const el = field(ref);
      if (el) { el.classList.add("is-invalid"); if (el.value !== h.mine) el.value = h.mine; }
      return "<li data-ref='" + escapeHtml(ref) + "'>" + escapeHtml(h.label || ref) + "：" + escapeHtml(h.by || "他人") +
        (h.at ? "于" + escapeHtml(h.at) : "") + "改为“" + escapeHtml(h.theirs === "" ? "（空白）" : h.theirs) +
        "”，您填写的是“" + escapeHtml(h.mine === "" ? "（空白）" : h.mine) + "”</li>";
    }).join("");
    conflictBox.innerHTML = "<strong>以下内容已被他人修改，您的修改尚未保存；请选择保留哪一方。</strong><ul class='mb-2'>" + items +
      "</ul><button type='button' class='btn btn-sm btn-danger' id='save-mine'>保留我的修改并保存</button> " +
      "<button type='button' class='btn btn-sm btn-outline-secondary' id='take-theirs'>采用对方的修改</button>";
    conflictBox.classList.remove("d-none");
    document.getElementById("save-mine").addEventListener("click", () => {
      // Based on what the clerk was just shown: if it moved again, they are asked again.
      Object.entries(held).forEach(([ref, h]) => { dirty[ref] = { value: h.mine, base: h.theirs }; });
      held = {};
      notice = "";
      showConflicts();
      remember();
      save();
    });
    document.getElementById("take-theirs").addEventListener("click", () => {
      Object.entries(held).forEach(([ref, h]) => { setField(ref, h.theirs); base[ref] = h.theirs; });
      held = {};
      notice = "";
      remember();
      showConflicts();
      recompute();
    });
    recompute();
    updateStatus();
  }
  function escapeHtml(text) {
    const div = document.createElement("div");
    div.textContent = text === null || text === undefined ? "" : String(text);
    return div.innerHTML;
  }

  // -- spreadsheet habits ----------------------------------------------------------
  function tableRows(table) {
    return Array.from(table.querySelectorAll("tbody tr")).map((tr) => Array.from(tr.querySelectorAll("td[data-ref]")));
  }
  function position(el) {
    const table = el.closest("table");
    const rows = tableRows(table);
    for (let r = 0; r < rows.length; r++) {
      const c = rows[r].indexOf(el.closest("td"));
      if (c >= 0) return { table, rows, r, c };
    }
    return null;
  }
  function inputAt(rows, r, c) {
    const td = rows[r] && rows[r][c];
    return td ? td.querySelector("input.cell") : null;
  }
  function move(el, dr, dc) {
    const pos = position(el);
    if (!pos) return;
    let r = pos.r + dr;
    let c = pos.c + dc;
    while (r >= 0 && r < pos.rows.length) {
      const row = pos.rows[r];
      // Caption and header rows inside a table have no cells: pass over them.
      if (dr && row.length === 0) {
        r += dr;
        continue;
      }
      if (c < 0 || c >= row.length) {
        if (!dr) return;
        c = Math.min(c, row.length - 1);
      }
      const target = inputAt(pos.rows, r, c);
      if (target) {
        target.focus();
        target.select();
        return;
      }
      r += dr;
      c += dc;
    }
  }
  form.addEventListener("keydown", (event) => {
    const el = event.target;
    if (!el.matches("input.cell")) return;
    const keys = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    if (event.key === "Enter") {
      event.preventDefault();
      move(el, event.shiftKey ? -1 : 1, 0);
    } else if (keys[event.key]) {
      const atStart = el.selectionStart === 0 && el.selectionEnd === 0;
      const atEnd = el.selectionStart === el.value.length;
      const whole = el.selectionStart === 0 && el.selectionEnd === el.value.length;
      if ((event.key === "ArrowLeft" && !(atStart || whole)) || (event.key === "ArrowRight" && !(atEnd || whole))) return;
      event.preventDefault();
      move(el, keys[event.key][0], keys[event.key][1]);
    }
  });
  form.addEventListener("paste", (event) => {
    const el = event.target;
    if (!el.matches("input.cell")) return;
    const text = (event.clipboardData || window.clipboardData).getData("text/plain");
    if (!/[\t\n]/.test(text.trim())) return; // one value: the browser pastes it
    event.preventDefault();
    const pos = position(el);
    const lines = text.replace(/\r/g, "").replace(/\n+$/, "").split("\n");
    lines.forEach((line, i) => {
      line.split("\t").forEach((value, j) => {
        const target = inputAt(pos.rows, pos.r + i, pos.c + j);
        if (target) {
          target.value = value.trim();
          markDirty(target);
        }
      });
    });
  });
  form.addEventListener("focusin", (event) => {
    if (event.target.matches("input.cell")) event.target.select();
  });

  // -- wiring -------------------------------------------------------------------
  form.addEventListener("input", (event) => {
    if (event.target.dataset.ref) markDirty(event.target);
  });
  form.addEventListener("change", (event) => {
    if (event.target.dataset.ref) {
      markDirty(event.target);
      save();
    }
  });
  form.addEventListener("focusout", (event) => {
    if (event.target.dataset.ref && dirty[event.target.dataset.ref] !== undefined) save();
  });
  // Leaving a step: save first, then go (no stale post of the whole form). A
  // held conflict is never sent on the way out: the clerk stays to decide, or
  // leaves it held in this browser, shown again on return.
  // 下一步 with a refused value: go to the cell, and say why beside it and aloud.
  function stopAtBadCell() {
    const ref = Object.keys(dirty).find((r) => dirty[r].error && field(r));
    if (!ref) return;
    const el = field(ref);
    const box = (el.closest("td") || el.parentElement).querySelector(".cell-error");
    const message = box ? box.textContent : "填写有误，未保存";
    focusField(el);
    if (box) {
      box.setAttribute("role", "alert");
      box.textContent = "";
      // Set again after the role: screen readers announce a change of an alert's text.
      setTimeout(() => { box.textContent = message; }, 50);
    }
    const alert = document.getElementById("step-alert");
    if (alert) {
      alert.textContent = "请先改正“" + nameOf(el) + "”：" + message;
      alert.classList.remove("d-none");
    }
  }
  function leaveOk() {
    if (!count(held)) return true;
    const ok = window.confirm("有 " + count(held) + " 处修改与他人的修改冲突，尚未保存。\n" +
      "确定离开吗？您的修改将保留在本浏览器中，回到本步时再选择保留哪一方。");
    if (!ok) conflictBox.scrollIntoView({ block: "center" });
    return ok;
  }
  form.addEventListener("submit", (event) => {
    if (!editable) return;
    event.preventDefault();
    const target = event.submitter && event.submitter.value ? event.submitter.value : step;
    if (!leaveOk()) return;
    const heldBefore = count(held);
    save().then(() => {
      if (count(held) > heldBefore) return; // a new conflict came back: the clerk decides first
      const pending = count(dirty);
      if (pending || failures) {
        notice = pending + " 处填写有误或未能保存，请先改正";
        updateStatus();
        notice = "";
        stopAtBadCell();
        return;
      }
      const parts = window.location.pathname.replace(/\/$/, "").split("/");
      parts[parts.length - 1] = target;
      leaving = true;
      window.location.href = parts.join("/") + "/";
    });
  });
  document.querySelectorAll("form:not(#step-form)").forEach((other) => {
    other.addEventListener("submit", (event) => {
      if (!count(dirty) && !inflight && !count(held)) return;
      event.preventDefault();
      if (!leaveOk()) return;
      save().then(() => { leaving = true; other.submit(); });
    });
  });
  document.getElementById("no-applications") && document.getElementById("no-applications").addEventListener("click", (event) => {
    const typed = Array.from(form.querySelectorAll('input.cell[data-ref^="applications."]')).some((el) => el.value.trim() !== "" && el.value.trim() !== "0");
    if (typed && !window.confirm("表三已填写的数据将全部改为0，确定吗？")) event.preventDefault();
  });
  document.querySelectorAll(".use-last").forEach((button) => {
    button.addEventListener("click", () => {
      const area = document.getElementById(button.dataset.target);
      const last = document.getElementById("last-" + button.dataset.target).innerHTML;
      const text = new DOMParser().parseFromString(last, "text/html").documentElement.textContent;
      if (area.value.trim() && !window.confirm("用上年内容替换当前内容？")) return;
      area.value = text;
      markDirty(area);
    });
  });
  document.querySelectorAll(".accept-suggestion").forEach((button) => {
    button.addEventListener("click", () => {
      const hint = button.closest(".in-force-hint");
      const el = field(hint.dataset.ref);
      if (el && hint.dataset.suggested !== "") {
        el.value = hint.dataset.suggested;
        markDirty(el);
      }
    });
  });
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "hidden" && count(dirty)) save({ keepalive: true });
    if (document.visibilityState === "visible") poll();
  });
  window.addEventListener("focus", poll);
  window.addEventListener("pagehide", () => {
    if (count(dirty)) save({ keepalive: true });
  });
  window.addEventListener("beforeunload", (event) => {
    if (leaving) return;
    if (count(dirty)) save({ keepalive: true });
    // Unsent or held edits stay in localStorage either way; the browser asks first.
    if (count(dirty) || count(held)) event.preventDefault();
  });

  // Edits left in this browser (a reload, a closed tab, an expired session).
  // Pending ones are sent again with their original base, so a save that
  // landed just before the reload is simply confirmed; held ones stay held.
  function restore() {
    let stored = null;
    try { stored = JSON.parse(localStorage.getItem(storageKey) || "null"); } catch (e) { stored = null; }
    if (!stored || !editable) return;
    if (stored.values && !stored.pending) {
      // An older page's format: no bases known, so each differing value is held for the clerk.
      stored = { pending: {}, held: {} };
      Object.entries(JSON.parse(localStorage.getItem(storageKey)).values || {}).forEach(([ref, value]) => {
        stored.held[ref] = { mine: value, base: null, theirs: null, by: "", at: "", label: "" };
      });
    }
    Object.entries(stored.pending || {}).forEach(([ref, p]) => {
      if (!field(ref)) { foreign.pending[ref] = p; return; }
      setField(ref, p.value);
      dirty[ref] = { value: p.value, base: p.base };
    });
    Object.entries(stored.held || {}).forEach(([ref, h]) => {
      if (!field(ref)) { foreign.held[ref] = h; return; }
      const now = baseOf(ref);
      if (same(h.mine, now)) return; // the report already says what the clerk wanted
      held[ref] = Object.assign({}, h, { theirs: now, label: h.label || labelOf(ref) });
    });
    remember();
    showConflicts();
    if (count(dirty)) {
      notice = "";
      save();
    }
  }
  function labelOf(ref) {
    const el = field(ref);
    return (el && el.getAttribute("aria-label")) || ref;
  }

  // Typed before this script ran (a slow connection, a fast hand) or put back by the
  // browser's own form restoration: no input event was seen, so compare with what
  // the server rendered and treat every difference as an edit.
  form.querySelectorAll("input[data-ref], textarea[data-ref]").forEach((el) => {
    if (el.value !== el.defaultValue) markDirty(el);
  });
  restore();
  recompute();
  showRefused();
  highlight();
  updateStatus();
  // A link from the reviewers' comments names the cell to work on.
  const focusRef = new URLSearchParams(window.location.search).get("focus");
  if (focusRef) {
    const target = field(focusRef) || output(focusRef);
    if (target) {
      if (!target.matches("input, textarea, select")) target.setAttribute("tabindex", "-1");
      const td = target.closest("td");
      if (td) td.classList.add("focused-from-comment");
      focusField(target);
    }
  }
  // Tests stretch the interval to decide themselves when a page learns of others' saves.
  setInterval(poll, window.reportEditorPollMs || 4000);
  poll();
})();
