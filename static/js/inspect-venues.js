// Venues found, closed, reopened or moved in the street, on /inspect (for inspectors,
// leaders and admins: config.canEditVenues): 「新增场所」 (a form from the catalogue's
// fields of venues), and on a venue 「标记停业」, 「恢复营业」 and 「更正位置」. A position is
// the phone's (「用当前定位」) or a tap on the map while a form is open. Each save is made
// on the version of the venues layer the page read (`base`): when someone changed that
// venue meanwhile the server refuses it (409) and says what changed; the form is kept.
// A save is a submission as a record is (inspect.js postRecord): one Idempotency-Key
// per attempt of a form, kept across its retries; with the network down it goes to the
// phone's queue (inspect-offline.js, 「待发送」) and is sent in order when it returns.
// Text from data and users only through textContent.
(function () {
  "use strict";

  const Inspect = window.Inspect;
  const config = Inspect.config;
  if (!config.canEditVenues) return;
  const el = HS.el;
  const $ = (id) => document.getElementById(id);
  const REFUSED = { 401: "登录已失效,请重新登录。", 403: "当前账号没有更新场所的权限。" };
  const CHOICES = {
    category: config.kinds.venues.map((g) => g.group),
    kind: (category) => (config.kinds.venues.find((g) => g.group === category) || config.kinds.venues[0]).kinds,
  };

  let open = null; // the form open: {form, point: {lon, lat} | null}
  const pickLayer = L.layerGroup().addTo(Inspect.map);

  function show(node, visible) {
    node.hidden = !visible;
  }

  function formError(form, text) {
    const box = form.querySelector(".hs-error");
    box.textContent = text || "";
    show(box, Boolean(text));
  }

  function setPoint(lon, lat) {
    if (!open) return;
    open.point = { lon: +lon.toFixed(7), lat: +lat.toFixed(7) };
    open.form.querySelector(".hs-venue-point").textContent = open.point.lon + "," + open.point.lat;
    pickLayer.clearLayers();
    L.circleMarker([lat, lon], {
      radius: 9, color: "#1f1f1f", weight: 2, dashArray: "3 3", fillColor: "#ffd400", fillOpacity: 0.9,
      interactive: false,
    }).addTo(pickLayer);
  }

  // While a form is open, a tap on the map is the venue's position (not a new search).
  Inspect.pickPoint = (latlng) => {
    if (!open) return false;
    setPoint(latlng.lng, latlng.lat);
    return true;
  };

  function openForm(form, point) {
    closeForm();
    open = { form: form, point: null };
    formError(form, "");
    const where = form.querySelector(".hs-venue-point");
    if (where) where.textContent = "未定";
    if (point) setPoint(point.lon, point.lat);
    show(form, true);
    form.scrollIntoView({ block: "nearest" });
  }

  function closeForm() {
    if (!open) return;
    show(open.form, false);
    open = null;
    pickLayer.clearLayers();
  }

  function usePhone(form) {
    if (!navigator.geolocation) {
      formError(form, "此浏览器不能定位,请在地图上点选位置。");
      return;
    }
    navigator.geolocation.getCurrentPosition(
      (p) => { if (open && open.form === form) setPoint(p.coords.longitude, p.coords.latitude); },
      () => formError(form, "未能取得当前位置(未允许定位或信号弱),请在地图上点选位置。"),
      { enableHighAccuracy: true, timeout: 10000, maximumAge: 30000 },
    );
  }

  for (const form of document.querySelectorAll("#venue-add-form, #venue-close-form, #venue-reopen-form, #venue-move-form")) {
    form.querySelector(".hs-venue-cancel").addEventListener("click", closeForm);
    const gps = form.querySelector(".hs-venue-gps");
    if (gps) gps.addEventListener("click", () => usePhone(form));
  }

  // `what`: the edit in a few words (the queue's list, when kept on the phone).
  async function save(form, url, body, said, what) {
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    formError(form, "");
    let answer;
    try {
      answer = await Inspect.postRecord(url, body, what);
    } catch (error) {
      const text = REFUSED[error.status] || error.message;
      if (error.status === 409) {
        // Someone changed the layer meanwhile: read it again, keep the form to check and resend.
        const now = await readAgain(form);
        formError(form, "未保存:" + text + (now ? " 页面已读取最新版本(版本 " + now + "),请核对后再保存。" : ""));
      } else {
        formError(form, "未保存:" + text + "。填写的内容仍在表单中,请稍后重试。");
      }
      return;
    } finally {
      button.disabled = false;
    }
    closeForm();
    if (answer.queued) { // kept on the phone: sent when the network returns
      Inspect.notice("已保存在本机,待发送:" + what + "。网络恢复后自动发送。");
      return null;
    }
    Inspect.venuesVersion = answer.layer_version;
    Inspect.notice(said(answer));
    return answer;
  }

  // The venues layer's version now (the next save's base), after a 409: the venue's
  // history (its closure, its position as they are now), or what is near the new venue.
  async function readAgain(form) {
    try {
      if (form === addForm) {
        const query = new URLSearchParams({ layer: "venues", lon: open.point.lon, lat: open.point.lat, radius_m: 50, limit: 5 });
        const near = await HS.getJson(config.api.nearby + "?" + query, REFUSED);
        Inspect.venuesVersion = near.layer_version;
      } else {
        const data = await HS.getJson(Inspect.apiUrl("history", venue.id), REFUSED);
        Inspect.venuesVersion = data.layer_version;
        venue = data.venue;
      }
      return Inspect.venuesVersion;
    } catch {
      return null;
    }
  }

  // --- 「新增场所」 -----------------------------------------------------------------

  const addForm = $("venue-add-form");
  const fields = $("venue-add-fields");
  const inputs = {};
  for (const f of config.venueFields) {
    if (f.name === "community") continue; // from where it lies
    let input;
    if (f.type === "bool") {
      const label = el("label", null, "hs-check");
      input = el("input");
      input.type = "checkbox";
      label.appendChild(input);
      label.appendChild(el("span", " " + f.label));
      fields.appendChild(label);
    } else {
      const label = el("label", f.label);
      input = el(f.name === "category" || f.name === "kind" ? "select" : "input");
      if (input.tagName === "INPUT") {
        input.maxLength = f.maxLength;
        input.required = f.required;
      }
      label.appendChild(input);
      fields.appendChild(label);
    }
    input.name = f.name;
    inputs[f.name] = input;
  }

  function fillSelect(select, values) {
    while (select.firstChild) select.removeChild(select.firstChild);
    for (const value of values) {
      const option = el("option", value);
      option.value = value;
      select.appendChild(option);
    }
  }
  fillSelect(inputs.category, CHOICES.category);
  fillSelect(inputs.kind, CHOICES.kind(inputs.category.value));
  inputs.category.addEventListener("change", () => fillSelect(inputs.kind, CHOICES.kind(inputs.category.value)));

  $("venue-add").addEventListener("click", () => {
    for (const input of Object.values(inputs)) if (input.tagName === "INPUT") {
      if (input.type === "checkbox") input.checked = false;
      else input.value = "";
    }
    addForm.elements.reason.value = "";
    openForm(addForm, Inspect.state.point);
  });

  addForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!inputs.name.value.trim() || !inputs.address.value.trim()) {
      formError(addForm, "请填写场所名称和地址。");
      return;
    }
    if (!open.point) {
      formError(addForm, "请先定位或在地图上点选场所位置。");
      return;
    }
    const properties = {};
    for (const [name, input] of Object.entries(inputs)) {
      properties[name] = input.type === "checkbox" ? input.checked : input.value.trim();
    }
    const body = { base: Inspect.venuesVersion, lon: open.point.lon, lat: open.point.lat, properties: properties };
    const reason = addForm.elements.reason.value.trim();
    if (reason) body.reason = reason;
    const answer = await save(addForm, config.api.venues, body, (a) =>
      "已新增场所:" + a.venue.properties.name + "(" + a.venue.id + "," + a.venue.properties.community + "),图层版本 " + a.layer_version + "。",
    "新增场所 " + properties.name);
    if (answer) {
      await Inspect.refresh();
      await Inspect.openVenue(answer.venue.id);
    }
  });

  // --- a venue: 「标记停业」, 「恢复营业」 and 「更正位置」 ----------------------------------

  const closeFormNode = $("venue-close-form");
  const reopenForm = $("venue-reopen-form");
  const moveForm = $("venue-move-form");
  let venue = null; // the venue whose detail is open

  Inspect.onDetail = (data) => {
    closeForm();
    venue = data.venue;
    const p = venue.properties;
    show($("venue-close"), !p.closed_on); // inspect.js says since when
    show($("venue-reopen"), Boolean(p.closed_on));
  };

  $("venue-reopen").addEventListener("click", () => {
    reopenForm.elements.reason.value = "";
    openForm(reopenForm, null);
  });

  // Saves an edit of the open venue (`action`: the last part of its URL; `verb`: what it
  // is, e.g. 标记停业; `more`: the answer's details for the notice) and redraws.
  async function saveVenueEdit(form, action, verb, fields, more) {
    const name = venue.properties.name;
    const answer = await save(form, Inspect.apiUrl(action, venue.id),
      Object.assign({ base: Inspect.venuesVersion }, fields),
      (a) => "已" + verb + ":" + name + "(" + a.venue.id + ")" + more(a) + ",图层版本 " + a.layer_version + "。",
      verb + " " + name + "(" + venue.id + ")");
    if (answer) await Inspect.refresh();
  }

  // The form's reason, or null (and the form says so).
  function reasonOf(form) {
    const reason = form.elements.reason.value.trim();
    if (!reason) formError(form, "请填写原因。");
    return reason || null;
  }

  reopenForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = reasonOf(reopenForm);
    if (!reason) return;
    await saveVenueEdit(reopenForm, "reopening", "恢复营业", { reason: reason },
      (a) => ",状态 " + a.venue.properties.status);
  });

  $("venue-close").addEventListener("click", () => {
    closeFormNode.elements.date.value = config.today;
    closeFormNode.elements.date.max = config.today;
    closeFormNode.elements.reason.value = "";
    openForm(closeFormNode, null);
  });

  $("venue-move").addEventListener("click", () => {
    moveForm.elements.reason.value = "";
    openForm(moveForm, null);
  });

  closeFormNode.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = closeFormNode.elements.reason.value.trim();
    const date = closeFormNode.elements.date.value;
    if (!reason || !date) {
      formError(closeFormNode, "请填写停业日期(不晚于今天)和原因。");
      return;
    }
    await saveVenueEdit(closeFormNode, "closure", "标记停业", { date: date, reason: reason },
      () => ",停业日期 " + date);
  });

  moveForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!open.point) {
      formError(moveForm, "请先定位或在地图上点选场所的实际位置。");
      return;
    }
    const reason = reasonOf(moveForm);
    if (!reason) return;
    await saveVenueEdit(moveForm, "position", "更正位置",
      { lon: open.point.lon, lat: open.point.lat, reason: reason }, () => "");
  });
})();
