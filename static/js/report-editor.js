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

  let dirty = {};      // ref -> text not yet saved
  let held = {};       // ref -> text that conflicts with someone else's save: sent only on request
  let inflight = null; // the running save, a Promise
  let timer = null;

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
      box.textContent = message;
      el.setAttribute("aria-invalid", "true");
      td.classList.add("table-danger");
    } else {
      if (box) box.remove();
      el.removeAttribute("aria-invalid");
      td.classList.remove("table-danger");
    }
  }

  // -- saving -------------------------------------------------------------------
  function remember() {
    try {
      const unsaved = Object.assign({}, held, dirty);
      if (Object.keys(unsaved).length) localStorage.setItem(storageKey, JSON.stringify({ version: versionInput.value, values: unsaved }));
      else localStorage.removeItem(storageKey);
    } catch (e) { /* private mode: the server save still runs */ }
  }
  function markDirty(el) {
    if (!editable || !el.dataset.ref) return;
    if (held[el.dataset.ref] !== undefined) return holdEdit(el);
    dirty[el.dataset.ref] = el.value;
    remember();
    saveState.textContent = "有未保存的修改…";
    recompute();
    clearTimeout(timer);
    timer = setTimeout(save, 800);
  }
  function holdEdit(el) {
    // Still in conflict: keep the edit, but do not send it until the user says so.
    held[el.dataset.ref] = el.value;
    remember();
  }
  function save(options) {
    clearTimeout(timer);
    if (inflight) return inflight.then(() => (Object.keys(dirty).length ? save(options) : null));
    const sent = Object.assign({}, dirty);
    if (!Object.keys(sent).length) return Promise.resolve(null);
    saveState.textContent = "正在保存…";
    const body = JSON.stringify({ version: Number(versionInput.value), step: step, values: sent });
    inflight = fetch(saveUrl, {
      method: "POST",
      credentials: "same-origin",
      keepalive: Boolean(options && options.keepalive),
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "X-Requested-With": "fetch" },
      body: body,
    })
      .then((response) => {
        const type = response.headers.get("Content-Type") || "";
        if (response.status >= 500) throw new Error("server");
        if (!type.includes("application/json")) throw new Error("login");
        return response.json().then((data) => ({ status: response.status, data: data }));
      })
      .then(({ status, data }) => {
        if (status === 409 && data.conflict) return onConflict(data.conflict);
        if (!data.ok) {
          saveState.textContent = data.message || "保存失败";
          return;
        }
        versionInput.value = data.version;
        Object.keys(sent).forEach((ref) => {
          if (dirty[ref] === sent[ref]) delete dirty[ref];
          if (data.errors[ref]) {
            showCellError(ref, data.errors[ref]);
            // Keep what was typed: it stays on the page, marked, until corrected.
          } else {
            showCellError(ref, "");
            const el = field(ref);
            if (el && dirty[ref] === undefined && ref in data.values && el.value !== data.values[ref] && document.activeElement !== el) {
              el.value = data.values[ref];
            }
          }
        });
        // A refused value stays pending, unless the user has typed a newer one meanwhile.
        Object.keys(data.errors).forEach((ref) => { if (dirty[ref] === undefined) dirty[ref] = sent[ref]; });
        Object.entries(data.computed).forEach(([ref, value]) => setOutput(ref, value));
        document.getElementById("findings").innerHTML = data.findings_html;
        document.getElementById("count-error").textContent = data.counts.error;
        document.getElementById("count-warning").textContent = data.counts.warning;
        highlight();
        recompute();
        const failed = Object.keys(data.errors).length;
        saveState.textContent = failed ? failed + " 处填写有误，未保存这些单元格" : "已保存 " + data.saved_at;
        remember();
      })
      .catch((error) => {
        saveState.textContent = error.message === "login"
          ? "登录已过期：请在新窗口重新登录后点“保存”，本页修改已暂存在浏览器中"
          : error.message === "server" ? "保存失败（服务器错误），稍后自动重试" : "网络异常，稍后自动重试";
        if (error.message !== "login") timer = setTimeout(save, 5000);
      })
      .finally(() => { inflight = null; });
    return inflight;
  }
  function onConflict(conflict) {
    versionInput.value = conflict.version;
    const same = (a, b) => String(a === null || a === undefined ? "" : a).trim() === String(b === null || b === undefined ? "" : b).trim();
    const clashes = [];
    Object.entries(conflict.values).forEach(([ref, value]) => {
      if (dirty[ref] === undefined) {
        const el = field(ref);
        if (el) el.value = value;
        else setOutput(ref, value);
      } else if (same(dirty[ref], value)) {
        delete dirty[ref]; // our own earlier save (e.g. sent as the tab closed) landed
      } else {
        held[ref] = dirty[ref];
        delete dirty[ref];
        clashes.push(ref);
      }
    });
    remember();
    recompute();
    if (!clashes.length) {
      if (Object.keys(dirty).length) save();
      return;
    }
    const items = conflict.changes
      .filter((c) => clashes.includes(c.ref) || clashes.includes(c.form_ref))
      .map((c) => "<li>" + escapeHtml(c.label) + "：" + escapeHtml(c.value === null ? "（空白）" : String(c.value)) + "</li>")
      .join("");
    conflictBox.innerHTML = "<strong>" + escapeHtml(conflict.message) + "</strong><ul class='mb-2'>" + items +
      "</ul><button type='button' class='btn btn-sm btn-danger' id='save-mine'>保留我的修改并保存</button> " +
      "<button type='button' class='btn btn-sm btn-outline-secondary' id='take-theirs'>采用对方的修改</button>";
    conflictBox.classList.remove("d-none");
    clashes.forEach((ref) => { const el = field(ref); if (el) el.classList.add("is-invalid"); });
    document.getElementById("save-mine").addEventListener("click", () => {
      Object.assign(dirty, held);
      held = {};
      clashes.forEach((ref) => { const el = field(ref); if (el) el.classList.remove("is-invalid"); });
      conflictBox.classList.add("d-none");
      save();
    });
    document.getElementById("take-theirs").addEventListener("click", () => {
      clashes.forEach((ref) => {
        const el = field(ref);
        if (el) { el.value = conflict.values[ref]; el.classList.remove("is-invalid"); }
      });
      held = {};
      remember();
      conflictBox.classList.add("d-none");
      recompute();
      saveState.textContent = "已采用对方的修改";
    });
    saveState.textContent = "他人已修改本报告，" + clashes.length + " 处修改尚未保存";
  }
  function escapeHtml(text) {
    const div = document.createElement("div");
    div.textContent = text;
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
  // Leaving a step: save first, then go (no stale-version post of the whole form).
  form.addEventListener("submit", (event) => {
    if (!editable) return;
    event.preventDefault();
    const target = event.submitter && event.submitter.value ? event.submitter.value : step;
    save().then(() => {
      const pending = Object.keys(dirty).length;
      if (pending) {
        saveState.textContent = pending + " 处填写有误或未能保存，请先改正";
        return;
      }
      const parts = window.location.pathname.replace(/\/$/, "").split("/");
      parts[parts.length - 1] = target;
      window.location.href = parts.join("/") + "/";
    });
  });
  document.querySelectorAll("form:not(#step-form)").forEach((other) => {
    other.addEventListener("submit", (event) => {
      if (!Object.keys(dirty).length && !inflight) return;
      event.preventDefault();
      save().then(() => other.submit());
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
    if (document.visibilityState === "hidden" && Object.keys(dirty).length) save({ keepalive: true });
  });
  window.addEventListener("pagehide", () => {
    if (Object.keys(dirty).length) save({ keepalive: true });
  });
  window.addEventListener("beforeunload", (event) => {
    if (Object.keys(dirty).length) {
      save({ keepalive: true });
      event.preventDefault();
    }
  });

  // Unsaved edits left in this browser (closed tab, expired session): restore and save them.
  try {
    const stored = JSON.parse(localStorage.getItem(storageKey) || "null");
    if (stored && stored.values && editable) {
      Object.entries(stored.values).forEach(([ref, value]) => {
        const el = field(ref);
        if (el) el.value = value;
      });
      dirty = stored.values;
      // The version these edits were made on: anything saved since is a conflict to show.
      if (stored.version && Number(stored.version) < Number(versionInput.value)) versionInput.value = stored.version;
      save();
    }
  } catch (e) { localStorage.removeItem(storageKey); }

  recompute();
  highlight();
})();
