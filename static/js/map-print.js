// The print view: the overview's layers, filter, overlays and view, with
// title, legend, metric scale bar, north arrow and date (the page's state
// comes checked from the server in page-config).
(function () {
  "use strict";

  const H = window.HuaishuMap;
  const config = JSON.parse(document.getElementById("page-config").textContent);
  const state = config.state;
  const map = H.map;

  H.setupPage(config, { legendParent: document.getElementById("sheet-legend") });
  H.northArrow("topright").addTo(map);
  for (const name of Object.keys(H.layers)) H.setShown(name, state.layers.includes(name));
  if (state.basemap !== "none" && H.basemaps[state.basemap]) {
    map.removeLayer(H.basemaps.none);
    map.addLayer(H.basemaps[state.basemap]);
  }
  document.getElementById("print-button").addEventListener("click", () => window.print());

  H.whenLoaded(() => {
    if (state.community) H.setCommunityFilter(state.community);
    if (state.bbox) {
      const b = state.bbox;
      map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { animate: false });
    }
    const overlays = [H.showChoropleth(state.indicator)].concat(state.coverage.map((key) => H.showCoverage(key, true)));
    Promise.all(overlays).then(() => {
      document.body.dataset.printReady = "true";
    });
  });
})();
