// The operator dashboard: polls /dashboard/api and draws what it says.
// Plain browser JavaScript, no build step; Chart.js is loaded before this file.
'use strict';

const CHANNELS = ['email', 'sms', 'push', 'in_app', 'webhook'];
const COLORS = { email: '#2e90fa', sms: '#12b76a', push: '#f79009', in_app: '#7a5af8', webhook: '#ee46bc' };
const $ = (sel) => document.querySelector(sel);
const state = { app: null, window: '1h', chart: null, queueDepth: {} };

async function api(path, options) {
  const res = await fetch(`/dashboard/api${path}`, options);
  const body = await res.json();
  if (!res.ok) throw new Error(body.error ? body.error.message : res.statusText);
  return body;
}
const withApp = (path, params = {}) => `${path}?${new URLSearchParams({ app: state.app, ...params })}`;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'onclick') node.addEventListener('click', v);
    else if (v !== undefined && v !== null) node.setAttribute(k, v);
  }
  for (const child of children) node.append(child instanceof Node ? child : document.createTextNode(child === null || child === undefined ? '' : String(child)));
  return node;
}
const seconds = (s) => (s === null ? '-' : s < 1 ? `${Math.round(s * 1000)} ms` : `${s.toFixed(1)} s`);
function table(target, head, rows) {
  target.replaceChildren(el('thead', {}, el('tr', {}, ...head.map((h) => el('th', {}, h)))), el('tbody', {}, ...rows));
}

function drawCards(overview) {
  const cards = CHANNELS.map((channel) => {
    const c = overview.channels[channel];
    const stat = (name, value) => [el('dt', {}, name), el('dd', { 'data-channel': channel, 'data-stat': name }, value)];
    return el(
      'article',
      { class: 'card' },
      el('h3', {}, channel.replace('_', '-')),
      el(
        'dl',
        {},
        ...stat('sent', c.accepted),
        ...stat('delivered', c.delivered),
        ...stat('failed', c.failed),
        ...stat('skipped', c.skipped),
        ...stat('in queue', state.queueDepth[channel] ?? '-'),
      ),
    );
  });
  $('#channels').replaceChildren(...cards);
}

/** Bars per channel over the whole window (empty steps as zero), delivered solid and failed hatched-light. */
function drawChart(overview) {
  const step = overview.series.step_minutes * 60_000;
  const steps = overview.window === '24h' ? 96 : 60;
  const last = Math.floor(Date.now() / step) * step;
  const times = Array.from({ length: steps }, (_, i) => last - (steps - 1 - i) * step);
  const labels = times.map((t) => new Date(t).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }));
  const datasets = [];
  for (const channel of CHANNELS) {
    const mine = new Map(overview.series.points.filter((p) => p.channel === channel).map((p) => [new Date(p.at).getTime(), p]));
    if (mine.size === 0) continue;
    datasets.push({ label: `${channel} delivered`, data: times.map((t) => mine.get(t)?.delivered ?? 0), backgroundColor: COLORS[channel], stack: channel });
    datasets.push({ label: `${channel} failed`, data: times.map((t) => mine.get(t)?.failed ?? 0), backgroundColor: `${COLORS[channel]}55`, stack: channel });
  }
  if (!state.chart) {
    state.chart = new Chart($('#chart'), {
      type: 'bar',
      data: { labels, datasets },
      options: { animation: false, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
    });
  } else {
    state.chart.data = { labels, datasets };
    state.chart.update();
  }
}

function drawLatency(overview) {
  table(
    $('#latency'),
    ['channel', 'priority', 'delivered', 'p50', 'p95', 'p99'],
    overview.latency.map((l) =>
      el(
        'tr',
        {},
        el('td', {}, l.channel),
        el('td', {}, l.priority),
        el('td', { class: 'n' }, l.delivered),
        el('td', { class: 'n' }, seconds(l.p50)),
        el('td', { class: 'n' }, seconds(l.p95)),
        el('td', { class: 'n' }, seconds(l.p99)),
      ),
    ),
  );
}

