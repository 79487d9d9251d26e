// Fills the map's layer groups from the GeoJSON API.
// Text from data only ever reaches the page through textContent: never
// innerHTML, never a template string, so names like <img onerror=...> or
// ${...} show literally.
(function () {
  "use strict";

  const HuaishuMap = (window.HuaishuMap = window.HuaishuMap || {});
  HuaishuMap.layers = {}; // name -> {group, geojson, count, loaded, error}
  HuaishuMap.pending = 0;

  HuaishuMap.setMap = function (map) {
    HuaishuMap.map = map;
  };

  function el(tag, text, className) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = String(text);
    if (className) node.className = className;
    return node;
  }

  function formatValue(value, unit) {
    if (value === null || value === undefined || value === "") return null;
    if (typeof value === "boolean") return value ? "是" : "否";
    if (Array.isArray(value)) return value.join("、");
    if (typeof value === "number") {
      return value.toLocaleString("zh-CN", { maximumFractionDigits: 2 }) + (unit ? " " + unit : "");
    }
    return String(value);
  }
  HuaishuMap.formatValue = formatValue;

  function popupContent(feature, config) {
    const props = feature.properties || {};
    const box = el("div", null, "hs-popup");
    box.appendChild(el("h3", props[config.tooltip] || config.title));
    const table = el("table");
    for (const row of config.popup) {
      const text = formatValue(props[row.field], row.unit);
      if (text === null) continue;
      const tr = el("tr");
      tr.appendChild(el("th", row.label));
      tr.appendChild(el("td", text));
      table.appendChild(tr);
    }
    box.appendChild(table);
    return box;
  }
  HuaishuMap.popupContent = popupContent;

  function tooltipContent(feature, config) {
    const props = feature.properties || {};
    return el("span", props[config.tooltip] || config.title);
  }

  function geoJsonLayer(collection, config) {
    const style = config.style;
    return L.geoJSON(collection, {
      style: () => style,
      pointToLayer: (feature, latlng) => L.circleMarker(latlng, style),
      onEachFeature: (feature, layer) => {
        layer.bindPopup(() => popupContent(feature, config), {
          maxWidth: config.popupMaxWidth,
          minWidth: 200,
        });
        if (config.geometry !== "LineString" || feature.properties[config.tooltip]) {
          layer.bindTooltip(() => tooltipContent(feature, config), { sticky: config.geometry !== "Point" });
        }
      },
    });
  }

  HuaishuMap.addLayer = function (group, config) {
    const entry = { group: group, config: config, count: 0, loaded: false, error: null };
    HuaishuMap.layers[config.name] = entry;
    HuaishuMap.pending += 1;
    fetch(config.url, { headers: { Accept: "application/geo+json" } })
      .then((response) => {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then((collection) => {
        entry.geojson = geoJsonLayer(collection, config).addTo(group);
        entry.count = collection.features.length;
        entry.loaded = true;
        if (config.geometry === "Polygon" && config.name === "boundary") entry.geojson.bringToBack();
      })
      .catch((error) => {
        entry.error = String(error);
        console.error("layer " + config.name + " failed to load:", error);
      })
      .finally(() => {
        HuaishuMap.pending -= 1;
        if (HuaishuMap.pending === 0) {
          document.body.dataset.layersLoaded = "true";
          document.dispatchEvent(new CustomEvent("huaishu:layers-loaded"));
        }
      });
  };
})();
