// Names on the map: roads along their lines, communities and grid cells inside
// their areas, sites at the higher zooms. Each rule applies from its zoom on and
// while its layer is shown; candidates are placed in priority order, each label
// is measured in the browser, and one whose box would overlap a label already
// placed (or leave the map) is dropped. Text from data reaches the page only
// through textContent.
//
// Pages built on HuaishuMap get their labels by themselves; a page with its own
// Leaflet layers calls HuaishuLabels.attach(map, sources) (see below).
(function () {
  "use strict";

  // In priority order: the first rules place their labels first.
  const RULES = [
    { layer: "communities", kind: "area", minZoom: 13, maxZoom: 17.5, className: "hs-label-community" },
    { layer: "roads", kind: "line", minZoom: 14, className: "hs-label-road" },
    { layer: "projects", kind: "area", minZoom: 16, className: "hs-label-site" },
    { layer: "parcels", kind: "area", minZoom: 16, className: "hs-label-site" },
    { layer: "grid", kind: "area", minZoom: 16.5, className: "hs-label-grid" },
    { layer: "parking", kind: "area", minZoom: 17, className: "hs-label-site" },
  ];
  const ROAD_RANK = { 主干路: 0, 次干路: 1, 支路: 2, 铁路: 3 };
  const PADDING = 3; // pixels kept free around every label
  const REPEAT_PX = 520; // a long road is named again after this many pixels
  const PANE = "hs-labels";

  function boxesOverlap(a, b) {
    return a.left < b.right + PADDING && b.left < a.right + PADDING &&
      a.top < b.bottom + PADDING && b.top < a.bottom + PADDING;
  }

  function inside(box, frame) {
    return box.left >= frame.left && box.right <= frame.right && box.top >= frame.top && box.bottom <= frame.bottom;
  }

  // The parts of a polyline as arrays of container points.
  function lineParts(map, layer) {
    const latlngs = layer.getLatLngs();
    const parts = Array.isArray(latlngs[0]) ? latlngs : [latlngs];
    return parts.map((part) => part.map((ll) => map.latLngToContainerPoint(ll)));
  }

  // Where to write a line's name: the middle of each REPEAT_PX stretch of its
  // visible length, with the angle of the line there (kept upright).
  function lineAnchors(map, layer) {
    const size = map.getSize();
    const bounds = L.bounds([0, 0], [size.x, size.y]);
    const out = [];
    for (const points of lineParts(map, layer)) {
      for (let i = 1; i < points.length; i += 1) {
        const clipped = L.LineUtil.clipSegment(points[i - 1], points[i], bounds, false, true);
        if (!clipped) continue;
        const [a, b] = clipped;
        const length = a.distanceTo(b);
        if (length < 80) continue;
        let angle = (Math.atan2(b.y - a.y, b.x - a.x) * 180) / Math.PI;
        if (angle > 90) angle -= 180;
        if (angle <= -90) angle += 180;
        const count = Math.max(1, Math.floor(length / REPEAT_PX));
        for (let k = 0; k < count; k += 1) {
          const t = (k + 0.5) / count;
          out.push({ point: L.point(a.x + (b.x - a.x) * t, a.y + (b.y - a.y) * t), angle: angle });
        }
      }
    }
    return out;
  }

  // A polygon's label point: its centre, if the area is big enough on screen
  // to hold the text (checked once the label is measured).
  function areaAnchors(map, layer) {
    if (typeof layer.getCenter !== "function") return [];
    let center;
    try {
      center = layer.getCenter();
    } catch {
      return []; // an empty or not yet drawn polygon
    }
    const b = layer.getBounds();
    const nw = map.latLngToContainerPoint(b.getNorthWest());
    const se = map.latLngToContainerPoint(b.getSouthEast());
    return [{ point: map.latLngToContainerPoint(center), angle: 0, room: { x: se.x - nw.x, y: se.y - nw.y } }];
  }

  function create(map, text, className, anchor) {
    const outer = L.DomUtil.create("div", "hs-label " + className, map.getPane(PANE));
    const inner = L.DomUtil.create("span", "hs-label-text", outer);
    inner.textContent = text;
    inner.style.transform = "translate(-50%, -50%)" + (anchor.angle ? " rotate(" + anchor.angle.toFixed(1) + "deg)" : "");
    L.DomUtil.setPosition(outer, map.containerPointToLayerPoint(anchor.point));
    return { outer: outer, inner: inner };
  }

  // sources: [{ rule, layers(): [Leaflet layer with .feature], shown(): bool }]
  function Labeller(map, sources) {
    this.map = map;
    this.sources = sources;
    this.placed = [];
    if (!map.getPane(PANE)) {
      const pane = map.createPane(PANE);
      pane.style.zIndex = 590; // above the layers' panes, below markers (600) and popups
      pane.style.pointerEvents = "none";
    }
    const redraw = () => this.schedule();
    map.on("zoomend moveend resize overlayadd overlayremove layeradd layerremove", redraw);
  }

  Labeller.prototype.schedule = function () {
    if (this.pending) return;
    this.pending = true;
    const run = () => {
      this.pending = false;
      this.layout();
    };
    if (window.requestAnimationFrame) window.requestAnimationFrame(run);
    else setTimeout(run, 16);
  };

  Labeller.prototype.clear = function () {
    for (const label of this.placed) label.node.outer.remove();
    this.placed = [];
  };

  Labeller.prototype.candidates = function (source) {
    const rule = source.rule;
    const items = source.layers().filter((layer) => layer.feature && layer.feature.properties);
    if (rule.kind === "line") {
      items.sort((a, b) =>
        (ROAD_RANK[a.feature.properties.kind] ?? 9) - (ROAD_RANK[b.feature.properties.kind] ?? 9));
    }
    const out = [];
    for (const layer of items) {
      if (layer.options && layer.options.opacity === 0) continue; // filtered out
      const name = layer.feature.properties.name;
      if (name === undefined || name === null || name === "") continue;
      const anchors = rule.kind === "line" ? lineAnchors(this.map, layer) : areaAnchors(this.map, layer);
      for (const anchor of anchors) out.push({ text: String(name), anchor: anchor, layer: rule.layer });
    }
    return out;
  };

  Labeller.prototype.layout = function () {
    const map = this.map;
    this.clear();
    const zoom = map.getZoom();
    const frame = map.getContainer().getBoundingClientRect();
    const boxes = [];
    for (const source of this.sources) {
      const rule = source.rule;
      if (zoom < rule.minZoom || (rule.maxZoom !== undefined && zoom > rule.maxZoom)) continue;
      if (!source.shown()) continue;
      for (const candidate of this.candidates(source)) {
        const node = create(map, candidate.text, rule.className, candidate.anchor);
        const box = node.inner.getBoundingClientRect();
        const room = candidate.anchor.room;
        const fits = !room || (box.width <= room.x * 0.9 && box.height <= room.y * 0.9);
        if (!fits || !inside(box, frame) || boxes.some((other) => boxesOverlap(box, other))) {
          node.outer.remove();
          continue;
        }
        boxes.push(box);
        this.placed.push({ text: candidate.text, layer: candidate.layer, node: node });
      }
    }
    map.getContainer().dataset.labels = String(this.placed.length);
  };

  // What is shown, for tests and the print view: text, layer and screen box.
  Labeller.prototype.shownLabels = function () {
    return this.placed.map((label) => {
      const r = label.node.inner.getBoundingClientRect();
      return { text: label.text, layer: label.layer, left: r.left, top: r.top, right: r.right, bottom: r.bottom };
    });
  };

  const HuaishuLabels = (window.HuaishuLabels = {
    RULES: RULES,
    // sources: { layerName: { layers(): [...], shown(): bool } } for the rules' layers
    attach: function (map, sources) {
      const list = RULES.filter((rule) => sources[rule.layer]).map((rule) =>
        Object.assign({ rule: rule }, sources[rule.layer])
      );
      const labeller = new Labeller(map, list);
      labeller.schedule();
      return labeller;
    },
  });

  // Pages built on HuaishuMap: label its layers once they have loaded.
  const H = window.HuaishuMap;
  if (H && typeof H.whenLoaded === "function") {
    const start = () => {
      if (!H.map || H.labeller) return;
      const sources = {};
      for (const rule of RULES) {
        sources[rule.layer] = {
          layers: () => {
            const entry = H.layers[rule.layer];
            return entry && entry.geojson ? entry.geojson.getLayers() : [];
          },
          shown: () => {
            const entry = H.layers[rule.layer];
            return Boolean(entry && entry.loaded && entry.group && H.map.hasLayer(entry.group));
          },
        };
      }
      H.labeller = HuaishuLabels.attach(H.map, sources);
      document.addEventListener("huaishu:visibility", () => H.labeller.schedule());
      document.addEventListener("huaishu:filter", () => H.labeller.schedule());
    };
    document.addEventListener("DOMContentLoaded", () => H.whenLoaded(start));
    if (document.readyState !== "loading") H.whenLoaded(start);
  }
})();
