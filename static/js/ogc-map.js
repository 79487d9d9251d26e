// The small map of the OGC API's HTML pages: draws the features of the page
// (fetched as GeoJSON from data-url) over the sub-district boundary. No
// basemap: nothing is loaded from outside the app. Text from data is set with
// textContent, never parsed as HTML.
(function () {
  "use strict";
  var box = document.getElementById("ogc-map");
  if (!box || !window.L) { return; }
  var map = L.map(box, { attributionControl: false });
  // The zoom a user is at, on the box (a test waits for a zoom to end before the next).
  map.on("zoomend", function () { box.dataset.zoom = String(map.getZoom()); });
  map.setView([36.668, 116.962], 14);

  function label(feature) {
    var p = feature.properties || {};
    return HS.el("span", p.name || feature.id || "");
  }

  function getJSON(url) {
    return HS.getJson(url, null, "application/geo+json");
  }

  getJSON(box.dataset.boundary).then(function (data) {
    L.geoJSON(data, { style: { color: "#c0392b", weight: 2, fill: false, dashArray: "6 4" },
                      interactive: false }).addTo(map);
  }).catch(function () { /* the features are still drawn without the outline */ });

  getJSON(box.dataset.url).then(function (data) {
    var layer = L.geoJSON(data, {
      style: { color: "#1f4e79", weight: 2, fillOpacity: 0.25 },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, { radius: 6, color: "#1f4e79", fillColor: "#5dade2",
                                        fillOpacity: 0.9, weight: 1 });
      },
      onEachFeature: function (feature, l) { l.bindTooltip(label(feature)); }
    }).addTo(map);
    var bounds = layer.getBounds();
    if (bounds.isValid()) { map.fitBounds(bounds, { maxZoom: 16, padding: [20, 20] }); }
    // Names on the map (map-labels.js), for the collections it has rules for.
    var collection = (box.dataset.url.match(/\/collections\/([^/?]+)\//) || [])[1];
    if (window.HuaishuLabels && collection) {
      var sources = {};
      sources[collection] = {
        layers: function () { return layer.getLayers(); },
        shown: function () { return true; }
      };
      box.labeller = HuaishuLabels.attach(map, sources);
    }
    box.dataset.loaded = String(layer.getLayers().length);
  }).catch(function (e) {
    box.dataset.loaded = "error";
    box.textContent = "地图数据加载失败:" + e.message;
  });
}());
