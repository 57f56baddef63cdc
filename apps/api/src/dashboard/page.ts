/** The dashboard's HTML shell; dashboard.js fills it from /dashboard/api. */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>notify · dashboard</title>
  <link rel="stylesheet" href="/dashboard/assets/dashboard.css">
</head>
<body>
  <header>
    <h1>notify</h1>
    <label>App <select id="app"></select></label>
    <label>Window <select id="window"><option value="1h">last hour</option><option value="24h">last day</option></select></label>
    <form id="search"><input id="q" name="q" placeholder="Notification id or user id" aria-label="Search"><button>Find</button></form>
    <nav><a href="/admin/queues">Bull Board</a> <a href="/docs">API docs</a></nav>
  </header>
  <main>
    <section id="channels" aria-label="Channels"></section>
    <section class="panel"><h2>Delivered and failed</h2><canvas id="chart" height="90"></canvas></section>
    <div class="columns">
      <section class="panel"><h2>Accept to delivered</h2><table id="latency"></table></section>
      <section class="panel"><h2>Providers and queues <small id="live-at"></small></h2><table id="live"></table></section>
    </div>
    <section class="panel"><h2>Failures by provider and error</h2><table id="failures"></table></section>
    <section class="panel" id="failed-panel" hidden><h2>Failed deliveries <small id="failed-filter"></small></h2><table id="failed"></table></section>
    <section class="panel" id="timeline-panel" hidden><h2>Timeline</h2><div id="timeline"></div></section>
  </main>
  <script src="/dashboard/assets/chart.umd.min.js"></script>
  <script src="/dashboard/assets/dashboard.js"></script>
</body>
</html>`;
