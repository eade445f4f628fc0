"""The page's CSS and script, inline (package data would need packaging changes; this is small).

The script never reads text from the trace: it only draws a crosshair from the numbers in the
chart-data block, and marks the body once the chart's paths have real size (the headless
Chromium test reads `data-chart-rendered`).
"""

CSS = """
:root{--fg:#1f2328;--muted:#57606a;--line:#d0d7de;--good:#1a7f37;--warn:#9a6700;--bad:#cf222e}
*{box-sizing:border-box}
body{margin:0 auto;max-width:1180px;padding:18px 24px 40px;color:var(--fg);background:#fff;
font:14px/1.45 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif}
h1{font-size:22px;margin:0 0 2px}h2{font-size:17px;margin:18px 0 8px;display:inline-block}
.meta{color:var(--muted);margin:2px 0}.meta code{font-size:12px}
.cards{display:grid;grid-template-columns:repeat(6,1fr);gap:10px;margin:14px 0 8px}
.card{border:1px solid var(--line);border-left-width:6px;border-radius:8px;padding:8px 10px;
background:#f6f8fa;min-width:0}
.card.good{border-left-color:#2da44e}.card.warn{border-left-color:#d4a72c}
.card.bad{border-left-color:#cf222e;background:#fff5f5}.card.neutral{border-left-color:#8c959f}
.card-title{font-size:12px;text-transform:uppercase;letter-spacing:.04em;color:var(--muted)}
.card-value{font-size:22px;font-weight:700;line-height:1.2;margin:2px 0}
.card.bad .card-value{color:var(--bad)}.card.good .card-value{color:var(--good)}
.card.warn .card-value{color:var(--warn)}
.card-detail{font-size:12px;color:var(--muted);overflow-wrap:anywhere}
figure{margin:0}svg.chart{width:100%;height:auto;display:block;font-family:inherit}
.readout{min-height:1.5em;font-size:13px;color:var(--muted);margin:2px 0 0 70px;
font-variant-numeric:tabular-nums}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;margin:6px 0 0 70px;font-size:13px}
.swatch{display:inline-block;width:18px;height:4px;margin-right:6px;vertical-align:middle;
border-radius:2px}.swatch.dashed{height:0;border-top:2px dashed;border-radius:0}
.degraded{color:var(--warn);font-weight:600}
table{border-collapse:collapse;width:100%;margin:6px 0 16px;font-size:13px}
caption{text-align:left;font-weight:600;padding:4px 0}
table.grow{table-layout:fixed}table.grow th:first-child{width:52%}
th,td{border-bottom:1px solid #eaeef2;padding:4px 8px;text-align:left;vertical-align:top}
th{color:var(--muted);font-weight:600}.num{text-align:right;white-space:nowrap;
font-variant-numeric:tabular-nums}
.bar-cell{position:relative;min-width:140px}.bar{position:absolute;right:0;top:3px;bottom:3px;
background:rgba(207,34,46,.15);border-radius:2px;z-index:-1}
td.name code{font-size:12.5px}.kind{color:var(--muted)}
pre.tb{margin:2px 0 0;font-size:11px;color:var(--muted);white-space:pre-wrap}
.dot{display:inline-block;width:9px;height:9px;border-radius:50%;margin-right:6px}
details summary{cursor:pointer}.hint{color:var(--muted)}
tr.skipped td{text-align:center;color:var(--muted);font-style:italic}
footer{margin-top:24px;color:var(--muted);font-size:12px}
@media (max-width:900px){.cards{grid-template-columns:repeat(3,1fr)}}
"""

SCRIPT = r"""
(function () {
  "use strict";
  function size(b) {
    var a = Math.abs(b);
    if (a >= 1073741824) return (b / 1073741824).toFixed(2) + " GiB";
    if (a >= 104857600) return (b / 1048576).toFixed(0) + " MiB";
    return (b / 1048576).toFixed(1) + " MiB";
  }
  function rel(s) {
    var h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), sec = Math.floor(s % 60);
    return "+" + (h ? h + "h" + String(m).padStart(2, "0") + "m" :
                  m ? m + "m" + String(sec).padStart(2, "0") + "s" : sec + "s");
  }
  var charts = document.querySelectorAll("svg.chart");
  var rendered = charts.length > 0;
  charts.forEach(function (svg) {
    var paths = svg.querySelectorAll(".series path");
    if (!paths.length) rendered = false;
    paths.forEach(function (p) {
      var box = p.getBBox(), screen = p.getBoundingClientRect();
      if (!(box.width > 0 && screen.width > 0)) rendered = false;
    });
    var box = svg.closest("figure");
    var dataNode = box && box.querySelector("script.chart-data");
    var readout = box && box.querySelector(".readout");
    if (!dataNode || !readout) return;
    var data = JSON.parse(dataNode.textContent);
    var left = +svg.dataset.left, width = +svg.dataset.plotWidth;
    var span = (+svg.dataset.end) - (+svg.dataset.start);
    var cross = svg.querySelector(".crosshair");
    var frame = svg.querySelector(".plot-frame");
    svg.addEventListener("mousemove", function (ev) {
      var pt = svg.createSVGPoint(); pt.x = ev.clientX; pt.y = ev.clientY;
      var p = pt.matrixTransform(svg.getScreenCTM().inverse());
      var t = (p.x - left) / width * span;
      if (p.x < left || p.x > left + width || !data.t.length) return;
      var lo = 0, hi = data.t.length - 1;
      while (lo < hi) {
        var mid = (lo + hi) >> 1;
        if (data.t[mid] < t) lo = mid + 1; else hi = mid;
      }
      if (lo > 0 && Math.abs(data.t[lo - 1] - t) < Math.abs(data.t[lo] - t)) lo -= 1;
      var x = left + data.t[lo] / span * width;
      cross.setAttribute("x1", x); cross.setAttribute("x2", x);
      cross.setAttribute("y1", frame.getAttribute("y"));
      cross.setAttribute("y2", +frame.getAttribute("y") + +frame.getAttribute("height"));
      cross.setAttribute("visibility", "visible");
      var when = new Date((data.start + data.t[lo]) * 1000).toISOString().slice(11, 19);
      var text = rel(data.t[lo]) + " (" + when + " UTC)  " + data.label + " " + size(data.hi[lo]);
      if (data.lo[lo] !== data.hi[lo]) text += " (low " + size(data.lo[lo]) + ")";
      if (data.limit) {
        text += "  ·  " + Math.round(data.hi[lo] / data.limit * 100) + "% of the limit";
      }
      readout.textContent = text;
    });
    svg.addEventListener("mouseleave", function () { cross.setAttribute("visibility", "hidden"); });
  });
  document.body.dataset.chartRendered = rendered ? "yes" : "no";
})();
"""
