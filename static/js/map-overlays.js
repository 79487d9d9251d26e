// Page furniture and thematic overlays shared by the overview and print pages:
// metric scale bar, north arrow, the legend (built from the same style values
// the layers are drawn with), the community choropleth and the coverage areas.
// Text from data goes through textContent only.
(function () {
  "use strict";

  const H = window.HuaishuMap;
  const el = HS.el;
  H.overlays = { choropleth: null, coverage: {} };
  let coverageData = null;

  // Scale bar, legend (on the map, or in `legendParent`), fit to the sub-district.
  H.setupPage = function (config, options) {
    H.config = config;
    L.control.scale({ metric: true, imperial: false, maxWidth: 160, position: "bottomleft" }).addTo(H.map);
    const legendParent = options && options.legendParent;
    if (legendParent) legendParent.appendChild(legendBox());
    else legendControl().addTo(H.map);
    for (const name of ["layer-loaded", "visibility", "filter", "choropleth", "coverage"]) {
      document.addEventListener("huaishu:" + name, refreshLegend);
    }
    H.fitSubDistrict();
  };

  // Fit padding: the legend, when it lies on the map, must not hide the sub-district.
  H.fitOptions = function () {
    const legend = H.map.getContainer().querySelector(".hs-legend");
    const right = legend && !legend.classList.contains("hs-collapsed") ? legend.offsetWidth + 24 : 16;
    return { paddingTopLeft: [16, 16], paddingBottomRight: [right, 16], animate: false };
  };

  H.fitSubDistrict = function () {
    H.map.fitBounds(H.config.bounds, H.fitOptions());
  };

  // --- north arrow ---------------------------------------------------------------

  function svg(tag, attributes) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    return node;
  }

  H.northArrow = function (position) {
    const control = L.control({ position: position || "topright" });
    control.onAdd = function () {
      const box = el("div", null, "hs-north-arrow leaflet-bar");
      box.id = "north-arrow";
      box.title = "指北针";
      const drawing = svg("svg", { width: "36", height: "52", viewBox: "0 0 36 52", role: "img" });
      drawing.appendChild(svg("polygon", { points: "18,14 28,46 18,39 8,46", fill: "#222" }));
      drawing.appendChild(svg("polygon", { points: "18,14 18,39 8,46", fill: "#fff", stroke: "#222" }));
      const letter = svg("text", { x: "18", y: "11", "text-anchor": "middle", "font-size": "12", "font-weight": "bold" });
      letter.textContent = "北";
      drawing.appendChild(letter);
      box.appendChild(drawing);
      return box;
    };
    return control;
  };

  // --- legend ----------------------------------------------------------------------

  function rgba(hex, alpha) {
    const n = parseInt(String(hex).slice(1), 16);
    if (String(hex).length !== 7 || Number.isNaN(n)) return hex;
    return "rgba(" + (n >> 16) + "," + ((n >> 8) & 255) + "," + (n & 255) + "," + alpha + ")";
  }

  function symbol(kind, style) {
    const node = el("span", null, "hs-symbol hs-symbol-" + kind);
    Object.assign(node.style, style || {});
    return node;
  }

  function item(symbolNode, label) {
    const node = el("span", null, "hs-legend-item");
    node.appendChild(symbolNode);
    node.appendChild(el("span", label));
    return node;
  }

  function items(className, nodes) {
    const box = el("div", null, "hs-legend-items " + (className || ""));
    for (const node of nodes) box.appendChild(node);
    return box;
  }

  function polygonSymbol(color, fill, opacity, dashed) {
    return symbol("polygon", {
      borderColor: color,
      background: rgba(fill, opacity === undefined ? 0.5 : opacity),
      borderStyle: dashed ? "dashed" : "solid",
    });
  }

  function plainLegend(config) {
    const s = config.style;
    if (config.geometry === "Point") return items("", [item(symbol("point", { background: s.fillColor, borderColor: s.color }), config.title)]);
    if (config.geometry === "LineString") return items("", [item(symbol("line", { borderTopColor: s.color }), config.title)]);
    return items("", [item(polygonSymbol(s.color, s.fillColor, s.fillOpacity, !!s.dashArray), config.title)]);
  }

  function venuesLegend(theme, serverCluster) {
    const box = el("div");
    box.appendChild(items("hs-cols-3", theme.statuses.map((s) => item(symbol("point", { background: s.color }), s.value))));
    box.appendChild(
      items("hs-cols-2", theme.shapes.map((s) => item(symbol(s.shape === "square" ? "square" : "point", { background: theme.unknownColor }), s.value)))
    );
    box.appendChild(
      items(
        "hs-cols-2",
        theme.glyphs.map((g) => {
          const glyph = symbol("glyph");
          glyph.textContent = g.glyph;
          return item(glyph, g.value);
        })
      )
    );
    // Server clusters (a large layer) count venues; the browser's show each status's share.
    const note = serverCluster ? "聚合圆中数字为场所数,放大后显示检查状态" : "聚合圆中数字为场所数,环上各色为各检查状态所占比例";
    box.appendChild(el("div", note, "hs-legend-note"));
    return box;
  }

  function garbageLegend(theme) {
    const box = el("div");
    box.appendChild(items("hs-cols-2", theme.kinds.map((k) => item(symbol("point", { background: k.color }), k.value))));
    box.appendChild(
      items(
        "hs-cols-3",
        theme.sizes.map((s) => item(symbol("point", { width: s.diameter + "px", height: s.diameter + "px", background: "#9aa5a0" }), s.label))
      )
    );
    box.appendChild(el("div", "聚合圆中数字为投放点数,扇区为各类垃圾桶所占比例", "hs-legend-note"));
    return box;
  }

  function categoryLegend(config) {
    const theme = config.theme;
    const nodes = theme.values.map((v) => item(polygonSymbol(v.color, v.color, config.style.fillOpacity), v.value));
    if (theme.dashed) nodes.push(item(polygonSymbol("#555", "#ffffff", 0, true), "虚线框:" + theme.dashed.value));
    return items("hs-cols-2", nodes);
  }

  function roadsLegend(theme) {
    return items(
      "hs-cols-2",
      theme.values.map((v) => {
        if (v.casing) return item(symbol("railway"), v.value);
        return item(symbol("line", { borderTopColor: v.color, borderTopWidth: Math.max(2, v.weight / 2) + "px" }), v.value);
      })
    );
  }

  function layerLegend(entry) {
    const config = entry.config;
    const theme = config.theme;
    const box = el("div", null, "hs-legend-layer");
    box.dataset.layer = config.name;
    if (!theme) {
      box.appendChild(plainLegend(config));
      return box;
    }
    box.appendChild(el("div", config.title, "hs-legend-layer-title"));
    if (theme.kind === "venues") box.appendChild(venuesLegend(theme, config.serverCluster));
    else if (theme.kind === "garbage") box.appendChild(garbageLegend(theme));
    else if (theme.kind === "category") box.appendChild(categoryLegend(config));
    else if (theme.kind === "roads") box.appendChild(roadsLegend(theme));
    return box;
  }

  function choroplethLegend(data) {
    const box = el("div", null, "hs-legend-layer");
    box.dataset.layer = "choropleth";
    box.appendChild(el("div", "社区分级:" + data.indicator.label + "(" + data.indicator.unit + ")", "hs-legend-layer-title"));
    const range = (c) => (c.min === c.max ? HS.formatNumber(c.min) : HS.formatNumber(c.min) + "–" + HS.formatNumber(c.max));
    box.appendChild(items("hs-cols-2", data.classes.map((c) => item(polygonSymbol("#444", c.color, 0.85), range(c)))));
    return box;
  }

  function coverageLegend() {
    const box = el("div", null, "hs-legend-layer");
    box.dataset.layer = "coverage";
    box.appendChild(el("div", "覆盖分析", "hs-legend-layer-title"));
    const shown = H.config.coverage.filter((c) => H.overlays.coverage[c.key]);
    box.appendChild(items("", shown.map((c) => item(polygonSymbol(c.color, c.color, 0.25), c.label))));
    return box;
  }

  function legendBox() {
    const box = el("div", null, "hs-legend");
    box.id = "legend";
    box.setAttribute("aria-label", "图例");
    const head = el("div", null, "hs-legend-head");
    head.appendChild(el("span", "图例", "hs-legend-title"));
    const toggle = el("button", "收起", "hs-legend-toggle");
    toggle.type = "button";
    toggle.addEventListener("click", () => {
      const collapsed = box.classList.toggle("hs-collapsed");
      toggle.textContent = collapsed ? "展开" : "收起";
    });
    head.appendChild(toggle);
    box.appendChild(head);
    box.appendChild(el("div", null, "hs-legend-body"));
    return box;
  }

  function legendControl() {
    const control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      const box = legendBox();
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    return control;
  }

  // The legend lists what is drawn: the shown layers, top of the map first, and the overlays.
  function refreshLegend() {
    const box = document.querySelector("#legend .hs-legend-body");
    if (!box) return;
    box.replaceChildren();
    const entries = Object.values(H.layers)
      .filter((entry) => H.isShown(entry.config.name))
      .sort((a, b) => (b.config.pane ? b.config.pane.zIndex : 0) - (a.config.pane ? a.config.pane.zIndex : 0));
    if (H.overlays.choropleth) box.appendChild(choroplethLegend(H.overlays.choropleth.data));
    if (Object.keys(H.overlays.coverage).length) box.appendChild(coverageLegend());
    for (const entry of entries) box.appendChild(layerLegend(entry));
  }
  H.refreshLegend = refreshLegend;

  // --- choropleth ------------------------------------------------------------------

  function overlayPane(name, offset) {
    const communities = H.layers.communities;
    const base = communities && communities.config.pane ? communities.config.pane.zIndex : 400;
    H.ensurePane({ name: name, zIndex: base + offset });
    return name;
  }

  function choroplethLabel(feature, indicator) {
    const box = el("div");
    box.appendChild(el("div", feature.properties.name, "hs-label-name"));
    box.appendChild(el("div", HS.formatNumber(feature.properties.value) + " " + indicator.unit, "hs-label-value"));
    return box;
  }

  // Colour the communities by an indicator (null: remove). Resolves to the API's data.
  H.showChoropleth = function (key) {
    if (H.overlays.choropleth) {
      H.map.removeLayer(H.overlays.choropleth.layer);
      H.overlays.choropleth = null;
    }
    if (!key) {
      H.emit("choropleth", null);
      return Promise.resolve(null);
    }
    const url = H.config.api.choropleth + "?indicator=" + encodeURIComponent(key);
    return HS.getJson(url).then((data) => {
      const pane = overlayPane("hs-choropleth", 5);
      const layer = L.geoJSON(data, {
        pane: pane,
        interactive: false,
        style: (feature) => ({ color: "#444", weight: 1, fillColor: feature.properties.color, fillOpacity: 0.75 }),
        onEachFeature: (feature, polygon) =>
          polygon.bindTooltip(choroplethLabel(feature, data.indicator), {
            permanent: true,
            direction: "center",
            className: "hs-choropleth-label",
            interactive: false,
          }),
      }).addTo(H.map);
      H.overlays.choropleth = { key: key, data: data, layer: layer };
      H.emit("choropleth", data);
      return data;
    });
  };

  // --- coverage --------------------------------------------------------------------

  H.loadCoverage = function () {
    if (coverageData) return Promise.resolve(coverageData);
    return HS.getJson(H.config.api.coverage).then((data) => (coverageData = data));
  };

  // Show or hide one service area ("garbage" or "reading"). Resolves to the API's data.
  H.showCoverage = function (key, shown) {
    const current = H.overlays.coverage[key];
    if (current) {
      H.map.removeLayer(current);
      delete H.overlays.coverage[key];
    }
    if (!shown) {
      H.emit("coverage", { key: key, shown: false });
      return H.loadCoverage();
    }
    return H.loadCoverage().then((data) => {
      const spec = H.config.coverage.find((c) => c.key === key);
      const pane = overlayPane("hs-coverage", 15);
      H.overlays.coverage[key] = L.geoJSON(data[key].geometry, {
        pane: pane,
        interactive: false,
        style: { color: spec.color, weight: 1.5, fillColor: spec.color, fillOpacity: 0.22 },
      }).addTo(H.map);
      H.emit("coverage", { key: key, shown: true });
      return data;
    });
  };
})();
