// Names on the inspectors' map: its orientation layers (roads, communities, grid
// cells) labelled by static/js/map-labels.js, which drops colliding labels.
(function () {
  "use strict";

  const Inspect = window.Inspect;
  if (!Inspect || !Inspect.map || !window.HuaishuLabels) return;
  const sources = {};
  for (const name of ["roads", "communities", "grid"]) {
    sources[name] = {
      layers: () => (Inspect.baseLayers[name] ? Inspect.baseLayers[name].getLayers() : []),
      shown: () => Boolean(Inspect.baseLayers[name]),
    };
  }
  Inspect.labeller = window.HuaishuLabels.attach(Inspect.map, sources);
})();
