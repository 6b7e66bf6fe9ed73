/**
 * The dashboard's stylesheet, inlined into its pages (nothing is fetched from elsewhere).
 * @module
 */

/** CSS shared by the dashboard and its sign-in page. */
export const STYLE = `
:root{--bg:#0f1419;--panel:#171e26;--line:#26313d;--text:#d7dee6;--muted:#8392a2;--accent:#5fb3f9;--bad:#f0616d;--ok:#4cc38a}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:var(--text);background:var(--bg)}
header{display:flex;align-items:center;gap:1rem;padding:.8rem 1.4rem;border-bottom:1px solid var(--line);background:var(--panel)}
header h1{font-size:1.1rem;margin:0}header .grow{flex:1}
main{display:grid;grid-template-columns:minmax(420px,1.1fr) 1fr;gap:1rem;padding:1rem 1.4rem}
section{background:var(--panel);border:1px solid var(--line);border-radius:8px;padding:.8rem 1rem;min-width:0}
section.wide{grid-column:1/-1}
h2{font-size:.8rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0 0 .6rem}
table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid var(--line);white-space:nowrap}
th{color:var(--muted);font-weight:500;font-size:.8rem}
td.num,th.num{text-align:right}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
.muted{color:var(--muted)}.error{color:var(--bad)}.ok{color:var(--ok)}
button{background:#22303e;color:var(--text);border:1px solid #34465a;border-radius:5px;padding:.25rem .7rem;cursor:pointer;font:inherit}
button:hover{border-color:var(--accent)}
select,input{background:#0f1419;color:var(--text);border:1px solid #34465a;border-radius:5px;padding:.3rem .5rem;font:inherit}
svg{width:100%;height:auto;display:block}
svg text{fill:var(--text);font:11px ui-monospace,monospace}
.node circle.body{stroke:#0f1419;stroke-width:2}
.node.self circle.body{stroke:var(--accent);stroke-width:3}
.edge{stroke-linecap:round}
.bar{height:8px;background:#26313d;border-radius:4px;overflow:hidden;min-width:120px}
.bar>span{display:block;height:100%;background:var(--accent)}
#logs{height:240px;overflow:auto;background:#0b0f13;border-radius:6px;padding:.5rem;font:12px/1.4 ui-monospace,monospace;white-space:pre-wrap}
#logs .error{color:var(--bad)}#logs .warn{color:#e5c07b}
.errs{font-size:12px;max-width:28rem;white-space:normal}
body.signin{display:grid;place-items:center;min-height:100vh}
form.card{background:var(--panel);border:1px solid var(--line);border-radius:10px;padding:1.6rem 2rem;width:min(26rem,92vw);display:grid;gap:.6rem}
form.card h1{margin:0;font-size:1.4rem}
@media (max-width:900px){main{grid-template-columns:1fr}}
`;
