// The overview's editor, for admins (page config `edit`, layers/planners/editing.py):
// add a feature by drawing it, change a feature's properties, move or reshape it, or
// delete it. Each save is one OGC API - Features Part 4 request (layers/ogc/routes.py)
// carrying the version the feature was read at (If-Match): an edit made meanwhile by
// someone else makes the save a 409 whose message names both versions, and nothing
// is overwritten. The form is built from the catalogue's fields, which the server
// checks again. Text from data reaches the page through textContent and form values.
(function () {
  "use strict";

  const H = window.HuaishuMap;
  const el = HS.el;
  const config = JSON.parse(document.getElementById("page-config").textContent).edit;
  if (!config) return;
  const $ = (id) => document.getElementById(id);
  const map = H.map;
  const layers = {};
  for (const layer of config.layers) layers[layer.name] = layer;
  if (layers.venues) $("edit-layer").value = "venues"; // what is added most often

  const SHAPES = { Point: "Marker", LineString: "Line", Polygon: "Polygon" };
  const VERBS = { create: "新增", replace: "修改", delete: "删除" };
  const sketch = L.featureGroup().addTo(map); // what is being drawn or reshaped
  let editing = null; // {op, layer, id, etag, geometry, properties}
  let drawingFor = null; // the layer a new feature is being drawn for

  function itemsUrl(layer) {
    return config.items.replace(config.placeholder, encodeURIComponent(layer));
  }
  function itemUrl(layer, id) {
    return itemsUrl(layer) + "/" + encodeURIComponent(id);
  }

  function status(text, kind) {
    const box = $("edit-status");
    box.textContent = text;
    box.className = "hs-edit-status" + (kind ? " hs-edit-" + kind : "");
  }

  function formError(text) {
    const box = $("edit-error");
    box.textContent = text || "";
    box.hidden = !text;
  }

  function openSection() {
    const section = $("section-edit");
    section.open = true;
    section.scrollIntoView({ block: "nearest" });
  }

  // --- talking to the OGC API -------------------------------------------------------

  async function answerError(response) {
    let message = "";
    try {
      message = (await response.json()).error || "";
    } catch {
      message = ""; // not JSON: a proxy's page, say
    }
    if (response.status === 401) return "登录已过期,请重新登录后再保存。";
    if (response.status === 403) return message || "当前账号没有编辑图层的权限。";
    return message || "服务器未能处理(HTTP " + response.status + ")";
  }

  async function readItem(layer, id) {
    const response = await fetch(itemUrl(layer, id) + "?f=json", {
      headers: { Accept: "application/geo+json" }, credentials: "same-origin" });
    if (!response.ok) throw new Error(await answerError(response));
    const feature = await response.json();
    return { feature: feature, etag: response.headers.get("ETag") };
  }

  async function send(method, url, body, etag) {
    const headers = { Accept: "application/json", "X-CSRFToken": HS.csrfToken() };
    if (etag) headers["If-Match"] = etag;
    const options = { method: method, headers: headers, credentials: "same-origin" };
    if (body) {
      headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(url, options);
    } catch {
      throw new Error("网络未连接或服务器无响应,未保存;请稍后重试。");
    }
    if (!response.ok) throw new Error(await answerError(response));
    return response;
  }

  function versionOf(response) {
    const tag = (response.headers.get("ETag") || "").replace(/"/g, "");
    return tag ? "(图层版本 " + tag.replace(/^v/, "") + ")" : "";
  }

  // --- the form, from the catalogue's fields -------------------------------------------

  function input(field, value) {
    if (field.type === "bool") {
      const box = el("input");
      box.type = "checkbox";
      box.checked = value === true;
      return box;
    }
    if (field.type === "list") {
      const list = el("div", null, "hs-edit-list");
      for (const choice of field.choices) {
        const label = el("label", null, "hs-check");
        const box = el("input");
        box.type = "checkbox";
        box.value = choice;
        box.checked = Array.isArray(value) && value.includes(choice);
        label.appendChild(box);
        label.appendChild(el("span", " " + choice));
        list.appendChild(label);
      }
      return list;
    }
    if (field.choices.length) {
      const select = el("select");
      const blank = el("option", field.required ? "请选择" : "(无)");
      blank.value = "";
      select.appendChild(blank);
      for (const choice of field.choices) {
        const option = el("option", choice);
        option.value = choice;
        select.appendChild(option);
      }
      select.value = value === null || value === undefined ? "" : String(value);
      return select;
    }
    const box = el("input");
    if (field.type === "int" || field.type === "float") {
      box.type = "number";
      box.step = field.type === "int" ? "1" : "any";
      if (field.minimum !== null) box.min = String(field.minimum);
    } else if (field.type === "date") {
      box.type = "date";
    } else {
      box.type = "text";
      box.maxLength = field.maxLength;
    }
    box.value = value === null || value === undefined ? "" : String(value);
    return box;
  }

  function fillForm(layer, properties, title) {
    $("edit-title").textContent = title;
    const box = $("edit-fields");
    box.replaceChildren();
    for (const field of layers[layer].fields) {
      const label = el("label", null, "hs-field");
      label.dataset.field = field.name;
      const unit = field.unit && !field.label.includes(field.unit) ? "(" + field.unit + ")" : "";
      const mark = field.required && field.type !== "bool" ? " *" : "";
      label.appendChild(el("span", field.label + unit + mark));
      const control = input(field, properties[field.name]);
      control.classList.add("hs-edit-input");
      control.dataset.name = field.name;
      label.appendChild(control);
      box.appendChild(label);
    }
    formError("");
    $("edit-form").hidden = false;
    openSection();
  }

  // The form's values as properties; an error message for the first field not filled in.
  function readForm(layer) {
    const properties = {};
    for (const field of layers[layer].fields) {
      const control = $("edit-fields").querySelector('[data-name="' + field.name + '"]');
      let value;
      if (field.type === "bool") value = control.checked;
      else if (field.type === "list") {
        value = Array.from(control.querySelectorAll("input:checked")).map((b) => b.value);
        if (!value.length) value = null;
      } else {
        const text = control.value.trim();
        if (text === "") value = null;
        else if (field.type === "int" || field.type === "float") {
          value = Number(text);
          if (!Number.isFinite(value) || (field.type === "int" && !Number.isInteger(value))) {
            return { error: "「" + field.label + "」须为" + (field.type === "int" ? "整数" : "数值") + "。" };
          }
        } else value = text;
      }
      if (value === null) {
        if (field.required) return { error: "请填写「" + field.label + "」。" };
        continue;
      }
      properties[field.name] = value;
    }
    return { properties: properties };
  }

  function closeForm() {
    $("edit-form").hidden = true;
    formError("");
    sketch.clearLayers();
    map.pm.disableDraw();
    editing = null;
    drawingFor = null;
  }
  $("edit-cancel").addEventListener("click", () => {
    closeForm();
    status("已取消,未保存任何更改。");
  });

  // --- adding a feature -----------------------------------------------------------------

  $("edit-add").addEventListener("click", () => {
    closeForm();
    const layer = $("edit-layer").value;
    drawingFor = layer;
    H.setShown(layer, true);
    const shape = SHAPES[layers[layer].geometry];
    map.pm.enableDraw(shape, { snappable: false, finishOn: shape === "Marker" ? null : "dblclick",
      pathOptions: { color: "#c2410c", weight: 3, fillOpacity: 0.15 } });
    status("在地图上画出新的" + layers[layer].title + "要素" + (shape === "Marker" ? "(单击位置)" : "(双击结束)") + ",Esc 取消。");
  });

  map.on("pm:create", (e) => {
    if (!drawingFor) return; // the panel's own drawings (map-panel.js)
    const layer = drawingFor;
    drawingFor = null;
    map.pm.disableDraw();
    sketch.clearLayers();
    sketch.addLayer(e.layer);
    editing = { op: "create", layer: layer, geometry: e.layer.toGeoJSON().geometry };
    fillForm(layer, {}, "新增" + layers[layer].title);
    status("填写属性后保存。");
  });

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && drawingFor) {
      map.pm.disableDraw();
      drawingFor = null;
      status("已取消新增。");
    }
  });

  // --- changing, moving and deleting a feature (from its popup) -------------------------

  async function begin(op, layer, id) {
    closeForm();
    map.closePopup();
    status("正在读取 " + id + " …");
    let item;
    try {
      item = await readItem(layer, id);
    } catch (error) {
      status("无法读取要素 " + id + ":" + error.message, "error");
      return null;
    }
    editing = { op: op, layer: layer, id: id, etag: item.etag, geometry: item.feature.geometry,
      properties: item.feature.properties || {} };
    return editing;
  }

  async function editProperties(layer, id) {
    const state = await begin("replace", layer, id);
    if (!state) return;
    fillForm(layer, state.properties, "修改" + layers[layer].title + " " + id);
    status("修改属性后保存。");
  }

  async function move(layer, id) {
    const state = await begin("replace", layer, id);
    if (!state) return;
    const geometry = layers[layer].geometry;
    if (geometry === "Point") {
      status("在地图上单击 " + id + " 的新位置。");
      map.getContainer().classList.add("hs-drawing");
      map.once("click", (e) => {
        map.getContainer().classList.remove("hs-drawing");
        if (editing !== state) return;
        state.geometry = { type: "Point", coordinates: [Number(e.latlng.lng.toFixed(7)), Number(e.latlng.lat.toFixed(7))] };
        sketch.addLayer(L.circleMarker(e.latlng, { radius: 9, color: "#c2410c", weight: 3 }));
        fillForm(layer, state.properties, "移动" + layers[layer].title + " " + id);
        status("新位置已选定,确认属性后保存。");
      });
      return;
    }
    const shape = L.geoJSON(state.geometry, { style: { color: "#c2410c", weight: 3, fillOpacity: 0.1 } });
    for (const part of shape.getLayers()) {
      sketch.addLayer(part);
      part.pm.enable({ allowSelfIntersection: false });
    }
    state.reshape = shape.getLayers()[0];
    fillForm(layer, state.properties, "改形" + layers[layer].title + " " + id);
    status("拖动顶点改形,完成后保存。");
  }

  async function remove(layer, id, name) {
    const state = await begin("delete", layer, id);
    if (!state) return;
    const what = layers[layer].title + (name ? "「" + name + "」" : "") + "(" + id + ")";
    if (!window.confirm("确定删除" + what + "?删除会生成图层的新版本,可在「图层数据」页恢复。")) {
      editing = null;
      status("未删除。");
      return;
    }
    try {
      const response = await send("DELETE", itemUrl(layer, id), null, state.etag);
      editing = null;
      status("已删除:" + what + versionOf(response) + "。", "done");
      await H.reloadLayer(layer);
    } catch (error) {
      editing = null;
      status("未删除:" + error.message, "error");
    }
  }

  $("edit-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const state = editing;
    if (!state) return;
    const read = readForm(state.layer);
    if (read.error) {
      formError(read.error);
      return;
    }
    if (state.reshape) state.geometry = state.reshape.toGeoJSON().geometry;
    const body = { type: "Feature", properties: read.properties, geometry: state.geometry };
    const save = $("edit-save");
    save.disabled = true;
    formError("");
    try {
      let response;
      let id = state.id;
      if (state.op === "create") {
        response = await send("POST", itemsUrl(state.layer), body, null);
        id = decodeURIComponent((response.headers.get("Location") || "").split("/").pop());
      } else {
        body.id = state.id;
        response = await send("PUT", itemUrl(state.layer, state.id), body, state.etag);
      }
      const name = read.properties.name ? "「" + read.properties.name + "」" : "";
      const text = "已保存:" + VERBS[state.op] + layers[state.layer].title + name + "(" + id + ")" + versionOf(response) + "。";
      closeForm();
      status(text, "done");
      await H.reloadLayer(state.layer);
      document.body.dataset.edited = String(Date.now());
    } catch (error) {
      formError("未保存:" + error.message + " 填写的内容仍在表单中。");
    } finally {
      save.disabled = false;
    }
  });

  // The popup of each feature of an editable layer gets the three actions.
  H.popupExtras.push((box, feature, layerConfig) => {
    const layer = layerConfig.name;
    const id = feature.id || (feature.properties && feature.properties.id);
    if (!layers[layer] || !id) return;
    const row = el("div", null, "hs-popup-actions");
    const actions = [
      ["修改属性", () => editProperties(layer, id)],
      [layers[layer].geometry === "Point" ? "移动" : "改形", () => move(layer, id)],
      ["删除", () => remove(layer, id, feature.properties && feature.properties.name)],
    ];
    for (const [text, act] of actions) {
      const button = el("button", text);
      button.type = "button";
      button.dataset.edit = text;
      button.addEventListener("click", act);
      row.appendChild(button);
    }
    box.appendChild(row);
  });
})();
