// Corrections of records on /inspect: each record of a venue's history shows its
// corrections (the old value struck through, the new one, who, when and why) and, when
// voided, 已作废 with the reason; a record the user may correct (their own within 24 h, or
// any as an admin: the server says `correctable`) has a 「更正」 button that opens a small
// form: what to change, or 作废, and 原因. Text from data only through textContent.
(function () {
  "use strict";

  const Inspect = window.Inspect;
  const config = Inspect.config;
  const el = HS.el;

  const FIELDS = { date: "检查日期", venue_id: "场所", result: "检查结果", note: "备注" };
  const VOID = "void";
  const inputLists = new WeakMap(); // a venue input -> its datalist of the venues near

  function shown(field, value, name) {
    if (value === null || value === undefined || value === "") return "(空)";
    return name ? name + "(" + value + ")" : String(value);
  }

  // UTC ISO time as Beijing time, 2026-12-07 20:15.
  function beijing(iso) {
    const when = new Date(iso);
    if (Number.isNaN(when.getTime())) return iso;
    return new Date(when.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 16).replace("T", " ");
  }

  function correctionLine(c) {
    const line = el("div", null, "hs-meta hs-correction");
    const who = [c.actor_name || c.actor, beijing(c.at)].filter(Boolean).join(" ");
    if (c.void) {
      line.appendChild(el("span", "作废"));
    } else {
      line.appendChild(el("span", "更正"));
      for (const [field, change] of Object.entries(c.changes)) {
        line.appendChild(document.createTextNode(" " + (FIELDS[field] || field) + " "));
        line.appendChild(el("del", shown(field, change.old, change.old_name)));
        line.appendChild(document.createTextNode(" → "));
        line.appendChild(el("ins", shown(field, change.new, change.new_name)));
      }
    }
    line.appendChild(document.createTextNode((who ? "(" + who + ")" : "") + ";原因:"));
    line.appendChild(el("span", c.reason, "hs-correction-reason"));
    return line;
  }

  function valueInput(field, ins) {
    if (field === "date") {
      const input = el("input");
      input.type = "date";
      input.max = config.today;
      input.value = ins.date;
      input.required = true;
      return input;
    }
    if (field === "result") {
      const select = el("select");
      for (const r of ["合格", "发现隐患"]) select.appendChild(new Option(r, r, false, r === ins.result));
      return select;
    }
    if (field === "venue_id") {
      const input = el("input");
      input.required = true;
      input.value = ins.venue_id;
      input.placeholder = "场所编号,如 V0001";
      const near = Inspect.state.nearby;
      if (near && near.features) {
        const list = el("datalist");
        list.id = "correct-venues-" + ins.id;
        for (const f of near.features) {
          if (f.properties && f.properties.name) list.appendChild(new Option(f.properties.name, f.id));
        }
        input.setAttribute("list", list.id);
        inputLists.set(input, list);
      }
      return input;
    }
    const note = el("textarea");
    note.rows = 2;
    note.maxLength = config.maxLength.note;
    note.value = ins.note || "";
    return note;
  }

  function said(ins, body, field) {
    if (field === VOID) return "已更正:记录 " + ins.id + "(" + ins.date + ")已作废。";
    const now = body.inspection;
    return "已更正:记录 " + ins.id + " 的" + FIELDS[field] + " " + shown(field, ins[field]) + " → " +
      shown(field, now[field]) + "。";
  }

  function openForm(item, ins, button) {
    const existing = item.querySelector(".hs-correct-form");
    if (existing) {
      existing.remove();
      return;
    }
    const form = el("form", null, "hs-correct-form");
    form.noValidate = true;
    const what = el("select");
    what.name = "field";
    for (const [field, label] of Object.entries(FIELDS)) what.appendChild(new Option("更正" + label, field));
    what.appendChild(new Option("作废此记录", VOID));
    const whatLabel = el("label", "更正什么");
    whatLabel.appendChild(what);
    const valueLabel = el("label", "改为");
    let input = valueInput("date", ins);
    valueLabel.appendChild(input);
    what.addEventListener("change", () => {
      if (inputLists.has(input)) inputLists.get(input).remove();
      input.remove();
      valueLabel.hidden = what.value === VOID;
      if (what.value !== VOID) {
        input = valueInput(what.value, ins);
        valueLabel.appendChild(input);
        if (inputLists.has(input)) valueLabel.appendChild(inputLists.get(input));
      }
    });
    const reason = el("input");
    reason.name = "reason";
    reason.required = true;
    reason.maxLength = config.maxLength.note;
    reason.placeholder = "如:日期选错了";
    const reasonLabel = el("label", "原因(必填)");
    reasonLabel.appendChild(reason);
    const buttons = el("div", null, "hs-buttons");
    const send = el("button", "提交更正", "hs-primary hs-small");
    send.type = "submit";
    const cancel = el("button", "取消", "hs-small");
    cancel.type = "button";
    cancel.addEventListener("click", () => form.remove());
    buttons.appendChild(send);
    buttons.appendChild(cancel);
    const error = el("p", null, "hs-error");
    error.setAttribute("role", "alert");
    error.hidden = true;
    for (const node of [whatLabel, valueLabel, reasonLabel, buttons, error]) form.appendChild(node);

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const field = what.value;
      error.hidden = true;
      if (!reason.value.trim()) {
        error.textContent = "请填写更正原因。";
        error.hidden = false;
        return;
      }
      const payload = { reason: reason.value };
      if (field === VOID) payload.void = true;
      else payload[field] = input.value;
      send.disabled = true;
      let body;
      try {
        body = await Inspect.postJson(Inspect.apiUrl("corrections", ins.id), payload);
      } catch (e) {
        error.textContent = "更正未成功:" + e.message + "。记录未改变。";
        error.hidden = false;
        send.disabled = false;
        return;
      }
      await Inspect.refreshAfterWrite();
      Inspect.notice(said(ins, body, field));
    });
    item.insertBefore(form, button.nextSibling);
    what.focus();
  }

  // Called by inspect.js for each record of the history it draws.
  Inspect.decorateRecord = function (item, ins) {
    item.dataset.inspection = ins.id;
    if (ins.voided) {
      item.classList.add("hs-voided");
      const head = item.querySelector(".hs-history-head");
      if (head) head.appendChild(el("span", "已作废", "hs-tag hs-tag-voided"));
    }
    const voidedHazards = (ins.hazards || []).filter((h) => h.voided).map((h) => h.id);
    if (voidedHazards.length) {
      item.appendChild(el("div", "所登记的隐患 " + voidedHazards.join("、") + " 已随更正作废", "hs-meta"));
    }
    for (const c of ins.corrections || []) item.appendChild(correctionLine(c));
    if (ins.correctable) {
      const button = el("button", "更正", "hs-link hs-correct");
      button.type = "button";
      button.addEventListener("click", () => openForm(item, ins, button));
      item.appendChild(button);
    }
  };
})();
