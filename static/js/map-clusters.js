// Keeps the clusters of different point layers apart: each layer clusters its own
// markers, so a garbage cluster can land on a venue cluster and hide its count.
// After every redraw the icons of the layers that yield (YIELDING) are moved, by
// the shortest offset found, off the icons of the layers they yield to and off
// each other; a thin leader line joins a moved icon to where it belongs.
(function () {
  "use strict";

  const H = window.HuaishuMap;
  if (!H) return;

  const YIELDING = ["garbage", "shopfronts"]; // moved, in this order
  const KEPT = ["venues"]; // never moved
  const GAP = 2; // pixels between icons
  const STEP = 6; // the offsets tried grow by this many pixels
  const MAX_SHIFT = 120;

  function layerOf(icon) {
    for (const name of KEPT.concat(YIELDING)) {
      if (icon.querySelector(".hs-cluster-" + name)) return { name: name, cluster: true };
    }
    if (icon.querySelector(".hs-venue")) return { name: "venues", cluster: false };
    if (icon.querySelector(".hs-bin")) return { name: "garbage", cluster: false };
    if (icon.querySelector(".hs-cluster")) return { name: "other", cluster: true };
    return null;
  }

  function shifted(r, dx, dy) {
    return { left: r.left + dx, right: r.right + dx, top: r.top + dy, bottom: r.bottom + dy };
  }

  function hits(a, b) {
    return a.left < b.right + GAP && b.left < a.right + GAP && a.top < b.bottom + GAP && b.top < a.bottom + GAP;
  }

  function restore(icon) {
    if (icon.dataset.hsShift === undefined) return;
    icon.style.marginLeft = icon.dataset.hsBaseLeft;
    icon.style.marginTop = icon.dataset.hsBaseTop;
    delete icon.dataset.hsShift;
  }

  function offsets() {
    const out = [];
    for (let r = STEP; r <= MAX_SHIFT; r += STEP) {
      for (let a = 0; a < 360; a += 20) {
        const rad = (a * Math.PI) / 180;
        out.push([Math.round(r * Math.cos(rad)), Math.round(r * Math.sin(rad))]);
      }
    }
    return out;
  }
  const OFFSETS = offsets();

  const state = { moved: 0, leaders: null };

  function separate() {
    const map = H.map;
    if (!map) return;
    if (!state.leaders) state.leaders = L.layerGroup().addTo(map);
    state.leaders.clearLayers();
    const icons = [...map.getPane("markerPane").querySelectorAll(".leaflet-marker-icon")];
    const frame = map.getContainer().getBoundingClientRect();
    const fixed = [];
    const movable = [];
    for (const icon of icons) {
      restore(icon);
      const layer = layerOf(icon);
      if (!layer) continue;
      const rect = icon.getBoundingClientRect();
      if (KEPT.includes(layer.name)) fixed.push(rect);
      else if (layer.cluster) movable.push({ icon: icon, rect: rect });
      else fixed.push(rect); // single points stay where they are
    }
    let moved = 0;
    for (const item of movable) {
      if (!fixed.some((r) => hits(item.rect, r))) {
        fixed.push(item.rect);
        continue;
      }
      const found = OFFSETS.find(([dx, dy]) => {
        const r = shifted(item.rect, dx, dy);
        return r.left >= frame.left && r.right <= frame.right && r.top >= frame.top && r.bottom <= frame.bottom &&
          !fixed.some((other) => hits(r, other));
      });
      if (!found) {
        fixed.push(item.rect);
        continue;
      }
      const [dx, dy] = found;
      const icon = item.icon;
      icon.dataset.hsBaseLeft = icon.style.marginLeft;
      icon.dataset.hsBaseTop = icon.style.marginTop;
      icon.dataset.hsShift = dx + "," + dy;
      icon.style.marginLeft = (parseFloat(icon.style.marginLeft) || 0) + dx + "px";
      icon.style.marginTop = (parseFloat(icon.style.marginTop) || 0) + dy + "px";
      fixed.push(shifted(item.rect, dx, dy));
      moved += 1;
      // The leader: from the cluster's true place to the moved icon's centre.
      const c = item.rect;
      const from = map.containerPointToLatLng([(c.left + c.right) / 2 - frame.left, (c.top + c.bottom) / 2 - frame.top]);
      const to = map.containerPointToLatLng([(c.left + c.right) / 2 - frame.left + dx, (c.top + c.bottom) / 2 - frame.top + dy]);
      L.polyline([from, to], { color: "#4d5656", weight: 1, opacity: 0.8, interactive: false }).addTo(state.leaders);
    }
    state.moved = moved;
    map.getContainer().dataset.clustersMoved = String(moved);
  }

  let pending = false;
  function schedule() {
    if (pending) return;
    pending = true;
    (window.requestAnimationFrame || ((f) => setTimeout(f, 16)))(() => {
      pending = false;
      separate();
    });
  }

  H.separateClusters = separate;
  H.clusterSeparation = state;

  function start() {
    const map = H.map;
    if (!map || state.started) return;
    state.started = true;
    map.on("zoomend moveend resize", schedule);
    for (const name of KEPT.concat(YIELDING)) {
      const entry = H.layers[name];
      if (entry && entry.cluster) entry.cluster.on("animationend", schedule);
    }
    // Icons come and go as the cluster groups redraw: watch the marker pane's children.
    new MutationObserver(schedule).observe(map.getPane("markerPane"), { childList: true });
    document.addEventListener("huaishu:visibility", schedule);
    document.addEventListener("huaishu:filter", schedule);
    schedule();
  }

  if (typeof H.whenLoaded === "function") {
    document.addEventListener("DOMContentLoaded", () => H.whenLoaded(start));
    if (document.readyState !== "loading") H.whenLoaded(start);
  }
})();
