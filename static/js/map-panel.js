// The overview page's side panel: layers by group with their counts, the
// community filter, search, drawing and measuring (Leaflet-Geoman) with
// server-side summaries, the choropleth and coverage analyses, export and print.
// Every text from data is set with textContent.
(function () {
  "use strict";

  const H = window.HuaishuMap;
  const el = HS.el;
  const config = JSON.parse(document.getElementById("page-config").textContent);
  const $ = (id) => document.getElementById(id);
  const fmt = HS.formatNumber;

  H.setupPage(config);
  const map = H.map;

  // --- layers by group -------------------------------------------------------------

  function layerRow(name) {
    const entry = H.layers[name];
    const row = el("label", null, "hs-layer-row");
    row.dataset.layer = name;
    const box = el("input");
    box.type = "checkbox";
    box.checked = H.isShown(name);
    box.addEventListener("change", () => H.setShown(name, box.checked));
    row.appendChild(box);
    row.appendChild(el("span", entry.config.title, "hs-layer-title"));
    row.appendChild(el("span", "", "hs-count"));
    return row;
  }

  function buildLayerTree() {
    const tree = $("layer-tree");
    for (const group of config.groups) {
      const box = el("fieldset", null, "hs-layer-group");
      box.appendChild(el("legend", group.title));
      for (const name of group.layers) if (H.layers[name]) box.appendChild(layerRow(name));
      tree.appendChild(box);
    }
  }

  function updateCounts() {
    for (const row of document.querySelectorAll(".hs-layer-row")) {
      const entry = H.layers[row.dataset.layer];
      const count = row.querySelector(".hs-count");
      row.querySelector("input").checked = H.isShown(row.dataset.layer);
      if (entry.error) count.textContent = "(加载失败)";
      else if (!entry.loaded) count.textContent = "(…)";
      else if (entry.visibleCount !== entry.count) count.textContent = "(" + entry.visibleCount + "/" + entry.count + ")";
      else count.textContent = "(" + entry.count + ")";
    }
  }

  // --- community filter ------------------------------------------------------------

  function communityLayer(name) {
    const entry = H.layers.communities;
    return entry && entry.items.find((layer) => layer.feature.properties.name === name);
  }

  function buildFilter() {
    const select = $("community-filter");
    for (const name of config.communities) {
      const option = el("option", name);
      option.value = name;
      select.appendChild(option);
    }
    select.addEventListener("change", () => {
      const name = select.value || null;
      H.setCommunityFilter(name);
      const layer = name && communityLayer(name);
      if (layer) {
        map.fitBounds(layer.getBounds(), H.fitOptions());
        showCommunitySummary(name);
      } else {
        H.fitSubDistrict();
        clearCommunitySummary();
      }
    });
    document.addEventListener("huaishu:filter", (e) => {
      select.value = e.detail.community || "";
    });
  }

  // --- search ----------------------------------------------------------------------

  let searchIndex = [];
  // Besides the name, a feature is found by these properties: an address (venues),
  // the office's address (the sub-district); a road by its name, like any feature.
  const ADDRESS_FIELDS = ["address", "office"];

  function buildSearchIndex() {
    searchIndex = [];
    for (const name of config.search) {
      const entry = H.layers[name];
      if (!entry || !entry.loaded) continue;
      for (const layer of entry.items) {
        const props = layer.feature.properties;
        const label = props[entry.config.tooltip];
        if (typeof label !== "string") continue;
        const addresses = ADDRESS_FIELDS.map((f) => props[f]).filter((v) => typeof v === "string" && v);
        searchIndex.push({
          text: label,
          key: label.toLowerCase(),
          addresses: addresses.map((a) => ({ text: a, key: a.toLowerCase() })),
          name: name,
          layer: layer,
          community: props.community || "",
        });
      }
    }
  }

  // Names first (those that begin with the query before the others), then addresses.
  function search(query) {
    const q = query.trim().toLowerCase();
    if (!q) return [];
    const hits = [];
    for (const item of searchIndex) {
      if (item.key.includes(q)) {
        hits.push({ item: item, rank: item.key.startsWith(q) ? 0 : 1, address: null });
        continue;
      }
      const address = item.addresses.find((a) => a.key.includes(q));
      if (address) hits.push({ item: item, rank: address.key.startsWith(q) ? 2 : 3, address: address.text });
    }
    hits.sort((a, b) => a.rank - b.rank); // stable: the layers' order within a rank
    return hits.slice(0, 20).map((hit) => Object.assign({}, hit.item, { address: hit.address }));
  }

  function renderSearch() {
    const list = $("search-results");
    list.replaceChildren();
    const query = $("search").value;
    const hits = search(query);
    if (query.trim() && !hits.length) list.appendChild(el("li", "没有找到名称或地址含“" + query.trim() + "”的要素", "hs-empty"));
    for (const hit of hits) {
      const item = el("li");
      const button = el("button", null, "hs-search-hit");
      button.type = "button";
      button.appendChild(el("span", hit.text, "hs-hit-name"));
      const where = H.layers[hit.name].config.title + (hit.community ? " · " + hit.community : "");
      button.appendChild(el("span", where, "hs-hit-layer"));
      if (hit.address) button.appendChild(el("span", "地址:" + hit.address, "hs-hit-address"));
      button.addEventListener("click", () => H.focusFeature(hit.name, hit.layer));
      item.appendChild(button);
      list.appendChild(item);
    }
  }

  function buildSearch() {
    const input = $("search");
    input.addEventListener("input", renderSearch);
    input.addEventListener("keydown", (e) => {
      if (e.key !== "Enter") return;
      e.preventDefault();
      const first = search(input.value)[0];
      if (first) H.focusFeature(first.name, first.layer);
    });
  }

  // --- summaries -------------------------------------------------------------------

  function line(label, value) {
    const row = el("div", null, "hs-fact");
    row.appendChild(el("span", label, "hs-fact-label"));
    row.appendChild(el("span", value, "hs-fact-value"));
    return row;
  }

  function table(headers, rows) {
    const t = el("table", null, "hs-table");
    const head = el("tr");
    for (const h of headers) head.appendChild(el("th", h));
    t.appendChild(head);
    for (const r of rows) {
      const tr = el("tr");
      for (const c of r) tr.appendChild(el("td", c));
      t.appendChild(tr);
    }
    return t;
  }

  function areaText(a) {
    return fmt(a.area_m2, 1) + " 平方米(" + fmt(a.area_mu, 2) + " 亩)";
  }

  function renderSummary(data, title) {
    const box = $("summary");
    box.replaceChildren();
    box.appendChild(el("h3", title, "hs-summary-title"));
    box.appendChild(line("面积", areaText(data) + "," + fmt(data.area_km2, 4) + " 平方公里"));

    const v = data.venues;
    box.appendChild(el("h4", "安全监管场所 " + v.count + " 处(九小场所 " + v.nine_small + " 处)"));
    const live = config.live; // the venues' live properties: labels and units
    box.appendChild(line(live.status.label, v.by_status.map((s) => s.status + " " + s.count).join(" · ")));
    box.appendChild(line(live.open_hazards.label, v.open_hazards + " " + live.open_hazards.unit));
    if (v.by_kind.length) box.appendChild(table(["场所类型", "数量(处)"], v.by_kind.map((k) => [k.kind, String(k.count)])));

    const g = data.garbage;
    box.appendChild(el("h4", "垃圾投放点 " + g.points + " 个,垃圾桶 " + g.bins + " 个(示意)"));
    box.appendChild(table(["类别", "桶数(个,示意)"], g.by_kind.map((k) => [k.kind, String(k.bins)])));

    const p = data.parking;
    box.appendChild(el("h4", "停车场 " + p.lots + " 个,泊位 " + p.spaces + " 个(示意)"));
    if (p.items.length) box.appendChild(table(["停车场", "泊位(个,示意)"], p.items.map((i) => [i.name, String(i.spaces)])));

    const l = data.parcels;
    box.appendChild(el("h4", "土地地块 " + l.count + " 块,范围内面积 " + fmt(l.area_mu, 2) + " 亩"));
    if (l.items.length) {
      box.appendChild(table(["地块", "状态", "范围内(亩)"], l.items.map((i) => [i.name, i.status, fmt(i.area_mu, 2)])));
    }

    const j = data.projects;
    box.appendChild(el("h4", "项目与场所 " + j.count + " 个"));
    if (j.items.length) box.appendChild(table(["名称", "类别", "状态"], j.items.map((i) => [i.name, i.category, i.status])));
    box.dataset.ready = "true";
    $("section-tools").open = true;
  }

  function renderError(target, error) {
    target.replaceChildren(el("div", "出错了:" + error.message, "hs-error"));
    target.dataset.ready = "error";
  }

  let highlight = null;

  function clearHighlight() {
    if (highlight) map.removeLayer(highlight);
    highlight = null;
  }

  function highlightArea(geometry) {
    clearHighlight();
    H.ensurePane({ name: "hs-highlight", zIndex: 590 });
    highlight = L.geoJSON(geometry, {
      pane: "hs-highlight",
      interactive: false,
      style: { color: "#ff6a00", weight: 4, fill: false },
    }).addTo(map);
  }

  function showCommunitySummary(name) {
    const summary = $("summary");
    summary.dataset.ready = "loading";
    return HS.getJson(config.api.summary + "?community=" + encodeURIComponent(name))
      .then((data) => {
        highlightArea(data.geometry);
        renderSummary(data, "社区统计:" + data.community.name);
        summary.dataset.source = "community";
      })
      .catch((error) => renderError(summary, error));
  }
  H.showCommunitySummary = showCommunitySummary;

  // Back to all communities: the chosen community's outline and figures go with it
  // (a drawn area's figures stay).
  function clearCommunitySummary() {
    const summary = $("summary");
    if (summary.dataset.source !== "community") return;
    clearHighlight();
    summary.replaceChildren();
    delete summary.dataset.source;
    delete summary.dataset.ready;
  }

  document.addEventListener("huaishu:feature-click", (e) => {
    if (e.detail.layer === "communities" && !drawing) showCommunitySummary(e.detail.feature.properties.name);
  });

  // --- drawing and measuring (Leaflet-Geoman) ----------------------------------------

  const TOOLS = {
    rectangle: { shape: "Rectangle", purpose: "summary" },
    polygon: { shape: "Polygon", purpose: "summary" },
    line: { shape: "Line", purpose: "measure" },
    area: { shape: "Polygon", purpose: "measure" },
  };
  const drawn = (H.drawn = L.featureGroup().addTo(map));
  let activeTool = null;
  let drawing = false;

  function setActiveTool(tool) {
    activeTool = tool;
    for (const button of document.querySelectorAll("[data-tool]")) {
      button.classList.toggle("hs-active", button.dataset.tool === tool);
    }
  }

  function startTool(tool) {
    map.pm.disableDraw();
    setActiveTool(tool);
    const spec = TOOLS[tool];
    map.pm.enableDraw(spec.shape, {
      snappable: false,
      finishOn: spec.shape === "Rectangle" ? null : "dblclick",
      pathOptions: spec.purpose === "summary" ? { color: "#ff6a00", weight: 3, fillOpacity: 0.08 } : { color: "#1d4ed8", weight: 3, dashArray: "6 4", fillOpacity: 0.05 },
      templineStyle: { color: "#1d4ed8" },
      hintlineStyle: { color: "#1d4ed8", dashArray: "4 4" },
    });
  }

  function measureText(m) {
    if (m.length_m !== undefined) return "长度 " + fmt(m.length_m, 1) + " 米";
    return "面积 " + areaText(m) + ",周长 " + fmt(m.perimeter_m, 1) + " 米";
  }

  function finishDrawing(layer) {
    const tool = activeTool;
    setActiveTool(null);
    drawn.addLayer(layer);
    const geometry = layer.toGeoJSON().geometry;
    const body = { geometry: geometry };
    if (TOOLS[tool].purpose === "measure") {
      const out = $("measure-result");
      out.dataset.ready = "loading";
      return HS.postJson(config.api.measure, body)
        .then((m) => {
          const text = measureText(m);
          layer.bindTooltip(el("span", text), { permanent: true, direction: "center", className: "hs-measure-label" }).openTooltip();
          out.replaceChildren(el("div", text, "hs-measure"));
          out.dataset.ready = "true";
        })
        .catch((error) => {
          drawn.removeLayer(layer);
          renderError(out, error);
        });
    }
    const summary = $("summary");
    summary.dataset.ready = "loading";
    return HS.postJson(config.api.summary, body)
      .then((data) => {
        clearHighlight();
        renderSummary(data, "绘制范围统计");
        summary.dataset.source = "drawing";
      })
      .catch((error) => {
        drawn.removeLayer(layer);
        renderError(summary, error);
      });
  }

  function buildTools() {
    map.pm.setLang("zh");
    H.ensurePane({ name: "hs-drawings", zIndex: 595 });
    map.pm.setGlobalOptions({ panes: { layerPane: "hs-drawings", vertexPane: "markerPane", markerPane: "markerPane" } });
    for (const button of document.querySelectorAll("[data-tool]")) {
      button.addEventListener("click", () => startTool(button.dataset.tool));
    }
    $("clear-drawings").addEventListener("click", () => {
      map.pm.disableDraw();
      setActiveTool(null);
      drawn.clearLayers();
      clearHighlight();
      $("summary").replaceChildren();
      $("measure-result").replaceChildren();
    });
    map.on("pm:drawstart", () => {
      drawing = true;
      map.getContainer().classList.add("hs-drawing");
    });
    map.on("pm:drawend", () => {
      drawing = false;
      map.getContainer().classList.remove("hs-drawing");
      if (activeTool && !map.pm.globalDrawModeEnabled()) setActiveTool(null);
    });
    map.on("pm:create", (e) => {
      if (activeTool) finishDrawing(e.layer); // the editor's drawings are its own (map-edit.js)
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && drawing) {
        map.pm.disableDraw();
        setActiveTool(null);
      }
    });
  }

  // --- choropleth and coverage -------------------------------------------------------

  function pct(share) {
    return fmt(share * 100, 1) + "%";
  }

  function renderThematic() {
    const box = $("thematic-table");
    box.replaceChildren();
    const choropleth = H.overlays.choropleth;
    if (choropleth) {
      const data = choropleth.data;
      box.appendChild(el("h4", data.indicator.label + "(" + data.indicator.unit + ")"));
      const features = data.features.slice().sort((a, b) => b.properties.value - a.properties.value);
      box.appendChild(table(["社区", "数值"], features.map((f) => [f.properties.name, fmt(f.properties.value)])));
    }
    const shown = config.coverage.filter((c) => H.overlays.coverage[c.key]);
    if (shown.length) {
      H.loadCoverage().then((data) => {
        const section = el("div", null, "hs-coverage-table");
        section.appendChild(el("h4", "覆盖率(覆盖面积占社区面积)"));
        const headers = ["社区"].concat(shown.map((c) => c.label));
        const rows = data.communities.concat([data.total]).map((r) => [r.name].concat(shown.map((c) => pct(r[c.key + "_share"]))));
        section.appendChild(table(headers, rows));
        if (shown.some((c) => c.key === "reading")) {
          section.appendChild(el("div", "阅读站点:" + data.reading.sites.join("、"), "hs-legend-note"));
        }
        box.appendChild(section);
        box.dataset.coverage = "true";
      });
    }
  }

  function buildThematic() {
    const select = $("choropleth-indicator");
    for (const indicator of config.indicators) {
      const option = el("option", indicator.label + "(" + indicator.unit + ")");
      option.value = indicator.key;
      select.appendChild(option);
    }
    select.addEventListener("change", () => {
      H.showChoropleth(select.value || null).catch((error) => renderError($("thematic-table"), error));
    });
    const toggles = $("coverage-toggles");
    for (const spec of config.coverage) {
      const label = el("label", null, "hs-check");
      const box = el("input");
      box.type = "checkbox";
      box.dataset.coverage = spec.key;
      box.addEventListener("change", () => H.showCoverage(spec.key, box.checked).catch((error) => renderError($("thematic-table"), error)));
      label.appendChild(box);
      label.appendChild(el("span", spec.label));
      toggles.appendChild(label);
    }
    document.addEventListener("huaishu:choropleth", renderThematic);
    document.addEventListener("huaishu:coverage", renderThematic);
  }

  // --- export and print --------------------------------------------------------------

  function shownLayers() {
    return Object.keys(H.layers).filter((name) => H.isShown(name));
  }

  function currentBasemap() {
    return Object.keys(H.basemaps).find((key) => map.hasLayer(H.basemaps[key])) || "none";
  }

  function bboxText(bounds) {
    return [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map((v) => v.toFixed(6)).join(",");
  }

  // Null values are left out; an empty one is kept (the print view's `layers=`: none shown).
  function query(params) {
    const out = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) if (value !== null && value !== undefined) out.set(key, value);
    return out.toString();
  }

  function exportUrl(format) {
    return (
      config.api.export +
      "?" +
      query({
        format: format,
        layers: shownLayers().join(","),
        community: H.filter.community,
        bbox: $("export-view").checked ? bboxText(map.getBounds()) : null,
      })
    );
  }

  function printUrl() {
    return (
      config.printUrl +
      "?" +
      query({
        layers: shownLayers().join(","),
        community: H.filter.community,
        indicator: H.overlays.choropleth ? H.overlays.choropleth.key : null,
        coverage: Object.keys(H.overlays.coverage).join(",") || null,
        basemap: currentBasemap() === "none" ? null : currentBasemap(),
        bbox: bboxText(map.getBounds()),
        title: $("print-title").value.trim() || null,
      })
    );
  }

  function updateOutputLinks() {
    const layers = shownLayers();
    for (const [id, format] of [["export-geojson", "geojson"], ["export-csv", "csv"]]) {
      const link = $(id);
      link.href = exportUrl(format);
      link.classList.toggle("hs-disabled", !layers.length);
    }
    $("print-link").href = printUrl();
  }

  function buildOutput() {
    for (const name of ["visibility", "filter", "choropleth", "coverage", "layers-loaded"]) {
      document.addEventListener("huaishu:" + name, updateOutputLinks);
    }
    map.on("moveend baselayerchange", updateOutputLinks);
    $("export-view").addEventListener("change", updateOutputLinks);
    $("print-title").addEventListener("input", updateOutputLinks);
    for (const id of ["export-geojson", "export-csv"]) {
      $(id).addEventListener("click", (e) => {
        if (!shownLayers().length) e.preventDefault();
      });
    }
    updateOutputLinks();
  }

  // --- start -------------------------------------------------------------------------

  buildLayerTree();
  buildFilter();
  buildSearch();
  buildTools();
  buildThematic();
  buildOutput();
  for (const name of ["layer-loaded", "layer-reloaded", "filter", "visibility"]) document.addEventListener("huaishu:" + name, updateCounts);
  updateCounts();
  H.whenLoaded(() => {
    buildSearchIndex();
    updateCounts();
    document.body.dataset.panelReady = "true";
  });
})();
