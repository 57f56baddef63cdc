/** The demo's HTML: the component as an app's page would embed it; demo.js connects it from the form or the URL's #fragment. */
export const inboxDemoPage = (componentScript: string) => `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>notify · inbox demo</title>
  <link rel="stylesheet" href="/inbox-demo/assets/demo.css">
  <script type="module" src="${componentScript}"></script>
  <script type="module" src="/inbox-demo/assets/demo.js"></script>
</head>
<body>
  <header>
    <h1>notify · inbox demo</h1>
    <notify-inbox id="inbox"></notify-inbox>
  </header>
  <main>
    <p>The <code>&lt;notify-inbox&gt;</code> component, live, for one user. Mint a user token with your API key
      (<code>POST /users/{user_id}/tokens</code>) and connect. Send that user an <code>in_app</code> notification: it
      appears at once.</p>
    <form id="connect">
      <label>API URL <input name="api_url" placeholder="this server" autocomplete="off"></label>
      <label>User id <input name="user_id" required autocomplete="off"></label>
      <label>User token <input name="token" required autocomplete="off"></label>
      <button>Connect</button>
    </form>
    <p><small>The form fills in from <code>#user_id=...&amp;token=...&amp;api_url=...</code>: a fragment, so the token never reaches a server log.</small></p>
  </main>
</body>
</html>`;
