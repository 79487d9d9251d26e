// ESLint (flat config) for the page scripts in js/: `make lint-js`.
// Each page loads Leaflet (L), and common.js (HS) before its own script; the
// overview and review pages also huaishu-map.js (HuaishuMap), the dashboard Chart.js;
// every map page basemap-fallback.js (HuaishuBasemaps).
const globals = require("globals");

module.exports = [
  {
    files: ["js/**/*.js"],
    languageOptions: {
      ecmaVersion: 2022,
      sourceType: "script",
      globals: {
        ...globals.browser,
        L: "readonly",
        Chart: "readonly",
        HS: "readonly",
        HuaishuMap: "readonly",
        HuaishuBasemaps: "readonly",
        HuaishuLabels: "readonly",
      },
    },
    rules: {
      "no-unused-vars": "error",
      "no-undef": "error",
    },
  },
  {
    files: ["eslint.config.js"],
    languageOptions: { sourceType: "commonjs", globals: { ...globals.node } },
  },
];
