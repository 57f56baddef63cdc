/**
 * The component's own styles, scoped by its shadow root. Colours and sizes
 * come from custom properties a page may set on `notify-inbox`
 * (`--notify-inbox-accent`, `--notify-inbox-background`, `--notify-inbox-text`,
 * `--notify-inbox-muted`, `--notify-inbox-width`).
 */
export const STYLES = `
:host {
  --accent: var(--notify-inbox-accent, #2563eb);
  --background: var(--notify-inbox-background, #fff);
  --text: var(--notify-inbox-text, #111827);
  --muted: var(--notify-inbox-muted, #6b7280);
  position: relative;
  display: inline-block;
  font: inherit;
  color: var(--text);
}
[hidden] { display: none !important; }
button { font: inherit; cursor: pointer; }
button:focus-visible, a:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
.sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.bell { position: relative; display: inline-flex; padding: 0.4rem; border: 0; border-radius: 999px; background: transparent; color: inherit; }
.bell svg { width: 1.5rem; height: 1.5rem; }
.badge { position: absolute; top: 0; right: 0; min-width: 1.1rem; padding: 0 0.25rem; border-radius: 999px; background: #dc2626; color: #fff; font-size: 0.7rem; line-height: 1.1rem; text-align: center; }
.badge:empty { display: none; }
.panel { position: absolute; z-index: 10; right: 0; width: var(--notify-inbox-width, 22rem); max-height: 28rem; overflow: auto; margin-top: 0.25rem;
  border: 1px solid #e5e7eb; border-radius: 0.5rem; background: var(--background); box-shadow: 0 10px 25px rgb(0 0 0 / 0.12); }
header { position: sticky; top: 0; display: flex; gap: 0.5rem; align-items: center; padding: 0.5rem 0.75rem; border-bottom: 1px solid #e5e7eb; background: var(--background); }
h2 { flex: 1; margin: 0; font-size: 1rem; }
.state { color: var(--muted); font-size: 0.75rem; }
.link-button { padding: 0.1rem 0.3rem; border: 0; background: none; color: var(--accent); font-size: 0.8rem; }
.link-button[aria-pressed="true"] { text-decoration: underline; }
.status { margin: 0.5rem 0.75rem; color: #b91c1c; font-size: 0.85rem; }
.status:empty { display: none; }
ul { margin: 0; padding: 0; list-style: none; }
li { display: flex; gap: 0.5rem; padding: 0.6rem 0.75rem; border-bottom: 1px solid #f3f4f6; }
li.unread { background: color-mix(in srgb, var(--accent) 7%, var(--background)); }
li.unread .title::before { content: ""; display: inline-block; width: 0.5rem; height: 0.5rem; margin-right: 0.35rem; border-radius: 50%; background: var(--accent); }
.content { flex: 1; min-width: 0; }
.title { display: block; font-weight: 600; color: inherit; overflow-wrap: anywhere; }
a.title { color: var(--accent); }
.body { margin: 0.15rem 0; overflow-wrap: anywhere; }
time { color: var(--muted); font-size: 0.75rem; }
.actions { display: flex; flex-direction: column; gap: 0.2rem; align-items: flex-end; }
.empty { margin: 1rem 0.75rem; color: var(--muted); text-align: center; }
.more { display: block; width: 100%; padding: 0.5rem; border: 0; background: none; color: var(--accent); }
`;
