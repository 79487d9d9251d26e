// The leaders' table of parcels or projects, its map and the surroundings panel.
// Every text from data reaches the page through textContent only.
(function () {
  "use strict";

  const config = JSON.parse(document.getElementById("review-config").textContent);
  const collator = new Intl.Collator("zh-CN", { numeric: true });
  const fmt = HS.formatValue;

  const state = {
    columns: [],
    rows: [],
    totals: null,
    allTotals: null,
    statuses: new Set(config.statuses),
    sort: null, // {field, desc}
    selected: null,
    distance: config.distance.default,
    overlay: null,
    highlighted: null,
    request: 0,
  };
  const Review = (window.HuaishuReview = { state: state, ready: false });

  const el = HS.el;

  function withId(template, id) {
    return template.replace("__ID__", encodeURIComponent(id));
  }

  // ------------------------------------------------------------ the table
  function query() {
    const params = new URLSearchParams();
    if (state.statuses.size !== config.statuses.length) {
      params.set("status", config.statuses.filter((s) => state.statuses.has(s)).join(","));
    }
    if (state.sort) {
      params.set("sort", state.sort.field);
      params.set("order", state.sort.desc ? "desc" : "asc");
    }
    return params.toString();
  }

  function loadTable() {
    const ticket = ++state.request;
    const q = query();
    updateExports(q);
    if (state.statuses.size === 0) {
      state.rows = [];
      state.totals = null;
      render();
      return Promise.resolve();
    }
    return HS.getJson(config.tableUrl + (q ? "?" + q : ""))
      .then((body) => {
        if (ticket !== state.request) return;
        // Columns with no value in any row of the whole table stay out, so that the
        // table fits the screen (chosen once, on the first, unfiltered load).
        if (!state.shownFields) {
          state.shownFields = new Set(body.columns.filter((c) =>
            body.rows.some((r) => r[c.field] !== null && r[c.field] !== undefined && r[c.field] !== "") ||
            c.field === "delay").map((c) => c.field));
        }
        state.columns = body.columns.filter((c) => state.shownFields.has(c.field));
        state.rows = body.rows;
        state.totals = body.totals;
        if (!state.allTotals) state.allTotals = body.totals;
        if (!state.sort) state.sort = { field: body.query.sort, desc: body.query.order === "desc" };
        render();
      })
      .catch((error) => {
        if (ticket === state.request) showError(document.getElementById("table-error"), "表格加载失败:" + error.message);
      });
  }

  function updateExports(q) {
    // No status ticked: the table is empty, so there is nothing to export (a bare
    // "status=" would ask the server for every row).
    const none = state.statuses.size === 0;
    for (const [id, url] of [["export-csv", config.csvUrl], ["export-xlsx", config.xlsxUrl]]) {
      const link = document.getElementById(id);
      if (none) link.removeAttribute("href");
      else link.href = url + (q ? "?" + q : "");
      link.setAttribute("aria-disabled", String(none));
    }
  }

  function compare(a, b, column) {
    const x = a[column.field];
    const y = b[column.field];
    if (x === null || x === undefined) return y === null || y === undefined ? 0 : 1;
    if (y === null || y === undefined) return -1;
    if (typeof x === "number" && typeof y === "number") return x - y;
    if (column.field === "status") return config.statuses.indexOf(x) - config.statuses.indexOf(y);
    return collator.compare(String(x), String(y));
  }

  function sortedRows() {
    const column = state.columns.find((c) => c.field === state.sort.field);
    if (!column) return state.rows.slice();
    const missing = (r) => r[column.field] === null || r[column.field] === undefined;
    const present = state.rows.filter((r) => !missing(r));
    const byId = (a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
    present.sort((a, b) => compare(a, b, column) * (state.sort.desc ? -1 : 1) || byId(a, b));
    return present.concat(state.rows.filter(missing).sort(byId));
  }

  function render() {
    renderHead();
    renderBody();
    renderFoot();
    renderSummary();
    renderFilter();
    // The table's height sets the map's: tell Leaflet its box may have changed.
    if (HuaishuMap.map) HuaishuMap.map.invalidateSize({ pan: false });
  }

  function renderHead() {
    const thead = document.querySelector("#site-table thead");
    thead.replaceChildren();
    const tr = el("tr");
    for (const column of state.columns) {
      const th = el("th");
      th.dataset.field = column.field;
      const sorted = state.sort && state.sort.field === column.field;
      th.setAttribute("aria-sort", sorted ? (state.sort.desc ? "descending" : "ascending") : "none");
      const button = el("button", column.label, "rv-sort");
      button.type = "button";
      button.title = "按“" + column.label + "”排序";
      button.appendChild(el("span", sorted ? (state.sort.desc ? " ▼" : " ▲") : " ↕", "rv-sort-mark"));
      button.addEventListener("click", () => sortBy(column.field));
      th.appendChild(button);
      if (isNumeric(column)) th.classList.add("rv-num");
      tr.appendChild(th);
    }
    thead.appendChild(tr);
  }

  function isNumeric(column) {
    return column.type === "int" || column.type === "float" || column.type === "pct";
  }

  function sortBy(field) {
    if (state.sort && state.sort.field === field) state.sort.desc = !state.sort.desc;
    else state.sort = { field: field, desc: false };
    updateExports(query());
    render();
  }

  // A status in the catalogue's colour for it, the same on the map and its legend.
  function statusBadge(status) {
    const badge = el("span", status, "rv-badge rv-status rv-status-" + config.statuses.indexOf(status));
    const color = (config.statusColors || {})[status];
    if (color) badge.style.background = color;
    return badge;
  }

  function cell(row, column) {
    const value = row[column.field];
    const td = el("td");
    td.dataset.field = column.field;
    if (isNumeric(column)) td.classList.add("rv-num");
    if (column.field === "status") {
      td.appendChild(statusBadge(value));
    } else if (column.field === "delay") {
      if (value) td.appendChild(el("span", value, "rv-late"));
    } else if (column.type === "pct") {
      if (value !== null && value !== undefined) {
        const bar = el("span", null, "rv-progress");
        const fill = el("span", null, "rv-progress-fill");
        fill.style.width = Math.min(100, Math.max(0, value)) + "%";
        bar.appendChild(fill);
        td.appendChild(bar);
        td.appendChild(el("span", fmt(value) + "%", "rv-progress-text"));
      }
    } else {
      const text = fmt(value, "");
      td.textContent = text === null ? "—" : text;
    }
    return td;
  }

  function renderBody() {
    const tbody = document.querySelector("#site-table tbody");
    tbody.replaceChildren();
    for (const row of sortedRows()) {
      const tr = el("tr");
      tr.dataset.id = row.id;
      tr.tabIndex = 0;
      if (row.id === state.selected) tr.setAttribute("aria-selected", "true");
      for (const column of state.columns) tr.appendChild(cell(row, column));
      tr.addEventListener("click", () => select(row.id));
      tr.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          select(row.id);
        }
      });
      tbody.appendChild(tr);
    }
    if (!state.rows.length) {
      const tr = el("tr", null, "rv-empty");
      const td = el("td", "没有符合所选状态的" + (config.kind === "parcels" ? "地块" : "项目"));
      td.colSpan = state.columns.length || 1;
      tr.appendChild(td);
      tbody.appendChild(tr);
    }
  }

  function renderFoot() {
    const tfoot = document.querySelector("#site-table tfoot");
    tfoot.replaceChildren();
    const t = state.totals;
    if (!t) return;
    const tr = el("tr");
    for (const column of state.columns) {
      const td = el("td");
      td.dataset.field = column.field;
      if (column.field === "name") td.textContent = "合计 " + t.count + (config.kind === "parcels" ? " 块" : " 个");
      else if (column.field in t && column.field !== "count") {
        td.textContent = fmt(t[column.field], "");
        td.classList.add("rv-num");
      }
      tr.appendChild(td);
    }
    tfoot.appendChild(tr);
  }

  function chip(label, value, id) {
    const span = el("span", null, "rv-chip");
    if (id) span.id = id;
    span.appendChild(el("span", label, "rv-chip-label"));
    span.appendChild(el("strong", value));
    return span;
  }

  function renderSummary() {
    const box = document.getElementById("summary");
    box.replaceChildren();
    const t = state.totals;
    if (!t) {
      box.appendChild(chip("所选", "0"));
      return;
    }
    if (config.kind === "parcels") {
      box.appendChild(chip("地块", t.count + " 块", "total-count"));
      box.appendChild(chip("总面积", fmt(t.area_mu, "亩") + "(" + fmt(t.area_m2, "平方米") + ")", "total-area"));
      box.appendChild(chip("闲置", t.idle_count + " 块 · " + fmt(t.idle_area_mu, "亩"), "total-idle"));
    } else {
      box.appendChild(chip("项目", t.count + " 个", "total-count"));
      // Only sums of figures some project has: no "0 万元" for a figure nobody gave.
      const shown = (field) => !state.shownFields || state.shownFields.has(field);
      if (shown("investment_plan_wan")) box.appendChild(chip("计划总投资", fmt(t.investment_plan_wan, "万元"), "total-plan"));
      if (shown("investment_to_date_wan")) box.appendChild(chip("累计完成投资", fmt(t.investment_to_date_wan, "万元"), "total-done"));
      box.appendChild(chip("2022年完成投资", fmt(t.investment_2022_wan, "万元"), "total-2022"));
    }
  }

  function renderFilter() {
    const box = document.getElementById("status-filter");
    if (box.querySelector("input")) return;
    for (const status of config.statuses) {
      const label = el("label", null, "rv-filter-item");
      const input = el("input");
      input.type = "checkbox";
      input.value = status;
      input.checked = state.statuses.has(status);
      input.addEventListener("change", () => {
        if (input.checked) state.statuses.add(status);
        else state.statuses.delete(status);
        loadTable();
      });
      label.appendChild(input);
      const n = state.allTotals ? state.allTotals.by_status[status].count : 0;
      label.appendChild(el("span", status + "(" + n + ")"));
      box.appendChild(label);
    }
  }

  function showError(node, message) {
    node.textContent = message;
    node.hidden = false;
  }

  // -------------------------------------------------------------- the map
  function siteLayer(id) {
    const entry = HuaishuMap.layers[config.kind];
    if (!entry || !entry.geojson) return null;
    return entry.geojson.getLayers().find((l) => l.feature && l.feature.id === id) || null;
  }

  function highlight(id) {
    const entry = HuaishuMap.layers[config.kind];
    if (state.highlighted && entry && entry.geojson) entry.geojson.resetStyle(state.highlighted);
    state.highlighted = siteLayer(id);
    if (state.highlighted) {
      state.highlighted.setStyle({ color: "#c0392b", weight: 4, fillOpacity: 0.55 });
      state.highlighted.bringToFront();
    }
  }

  function zoomTo(id) {
    const layer = siteLayer(id);
    if (!layer) return;
    const bounds = layer.getBounds();
    // The site and the reach around it: Leaflet turns metres into a lat/lng box.
    const reach = L.latLngBounds([
      bounds.getSouthWest().toBounds(2 * state.distance).getSouthWest(),
      bounds.getNorthEast().toBounds(2 * state.distance).getNorthEast(),
    ]);
    HuaishuMap.map.fitBounds(reach, { padding: [10, 10], animate: false });
  }

  function select(id) {
    state.selected = id;
    for (const tr of document.querySelectorAll("#site-table tbody tr")) {
      if (tr.dataset.id === id) tr.setAttribute("aria-selected", "true");
      else tr.removeAttribute("aria-selected");
    }
    history.replaceState(null, "", "#" + encodeURIComponent(id));
    highlight(id);
    zoomTo(id);
    return loadSurroundings(id);
  }
  Review.select = select;

  function bindMapClicks() {
    const entry = HuaishuMap.layers[config.kind];
    if (!entry || !entry.geojson) return;
    entry.geojson.eachLayer((layer) => layer.on("click", () => select(layer.feature.id)));
  }

  // ----------------------------------------------------- the surroundings
  function loadSurroundings(id) {
    const panel = document.getElementById("surroundings");
    panel.setAttribute("aria-busy", "true");
    const url = withId(config.surroundingsUrl, id) + "?distance=" + encodeURIComponent(state.distance);
    return HS.getJson(url)
      .then((body) => {
        if (state.selected !== id) return;
        renderSurroundings(body);
        drawOverlay(body);
      })
      .catch((error) => {
        if (state.selected === id) panel.replaceChildren(el("p", "周边查询失败:" + error.message, "rv-error"));
      })
      .finally(() => panel.removeAttribute("aria-busy"));
  }

  function section(title) {
    const box = el("section", null, "rv-section");
    box.appendChild(el("h3", title));
    return box;
  }

  function kv(dl, label, value) {
    dl.appendChild(el("dt", label));
    dl.appendChild(el("dd", value));
  }

  function distanceForm(id) {
    const form = el("form", null, "rv-distance");
    const label = el("label", "周边范围(米)");
    const input = el("input");
    input.type = "number";
    input.id = "distance";
    input.min = config.distance.min;
    input.max = config.distance.max;
    input.step = 10;
    input.value = state.distance;
    label.appendChild(input);
    form.appendChild(label);
    const button = el("button", "查询");
    button.type = "submit";
    form.appendChild(button);
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const value = Number(input.value);
      if (!input.checkValidity() || !Number.isFinite(value)) {
        input.reportValidity();
        return;
      }
      state.distance = value;
      zoomTo(id);
      loadSurroundings(id);
    });
    return form;
  }

  function renderSurroundings(data) {
    const panel = document.getElementById("surroundings");
    panel.replaceChildren();
    const site = data.site;
    const head = el("div", null, "rv-panel-head");
    head.appendChild(el("h2", site.name));
    head.appendChild(statusBadge(site.status));
    panel.appendChild(head);
    panel.appendChild(distanceForm(site.id));

    const links = el("p", null, "rv-links");
    const q = "?distance=" + encodeURIComponent(data.distance_m);
    const brief = el("a", "打印简报");
    brief.href = withId(config.briefUrl, site.id) + q;
    brief.target = "_blank";
    brief.id = "brief-link";
    const pdf = el("a", "下载PDF");
    pdf.href = withId(config.pdfUrl, site.id) + q;
    pdf.id = "pdf-link";
    links.appendChild(brief);
    links.appendChild(pdf);
    panel.appendChild(links);
    panel.appendChild(overlayLegend(data.distance_m));

    const homes = section("受影响社区与住户(" + fmt(data.distance_m) + "米内)");
    homes.id = "sr-communities";
    const table = el("table", null, "rv-mini");
    const hr = el("tr");
    for (const h of ["社区", "范围内面积占比", "住户(估算)"]) hr.appendChild(el("th", h));
    table.appendChild(hr);
    for (const c of data.communities) {
      const tr = el("tr");
      tr.appendChild(el("td", c.name));
      tr.appendChild(el("td", c.share_pct.toFixed(1) + "%", "rv-num"));
      tr.appendChild(el("td", fmt(c.households_estimate, "户"), "rv-num"));
      table.appendChild(tr);
    }
    const total = el("tr", null, "rv-total");
    total.appendChild(el("td", "合计"));
    total.appendChild(el("td", ""));
    const totalCell = el("td", fmt(data.households_estimate, "户"), "rv-num");
    totalCell.id = "sr-households";
    total.appendChild(totalCell);
    table.appendChild(total);
    homes.appendChild(table);
    homes.appendChild(el("p", data.households_note, "rv-note"));
    panel.appendChild(homes);

    const facts = section("设施与道路");
    const dl = el("dl", null, "rv-kv");
    const road = data.nearest_main_road;
    kv(dl, "最近主干路", road ? road.name + ",距离 " + fmt(Math.round(road.distance_m)) + " 米" : "无");
    kv(dl, "停车场", data.parking.count + " 处,泊位 " + fmt(data.parking.spaces) + " 个(示意)");
    kv(dl, "垃圾投放点", data.garbage.count + " 处,垃圾桶 " + fmt(data.garbage.bins) + " 个(示意)");
    kv(dl, "安全监管场所", data.venues.count + " 家");
    facts.appendChild(dl);
    facts.id = "sr-facilities";
    panel.appendChild(facts);

    const venues = section("安全监管场所(按类型)");
    venues.id = "sr-venues";
    const list = el("ul", null, "rv-kinds");
    for (const k of data.venues.by_kind) {
      const li = el("li");
      li.appendChild(el("span", k.kind));
      li.appendChild(el("strong", k.count));
      list.appendChild(li);
    }
    if (!data.venues.by_kind.length) list.appendChild(el("li", "无"));
    venues.appendChild(list);
    panel.appendChild(venues);

    if (data.parking.items.length) {
      const parking = section("停车场");
      const ul = el("ul", null, "rv-list");
      for (const p of data.parking.items) {
        ul.appendChild(el("li", p.name + "(" + fmt(Math.round(p.distance_m)) + " 米):泊位 " + fmt(p.spaces) + " 个(示意)"));
      }
      parking.appendChild(ul);
      panel.appendChild(parking);
    }

    const others = section("周边地块与项目");
    others.id = "sr-sites";
    const ul = el("ul", null, "rv-list");
    for (const s of data.sites) {
      ul.appendChild(el("li", s.name + "(" + s.layer_title + " · " + s.status + "," + fmt(Math.round(s.distance_m)) + " 米)"));
    }
    if (!data.sites.length) ul.appendChild(el("li", "无"));
    others.appendChild(ul);
    panel.appendChild(others);
  }

  function overlayLegend(distance) {
    const box = el("p", null, "rv-overlay-legend");
    const items = [
      ["rv-key-reach", fmt(distance) + "米范围"],
      ["rv-key-venues", "安全监管场所"],
      ["rv-key-garbage", "垃圾投放点"],
      ["rv-key-parking", "停车场"],
      ["rv-key-road", "至最近主干路"],
    ];
    for (const [key, label] of items) {
      const item = el("span");
      item.appendChild(el("span", null, "rv-key " + key));
      item.appendChild(document.createTextNode(label));
      box.appendChild(item);
    }
    return box;
  }

  // The catalogue's colours (config.styles), drawn smaller or as outlines.
  const colours = (name) => ({ color: config.styles[name].color, fillColor: config.styles[name].fillColor });
  const HIT_STYLES = {
    venues: Object.assign(colours("venues"), { radius: 4, weight: 1, fillOpacity: 0.9 }),
    garbage: Object.assign(colours("garbage"), { radius: 4, weight: 1, fillOpacity: 0.9 }),
    parking: Object.assign(colours("parking"), { weight: 2, fillOpacity: 0.6 }),
    parcels: Object.assign(colours("parcels"), { weight: 2, fillOpacity: 0 }),
    projects: Object.assign(colours("projects"), { weight: 2, fillOpacity: 0 }),
  };

  // What lies within reach is drawn above the map's layers (their panes are 410-450).
  const OVERLAY_PANE = { name: "rv-surroundings", zIndex: 480 };
  const isSite = (f) => f.properties.layer === "parcels" || f.properties.layer === "projects";

  function drawOverlay(data) {
    const map = HuaishuMap.map;
    if (state.overlay) map.removeLayer(state.overlay);
    HuaishuMap.ensurePane(OVERLAY_PANE);
    const pane = OVERLAY_PANE.name;
    const overlay = L.featureGroup();
    L.geoJSON(data.buffer, {
      style: { color: "#7b241c", weight: 2, dashArray: "8 5", fill: true, fillOpacity: 0.04 },
      interactive: false,
      pane: pane,
    }).addTo(overlay);
    // Other parcels and projects are on the map already, with their own tooltip and
    // click (which selects them): outline them only, so that clicks reach them.
    L.geoJSON(data.features, {
      filter: isSite,
      style: (f) => HIT_STYLES[f.properties.layer],
      interactive: false,
      pane: pane,
    }).addTo(overlay);
    L.geoJSON(data.features, {
      filter: (f) => !isSite(f),
      style: (f) => HIT_STYLES[f.properties.layer],
      pointToLayer: (f, latlng) => L.circleMarker(latlng, Object.assign({ pane: pane }, HIT_STYLES[f.properties.layer])),
      onEachFeature: (f, layer) => {
        const p = f.properties;
        layer.bindTooltip(() => el("span", p.name + "(" + p.layer_title + " · " + p.kind + "," + fmt(Math.round(p.distance_m)) + " 米)"));
      },
      pane: pane,
    }).addTo(overlay);
    if (data.nearest_main_road) {
      L.geoJSON(data.nearest_main_road.line, {
        style: { color: "#1f4e79", weight: 3, dashArray: "4 4" },
        interactive: false,
        pane: pane,
      }).addTo(overlay);
    }
    overlay.addTo(map);
    state.overlay = overlay;
    Review.hits = data.features.features.length;
  }

  // ------------------------------------------------------------- start
  function start() {
    loadTable().then(() => {
      const wanted = decodeURIComponent(location.hash.slice(1));
      const whenMapReady = () => {
        bindMapClicks();
        const boundary = HuaishuMap.layers.boundary;
        // The map's box took its final size with the table: show the whole sub-district.
        if (boundary && boundary.geojson) HuaishuMap.map.fitBounds(boundary.geojson.getBounds(), { animate: false });
        if (wanted && state.rows.some((r) => r.id === wanted)) select(wanted);
        Review.ready = true;
        document.body.dataset.reviewReady = "true";
      };
      if (document.body.dataset.layersLoaded === "true") whenMapReady();
      else document.addEventListener("huaishu:layers-loaded", whenMapReady, { once: true });
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