function drawFailures(overview) {
  table(
    $('#failures'),
    ['channel', 'provider', 'error', 'count', ''],
    overview.failures.map((f) =>
      el(
        'tr',
        {},
        el('td', {}, f.channel),
        el('td', {}, f.provider),
        el('td', {}, f.error_code),
        el('td', { class: 'n' }, f.count),
        el(
          'td',
          {},
          el(
            'a',
            {
              href: '#',
              class: 'show-failed',
              onclick: (e) => {
                e.preventDefault();
                showFailed(f);
              },
            },
            'show deliveries',
          ),
        ),
      ),
    ),
  );
}

async function showFailed(filter) {
  const failed = await api(withApp('/failed', { channel: filter.channel, provider: filter.provider, error_code: filter.error_code }));
  $('#failed-filter').textContent = `${filter.channel} · ${filter.provider} · ${filter.error_code}`;
  table(
    $('#failed'),
    ['delivery', 'user', 'error', 'attempts', 'failed at', ''],
    failed.data.map((d) => {
      const status = el('span', { class: 'replay-status' });
      const button = el(
        'button',
        {
          class: 'replay',
          'data-delivery': d.id,
          onclick: async () => {
            button.disabled = true;
            try {
              const r = await api(withApp(`/deliveries/${d.id}/replay`), { method: 'POST' });
              status.textContent = ` ${r.status}`;
              watchDelivery(d.notification_id, d.id, status);
            } catch (err) {
              status.textContent = ` ${err.message}`;
              button.disabled = false;
            }
          },
        },
        'Replay',
      );
      return el(
        'tr',
        {},
        el(
          'td',
          {},
          el(
            'a',
            {
              href: '#',
              onclick: (e) => {
                e.preventDefault();
                search(d.notification_id);
              },
            },
            d.id,
          ),
        ),
        el('td', {}, d.user_id),
        el('td', {}, `${d.last_error_code}: ${d.last_error_message ?? ''}`),
        el('td', { class: 'n' }, d.attempts),
        el('td', {}, d.failed_at ? new Date(d.failed_at).toLocaleString() : ''),
        el('td', {}, button, status),
      );
    }),
  );
  $('#failed-panel').hidden = false;
}

/** After a replay: follow the delivery until it ends, and show how. */
async function watchDelivery(notificationId, deliveryId, status) {
  for (let i = 0; i < 60; i++) {
    await new Promise((r) => setTimeout(r, 1000));
    const [n] = (await api(withApp('/timeline', { q: notificationId }))).data;
    const d = n?.deliveries.find((x) => x.id === deliveryId);
    if (d) status.textContent = ` ${d.status}`;
    if (d && !['queued', 'sending', 'retrying'].includes(d.status)) return;
  }
}

/** One workflow run in a user's timeline: the workflow, when, its status and where it is (or why it ended). */
function runLine(r) {
  return el(
    'li',
    {},
    el('span', { class: 'kind' }, r.workflow),
    ` ${new Date(r.created_at).toLocaleTimeString()} `,
    el('span', { class: r.status === 'failed' ? 'bad' : 'ok', 'data-run-status': r.id }, r.status),
    r.current_step ? ` at ${r.current_step}` : '',
    r.reason ? ` (${r.reason})` : '',
  );
}

async function search(q) {
  $('#q').value = q;
  const { data, runs = [] } = await api(withApp('/timeline', { q }));
  const panel = $('#timeline');
  if (data.length === 0 && runs.length === 0) panel.replaceChildren(el('p', {}, `Nothing found for ${q}`));
  else {
    panel.replaceChildren(
      ...(runs.length === 0 ? [] : [el('h3', {}, 'Workflow runs'), el('ol', { class: 'events' }, ...runs.map(runLine))]),
      ...data.flatMap((n) => [
        el('h3', {}, `${n.id} · user ${n.user_id} · `, el('span', { class: n.status === 'failed' ? 'bad' : 'ok', 'data-notification-status': n.id }, n.status)),
        el(
          'ol',
          { class: 'events' },
          ...n.events.map((e) =>
            el(
              'li',
              {},
              el('span', { class: 'kind' }, e.kind),
              ' ',
              new Date(e.at).toLocaleTimeString(),
              ' ',
              e.channel ? `${e.channel} ` : '',
              e.provider ? `via ${e.provider} ` : '',
              e.detail ?? '',
            ),
          ),
        ),
      ]),
    );
  }
  $('#timeline-panel').hidden = false;
}

