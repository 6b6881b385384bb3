#include "dashboard/style.h"

namespace shadowmeter::collector::dashboard {

// Grid of panels collapsing to one column on narrow screens; dark text on white (contrast above 7:1
// for body text); charts scale with their box; print drops the form and keeps panels whole.
std::string_view stylesheet() {
  return R"css(
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;
color:#1a1a1a;background:#f4f5f7}
header.top{background:#1d2b3a;color:#fff;padding:14px 20px}
header.top h1{margin:0;font-size:1.35rem;font-weight:600}
header.top p{margin:4px 0 0;color:#d9e1ea;font-size:.9rem}
main{max-width:1240px;margin:0 auto;padding:16px}
.note{background:#fff8e1;border:1px solid #e6c65c;border-radius:6px;padding:8px 12px;margin:0 0 14px}
form.filters{display:flex;flex-wrap:wrap;gap:10px;align-items:flex-end;background:#fff;border:1px solid #d5d9de;
border-radius:8px;padding:12px;margin:0 0 14px}
form.filters label{display:flex;flex-direction:column;font-size:.85rem;color:#333;min-width:0}
form.filters input,form.filters select{font:inherit;padding:5px 8px;border:1px solid #8a939c;border-radius:4px;
max-width:100%;min-width:0}
form.filters button{font:inherit;padding:6px 16px;border:0;border-radius:4px;background:#0b5cad;color:#fff}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:12px;margin:0 0 14px}
.card{background:#fff;border:1px solid #d5d9de;border-radius:8px;padding:10px 14px;min-width:0}
.card .label{font-size:.82rem;color:#4a535c;text-transform:uppercase;letter-spacing:.03em}
.card .big{font-size:1.35rem;font-weight:600;overflow-wrap:break-word;font-variant-numeric:tabular-nums}
.card .sub{font-size:.8rem;color:#4a535c}
.grid{display:grid;grid-template-columns:repeat(2,minmax(0,1fr));gap:14px}
.panel{background:#fff;border:1px solid #d5d9de;border-radius:8px;padding:12px 14px;min-width:0;
break-inside:avoid}
.panel.wide{grid-column:1/-1}
.panel h2{font-size:1.05rem;margin:0 0 8px}
.panel h3{font-size:.95rem;margin:12px 0 6px}
.empty{color:#4a535c;font-style:italic;padding:18px 0;margin:0;text-align:center;border:1px dashed #c2c8ce;
border-radius:6px}
figure.chart-box{margin:0}
.chart-scroll{overflow-x:auto;max-width:100%}
svg.chart{width:100%;min-width:540px;height:auto;display:block}
svg.chart .grid{stroke:#e3e6ea;stroke-width:1}
svg.chart .baseline{stroke:#5f6870;stroke-width:1}
svg.chart .axis{font-size:12px;fill:#3b434b}
svg.sharebar{width:100%;height:26px;display:block;border-radius:4px}
ul.legend{list-style:none;padding:0;margin:8px 0 0;display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85rem}
ul.legend li{overflow-wrap:anywhere;min-width:0}
header.top p{overflow-wrap:anywhere}
.swatch{display:inline-block;width:.8em;height:.8em;margin-right:5px;border-radius:2px;vertical-align:-.05em;
border:1px solid rgba(0,0,0,.25)}
.table-wrap{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:.88rem}
th,td{text-align:left;padding:4px 6px;border-bottom:1px solid #e3e6ea;vertical-align:top;overflow-wrap:break-word}
thead th{color:#3b434b;font-weight:600;border-bottom:2px solid #c2c8ce;white-space:nowrap}
td.num,th.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
table.hbars th{font-weight:normal;width:40%}
table.hbars td.bar{width:40%;padding-right:0}
table.hbars td.bar svg{width:100%;height:14px;display:block}
.tag{display:inline-block;padding:0 6px;border-radius:10px;font-size:.78rem;background:#e8edf2;color:#1d2b3a}
.tag.bad{background:#fbe3d9;color:#7a2300}
.tag.ok{background:#dcf1e8;color:#00563d}
.tag.new{background:#fdf0c8;color:#5c4300}
footer{max-width:1240px;margin:0 auto;padding:8px 16px 24px;color:#4a535c;font-size:.8rem}
@media (max-width:760px){.grid{grid-template-columns:minmax(0,1fr)}main{padding:10px}
header.top{padding:12px}.card .big{font-size:1.2rem}table.hbars th{width:45%}
.cards{grid-template-columns:repeat(auto-fit,minmax(150px,1fr))}}
@media print{body{background:#fff}form.filters{display:none}header.top{background:#fff;color:#000;
border-bottom:2px solid #000}header.top p{color:#000}.panel,.card{border-color:#999}.grid{display:block}
.panel{margin:0 0 12px}}
)css";
}

}  // namespace shadowmeter::collector::dashboard
