/* Behaviour for every page. Loaded as a file (no inline scripts, no onclick), so that a
   strict Content-Security-Policy (script-src 'self') needs no exceptions.

   - <select data-autosubmit> submits its form when changed (the language switch).
   - <canvas data-chart="KIND" data-source="ID"> draws a chart from the JSON in
     <script type="application/json" id="ID"> (written by Django's json_script filter).
     Chart.js is loaded only on pages that have charts.
*/
(function () {
  "use strict";

  var PALETTE = {
    deposits: "#1f5f99", wealth: "#2f9e77", loans: "#b26a00", aum: "#1d2733",
    high: "#b3122e", medium: "#d48a00", low: "#1d7a46", model: "#b3122e", ideal: "#8896a5",
    floor: "#8e0e24", kept: "#1d7a46", control: "#8896a5"
  };
  // One colour per tier floor shown on the AUM chart, so that their legend swatches differ.
  var FLOOR_COLOURS = ["#8e0e24", "#6b3fa0", "#0f7c8c", "#5c5c5c"];

  function locale() {
    return document.documentElement.lang || "zh-hans";
  }

  function cny(value) {
    try {
      return new Intl.NumberFormat(locale().replace("-hans", "-CN"), { maximumFractionDigits: 0 }).format(value);
    } catch (e) {
      return String(Math.round(value));
    }
  }

  function readJson(id) {
    var node = document.getElementById(id);
    return node ? JSON.parse(node.textContent) : null;
  }

  function moneyAxis(title) {
    return {
      beginAtZero: true,
      title: { display: !!title, text: title || "" },
      ticks: { callback: function (v) { return cny(v); } }
    };
  }

  var builders = {
    /* 24 months of AUM: deposits and wealth stacked, AUM as a line, loans dashed, tier floors dotted. */
    aum: function (data) {
      var datasets = [
        { type: "bar", label: data.labels_text.deposits, data: data.deposits, backgroundColor: PALETTE.deposits, stack: "aum", order: 3 },
        { type: "bar", label: data.labels_text.wealth, data: data.wealth, backgroundColor: PALETTE.wealth, stack: "aum", order: 3 },
        // Lines get stacks of their own, so the stacked y axis sums only the bars.
        { type: "line", label: data.labels_text.aum, data: data.aum, borderColor: PALETTE.aum, backgroundColor: PALETTE.aum, tension: 0.2, pointRadius: 2, order: 1, stack: "line-aum" },
      ];
      // A borrower's loan is on an axis of its own (right), so a large mortgage does not
      // flatten the AUM bars; without a loan there is neither line nor axis.
      var hasLoan = (data.loans || []).some(function (v) { return v > 0; });
      if (hasLoan) {
        datasets.push({ type: "line", label: data.labels_text.loans, data: data.loans, borderColor: PALETTE.loans, backgroundColor: PALETTE.loans, borderDash: [6, 4], pointRadius: 0, order: 2, stack: "line-loans", yAxisID: "loans" });
      }
      (data.floors || []).forEach(function (floor, i) {
        var colour = FLOOR_COLOURS[i % FLOOR_COLOURS.length];
        datasets.push({
          type: "line", label: floor.label, data: data.months.map(function () { return floor.value; }), stack: "floor-" + i,
          borderColor: colour, backgroundColor: colour, borderWidth: 1.5, borderDash: [2, 3], pointRadius: 0, order: 0
        });
      });
      var scales = { x: { stacked: true }, y: Object.assign(moneyAxis(data.labels_text.axis), { stacked: true }) };
      if (hasLoan) {
        // Headroom above the loan, so its line runs below the top of the chart, where the
        // highest tier floor often is.
        var maxLoan = Math.max.apply(null, data.loans);
        scales.loans = Object.assign(moneyAxis(data.labels_text.loans_axis || data.labels_text.loans), {
          position: "right", grid: { drawOnChartArea: false }, suggestedMax: maxLoan * 1.5
        });
      }
      return {
        data: { labels: data.months, datasets: datasets },
        options: {
          scales: scales,
          plugins: { tooltip: { callbacks: { label: function (ctx) { return ctx.dataset.label + ": " + cny(ctx.parsed.y); } } } }
        }
      };
    },
    /* Score history: probability over time. */
    score: function (data) {
      return {
        type: "line",
        data: { labels: data.dates, datasets: [{ label: data.label, data: data.values, borderColor: PALETTE.model, pointRadius: 3, tension: 0.2 }] },
        options: { scales: { y: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } } }, plugins: { legend: { display: false } } }
      };
    },
    /* Lift by decile: bars, with 1.0 as the line a random list would give. */
    lift: function (data) {
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [
            { type: "bar", label: data.label, data: data.values, backgroundColor: PALETTE.model },
            { type: "line", label: data.baseline_label, data: data.labels.map(function () { return 1; }), borderColor: PALETTE.ideal, borderDash: [4, 4], pointRadius: 0 }
          ]
        },
        options: { scales: { y: { beginAtZero: true, title: { display: true, text: data.axis } }, x: { title: { display: true, text: data.x_axis } } } }
      };
    },
    /* Calibration: predicted vs observed churn rate per bin, with the diagonal. */
    calibration: function (data) {
      return {
        type: "scatter",
        data: {
          datasets: [
            { label: data.label, data: data.points, borderColor: PALETTE.model, backgroundColor: PALETTE.model, showLine: true, pointRadius: 4 },
            { label: data.ideal_label, data: [{ x: 0, y: 0 }, { x: data.max, y: data.max }], borderColor: PALETTE.ideal, borderDash: [4, 4], showLine: true, pointRadius: 0 }
          ]
        },
        options: {
          scales: {
            x: { min: 0, max: data.max, title: { display: true, text: data.x_axis } },
            y: { min: 0, max: data.max, title: { display: true, text: data.y_axis } }
          }
        }
      };
    },
    /* AUM at risk by band: one bar per band. */
    bands: function (data) {
      return {
        type: "bar",
        data: {
          labels: data.labels,
          datasets: [{ label: data.label, data: data.values, backgroundColor: data.keys.map(function (k) { return PALETTE[k] || PALETTE.aum; }) }]
        },
        options: { indexAxis: "y", scales: { x: moneyAxis() }, plugins: { legend: { display: false } } }
      };
    },
    /* Figures over time on one 0-based axis: solid lines for what was measured, dashed
       ones for references (the training figures, the PSI band limits). */
    lines: function (data) {
      return {
        type: "line",
        data: {
          labels: data.labels,
          datasets: data.series.map(function (s) {
            var colour = PALETTE[s.colour] || PALETTE.model;
            return { label: s.label, data: s.values, borderColor: colour, backgroundColor: colour, tension: 0.2, spanGaps: true,
                     borderDash: s.dashed ? [5, 4] : [], pointRadius: s.dashed ? 0 : 3 };
          })
        },
        options: { scales: { y: { min: data.min, max: data.max, title: { display: !!data.y_axis, text: data.y_axis || "" } } } }
      };
    },
    /* Monthly trend: any number of series, one axis. */
    trend: function (data) {
      var colours = [PALETTE.model, PALETTE.kept, PALETTE.deposits, PALETTE.loans, PALETTE.control];
      return {
        type: "line",
        data: {
          labels: data.labels,
          datasets: data.series.map(function (s, i) {
            return { label: s.label, data: s.values, borderColor: colours[i % colours.length], backgroundColor: colours[i % colours.length], tension: 0.2, yAxisID: s.axis || "y" };
          })
        },
        options: {
          scales: {
            y: { beginAtZero: true, position: "left", title: { display: !!data.y_axis, text: data.y_axis || "" }, ticks: { precision: 0 } },
            y2: { beginAtZero: true, position: "right", display: !!data.y2_axis, grid: { drawOnChartArea: false }, title: { display: !!data.y2_axis, text: data.y2_axis || "" }, ticks: { precision: 0, callback: function (v) { return cny(v); } } }
          }
        }
      };
    }
  };

  function drawCharts(root) {
    if (typeof window.Chart === "undefined") { return; }
    var canvases = (root || document).querySelectorAll("canvas[data-chart]");
    Array.prototype.forEach.call(canvases, function (canvas) {
      if (canvas.dataset.drawn) { return; }
      var build = builders[canvas.dataset.chart];
      var data = readJson(canvas.dataset.source);
      if (!build || !data) { return; }
      var config = build(data);
      config.type = config.type || "bar";
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false, locale: locale() }, config.options || {});
      new window.Chart(canvas, config);
      canvas.dataset.drawn = "1";
    });
  }

  function bindAutosubmit(root) {
    var selects = (root || document).querySelectorAll("[data-autosubmit]");
    Array.prototype.forEach.call(selects, function (select) {
      if (select.dataset.bound) { return; }
      select.dataset.bound = "1";
      select.addEventListener("change", function () {
        if (select.form.requestSubmit) { select.form.requestSubmit(); } else { select.form.submit(); }
      });
    });
  }

  function init(root) {
    bindAutosubmit(root);
    drawCharts(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // Content swapped in by htmx (an alert card after an action, search results) gets the same treatment.
  document.addEventListener("htmx:load", function (event) { init(event.target); });
})();
