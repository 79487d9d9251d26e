// Honest basemap failure: when a tile of the shown basemap fails to load (the
// tile server or the app's tile proxy unreachable, a tile neither fetched nor
// cached), the map switches to no basemap and says so in Chinese; the data
// layers stay. Pages register their base layers: the overview, print and
// review maps through folium (layers/basemaps/choices.py), the inspectors' page
// from inspect.js. A fallback is announced with the DOM event
// "huaishu:basemapfallback" ({detail: {key, name}}).
(function () {
  "use strict";

  const HuaishuBasemaps = (window.HuaishuBasemaps = window.HuaishuBasemaps || {});
  HuaishuBasemaps.MESSAGE = "底图加载失败,已切换为无底图";
  const registered = new Map(); // Leaflet map -> {key -> base layer}

  function notice(map, text) {
    const container = map.getContainer();
    let box = container.querySelector(".hs-basemap-failed");
    if (!box) {
      box = document.createElement("div");
      box.className = "hs-basemap-failed";
      box.setAttribute("role", "alert");
      const message = document.createElement("span");
      const close = document.createElement("button");
      close.type = "button";
      close.textContent = "×";
      close.title = "关闭";
      close.setAttribute("aria-label", "关闭提示");
      close.addEventListener("click", () => box.remove());
      box.append(message, close);
      L.DomEvent.disableClickPropagation(box);
      container.appendChild(box);
    }
    box.querySelector("span").textContent = text;
  }

  function fallBack(map, key, layer) {
    const layers = registered.get(map) || {};
    if (key === "none" || !map.hasLayer(layer)) return;
    map.removeLayer(layer);
    if (layers.none && !map.hasLayer(layers.none)) map.addLayer(layers.none);
    const name = layer.basemapName || "";
    notice(map, (name ? "「" + name + "」" : "") + HuaishuBasemaps.MESSAGE);
    HuaishuBasemaps.failed = key;
    document.dispatchEvent(new CustomEvent("huaishu:basemapfallback", { detail: { key: key, name: name } }));
  }

  // Watch a base layer (a group of tile layers: a map and its labels) under its key.
  HuaishuBasemaps.register = function (map, key, layer, name) {
    if (!registered.has(map)) {
      registered.set(map, {});
      map.on("baselayerchange", () => {
        const box = map.getContainer().querySelector(".hs-basemap-failed");
        if (box) box.remove(); // a new choice: the old message no longer holds
      });
    }
    registered.get(map)[key] = layer;
    if (name) layer.basemapName = name;
    const tiles = layer.eachLayer ? [] : [layer];
    if (layer.eachLayer) layer.eachLayer((child) => tiles.push(child));
    for (const tile of tiles) {
      if (!tile.basemapName && layer.basemapName) tile.basemapName = layer.basemapName;
      tile.on("tileerror", () => fallBack(map, key, layer));
    }
  };
})();