async function refreshOverview() {
  if (!state.app) return;
  const overview = await api(withApp('/overview', { window: state.window }));
  drawCards(overview);
  drawChart(overview);
  drawLatency(overview);
  drawFailures(overview);
}

/** Pauses or resumes a whole channel queue, for every app (POST /admin/channels/{channel}/pause behind the same credentials). */
function pauseButton(q) {
  const verb = q.paused ? 'resume' : 'pause';
  const button = el(
    'button',
    {
      class: 'queue-pause',
      'data-channel-queue': q.channel,
      onclick: async () => {
        button.disabled = true;
        try {
          await api(`/channels/${q.channel}/${verb}`, { method: 'POST' });
        } finally {
          refreshLive();
        }
      },
    },
    q.paused ? 'Resume' : 'Pause',
  );
  return button;
}

async function refreshLive() {
  const live = await api('/live');
  state.queueDepth = Object.fromEntries(live.queues.map((q) => [q.channel, q.waiting + q.prioritized + q.active + q.delayed]));
  for (const [channel, depth] of Object.entries(state.queueDepth)) {
    const cell = document.querySelector(`[data-channel="${channel}"][data-stat="in queue"]`);
    if (cell) cell.textContent = depth;
  }
  const rows = [
    ...live.breakers.map((b) =>
      el(
        'tr',
        {},
        el('td', {}, `${b.channel} · ${b.provider}`),
        el('td', { class: `state-${b.state}` }, b.state.replace('_', '-')),
        el('td', {}, `reported ${new Date(b.reported_at).toLocaleTimeString()}`),
        el('td', {}),
      ),
    ),
    ...live.queues.map((q) =>
      el(
        'tr',
        {},
        el('td', {}, `queue ${q.channel}`),
        el('td', { class: 'n' }, `${q.paused ? 'paused · ' : ''}${q.waiting + q.prioritized} waiting`),
        el('td', {}, `${q.active} active · ${q.delayed} delayed · ${q.failed} failed`),
        el('td', {}, pauseButton(q)),
      ),
    ),
  ];
  table($('#live'), ['', 'state', '', ''], rows);
  $('#live-at').textContent = `updated ${new Date(live.at).toLocaleTimeString()}`;
}

async function start() {
  const { data: apps } = await api('/apps');
  const wanted = new URLSearchParams(location.search).get('app') ?? localStorage.getItem('notify.app');
  $('#app').replaceChildren(...apps.map((a) => el('option', { value: a.id }, a.name)));
  state.app = apps.some((a) => a.id === wanted) ? wanted : (apps[0]?.id ?? null);
  if (state.app) $('#app').value = state.app;
  $('#app').addEventListener('change', (e) => {
    state.app = e.target.value;
    localStorage.setItem('notify.app', state.app);
    refreshOverview();
  });
  state.window = $('#window').value;
  $('#window').addEventListener('change', (e) => {
    state.window = e.target.value;
    refreshOverview();
  });
  $('#search').addEventListener('submit', (e) => {
    e.preventDefault();
    if ($('#q').value.trim()) search($('#q').value.trim());
  });
  await refreshLive().catch(() => {});
  await refreshOverview();
  setInterval(() => refreshLive().catch(() => {}), 3000);
  setInterval(() => refreshOverview().catch(() => {}), 5000);
}

start().catch((err) => document.body.prepend(el('p', { class: 'bad' }, `Dashboard failed to load: ${err.message}`)));
